"""The step view on the canvas: what each node computed, the loss, the gradients, the update.

Overlay items are children of the node items they annotate (so they follow a moved
node) and are removed by ``clear``; wires are coloured through ``EdgeItem.emphasis``.
Nothing here computes: it draws the records of ``runtime.inspect.step`` /
``runtime.inspect.forward`` as they are.

Public API (the step view and Try it call it):
- ``show_forward(scene, records, lit=None)``: each node's output card (image grid, bar
  strip or heat-map, mean/std); ``lit`` names the node that lights up now.
- ``show_step(scene, record, stage, upto)``: a walked step at ``stage`` ("forward",
  "loss", "backward", "update"); ``upto`` nodes of the forward/backward pass shown.
- ``clear(scene)``; ``overlay_texts(scene)``: every text the overlay shows (tests).
"""

from __future__ import annotations

import math
import weakref
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QFont, QFontMetricsF, QImage, QPainter, QPen
from PySide6.QtWidgets import QGraphicsItem, QStyleOptionGraphicsItem, QWidget

from gui.canvas.edge_item import EdgeItem
from gui.canvas.node_item import WIDTH, NodeItem
from gui.canvas.scene import GraphScene
from gui.canvas.step_drawing import heat, heat_of, log_scale, number, paint_record, record_height

STAGES = ("forward", "loss", "backward", "update")
LIT = QColor("#f2b937")
PAD = 5.0
LINE = 14.0
SCALE = 2  # card pictures are rendered at twice their size: sharp when zoomed in

_items: weakref.WeakKeyDictionary[GraphScene, list[QGraphicsItem]] = \
    weakref.WeakKeyDictionary()


def _font(bold: bool = False) -> QFont:
    font = QFont()
    font.setPointSizeF(max(7.0, font.pointSizeF() - 1.0))
    font.setBold(bold)
    return font


class Card(QGraphicsItem):
    """A box of text lines with an optional picture of a record, drawn once into an image."""

    def __init__(self, lines: Sequence[str], record: Mapping[str, Any] | None,
                 colors: Any, width: float = WIDTH, accent: QColor | None = None) -> None:
        super().__init__()
        self.lines = list(lines)
        self.setZValue(30)
        picture = record_height(record, width - 2 * PAD) if record else 0.0
        height = PAD * 2 + LINE * len(self.lines) + (picture + PAD if picture else 0.0)
        self._rect = QRectF(0, 0, width, height)
        self._image = QImage(int(width * SCALE), int(height * SCALE),
                             QImage.Format.Format_ARGB32_Premultiplied)
        self._image.fill(Qt.GlobalColor.transparent)
        painter = QPainter(self._image)
        painter.scale(SCALE, SCALE)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(QPen(accent or colors.node_border, 1.4 if accent else 1.0))
        background = QColor(colors.node)
        background.setAlpha(235)
        painter.setBrush(QBrush(background))
        painter.drawRoundedRect(self._rect.adjusted(0.5, 0.5, -0.5, -0.5), 5, 5)
        if record and picture:
            paint_record(painter, QRectF(PAD, PAD, width - 2 * PAD, picture), record,
                         colors.muted)
        top = PAD + (picture + PAD if picture else 0.0)
        for i, line in enumerate(self.lines):
            painter.setFont(_font(bold=i == 0))
            painter.setPen(colors.text if i == 0 else colors.muted)
            metrics = QFontMetricsF(painter.font())
            text = metrics.elidedText(line, Qt.TextElideMode.ElideRight, width - 2 * PAD)
            painter.drawText(QRectF(PAD, top + i * LINE, width - 2 * PAD, LINE),
                             Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, text)
        painter.end()
        self.setToolTip("\n".join(self.lines))

    def boundingRect(self) -> QRectF:
        return self._rect

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem,
              widget: QWidget | None = None) -> None:
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        painter.drawImage(self._rect, self._image)


class Glow(QGraphicsItem):
    """A node lit up: a bright frame around it."""

    def __init__(self, node: NodeItem, colour: QColor = LIT) -> None:
        super().__init__(node)
        self.colour = colour
        self._rect = QRectF(-5, -5, WIDTH + 10, node.height + 10)
        self.setZValue(20)

    def boundingRect(self) -> QRectF:
        return self._rect.adjusted(-3, -3, 3, 3)

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem,
              widget: QWidget | None = None) -> None:
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(QPen(self.colour, 4.0))
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawRoundedRect(self._rect, 8, 8)


# -- the API ------------------------------------------------------------------------
def clear(scene: GraphScene) -> None:
    """Remove every overlay item and wire colouring from ``scene``."""
    for item in _items.pop(scene, []):
        if item.scene() is scene:
            scene.removeItem(item)
    for edge in _edges(scene):
        if edge.emphasis is not None:
            edge.emphasis = None
            edge.update()


def overlay_texts(scene: GraphScene) -> list[str]:
    """Every line of text the overlay shows now, card by card."""
    return [line for item in _items.get(scene, []) if isinstance(item, Card)
            for line in item.lines]


def show_forward(scene: GraphScene, records: Mapping[str, Mapping[str, Any]],
                 lit: str | None = None, order: Iterable[str] | None = None) -> None:
    """Each node's output card below it (``order``: which nodes, in which order)."""
    clear(scene)
    _forward_cards(scene, records, list(order) if order is not None else list(records), lit)


def show_step(scene: GraphScene, record: Mapping[str, Any], stage: str,
              upto: int | None = None) -> None:
    """A walked step at ``stage``; ``upto`` limits how many nodes of the forward pass (in
    order) or of the backward pass (in reverse order) are shown yet."""
    clear(scene)
    order = list(record["order"])
    forward = order if stage != "forward" or upto is None else order[:upto]
    _forward_cards(scene, record["forward"], forward,
                   forward[-1] if stage == "forward" and forward else None)
    if stage == "forward":
        return
    _loss_card(scene, record)
    if stage == "loss":
        return
    back = order[::-1] if stage != "backward" or upto is None else order[::-1][:upto]
    _gradients(scene, record, back, back[-1] if stage == "backward" and back else None)
    if stage == "update":
        _update(scene, record)


# -- stages -------------------------------------------------------------------------
def _add(scene: GraphScene, item: QGraphicsItem) -> None:
    if item.parentItem() is None:
        scene.addItem(item)
    _items.setdefault(scene, []).append(item)


def _nodes(scene: GraphScene) -> Mapping[str, NodeItem]:
    return scene.nodes


def _edges(scene: GraphScene) -> list[EdgeItem]:
    return list(scene.edges.values())


def _colors(scene: GraphScene) -> Any:
    return scene.colors


def _forward_cards(scene: GraphScene, records: Mapping[str, Mapping[str, Any]],
                   ids: Sequence[str], lit: str | None) -> None:
    nodes = _nodes(scene)
    for node_id in ids:
        node, rec = nodes.get(node_id), records.get(node_id)
        if node is None or rec is None:
            continue
        card = Card(_forward_lines(node, rec), rec, _colors(scene),
                    accent=LIT if node_id == lit else None)
        card.setParentItem(node)
        card.setPos(0, node.height + 8)
        _add(scene, card)
        if node_id == lit:
            _add(scene, Glow(node))


def _forward_lines(node: NodeItem, rec: Mapping[str, Any]) -> list[str]:
    shape = "×".join(str(s) for s in rec.get("shape", [])) or "1"
    lines = [f"{node.title}: {shape}",
             f"mean {number(rec['mean'])}  std {number(rec['std'])}"]
    if rec.get("kind") == "vector" and len(rec.get("values", [])) <= 4:
        lines.append("= " + ", ".join(number(v) for v in rec["values"]))
    if rec.get("reduced"):
        lines.append(f"shown: {rec['reduced']}")
    if rec.get("nonfinite"):
        lines.append("NaN or infinite values!")
    return lines


def _loss_card(scene: GraphScene, record: Mapping[str, Any]) -> None:
    loss = record["loss"]
    anchor = _nodes(scene).get(record.get("output") or "")
    lines = [f"Loss: {loss['name']}", f"target: {loss['target']}",
             f"prediction: {loss['prediction']}", f"value: {number(loss['value'])}"]
    if record.get("batch", 1) > 1:
        lines.append(f"(mean over a batch of {record['batch']})")
    picture = loss.get("prediction_record")
    card = Card(lines, picture, _colors(scene), width=WIDTH + 60, accent=QColor("#d93a3a"))
    if anchor is not None:
        card.setParentItem(anchor)
        card.setPos(WIDTH + 24, 0)
        _add(scene, Glow(anchor, QColor("#d93a3a")))
    _add(scene, card)


def _gradients(scene: GraphScene, record: Mapping[str, Any], ids: Sequence[str],
               lit: str | None) -> None:
    backward = record["backward"]
    norms: Mapping[str, float] = backward["outputs"]
    wires: Mapping[str, float] = backward["wires"]
    span = log_scale([*norms.values(), *wires.values()])
    shown = set(ids)
    for edge in _edges(scene):
        key = f"{edge.edge.source}>{edge.edge.target}"
        if key in wires and edge.edge.source in shown:
            t = heat_of(wires[key], span)
            edge.emphasis = (heat(t), 1.5 + 5.0 * t)
            edge.update()
    nodes = _nodes(scene)
    for node_id in ids:
        node = nodes.get(node_id)
        if node is None or node_id not in norms:
            continue
        lines = [f"∇ output {number(norms[node_id])}"]
        if node_id in backward["params"]:
            lines.append(f"∇ weights {number(backward['params'][node_id])}")
        colour = heat(heat_of(norms[node_id], span))
        badge = Card(lines, None, _colors(scene), width=WIDTH, accent=colour)
        badge.setParentItem(node)
        badge.setPos(0, -badge.boundingRect().height() - 6)
        _add(scene, badge)
        if node_id == lit:
            _add(scene, Glow(node, colour))


def _update(scene: GraphScene, record: Mapping[str, Any]) -> None:
    update = record["update"]
    nodes = _nodes(scene)
    for node_id, ratio in update["relative"].items():
        node = nodes.get(node_id)
        if node is None:
            continue
        badge = Card([f"‖Δw‖/‖w‖ {number(ratio)}"], None, _colors(scene), width=WIDTH,
                     accent=QColor("#2e9d6a"))
        badge.setParentItem(node)
        badge.setPos(0, -badge.boundingRect().height() - 6 - _badge_room(node))
        _add(scene, badge)
        _add(scene, Glow(node, QColor("#2e9d6a")))
    lines = [f"Update: {update['optimizer']}, learning rate {number(update['lr'])}",
             f"loss before {number(update['loss_before'])}",
             f"loss after  {number(update['loss_after'])}",
             _change(update["loss_before"], update["loss_after"])]
    anchor = nodes.get(record.get("output") or "")
    card = Card(lines, None, _colors(scene), width=WIDTH + 60, accent=QColor("#2e9d6a"))
    if anchor is not None:
        card.setParentItem(anchor)
        card.setPos(WIDTH + 24, -card.boundingRect().height() - 10)
    _add(scene, card)


def _badge_room(node: NodeItem) -> float:
    """Height of the gradient badge already above ``node`` (the update badge goes above)."""
    heights = [c.boundingRect().height() + 6 for c in node.childItems()
               if isinstance(c, Card) and c.pos().y() < 0]
    return max(heights, default=0.0)


def _change(before: float, after: float) -> str:
    if not (math.isfinite(before) and math.isfinite(after)):
        return "the loss is not finite"
    if after < before:
        return f"the loss fell by {number(before - after)} on this sample"
    return f"the loss rose by {number(after - before)} on this sample"

