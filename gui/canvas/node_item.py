"""A layer on the canvas: its label, type, key parameters and parameter count.

The item draws what the document and shape inference say; it never holds
state of its own beyond what it needs to paint (its position is set from the
document's ``node_moved`` events).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
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
from gui.canvas.port_item import RADIUS, PortItem
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
PORT_REACH = RADIUS + 3.5  # how far a (hovered) port dot sticks out of the node
HEADER_TEXT = QColor("#ffffff")
SELECTABLE = QGraphicsItem.GraphicsItemFlag.ItemIsSelectable
DEVICE_CACHE = QGraphicsItem.CacheMode.DeviceCoordinateCache
TEXT_LOD = 0.35  # below this zoom a node shows no text at all
BODY_LOD = 0.45  # below this only its title and type (the body's small text is unreadable)


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


@dataclass(frozen=True)
class _Fonts:
    """The fonts every node paints with (made once, after the application exists)."""

    title: QFont
    body: QFont
    small: QFont
    tight: QFont  # for a layer type that the small font cannot fit into a node

    @classmethod
    def make(cls) -> _Fonts:
        title = QFont()
        title.setBold(True)
        body = QFont()
        body.setPointSizeF(max(7.0, body.pointSizeF() - 0.5))
        small = QFont(body)
        small.setPointSizeF(body.pointSizeF() - 0.5)
        tight = QFont(small)
        tight.setPointSizeF(small.pointSizeF() * 0.85)
        return cls(title, body, small, tight)


@lru_cache(maxsize=1)
def _fonts() -> _Fonts:
    return _Fonts.make()


def _title_width(title: str, type_text: str) -> float:
    """Room for the title in the header; with a type beside it, at most 62% of it."""
    room = WIDTH - 20
    return min(QFontMetricsF(_fonts().title).horizontalAdvance(title),
               room * 0.62 if type_text else room)


@lru_cache(maxsize=4096)  # asked at every refresh of every node; fonts never change
def _type_fits_header(title: str, type_text: str) -> bool:
    """Whether the type fits, whole, beside the title; if not it moves to the body's first
    line, where it has the node's width ("TransformerEncoderLayer" is never cut short)."""
    if not type_text:
        return True
    room = WIDTH - 20
    full = QFontMetricsF(_fonts().small).horizontalAdvance(type_text)
    return full <= room - _title_width(title, type_text) - 8


@dataclass(frozen=True)
class _Text:
    """One piece of text of a node, laid out when the node changes, not when it paints."""

    rect: QRectF
    text: str
    font: str  # "title", "body" or "small"
    role: str  # "header", "text" or "muted"
    align: Qt.AlignmentFlag


def _header_path() -> QPainterPath:
    path = QPainterPath()
    path.setFillRule(Qt.FillRule.WindingFill)
    path.addRoundedRect(QRectF(0, 0, WIDTH, HEADER), 6, 6)
    path.addRect(QRectF(0, HEADER / 2, WIDTH, HEADER / 2))
    return path


_HEADER = _header_path()


class NodeItem(QGraphicsItem):
    """One node of a network, with its input ports on the left and output on the right.

    Everything painted, port dots included, is laid out in ``refresh``, so a
    paint is a handful of draw calls; ports are hit areas that paint nothing.
    """

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
        self._type_in_body = False  # the type fits no longer beside the title
        self._text_top = HEADER + PAD
        self._texts: list[_Text] | None = None  # laid out at the next paint
        self._header_count = 0  # of _texts, the title and type
        self._shown: tuple[object, ...] = ()  # what the last refresh showed
        self._accent = CATEGORY_COLORS.get(self.spec.category, DEFAULT_CATEGORY_COLOR)
        self.setFlag(SELECTABLE)
        self.setCacheMode(DEVICE_CACHE)
        self.setZValue(1)
        self.setPos(QPointF(*node.pos))
        if self.spec.role != "output":
            self.output = PortItem(self, "", is_input=False)

    # -- content ---------------------------------------------------------------
    def refresh(self, node: Node, connected: list[str], shape: NodeShape) -> None:
        """Re-read everything shown from the node, its connected ports and its shape."""
        self.title = node.label
        type_in_body = not _type_fits_header(node.label, self._type_text(node.label))
        lines = [self.spec.display_name] if type_in_body else []
        for name in self.spec.key_params[:MAX_KEY_PARAMS]:
            lines.append(f"{name}  {format_value(node.params[name])}")
        if self.spec.role == "output" and shape.out is not None:
            lines.append(f"returns {shape.out.describe()}")
        if shape.params:
            frozen = "" if shape.trainable == shape.params else " (frozen)"
            lines.append(f"{format_count(shape.params)} params{frozen}")
        elif shape.pending and self.spec.has_weights:
            lines.append("… params")  # counted once torch has loaded; keeps the height
        keys = self.spec.port_keys(connected)
        shown = (node.label, lines, keys, sorted(connected))
        if shown == self._shown:
            return  # most shape changes only change the wires' labels
        self._shown = shown
        self.title = node.label
        self._type_in_body = type_in_body
        self.lines = lines
        self._set_ports(keys, set(connected))
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
        if list(self.inputs) != keys:
            for key in [k for k in self.inputs if k not in keys]:
                port = self.inputs.pop(key)
                port.setParentItem(None)  # type: ignore[arg-type]  # the stub omits None
                if port.scene() is not None:
                    port.scene().removeItem(port)
            for key in keys:
                if key not in self.inputs:
                    port = self.inputs[key] = PortItem(self, key, is_input=True)
                    spec = self.spec.port(key)
                    port.setToolTip(f"{key}: {spec.doc}" if spec and spec.doc else key)
            self.inputs = {k: self.inputs[k] for k in keys}
        for key, port in self.inputs.items():
            port.set_connected(key in connected)
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
            if port.pos() != QPointF(0.0, first + i * ROW):
                port.setPos(0.0, first + i * ROW)
        if self.output:
            at = QPointF(WIDTH, HEADER + body / 2 if not self._port_labels else first)
            if self.output.pos() != at:
                self.output.setPos(at)
        self._texts = None
        self.update()

    def _type_text(self, title: str) -> str:
        """The layer type shown beside the title, unless the title already says it."""
        shown = self.spec.display_name
        return shown if shown.lower() != title.lower() else ""

    def _header_texts(self) -> list[_Text]:
        bold = QFontMetricsF(_fonts().title)
        type_text = "" if self._type_in_body else self._type_text(self.title)
        title_w, room = _title_width(self.title, type_text), WIDTH - 20
        texts = []
        centre = Qt.AlignmentFlag.AlignVCenter
        if type_text:
            type_w = room - title_w - 8
            texts.append(_Text(QRectF(WIDTH - 10 - type_w - 1, 0, type_w + 2, HEADER), type_text,
                               "small", "header", centre | Qt.AlignmentFlag.AlignRight))
        title = bold.elidedText(self.title, Qt.TextElideMode.ElideRight, title_w + 1)
        texts.append(_Text(QRectF(10, 0, title_w + 2, HEADER), title, "title", "header",
                           centre))
        return texts

    def _body_texts(self) -> list[_Text]:
        fonts = _fonts()
        texts = []
        centre = Qt.AlignmentFlag.AlignVCenter
        if self._port_labels:
            for key, port in self.inputs.items():
                texts.append(_Text(QRectF(TEXT_X - 3, port.y() - ROW / 2, WIDTH / 2, ROW), key,
                                   "small", "muted", centre))
        metrics = QFontMetricsF(fonts.body)
        for i, line in enumerate(self.lines):
            rect = QRectF(TEXT_X, self._text_top + i * LINE, WIDTH - TEXT_X - 10, LINE)
            if i == 0 and self._type_in_body:
                font = "small" if QFontMetricsF(fonts.small).horizontalAdvance(line) <= \
                    rect.width() else "tight"
                text = QFontMetricsF(getattr(fonts, font)).elidedText(
                    line, Qt.TextElideMode.ElideRight, rect.width())
                texts.append(_Text(rect, text, font, "muted", centre))
                continue
            role = "muted" if line.endswith(("params", "(frozen)")) else "text"
            text = metrics.elidedText(line, Qt.TextElideMode.ElideRight, WIDTH - TEXT_X - 12)
            texts.append(_Text(rect, text, "body", role, centre))
        return texts

    def shown_texts(self) -> list[str]:
        """The texts painted at full zoom, header first, as laid out (elided or not)."""
        return [t.text for t in self._header_texts() + self._body_texts()]

    # -- painting --------------------------------------------------------------
    def boundingRect(self) -> QRectF:
        return QRectF(-PORT_REACH, -3, WIDTH + 2 * PORT_REACH, self._height + 6)

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
        painter.fillPath(_HEADER, QBrush(self._accent))
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.setPen(self._border_pen())
        painter.drawRoundedRect(rect, 6, 6)
        self._paint_ports(painter)
        lod = option.levelOfDetailFromTransform(painter.worldTransform())
        if lod < TEXT_LOD:
            return  # too small to read: skip the text
        if self._texts is None:
            header = self._header_texts()
            self._header_count = len(header)
            self._texts = header + self._body_texts()
        fonts = _fonts()
        colours = {"header": HEADER_TEXT, "text": c.text, "muted": c.muted}
        # Zoomed out further the body's small text is unreadable: the titles alone are drawn.
        texts = self._texts if lod >= BODY_LOD else self._texts[:self._header_count]
        for t in texts:
            painter.setFont(getattr(fonts, t.font))
            painter.setPen(colours[t.role])
            painter.drawText(t.rect, t.align, t.text)

    def _paint_ports(self, painter: QPainter) -> None:
        c = self.colors
        painter.setPen(QPen(c.port, 1.6))
        for port in self.ports():
            fill = c.selected if port.hover else (c.wire if port.connected else c.node)
            radius = RADIUS + (1.5 if port.hover else 0.0)
            painter.setBrush(QBrush(fill))
            painter.drawEllipse(port.pos(), radius, radius)

    def _border_pen(self) -> QPen:
        c = self.colors
        if self.status == "error":
            return QPen(c.error, 2.6)
        if self.status == "warning":
            return QPen(c.warning, 2.4)
        if self.isSelected():
            return QPen(c.selected, 2.4)
        return QPen(c.node_border, 1.0)

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
