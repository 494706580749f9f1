"""The zoomed-out canvas: every node and wire drawn in a few batched calls.

Below ``OVERVIEW_ZOOM`` no text is readable, and a thousand items painting
themselves one by one cost more than a frame. The scene then tells its items
to paint nothing (they still take clicks, drags and rubber bands) and draws
this picture inside its background instead, which the view caches and only
redraws in strips while panning. The picture is split into square tiles so a
strip draws only what lies near it; it is rebuilt lazily after any change.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QPainter, QPainterPath, QPen

from gui.canvas.edge_item import EdgeItem
from gui.canvas.node_item import HEADER, WIDTH, NodeItem
from gui.theme import CATEGORY_COLORS, DEFAULT_CATEGORY_COLOR, CanvasColors

OVERVIEW_ZOOM = 0.4  # below this the items' text is unreadable: draw the overview
LARGE_OVERVIEW_ZOOM = 0.55  # a large network's text is just legible here, its items many
LARGE_NETWORK = 300  # nodes


def overview_zoom(nodes: int) -> float:
    """The zoom below which a network of ``nodes`` nodes is drawn as its overview."""
    return LARGE_OVERVIEW_ZOOM if nodes > LARGE_NETWORK else OVERVIEW_ZOOM
TILE = 2048.0
REACH = TILE / 2  # how far a node or a wire may reach from the tile it is filed under


@dataclass
class _Tile:
    wires: QPainterPath = field(default_factory=QPainterPath)
    bodies: list[QRectF] = field(default_factory=list)
    headers: dict[str, list[QRectF]] = field(default_factory=dict)  # by category
    marks: list[tuple[QRectF, str]] = field(default_factory=list)  # (body, status)


@dataclass
class _Picture:
    tiles: dict[tuple[int, int], _Tile]
    long_wires: QPainterPath  # wires longer than a tile: drawn whatever the strip
    marked_wires: QPainterPath  # selected wires


def _key(x: float, y: float) -> tuple[int, int]:
    return math.floor(x / TILE), math.floor(y / TILE)


class Overview:
    """Builds and paints the zoomed-out picture of a scene's nodes and wires."""

    def __init__(self) -> None:
        self._picture: _Picture | None = None

    @property
    def valid(self) -> bool:
        return self._picture is not None

    def invalidate(self) -> None:
        self._picture = None

    def paint(self, painter: QPainter, rect: QRectF, colors: CanvasColors,
              nodes: Iterable[NodeItem], edges: Iterable[EdgeItem]) -> None:
        """Draw what lies in ``rect`` (scene coordinates)."""
        if self._picture is None:
            self._picture = _build(nodes, edges)
        picture = self._picture
        tiles = list(_tiles_near(picture, rect))
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        wire = QPen(colors.wire, 1.0)
        wire.setCosmetic(True)
        painter.setPen(wire)
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawPath(picture.long_wires)
        for tile in tiles:
            painter.drawPath(tile.wires)
        if not picture.marked_wires.isEmpty():
            painter.setPen(_cosmetic(colors.selected, 2.0))
            painter.drawPath(picture.marked_wires)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, False)
        painter.setPen(_cosmetic(colors.node_border, 1.0))
        painter.setBrush(QBrush(colors.node))
        for tile in tiles:
            painter.drawRects(tile.bodies)
        painter.setPen(Qt.PenStyle.NoPen)
        for category, colour in _category_colours():
            painter.setBrush(QBrush(colour))
            for tile in tiles:
                if category in tile.headers:
                    painter.drawRects(tile.headers[category])
        painter.setBrush(Qt.BrushStyle.NoBrush)
        marks = {"error": colors.error, "warning": colors.warning, "selected": colors.selected}
        for tile in tiles:
            for body, status in tile.marks:
                painter.setPen(_cosmetic(marks[status], 2.0))
                painter.drawRect(body)


def _cosmetic(colour: QColor, width: float) -> QPen:
    pen = QPen(colour, width)
    pen.setCosmetic(True)
    return pen


def _category_colours() -> Iterator[tuple[str, QColor]]:
    yield from CATEGORY_COLORS.items()
    yield "", DEFAULT_CATEGORY_COLOR


def _tiles_near(picture: _Picture, rect: QRectF) -> Iterator[_Tile]:
    left, top = _key(rect.left() - REACH, rect.top() - REACH)
    right, bottom = _key(rect.right() + REACH, rect.bottom() + REACH)
    if (right - left + 1) * (bottom - top + 1) > len(picture.tiles):
        yield from picture.tiles.values()
        return
    for x in range(left, right + 1):
        for y in range(top, bottom + 1):
            tile = picture.tiles.get((x, y))
            if tile is not None:
                yield tile


def _build(nodes: Iterable[NodeItem], edges: Iterable[EdgeItem]) -> _Picture:
    tiles: dict[tuple[int, int], _Tile] = {}
    long_wires, marked_wires = QPainterPath(), QPainterPath()
    for item in nodes:
        pos = item.pos()
        body = QRectF(pos.x(), pos.y(), WIDTH, item.height)
        tile = tiles.setdefault(_key(pos.x(), pos.y()), _Tile())
        tile.bodies.append(body)
        category = item.spec.category if item.spec.category in CATEGORY_COLORS else ""
        tile.headers.setdefault(category, []).append(QRectF(pos.x(), pos.y(), WIDTH, HEADER))
        status = item.status or ("selected" if item.isSelected() else None)
        if status is not None:
            tile.marks.append((body, status))
    for edge in edges:
        path = edge.path
        if edge.isSelected():
            marked_wires.addPath(path)
            continue
        bounds = path.boundingRect()
        if bounds.width() > TILE or bounds.height() > TILE:
            long_wires.addPath(path)
        else:
            centre = bounds.center()
            tiles.setdefault(_key(centre.x(), centre.y()), _Tile()).wires.addPath(path)
    return _Picture(tiles, long_wires, marked_wires)
