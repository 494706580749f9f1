"""The Step view's cards: readable whole, in the theme's colours, only while the tab shows."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QPointF, QRectF, QSizeF, Qt
from PySide6.QtGui import QColor, QFontMetricsF, QImage, QPainter
from PySide6.QtWidgets import QStyleOptionGraphicsItem

from graph.fileformat import load_graph
from gui.canvas import step_overlay
from gui.canvas.node_item import HEADER, WIDTH
from gui.canvas.scene import GraphScene
from gui.insights.step import open_step_view
from gui.insights.step_text import stage_text
from gui.session import Session
from gui.theme import DARK, canvas_colors

EXAMPLES = Path(__file__).resolve().parents[2] / "resources" / "examples"


def _walk(name: str, batch: int = 1) -> tuple[Session, dict[str, Any]]:
    from runtime.inspect.model import inspect_model
    from runtime.inspect.step import walk_step

    session = Session(load_graph(EXAMPLES / f"{name}.loom"))
    session.shapes.allow_torch()
    session.update_shapes()  # the nodes' parameter lines, as the window shows them
    model = inspect_model(session.doc)
    walked = walk_step(model.doc, model.training, model.networks, model.data, index=0,
                       batch=batch)
    return session, dict(walked.record)


@pytest.fixture(scope="module")
def cnn(torch_ready: None) -> tuple[Session, dict[str, Any]]:
    return _walk("cnn_digits")


def _fits(card: step_overlay.Card) -> None:
    """Every painted line fits the card, and together they say every word of its lines."""
    room = card.boundingRect().width() - 2 * step_overlay.PAD
    for text, first in card.shown:
        font = step_overlay._font(bold=first and not card.compact)
        assert QFontMetricsF(font).horizontalAdvance(text) <= room + 0.01, text
    assert " ".join(card.shown_lines()).split() == " ".join(card.lines).split()


def test_cards_never_cut_their_text_nor_cover_other_nodes(
        qtbot, cnn: tuple[Session, dict[str, Any]]) -> None:
    session, record = cnn
    scene = GraphScene(session, "main", canvas_colors("light"))
    for stage in step_overlay.STAGES:
        step_overlay.show_step(scene, record, stage)
        cards = step_overlay.cards(scene)
        for card in cards:
            _fits(card)
            box = card.sceneBoundingRect()
            for node in scene.nodes.values():  # a compact card hides its own node's body
                if card.compact and card.pos() == node.pos() + QPointF(0, HEADER):
                    continue
                body = QRectF(node.pos(), QSizeF(WIDTH, node.height))
                assert not body.intersects(box), (stage, node.title, card.lines)
    from gui.canvas.step_drawing import short_number

    update = record["update"]
    title = f"Update: {update['optimizer']}, lr {short_number(update['lr'])}"
    assert title in step_overlay.overlay_texts(scene)
    assert short_number(4e-4) == "4e-4" and short_number(0.01) == "0.01"
    assert any(c.compact for c in step_overlay.cards(scene))  # conv nodes: over their body


def _pixel(card: step_overlay.Card) -> QColor:
    """The card's own background, painted the way the view paints it."""
    rect = card.boundingRect()
    image = QImage(int(rect.width()), int(rect.height()), QImage.Format.Format_ARGB32)
    image.fill(Qt.GlobalColor.black)
    painter = QPainter(image)
    card.paint(painter, QStyleOptionGraphicsItem(), None)
    painter.end()
    return image.pixelColor(int(rect.width()) - 4, int(rect.height()) - 4)


def test_cards_take_the_canvas_colours_and_follow_a_theme_change(
        qtbot, cnn: tuple[Session, dict[str, Any]]) -> None:
    session, record = cnn
    scene = GraphScene(session, "main", canvas_colors("light"))
    step_overlay.show_step(scene, record, "update")
    cards = step_overlay.cards(scene)
    assert all(_pixel(c).lightness() > 200 for c in cards)
    scene.set_colors(DARK)  # drawn before the theme changed: they follow it
    for card in cards:
        assert abs(_pixel(card).lightness() - DARK.node.lightness()) < 12, card.lines


def test_the_overlay_shows_only_while_the_step_tab_does(window, qtbot, tmp_path: Path,
                                                         cnn: tuple[Session, dict[str, Any]]
                                                         ) -> None:
    path = tmp_path / "cnn_digits.loom"
    shutil.copy(EXAMPLES / "cnn_digits.loom", path)
    window.set_session(Session(load_graph(path), path))
    view = open_step_view(window)
    assert view.isVisible()
    view._show(cnn[1], None, "these weights")
    view.next_stage()
    view.next_stage()  # the loss
    scene = window.current_view().scene()
    shown = step_overlay.overlay_texts(scene)
    assert any(line.startswith("Loss:") for line in shown)
    other = next(v for v in window.insights.views if v is not view)
    window.insights.setCurrentWidget(other)
    assert step_overlay.overlay_texts(scene) == [] and view.record is not None
    window.insights.setCurrentWidget(view)
    assert step_overlay.overlay_texts(scene) == shown
    assert view.stage.text() == "Stage 2 of 4: Loss"


def test_the_words_say_a_gans_target_and_when_batch_norm_needs_a_batch(
        qtbot, cnn: tuple[Session, dict[str, Any]]) -> None:
    _session, record = cnn
    assert record["batch"] == 1
    for stage in ("loss", "update"):
        assert "set Batch to 32 or more" in stage_text(record, stage, None, long=True)
    _session, batched = _walk("cnn_digits", batch=4)
    assert "Batch to" not in stage_text(batched, "loss", None, long=True)
    _session, gan = _walk("gan_ring")
    assert gan["label"] == "real sample → 1, generated → 0"
    assert "class" not in stage_text(gan, "forward", None, long=True)
    from runtime.inspect.model import inspect_model
    from runtime.inspect.step_loss import sample_labels

    model = inspect_model(load_graph(EXAMPLES / "gan_ring.loom"))
    from graph.fileformat import dumps
    from gui.insights.step_jobs import prepare_work

    _model, labels, _walked = prepare_work(dumps(model.doc), "", None, model, None)
    assert labels[:2] == ["real sample → 1, generated → 0"] * 2
    assert sample_labels(model.data)[0].startswith("class")  # the data's own labels
