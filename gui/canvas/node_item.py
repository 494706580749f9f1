"""A layer on the canvas: its label, type, key parameters and parameter count.

The item draws what the document and shape inference say; it never holds
state of its own beyond what it needs to paint (its position is set from the
document's ``node_moved`` events).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QFont, QFontMetricsF, QPainter, QPainterPath, QPen
from PySide6.QtWidgets import (
    QGraphicsItem,
    QGraphicsSceneMouseEvent,
    QStyleOptionGraphicsItem,
    QWidget,
)

from graph.catalog import LayerSpec
from graph.document import Node
from graph.shapes import NodeShape
from gui.canvas.port_item import PortItem
from gui.theme import CATEGORY_COLORS, DEFAULT_CATEGORY_COLOR, CanvasColors

if TYPE_CHECKING:
    from gui.canvas.scene import GraphScene

WIDTH = 150.0
HEADER = 26.0
LINE = 17.0
ROW = 22.0
PAD = 7.0
TEXT_X = 14.0
MAX_KEY_PARAMS = 3


def format_value(value: object) -> str:
    if isinstance(value, tuple | list):
        return "×".join(str(v) for v in value) if value else "()"
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def format_count(n: int) -> str:
    if n >= 1_000_000:
        return f"{n / 1_000_000:.2f}M"
    if n >= 10_000:
        return f"{n / 1000:.1f}k"
    return f"{n:,}"


class NodeItem(QGraphicsItem):
    """One node of a network, with its input ports on the left and output on the right."""

    def __init__(self, node: Node, colors: CanvasColors) -> None:
        super().__init__()
        self.node_id = node.id
        self.colors = colors
        self.spec: LayerSpec = node.spec
        self.title = node.label
        self.lines: list[str] = []
        self.status: str | None = None  # None, "warning" or "error"
        self.inputs: dict[str, PortItem] = {}
        self.output: PortItem | None = None
        self._height = HEADER + 2 * PAD + LINE
        self._port_labels = False
        self._text_top = HEADER + PAD
        self._title_font = QFont()
        self._title_font.setBold(True)
        self._body_font = QFont()
        self._body_font.setPointSizeF(max(7.0, self._body_font.pointSizeF() - 0.5))
        self._small_font = QFont(self._body_font)
        self._small_font.setPointSizeF(self._body_font.pointSizeF() - 0.5)
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIsSelectable)
        self.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
        self.setZValue(1)
        self.setPos(QPointF(*node.pos))
        if self.spec.role != "output":
            self.output = PortItem(self, "", is_input=False)

    # -- content ---------------------------------------------------------------
    def refresh(self, node: Node, connected: list[str], shape: NodeShape) -> None:
        """Re-read everything shown from the node, its connected ports and its shape."""
        self.title = node.label
        lines = []
        for name in self.spec.key_params[:MAX_KEY_PARAMS]:
            lines.append(f"{name}  {format_value(node.params[name])}")
        if self.spec.role == "output" and shape.out is not None:
            lines.append(f"returns {shape.out.describe()}")
        if shape.params:
            frozen = "" if shape.trainable == shape.params else " (frozen)"
            lines.append(f"{format_count(shape.params)} params{frozen}")
        self.lines = lines
        self._set_ports(self.spec.port_keys(connected), set(connected))
        self._relayout()

    def set_status(self, status: str | None, tooltip: str) -> bool:
        """Set the error/warning marking; True when it changed."""
        if tooltip != self.toolTip():
            self.setToolTip(tooltip)
        if status == self.status:
            return False
        self.status = status
        self.update()
        return True

    def set_colors(self, colors: CanvasColors) -> None:
        self.colors = colors
        self.update()
        for port in self.ports():
            port.update()

    def ports(self) -> list[PortItem]:
        return [*self.inputs.values(), *([self.output] if self.output else [])]

    def input_anchor(self, key: str) -> QPointF:
        port = self.inputs.get(key)
        return port.anchor() if port else self.mapToScene(QPointF(0, HEADER / 2))

    def output_anchor(self) -> QPointF:
        return self.output.anchor() if self.output else self.mapToScene(QPointF(WIDTH, 0))

    @property
    def height(self) -> float:
        return self._height

    def _set_ports(self, keys: list[str], connected: set[str]) -> None:
        for key in [k for k in self.inputs if k not in keys]:
            port = self.inputs.pop(key)
            port.setParentItem(None)
            if port.scene() is not None:
                port.scene().removeItem(port)
        for key in keys:
            if key not in self.inputs:
                self.inputs[key] = PortItem(self, key, is_input=True)
            self.inputs[key].set_connected(key in connected)
            spec = self.spec.port(key)
            self.inputs[key].setToolTip(f"{key}: {spec.doc}" if spec and spec.doc else key)
        self.inputs = {k: self.inputs[k] for k in keys}
        self._port_labels = len(keys) > 1 or any(k != "x" for k in keys)

    def _relayout(self) -> None:
        """Ports beside the text, or, when the ports have names, above it."""
        n, lines = len(self.inputs), max(len(self.lines), 1) * LINE
        if self._port_labels:
            body = n * ROW + (len(self.lines) * LINE) + 2 * PAD
            first = HEADER + PAD + ROW / 2
            self._text_top = HEADER + PAD + n * ROW
        else:
            body = max(n * ROW, lines) + 2 * PAD
            first = HEADER + body / 2 - (n - 1) / 2 * ROW
            self._text_top = HEADER + (body - len(self.lines) * LINE) / 2
        height = HEADER + body
        if height != self._height:
            self.prepareGeometryChange()
            self._height = height
        for i, port in enumerate(self.inputs.values()):
            port.setPos(0.0, first + i * ROW)
        if self.output:
            self.output.setPos(WIDTH, HEADER + body / 2 if not self._port_labels else first)
        self.update()

    # -- painting --------------------------------------------------------------
    def boundingRect(self) -> QRectF:
        return QRectF(-3, -3, WIDTH + 6, self._height + 6)

    def shape(self) -> QPainterPath:
        path = QPainterPath()
        path.addRoundedRect(QRectF(0, 0, WIDTH, self._height), 6, 6)
        return path

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem,
              widget: QWidget | None = None) -> None:
        c = self.colors
        rect = QRectF(0, 0, WIDTH, self._height)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(QBrush(c.node))
        painter.drawRoundedRect(rect, 6, 6)
        header = QPainterPath()
        header.setFillRule(Qt.FillRule.WindingFill)
        header.addRoundedRect(QRectF(0, 0, WIDTH, HEADER), 6, 6)
        header.addRect(QRectF(0, HEADER / 2, WIDTH, HEADER / 2))
        accent = CATEGORY_COLORS.get(self.spec.category, DEFAULT_CATEGORY_COLOR)
        painter.fillPath(header, QBrush(accent))
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.setPen(self._border_pen())
        painter.drawRoundedRect(rect, 6, 6)
        if option.levelOfDetailFromTransform(painter.worldTransform()) < 0.35:
            return  # too small to read: skip the text
        self._paint_header(painter)
        self._paint_body(painter)

    def _border_pen(self) -> QPen:
        c = self.colors
        if self.status == "error":
            return QPen(c.error, 2.6)
        if self.status == "warning":
            return QPen(c.warning, 2.4)
        if self.isSelected():
            return QPen(c.selected, 2.4)
        return QPen(c.node_border, 1.0)

    def _paint_header(self, painter: QPainter) -> None:
        painter.setPen(QColor("#ffffff"))
        bold, small = QFontMetricsF(self._title_font), QFontMetricsF(self._small_font)
        shown = self.spec.display_name
        type_text = shown if shown.lower() != self.title.lower() else ""
        room = WIDTH - 20
        title_w = min(bold.horizontalAdvance(self.title), room * 0.62 if type_text else room)
        full = small.horizontalAdvance(type_text)
        type_w = min(full, room - title_w - 8)
        if type_text and type_w >= min(full, 28.0):
            text = small.elidedText(type_text, Qt.TextElideMode.ElideRight, type_w + 1)
            painter.setFont(self._small_font)
            painter.drawText(QRectF(WIDTH - 10 - type_w - 1, 0, type_w + 2, HEADER),
                             Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignRight, text)
        else:
            title_w = room
        painter.setFont(self._title_font)
        title = bold.elidedText(self.title, Qt.TextElideMode.ElideRight, title_w + 1)
        painter.drawText(QRectF(10, 0, title_w + 2, HEADER), Qt.AlignmentFlag.AlignVCenter,
                         title)

    def _paint_body(self, painter: QPainter) -> None:
        c = self.colors
        metrics = QFontMetricsF(self._body_font)
        if self._port_labels:
            painter.setFont(self._small_font)
            small = QFontMetricsF(self._small_font)
            painter.setPen(c.muted)
            for key, port in self.inputs.items():
                painter.drawText(QPointF(TEXT_X - 3, port.y() + small.ascent() / 2 - 1), key)
        painter.setFont(self._body_font)
        for i, line in enumerate(self.lines):
            painter.setPen(c.muted if line.endswith(("params", "(frozen)")) else c.text)
            text = metrics.elidedText(line, Qt.TextElideMode.ElideRight, WIDTH - TEXT_X - 12)
            painter.drawText(QRectF(TEXT_X, self._text_top + i * LINE, WIDTH - TEXT_X - 10, LINE),
                             Qt.AlignmentFlag.AlignVCenter, text)

    # -- gestures: dragging a node moves the selection --------------------------
    def _scene(self) -> GraphScene:
        from gui.canvas.scene import GraphScene

        scene = self.scene()
        assert isinstance(scene, GraphScene)
        return scene

    def mousePressEvent(self, event: QGraphicsSceneMouseEvent) -> None:
        super().mousePressEvent(event)
        if event.button() == Qt.MouseButton.LeftButton:
            self._scene().moving.begin(event.scenePos())

    def mouseMoveEvent(self, event: QGraphicsSceneMouseEvent) -> None:
        self._scene().moving.move(event.scenePos())

    def mouseReleaseEvent(self, event: QGraphicsSceneMouseEvent) -> None:
        self._scene().moving.finish()
        super().mouseReleaseEvent(event)
