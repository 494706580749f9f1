"""The step view on the canvas: what each node computed, the loss, the gradients, the update.

Overlay items are top-level items above everything else (a wire's shape label must not
cover a card), placed by the nodes they annotate when drawn, and removed by ``clear``;
wires are coloured through ``EdgeItem.emphasis``.
Nothing here computes: it draws the records of ``runtime.inspect.step`` /
``runtime.inspect.forward`` as they are.

Public API (the step view and Try it call it):
- ``show_forward(scene, records, lit=None)``: each node's output card (image grid, bar
  strip or heat-map, mean/std); ``lit`` names the node that lights up now.
- ``show_step(scene, record, stage, upto)``: a walked step at ``stage`` ("forward",
  "loss", "backward", "update"); ``upto`` nodes of the forward/backward pass shown.
- ``frame(scene)``: fit the network and everything the overlay shows in view.
- ``clear(scene)``; ``overlay_texts(scene)``: every text the overlay shows (tests).
"""

from __future__ import annotations

import math
import weakref
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QFont, QFontMetricsF, QImage, QPainter, QPen
from PySide6.QtWidgets import (
    QGraphicsItem,
    QGraphicsSceneHoverEvent,
    QStyleOptionGraphicsItem,
    QWidget,
)

from gui.canvas.node_item import HEADER, WIDTH, NodeItem
from gui.canvas.scene import GraphScene
from gui.canvas.step_drawing import (
    heat,
    heat_of,
    log_scale,
    number,
    paint_record,
    record_height,
    short_number,
    wrap,
)
from gui.canvas.view import GraphView

STAGES = ("forward", "loss", "backward", "update")
LIT = QColor("#f2b937")
LOSS = QColor("#d93a3a")
UPDATE = QColor("#2e9d6a")
WIDE = WIDTH + 110  # the loss and update cards
PAD = 5.0
LINE = 14.0
SCALE = 2  # card pictures are rendered at twice their size: sharp when zoomed in
HOVER_SCALE = 2.5  # a compact card under the mouse
PAIR_WIDTH = 80.0  # each of a loss card's two pictures

_items: weakref.WeakKeyDictionary[GraphScene, list[QGraphicsItem]] = \
    weakref.WeakKeyDictionary()


def _font(bold: bool = False) -> QFont:
    font = QFont()
    font.setPointSizeF(max(7.0, font.pointSizeF() - 1.0))
    font.setBold(bold)
    return font


class Card(QGraphicsItem):
    """A box of text lines with an optional picture of a record.

    Box and text are painted as vectors at every paint, in the scene's colours of the
    moment: sharp at any zoom (a pre-rendered picture of text scaled down blurred into
    ghost glyphs) and following a theme change. Only the record's picture is an image.
    """

    def __init__(self, lines: Sequence[str], record: Mapping[str, Any] | None,
                 colors: Any, width: float = WIDTH, accent: QColor | None = None,
                 compact: bool = False, notes: Sequence[str] = (),
                 pair: Sequence[Mapping[str, Any]] = (), min_height: float = 0.0) -> None:
        super().__init__()
        self.lines = list(lines)
        self.compact = compact
        self.colors = colors  # until the card is in a scene (then the scene's)
        self.accent = accent
        self.setZValue(30)
        if compact:  # small over its node: hovering shows it large
            self.setAcceptHoverEvents(True)
        self._record, self._pair = record, list(pair)
        picture = record_height(record, width - 2 * PAD, compact) if record else 0.0
        if pair:  # side by side (a loss card's target and prediction)
            picture = max(record_height(r, PAIR_WIDTH) for r in pair)
        self._picture_height = picture
        # every line wrapped to the card's width: (text, part of the first line)
        self.shown: list[tuple[str, bool]] = []
        for i, line in enumerate(self.lines):
            metrics = QFontMetricsF(_font(bold=i == 0 and not compact))
            self.shown += [(part, i == 0) for part in wrap(line, metrics, width - 2 * PAD)]
        height = max(min_height,
                     PAD * 2 + LINE * len(self.shown) + (picture + PAD if picture else 0.0))
        self._rect = QRectF(0, 0, width, height)
        self._image: QImage | None = None
        self._image_muted = ""
        self.setToolTip("\n".join([*self.lines, *notes]))

    def shown_lines(self) -> list[str]:
        """The lines as painted (each fits the card's width)."""
        return [text for text, _ in self.shown]

    def current_colors(self) -> Any:
        scene = self.scene()
        return scene.colors if isinstance(scene, GraphScene) else self.colors

    def _picture(self, muted: QColor) -> QImage | None:
        """The record's drawing, rendered once per theme (sharp when zoomed in)."""
        if not self._picture_height or not (self._record or self._pair):
            return None
        if self._image is not None and self._image_muted == muted.name():
            return self._image
        width, height = self._rect.width(), PAD + self._picture_height
        scale = HOVER_SCALE * SCALE if self.compact else SCALE
        image = QImage(int(width * scale), int(height * scale),
                       QImage.Format.Format_ARGB32_Premultiplied)
        image.fill(Qt.GlobalColor.transparent)
        painter = QPainter(image)
        painter.scale(scale, scale)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        if self._record and not self._pair:
            paint_record(painter, QRectF(PAD, PAD, width - 2 * PAD, self._picture_height),
                         self._record, muted, self.compact)
        for i, shown in enumerate(self._pair):
            paint_record(painter, QRectF(PAD + i * (PAIR_WIDTH + 2 * PAD), PAD, PAIR_WIDTH,
                                         self._picture_height), shown, muted)
        painter.end()
        self._image, self._image_muted = image, muted.name()
        return image

    def boundingRect(self) -> QRectF:
        return self._rect

    def hoverEnterEvent(self, event: QGraphicsSceneHoverEvent) -> None:
        self.setScale(HOVER_SCALE)
        self.setZValue(50)

    def hoverLeaveEvent(self, event: QGraphicsSceneHoverEvent) -> None:
        self.setScale(1.0)
        self.setZValue(30)

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem,
              widget: QWidget | None = None) -> None:
        colors = self.current_colors()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(QPen(self.accent or colors.node_border, 1.4 if self.accent else 1.0))
        background = QColor(colors.node)
        background.setAlpha(255 if self.compact else 235)  # over a node: hide its text
        painter.setBrush(QBrush(background))
        painter.drawRoundedRect(self._rect.adjusted(0.5, 0.5, -0.5, -0.5), 5, 5)
        image = self._picture(colors.muted)
        if image is not None:
            painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
            painter.drawImage(QRectF(0, 0, self._rect.width(), PAD + self._picture_height),
                              image)
        top = PAD + (self._picture_height + PAD if self._picture_height else 0.0)
        for i, (text, first) in enumerate(self.shown):
            painter.setFont(_font(bold=first and not self.compact))
            painter.setPen(colors.text if first else colors.muted)
            painter.drawText(QRectF(PAD, top + i * LINE, self._rect.width() - 2 * PAD, LINE),
                             Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, text)


class Glow(QGraphicsItem):
    """A node lit up: a bright frame around it."""

    def __init__(self, node: NodeItem, colour: QColor = LIT) -> None:
        super().__init__()
        self.colour = colour
        self._rect = QRectF(-5, -5, WIDTH + 10, node.height + 10)
        self.setPos(node.pos())
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
    for edge in scene.edges.values():
        if edge.emphasis is not None:
            edge.emphasis = None
            edge.update()


def cards(scene: GraphScene) -> list[Card]:
    """The cards the overlay shows now."""
    return [item for item in _items.get(scene, []) if isinstance(item, Card)]


def overlay_texts(scene: GraphScene) -> list[str]:
    """Every line of text the overlay shows now, card by card."""
    return [line for card in cards(scene) for line in card.lines]


def frame(scene: GraphScene) -> None:
    """Fit the network and every overlay card in the scene's view."""
    rect = scene.nodes_rect()
    for item in _items.get(scene, []):
        rect = rect.united(item.sceneBoundingRect())
    for view in scene.views():
        if isinstance(view, GraphView):
            view.frame_rect(rect)


def show_forward(scene: GraphScene, records: Mapping[str, Mapping[str, Any]],
                 lit: str | None = None, order: Iterable[str] | None = None) -> None:
    """Each node's output card below it (``order``: which nodes, in which order)."""
    clear(scene)
    ids = list(order) if order is not None else list(records)
    for node_id in ids:
        _forward_card(scene, node_id, records.get(node_id), node_id == lit)


def show_step(scene: GraphScene, record: Mapping[str, Any], stage: str,
              upto: int | None = None) -> None:
    """A walked step at ``stage``; ``upto`` limits how many nodes of the forward pass (in
    order) or of the backward pass (in reverse order) are shown yet. From the backward
    stage on, a node's card shows its gradients (and then its update) instead of its
    output."""
    clear(scene)
    order = list(record["order"])
    forward = order if stage != "forward" or upto is None else order[:upto]
    back = [] if stage in ("forward", "loss") else (
        order[::-1] if stage == "update" or upto is None else order[::-1][:upto])
    for node_id in forward:
        if node_id not in back:
            lit = stage == "forward" and node_id == forward[-1]
            _forward_card(scene, node_id, record["forward"].get(node_id), lit)
    if stage == "forward":
        return
    _loss_card(scene, record)
    if back:
        _gradients(scene, record, back, back[-1] if stage == "backward" else None,
                   stage == "update")
    if stage == "update":
        _update_card(scene, record)


# -- stages -------------------------------------------------------------------------
def _add(scene: GraphScene, item: QGraphicsItem) -> None:
    scene.addItem(item)
    _items.setdefault(scene, []).append(item)


def _place(scene: GraphScene, card: Card, node: NodeItem, where: str) -> None:
    if where == "below":
        card.setPos(node.pos() + QPointF(0, node.height + 8))
    elif where == "body":  # over the node's parameters, its title left in view
        card.setPos(node.pos() + QPointF(0, HEADER))
    else:  # beside, to the right
        card.setPos(node.pos() + QPointF(WIDTH + 24, 0))
    _add(scene, card)


def _room_below(scene: GraphScene, node: NodeItem) -> float:
    """Free height under ``node`` before the next node of its column (or plenty)."""
    x, bottom = node.pos().x(), node.pos().y() + node.height
    below = [n.pos().y() - bottom for n in scene.nodes.values()
             if n is not node and abs(n.pos().x() - x) < WIDTH and n.pos().y() > bottom - 1]
    return min(below, default=1e9)


def _card(scene: GraphScene, node: NodeItem, lines: list[str], notes: list[str],
          record: Mapping[str, Any] | None, accent: QColor | None, lit: bool = False) -> None:
    """A card under ``node`` where there is room for it (or it is the node lit now, on top
    of its neighbours), else a compact one over its body."""
    card = Card(lines, record, scene.colors, accent=accent, notes=notes)
    if lit or card.boundingRect().height() + 16 <= _room_below(scene, node):
        if lit:
            card.setZValue(40)
        _place(scene, card, node, "below")
        return
    _place(scene, Card(lines[1:], record, scene.colors, accent=accent, compact=True,
                       notes=[lines[0], *notes], min_height=node.height - HEADER), node, "body")


def _forward_card(scene: GraphScene, node_id: str, rec: Mapping[str, Any] | None,
                  lit: bool) -> None:
    node = scene.nodes.get(node_id)
    if node is None or rec is None:
        return
    lines, notes = _forward_lines(node, rec)
    _card(scene, node, lines, notes, rec, LIT if lit else None, lit)
    if lit:
        _add(scene, Glow(node))


def _forward_lines(node: NodeItem, rec: Mapping[str, Any]) -> tuple[list[str], list[str]]:
    """The lines a forward card shows, and the notes only its tooltip carries."""
    shape = "×".join(str(s) for s in rec.get("shape", [])) or "1"
    lines = [f"{node.title}: {shape}",
             f"mean {number(rec['mean'])}  std {number(rec['std'])}"]
    if rec.get("kind") == "vector" and len(rec.get("values", [])) <= 4:
        lines.append("= " + ", ".join(number(v) for v in rec["values"]))
    if rec.get("nonfinite"):
        lines.append("NaN or infinite values!")
    notes = [f"range {number(rec['min'])} … {number(rec['max'])}"]
    if rec.get("reduced"):
        notes.append(f"shown: {rec['reduced']}")
    return lines, notes


def _loss_card(scene: GraphScene, record: Mapping[str, Any]) -> None:
    loss = record["loss"]
    name, _, detail = str(loss["name"]).partition(" (")  # a long name's detail: own line
    lines = [f"Loss: {name}", *([f"({detail}"] if detail else []), f"target: {loss['target']}",
             f"prediction: {loss['prediction']}", f"value: {number(loss['value'])}"]
    if record.get("batch", 1) > 1:
        lines.append(f"(mean over a batch of {record['batch']})")
    pair = [r for r in (loss.get("target_record"), loss.get("prediction_record")) if r]
    if len(pair) == 2 and pair[0]["kind"] == "vector" and len(pair[0]["values"]) <= 8:
        pair = []  # the lines above already give every value
    if len(pair) == 2:
        lines.append("pictures: target (left), prediction (right)")
    card = Card(lines, None, scene.colors, width=WIDE, accent=LOSS,
                pair=pair if len(pair) == 2 else ())
    anchor = scene.nodes.get(record.get("output") or "")
    if anchor is None:
        _add(scene, card)
        return
    _place(scene, card, anchor, "beside")
    _add(scene, Glow(anchor, LOSS))


def _gradients(scene: GraphScene, record: Mapping[str, Any], ids: Sequence[str],
               lit: str | None, updated: bool) -> None:
    backward = record["backward"]
    norms: Mapping[str, float] = backward["outputs"]
    wires: Mapping[str, float] = backward["wires"]
    span = log_scale([*norms.values(), *wires.values()])
    shown = set(ids)
    for edge in scene.edges.values():
        key = f"{edge.edge.source}>{edge.edge.target}"
        if key in wires and edge.edge.source in shown:
            t = heat_of(wires[key], span)
            edge.emphasis = (heat(t), 1.5 + 5.0 * t)
            edge.update()
    relative: Mapping[str, float] = record["update"]["relative"] if updated else {}
    for node_id in ids:
        node = scene.nodes.get(node_id)
        if node is None or node_id not in norms:
            continue
        lines = [f"{node.title}: gradient", f"∇ output {number(norms[node_id])}"]
        if node_id in backward["params"]:
            lines.append(f"∇ weights {number(backward['params'][node_id])}")
        if node_id in relative:
            lines.append(f"‖Δw‖/‖w‖ {number(relative[node_id])}")
        colour = UPDATE if node_id in relative else heat(heat_of(norms[node_id], span))
        _card(scene, node, lines, [], None, colour)
        if node_id == lit or node_id in relative:
            _add(scene, Glow(node, colour))


def _update_card(scene: GraphScene, record: Mapping[str, Any]) -> None:
    update = record["update"]
    lines = [f"Update: {update['optimizer']}, lr {short_number(update['lr'])}",
             f"loss before {number(update['loss_before'])}",
             f"loss after  {number(update['loss_after'])}",
             _change(update["loss_before"], update["loss_after"])]
    card = Card(lines, None, scene.colors, width=WIDE, accent=UPDATE)
    anchor = scene.nodes.get(record.get("output") or "")
    if anchor is None:
        _add(scene, card)
        return
    losses = [c for c in _items.get(scene, []) if isinstance(c, Card) and c.lines
              and c.lines[0].startswith("Loss:")]
    top = losses[0].pos().y() + losses[0].boundingRect().height() + 8 if losses else 0.0
    card.setPos(anchor.pos().x() + WIDTH + 24, top)
    _add(scene, card)


def _change(before: float, after: float) -> str:
    if not (math.isfinite(before) and math.isfinite(after)):
        return "the loss is not finite"
    if after < before:
        return f"the loss fell by {number(before - after)} on this sample"
    return f"the loss rose by {number(after - before)} on this sample"
