"""Auto-layout: layers left to right in topological generations, chains kept straight."""

from __future__ import annotations

import networkx as nx

from graph.commands import Move
from graph.document import Network
from gui.canvas.interaction import snap

COLUMN_GAP = 110.0
ROW_GAP = 36.0


def layered_positions(
    net: Network, sizes: dict[str, tuple[float, float]]
) -> dict[str, tuple[float, float]]:
    """Top-left positions for every node: one column per topological generation.

    Within a column nodes are ordered by the mean height of their inputs and
    pushed apart only as far as needed, so a plain chain stays on one line.
    """
    columns = [sorted(g, key=lambda i: net.node(i).pos[1])
               for g in nx.topological_generations(net.graph)]
    centre_y: dict[str, float] = {}
    positions: dict[str, tuple[float, float]] = {}
    x = 0.0
    for column in columns:
        wanted = {}
        for index, node_id in enumerate(column):
            preds = [centre_y[p] for p in net.graph.predecessors(node_id) if p in centre_y]
            wanted[node_id] = sum(preds) / len(preds) if preds else index * 140.0
        ordered = sorted(column, key=lambda i: (wanted[i], net.node(i).pos[1]))
        ys = _spread([wanted[i] for i in ordered], [sizes[i][1] for i in ordered])
        for node_id, top in zip(ordered, ys, strict=True):
            positions[node_id] = (x, top)
            centre_y[node_id] = top + sizes[node_id][1] / 2
        x += max(sizes[i][0] for i in column) + COLUMN_GAP
    return _anchored(net, positions)


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


def layout_command(net: Network, sizes: dict[str, tuple[float, float]]) -> Move | None:
    """One undoable ``Move`` of every node to its laid-out place (None when nothing moves)."""
    target = layered_positions(net, sizes)
    moved = {i: p for i, p in target.items() if tuple(net.node(i).pos) != p}
    if not moved:
        return None
    return Move(net.name, moved, text="Auto-layout", mergeable=False)
