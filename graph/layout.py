"""Auto-layout: layers left to right in topological generations, chains kept straight.

Pure geometry on a network (no Qt): the window passes its nodes' drawn sizes, an
importer the estimate ``estimated_sizes`` gives. With ``route_skips`` a wire that
skips columns (a residual connection) reserves a lane in every column it crosses, so
the layers it skips move aside and the wire runs past them instead of behind them.
"""

from __future__ import annotations

import networkx as nx

from graph.commands import Move
from graph.document import Network

GRID = 20.0
COLUMN_GAP = 110.0
ROW_GAP = 36.0
BAND_GAP = 90.0  # between the bands of a wrapped layout
NODE_WIDTH = 150.0  # as the canvas draws a node
_HEADER, _PAD, _LINE, _ROW = 26.0, 7.0, 17.0, 22.0  # the canvas's node geometry
_LANE = "\0lane"  # prefix of the placeholders a skipping wire leaves in a column

Sizes = dict[str, tuple[float, float]]


def snap(value: float) -> float:
    """``value`` on the editor's grid."""
    return round(value / GRID) * GRID


def estimated_sizes(net: Network) -> Sizes:
    """Each node's size as the canvas will draw it: a title, its inputs and key values."""
    sizes: Sizes = {}
    for node in net.nodes():
        ports = len(node.spec.port_keys(list(net.graph.pred[node.id])))
        lines = 1 + min(len(node.spec.key_params), 3)
        body = max(ports * _ROW, lines * _LINE) + 2 * _PAD
        sizes[node.id] = (NODE_WIDTH, _HEADER + body)
    return sizes


def layered_positions(net: Network, sizes: Sizes, route_skips: bool = False,
                      wrap: int | None = None) -> dict[str, tuple[float, float]]:
    """Top-left positions for every node: one column per topological generation.

    Within a column nodes are ordered by the mean height of their inputs and
    pushed apart only as far as needed, so a plain chain stays on one line. With
    ``wrap``, every ``wrap`` columns start a new band below the last, as text wraps,
    so a long network stays readable at a zoom where its labels can be read.
    """
    if not len(net):
        return {}
    graph = _with_lanes(net.graph, sizes) if route_skips else net.graph
    sizes = {**sizes, **{n: (0.0, max(sizes.values(), key=lambda s: s[1])[1])
                         for n in graph if n not in net}}
    pos_y = {n: net.node(n).pos[1] if n in net else 0.0 for n in graph}
    columns = [sorted(g, key=lambda i: pos_y[i]) for g in nx.topological_generations(graph)]
    centre_y: dict[str, float] = {}
    positions: dict[str, tuple[float, float]] = {}
    x = 0.0
    column_x: list[float] = []
    for column in columns:
        column_x.append(x)
        wanted = {}
        for index, node_id in enumerate(column):
            preds = [centre_y[p] for p in graph.predecessors(node_id) if p in centre_y]
            wanted[node_id] = sum(preds) / len(preds) if preds else index * 140.0
        # a skipping wire's lane goes above the layers it passes
        ordered = sorted(column, key=lambda i: (wanted[i], not i.startswith(_LANE), pos_y[i]))
        ys = _spread([wanted[i] for i in ordered], [sizes[i][1] for i in ordered])
        for node_id, top in zip(ordered, ys, strict=True):
            positions[node_id] = (x, top)
            centre_y[node_id] = top + sizes[node_id][1] / 2
        x += max(sizes[i][0] for i in column) + COLUMN_GAP
    if wrap is not None and len(columns) > wrap:
        positions = _wrapped(columns, column_x, positions, sizes, wrap)
    return _anchored(net, {n: p for n, p in positions.items() if n in net})


def _wrapped(columns: list[list[str]], column_x: list[float],
             positions: dict[str, tuple[float, float]], sizes: Sizes, wrap: int
             ) -> dict[str, tuple[float, float]]:
    """Bands of ``wrap`` columns, each starting at the left below the one before."""
    out: dict[str, tuple[float, float]] = {}
    top_of_band = 0.0
    for first in range(0, len(columns), wrap):
        band = [n for column in columns[first:first + wrap] for n in column]
        top = min(positions[n][1] for n in band)
        bottom = max(positions[n][1] + sizes[n][1] for n in band)
        for n in band:
            x, y = positions[n]
            out[n] = (x - column_x[first], y - top + top_of_band)
        top_of_band += bottom - top + BAND_GAP
    return out


def _with_lanes(graph: nx.DiGraph, sizes: Sizes) -> nx.DiGraph:
    """The graph with a chain of lane placeholders along every wire that skips columns."""
    level = {n: i for i, g in enumerate(nx.topological_generations(graph)) for n in g}
    out = nx.DiGraph()
    out.add_nodes_from(graph)
    for u, v in graph.edges():
        previous = u
        for step in range(level[u] + 1, level[v]):
            lane = f"{_LANE}{u}\0{v}\0{step}"
            out.add_edge(previous, lane)
            previous = lane
        out.add_edge(previous, v)
    return out


def _spread(centres: list[float], heights: list[float]) -> list[float]:
    """Tops near the wanted centres without overlaps, the group centred on the wish."""
    tops: list[float] = []
    bottom = float("-inf")
    for centre, height in zip(centres, heights, strict=True):
        top = max(centre - height / 2, bottom + ROW_GAP)
        tops.append(top)
        bottom = top + height
    if tops:
        wish = sum(centres) / len(centres)
        got = sum(t + h / 2 for t, h in zip(tops, heights, strict=True)) / len(tops)
        shift = wish - got if len(tops) > 1 else 0.0
        tops = [t + shift for t in tops]
    return tops


def _anchored(net: Network, positions: dict[str, tuple[float, float]]
              ) -> dict[str, tuple[float, float]]:
    """Shift the layout so its top-left corner stays where the graph's was, on the grid."""
    if not positions:
        return positions
    old_x = min(n.pos[0] for n in net.nodes())
    old_y = min(n.pos[1] for n in net.nodes())
    new_x = min(x for x, _ in positions.values())
    new_y = min(y for _, y in positions.values())
    dx, dy = old_x - new_x, old_y - new_y
    return {i: (snap(x + dx), snap(y + dy)) for i, (x, y) in positions.items()}


def layout_command(net: Network, sizes: Sizes, route_skips: bool = False) -> Move | None:
    """One undoable ``Move`` of every node to its laid-out place (None when nothing moves)."""
    target = layered_positions(net, sizes, route_skips)
    moved = {i: p for i, p in target.items() if tuple(net.node(i).pos) != p}
    if not moved:
        return None
    return Move(net.name, moved, text="Auto-layout", mergeable=False)
