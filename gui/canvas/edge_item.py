"""A wire: a cubic curve from an output port to an input port, labelled with its tensor shape."""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import (
    QBrush,
    QColor,
    QFont,
    QFontMetricsF,
    QPainter,
    QPainterPath,
    QPainterPathStroker,
    QPen,
)
from PySide6.QtWidgets import QGraphicsItem, QStyleOptionGraphicsItem, QWidget

from graph.document import Edge
from gui.canvas.node_item import BODY_LOD
from gui.theme import CanvasColors

SELECTABLE = QGraphicsItem.GraphicsItemFlag.ItemIsSelectable
DEVICE_CACHE = QGraphicsItem.CacheMode.DeviceCoordinateCache
LABEL_SPOTS = (0.35, 0.65, 0.2, 0.8)  # where along a wire its label may sit instead
END_GAP = 55.0  # into the gap between nodes: about half of auto-layout's column gap
LABEL_ROOM = QRectF(-40, -9, 80, 18)  # what a typical label needs around its centre
LABEL_PAD_X = 4.0
LABEL_PAD_Y = 2.0


def wire_path(start: QPointF, end: QPointF) -> QPainterPath:
    """The curve between two anchors: out of an output rightwards, into an input from the left."""
    span = end.x() - start.x()
    # Forward wires bend gently; backward ones make a compact S instead of a wide loop.
    dx = max(40.0, span * 0.5) if span >= 0 else min(140.0, 40.0 + abs(end.y() - start.y()) / 3)
    path = QPainterPath(start)
    path.cubicTo(QPointF(start.x() + dx, start.y()), QPointF(end.x() - dx, end.y()), end)
    return path


@lru_cache(maxsize=1)
def _label_font() -> QFont:
    font = QFont()
    font.setPointSizeF(max(7.0, font.pointSizeF() - 1.5))
    font.setBold(True)
    return font


@lru_cache(maxsize=4096)
def _label_size(text: str) -> tuple[float, float]:
    metrics = QFontMetricsF(_label_font())  # the same few shapes label most wires
    return (metrics.horizontalAdvance(text) + 2 * LABEL_PAD_X,
            metrics.height() + 2 * LABEL_PAD_Y)


def _label_rect(text: str) -> QRectF:
    w, h = _label_size(text)
    return QRectF(-w / 2, -h / 2, w, h)


class WireLabel(QGraphicsItem):
    """The shape badge at a wire's middle; drawn above nodes, transparent to the mouse."""

    def __init__(self, colors: CanvasColors, edge: Edge | None = None) -> None:
        super().__init__()
        self.colors = colors
        self.edge = edge  # the wire it labels
        self.text = ""
        self.known = True
        self.selected = False  # follows the wire's selection (the scene keeps it in step)
        self.suppressed = False  # the canvas is zoomed out too far for labels
        self._rect = QRectF()
        self._font = _label_font()
        self.setAcceptedMouseButtons(Qt.MouseButton.NoButton)
        self.setZValue(1.5)
        self.setCacheMode(DEVICE_CACHE)

    def set_text(self, text: str, known: bool) -> None:
        self.prepareGeometryChange()
        self.text, self.known = text, known
        self._rect = _label_rect(text) if text else QRectF()
        self._sync_visible()
        self.update()

    def suppress(self, suppressed: bool) -> None:
        self.suppressed = suppressed
        self._sync_visible()

    def _sync_visible(self) -> None:
        shown = bool(self.text) and not self.suppressed
        if shown != self.isVisible():
            self.setVisible(shown)

    def boundingRect(self) -> QRectF:
        return self._rect.adjusted(-1, -1, 1, 1)

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem,
              widget: QWidget | None = None) -> None:
        if option.levelOfDetailFromTransform(painter.worldTransform()) < BODY_LOD:
            return  # as small as a node's body text: unreadable
        c = self.colors
        edge = c.selected if self.selected else (c.wire if self.known else c.wire_unknown)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(QPen(edge, 1.0))
        painter.setBrush(QBrush(c.label_bg))
        painter.drawRoundedRect(self._rect, 4, 4)
        painter.setFont(self._font)
        painter.setPen(c.text if self.known else c.muted)
        painter.drawText(self._rect, Qt.AlignmentFlag.AlignCenter, self.text)


class EdgeItem(QGraphicsItem):
    """One wire of the document; ``set_ends`` and ``set_label`` are all that change it.

    Its ``badge`` (the shape label) is a separate top-level item so it stays
    readable above nodes; the scene adds and removes both together.
    """

    def __init__(self, edge: Edge, colors: CanvasColors) -> None:
        super().__init__()
        self.edge = edge
        self.colors = colors
        self.badge = WireLabel(colors, edge)
        self._path = QPainterPath()
        self._hit: QPainterPath | None = QPainterPath()
        self._bounds = QRectF()
        # the step view's colour and width for this wire (gui.canvas.step_overlay)
        self.emphasis: tuple[QColor, float] | None = None
        self.setFlag(SELECTABLE)
        self.setZValue(-1)
        # No cache: a wire's bounding box is mostly empty and can span the canvas, so
        # re-rendering a cached picture at every zoom step costs more than stroking it.

    @property
    def label(self) -> str:
        return self.badge.text

    @property
    def path(self) -> QPainterPath:
        return self._path

    def set_ends(self, start: QPointF, end: QPointF) -> None:
        """Route the wire between two anchors; its label goes to the middle."""
        self.prepareGeometryChange()
        self._path = wire_path(start, end)
        self._hit = None
        self._bounds = self._path.boundingRect().adjusted(-4, -4, 4, 4)
        self.badge.setPos(self._path.pointAtPercent(0.5))

    def place_label(self, covered: Callable[[QRectF], bool]) -> None:
        """Move the label off whatever ``covered`` reports under the middle: a little along
        the wire, else into the gap just before its input or just after its output."""
        path = self._path
        length = path.length()
        if covered(LABEL_ROOM.translated(path.pointAtPercent(0.5))):
            spots = [path.pointAtPercent(t) for t in LABEL_SPOTS]
            if length > 2 * END_GAP:
                spots += [path.pointAtPercent(path.percentAtLength(d))
                          for d in (length - END_GAP, END_GAP)]
            free = next((p for p in spots if not covered(LABEL_ROOM.translated(p))), None)
            if free is not None:
                self.badge.setPos(free)

    def set_label(self, text: str, known: bool) -> None:
        if (text, known) != (self.badge.text, self.badge.known):
            self.badge.set_text(text, known)
            self.update()

    def set_colors(self, colors: CanvasColors) -> None:
        self.colors = colors
        self.badge.colors = colors
        self.update()
        self.badge.update()

    def boundingRect(self) -> QRectF:
        return self._bounds

    def shape(self) -> QPainterPath:
        if self._hit is None:  # only clicks and rubber bands need it
            stroker = QPainterPathStroker()
            stroker.setWidth(10.0)
            self._hit = stroker.createStroke(self._path)
        return self._hit

    def show_selected(self, selected: bool) -> None:
        """Mark the label as the wire's selection changed (no ``itemChange``: it runs on
        every change of every wire, which costs a Python call each)."""
        if selected != self.badge.selected:
            self.badge.selected = selected
            self.badge.update()

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem,
              widget: QWidget | None = None) -> None:
        c = self.colors
        known = self.badge.known
        colour = c.selected if self.isSelected() else (c.wire if known else c.wire_unknown)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        width = 2.6 if self.isSelected() else 1.8
        if self.emphasis is not None:
            colour, width = self.emphasis
        painter.setPen(QPen(colour, width))
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawPath(self._path)
