"""A wire: a cubic curve from an output port to an input port, labelled with its tensor shape."""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import (
    QBrush,
    QFont,
    QFontMetricsF,
    QPainter,
    QPainterPath,
    QPainterPathStroker,
    QPen,
)
from PySide6.QtWidgets import QGraphicsItem, QStyleOptionGraphicsItem, QWidget

from graph.document import Edge
from gui.theme import CanvasColors

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


class WireLabel(QGraphicsItem):
    """The shape badge at a wire's middle; drawn above nodes, transparent to the mouse."""

    def __init__(self, colors: CanvasColors) -> None:
        super().__init__()
        self.colors = colors
        self.text = ""
        self.known = True
        self.selected = False
        self._rect = QRectF()
        self._font = QFont()
        self._font.setPointSizeF(max(7.0, self._font.pointSizeF() - 1.5))
        self._font.setBold(True)
        self.setAcceptedMouseButtons(Qt.MouseButton.NoButton)
        self.setZValue(1.5)
        self.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)

    def set_text(self, text: str, known: bool) -> None:
        self.prepareGeometryChange()
        self.text, self.known = text, known
        metrics = QFontMetricsF(self._font)
        w = metrics.horizontalAdvance(text) + 2 * LABEL_PAD_X
        h = metrics.height() + 2 * LABEL_PAD_Y
        self._rect = QRectF(-w / 2, -h / 2, w, h) if text else QRectF()
        self.setVisible(bool(text))
        self.update()

    def boundingRect(self) -> QRectF:
        return self._rect.adjusted(-1, -1, 1, 1)

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem,
              widget: QWidget | None = None) -> None:
        if option.levelOfDetailFromTransform(painter.worldTransform()) < 0.45:
            return
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
        self.badge = WireLabel(colors)
        self._path = QPainterPath()
        self._hit = QPainterPath()
        self._bounds = QRectF()
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIsSelectable)
        self.setZValue(-1)
        self.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)

    @property
    def label(self) -> str:
        return self.badge.text

    def set_ends(self, start: QPointF, end: QPointF) -> None:
        self.prepareGeometryChange()
        self._path = wire_path(start, end)
        stroker = QPainterPathStroker()
        stroker.setWidth(10.0)
        self._hit = stroker.createStroke(self._path)
        self._bounds = self._path.boundingRect().adjusted(-4, -4, 4, 4)
        self.badge.setPos(self._path.pointAtPercent(0.5))

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
        return self._hit

    def itemChange(self, change: QGraphicsItem.GraphicsItemChange, value: object) -> object:
        if change == QGraphicsItem.GraphicsItemChange.ItemSelectedHasChanged:
            self.badge.selected = bool(value)
            self.badge.update()
        return super().itemChange(change, value)

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem,
              widget: QWidget | None = None) -> None:
        c = self.colors
        known = self.badge.known
        colour = c.selected if self.isSelected() else (c.wire if known else c.wire_unknown)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(QPen(colour, 2.6 if self.isSelected() else 1.8))
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawPath(self._path)
