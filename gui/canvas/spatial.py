"""Which nodes lie where, for placing wire labels off them without asking the scene.

``QGraphicsScene.items(rect)`` calls every nearby item's Python ``boundingRect``
and may rebuild its index after each change, which is too slow to ask once per
wire while a thousand wires are laid out. The scene files each node's box here
in a coarse grid as it is added, moved, resized or removed.
"""

from __future__ import annotations

import math

from PySide6.QtCore import QRectF

CELL = 512.0

Box = tuple[float, float, float, float]  # left, top, right, bottom
Cell = tuple[int, int]


class NodeBoxes:
    """Answers "does any node overlap this rectangle?" from a grid of node boxes."""

    def __init__(self) -> None:
        self._grid: dict[Cell, dict[str, Box]] = {}
        self._cells: dict[str, list[Cell]] = {}

    def put(self, node_id: str, box: Box) -> None:
        """File (or re-file) a node's box."""
        self.remove(node_id)
        cells = _cells(*box)
        for cell in cells:
            self._grid.setdefault(cell, {})[node_id] = box
        self._cells[node_id] = cells

    def remove(self, node_id: str) -> None:
        for cell in self._cells.pop(node_id, ()):
            boxes = self._grid[cell]
            del boxes[node_id]
            if not boxes:
                del self._grid[cell]

    def overlaps(self, rect: QRectF) -> bool:
        left, top, right, bottom = rect.left(), rect.top(), rect.right(), rect.bottom()
        for cell in _cells(left, top, right, bottom):
            for x0, y0, x1, y1 in self._grid.get(cell, {}).values():
                if x0 < right and left < x1 and y0 < bottom and top < y1:
                    return True
        return False


def _cells(left: float, top: float, right: float, bottom: float) -> list[Cell]:
    xs = range(math.floor(left / CELL), math.floor(right / CELL) + 1)
    ys = range(math.floor(top / CELL), math.floor(bottom / CELL) + 1)
    return [(x, y) for x in xs for y in ys]
