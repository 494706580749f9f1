"""Auto-layout (graph.layout): columns by topological generation, chains straight,
and, when asked, skipping wires given a lane of their own."""

from __future__ import annotations

from graph.builder import NetworkBuilder
from graph.document import Document
from graph.layout import COLUMN_GAP, GRID, NODE_WIDTH, estimated_sizes, layered_positions


def _residual() -> tuple[Document, dict[str, str]]:
    doc = Document.new("main")
    b = NetworkBuilder(doc, "main")
    x = b.add("Input", shape=[8], label="x")
    fc1 = b.add("Linear", x, out_features=8, label="fc1")
    act = b.add("ReLU", fc1, label="act")
    fc2 = b.add("Linear", act, out_features=8, label="fc2")
    add = b.add("Add", x, fc2, label="add")
    out = b.add("Output", add, label="out")
    return doc, {"x": x, "fc1": fc1, "act": act, "fc2": fc2, "add": add, "out": out}


def _span(pos: tuple[float, float], size: tuple[float, float]) -> tuple[float, float]:
    return pos[1], pos[1] + size[1]


def _centres(pos: dict[str, tuple[float, float]], sizes: dict[str, tuple[float, float]],
             ids: dict[str, str]) -> set[float]:
    """Middle heights of the chain's nodes (nodes differ in height)."""
    return {pos[ids[k]][1] + sizes[ids[k]][1] / 2 for k in ("fc1", "act", "fc2")}


def test_columns_follow_the_generations_and_a_chain_stays_on_one_line() -> None:
    doc, ids = _residual()
    net = doc.network("main")
    sizes = estimated_sizes(net)
    pos = layered_positions(net, sizes)
    xs = [pos[ids[k]][0] for k in ("x", "fc1", "act", "fc2", "add", "out")]
    assert xs == sorted(xs) and len(set(xs)) == 6
    assert xs[1] - xs[0] >= NODE_WIDTH + COLUMN_GAP - GRID
    centres = _centres(pos, sizes, ids)  # the skip runs behind, as the editor had it
    assert max(centres) - min(centres) <= GRID  # straight, but for snapping to the grid
    assert all(v % GRID == 0 for p in pos.values() for v in p)


def test_a_skipping_wire_gets_a_lane_beside_the_layers_it_skips() -> None:
    doc, ids = _residual()
    net = doc.network("main")
    sizes = estimated_sizes(net)
    pos = layered_positions(net, sizes, route_skips=True)
    x_top, x_bottom = _span(pos[ids["x"]], sizes[ids["x"]])
    wire = (x_top + x_bottom) / 2  # the skip leaves x at its middle
    for key in ("fc1", "act", "fc2"):  # each skipped layer lies clear of that height
        top, bottom = _span(pos[ids[key]], sizes[ids[key]])
        assert not top <= wire <= bottom, key
    centres = _centres(pos, sizes, ids)  # the skipped chain itself is still straight
    assert max(centres) - min(centres) <= GRID


def test_estimated_sizes_grow_with_inputs() -> None:
    doc, ids = _residual()
    sizes = estimated_sizes(doc.network("main"))
    assert sizes[ids["add"]][1] > sizes[ids["act"]][1]  # three ports (two used, one free)


def test_a_long_network_wraps_into_bands() -> None:
    doc = Document.new("main")
    b = NetworkBuilder(doc, "main")
    ids = [b.add("Input", shape=[4], label="x")]
    for k in range(9):
        ids.append(b.add("ReLU", ids[-1], label=f"act{k}"))
    ids.append(b.add("Output", ids[-1], label="out"))
    net = doc.network("main")
    sizes = estimated_sizes(net)
    pos = layered_positions(net, sizes, wrap=4)
    rows = [[pos[i] for i in ids[k:k + 4]] for k in range(0, len(ids), 4)]
    for row in rows:
        assert [x for x, _ in row] == sorted(x for x, _ in row)
    assert [row[0][0] for row in rows] == [rows[0][0][0]] * len(rows)  # each starts at the left
    bottoms = [max(y for _, y in row) + max(s[1] for s in sizes.values()) for row in rows]
    tops = [min(y for _, y in row) for row in rows]
    assert all(tops[k + 1] > bottoms[k] for k in range(len(rows) - 1))  # bands do not overlap
    assert layered_positions(net, sizes) != pos  # without wrap: one long line
