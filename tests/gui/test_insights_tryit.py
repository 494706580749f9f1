"""Try it: a digit drawn with real mouse events, typed iris measurements, a sample, and
wrong files or values, each answered as the trained model answers the same tensor."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import drag_event
from PIL import Image
from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QApplication

from graph.fileformat import load_graph
from gui.canvas import step_overlay
from gui.insights.tryit import TryItView
from gui.session import Session
from runtime.evaluate import load_trained
from runtime.trainer import RunOptions, Trainer

EXAMPLES = Path(__file__).parents[2] / "resources" / "examples"
TIMEOUT_MS = 60_000
LEFT = Qt.MouseButton.LeftButton


def _trained_view(window, qtbot, tmp_path: Path, example: str) -> TryItView:
    """The Try it tab on ``example`` after a short run (in this process) wrote weights."""
    Trainer(load_graph(EXAMPLES / f"{example}.loom"),
            RunOptions(epochs=1, max_steps_per_epoch=3, out_dir=tmp_path,
                       activations=False)).run()
    session = Session(load_graph(EXAMPLES / f"{example}.loom"))
    window.set_session(session)
    session.last_run_dir = tmp_path
    view = window.insights.view(TryItView)
    view.load()
    qtbot.waitUntil(lambda: view.model is not None, timeout=TIMEOUT_MS)
    assert view.source.text() == f"From the trained weights of run {tmp_path.name}."
    return view


def _expected(tmp_path: Path, example: str, raw: np.ndarray) -> np.ndarray:
    """The trained model's softmax on ``raw`` preprocessed with the stored constants."""
    trained = load_trained(load_graph(EXAMPLES / f"{example}.loom"),
                           tmp_path / "model.safetensors")
    pre = trained.preprocessing
    assert pre is not None
    x = (raw[None] - pre.offset) / pre.scale
    with torch.no_grad():
        out = trained.networks["main"](torch.as_tensor(x, dtype=torch.float32))
    return torch.softmax(out, dim=-1)[0].numpy()


def _answered(view: TryItView, qtbot, before: object) -> None:
    qtbot.waitUntil(lambda: view.answer is not before and not view.job.running,
                    timeout=TIMEOUT_MS)


def test_a_digit_drawn_with_the_mouse_gets_the_models_probabilities(window, qtbot,
                                                                    tmp_path: Path):
    view = _trained_view(window, qtbot, tmp_path, "cnn_digits")
    window.insights_dock.show()
    window.insights_dock.raise_()
    window.resizeDocks([window.insights_dock], [120], Qt.Orientation.Vertical)
    window.insights.setCurrentWidget(view)
    # the panel grows for the drawing canvas (as far as the window lets it: 338 px here)
    qtbot.waitUntil(lambda: window.insights_dock.height() > 300)
    assert view.pages.currentIndex() == 0  # the drawing page
    canvas = view.canvas
    qtbot.mousePress(canvas, LEFT, pos=QPoint(50, 30))  # a 7: the bar, then the stem
    for point in (QPoint(110, 30), QPoint(170, 30), QPoint(140, 110), QPoint(110, 200)):
        qtbot.mouseMove(canvas, point)
    qtbot.mouseRelease(canvas, LEFT, pos=QPoint(110, 200))
    _answered(view, qtbot, None)
    raw = view.raw
    assert raw is not None and raw.shape == (1, 8, 8)
    # like scikit-learn's digits: counts of inked pixels in 4×4 blocks, 0..16, full height
    assert np.array_equal(raw, np.round(raw)) and raw.max() == 16 and raw.min() == 0
    assert raw[0, 0].sum() > raw[0, 7].sum() and raw[0, 7].any()
    expected = _expected(tmp_path, "cnn_digits", raw)
    np.testing.assert_allclose(view.answer_view.probabilities, expected, atol=1e-6)
    best = int(expected.argmax())
    assert f"'{best}'" in view.answer_view.bars_plot.titleLabel.text
    assert next(iter(view.answer.path)) == "n1"  # the Input first, then every layer
    assert view.path.topLevelItemCount() == len(view.answer.path) > 5
    scene = window.current_view().graph_scene  # the path drawn on the canvas too
    assert len(step_overlay.overlay_texts(scene)) >= len(view.answer.path)  # a card each
    window.insights.setCurrentIndex(0)  # another tab: the canvas is left clean
    assert step_overlay.overlay_texts(scene) == []
    window.insights.setCurrentWidget(view)
    assert step_overlay.overlay_texts(scene)

    before = view.answer
    view.sample_index.setValue(5)
    qtbot.mouseClick(view.sample_button, LEFT)
    _answered(view, qtbot, before)
    assert view.message.text().startswith("sample 5 of the test split, labelled '")
    np.testing.assert_allclose(view.answer_view.probabilities,
                               _expected(tmp_path, "cnn_digits", view.raw), atol=1e-6)

    before = view.answer  # an image file dropped on the tab
    digit = np.kron(view.raw[0] / 16 * 255, np.ones((8, 8))).astype(np.uint8)
    Image.fromarray(digit).save(tmp_path / "digit.png")
    data = QMimeData()
    data.setUrls([QUrl.fromLocalFile(str(tmp_path / "digit.png"))])
    for kind in (QDragEnterEvent, QDropEvent):  # Qt delivers a drop after an accepted enter
        event = drag_event(kind, QPointF(20, 20), Qt.DropAction.CopyAction, data, LEFT,
                           Qt.KeyboardModifier.NoModifier)
        QApplication.sendEvent(view, event)
        assert event.isAccepted()
    _answered(view, qtbot, before)
    assert view.raw.shape == (1, 8, 8) and view.raw.max() <= 16
    np.testing.assert_allclose(view.answer_view.probabilities,
                               _expected(tmp_path, "cnn_digits", view.raw), atol=1e-6)

    before = view.answer
    (tmp_path / "notes.png").write_text("not a picture")
    view.try_file(str(tmp_path / "notes.png"))
    qtbot.waitUntil(lambda: "cannot read image" in view.message.text(), timeout=TIMEOUT_MS)
    assert "notes.png" in view.message.text() and view.answer is before


def test_typed_iris_measurements_and_what_is_wrong_with_them(window, qtbot, tmp_path: Path):
    view = _trained_view(window, qtbot, tmp_path, "mlp_iris")
    assert view.pages.currentIndex() == 1  # one field per feature, named
    labels = [view.form.itemAt(i, view.form.ItemRole.LabelRole).widget().text()
              for i in range(view.form.rowCount())]
    assert labels == ["sepal length (cm)", "sepal width (cm)", "petal length (cm)",
                      "petal width (cm)"]
    for field, text in zip(view.fields, ("6.3", "2.9", "5.6", "1.8"), strict=True):
        field.setText(text)
    qtbot.mouseClick(view.try_button, LEFT)
    _answered(view, qtbot, None)
    raw = np.array([6.3, 2.9, 5.6, 1.8], dtype=np.float32)
    np.testing.assert_allclose(view.answer_view.probabilities,
                               _expected(tmp_path, "mlp_iris", raw), atol=1e-6)

    view.fields[1].setText("abc")
    qtbot.mouseClick(view.try_button, LEFT)
    qtbot.waitUntil(lambda: "is not a number" in view.message.text(), timeout=TIMEOUT_MS)
    assert "'sepal width (cm)': 'abc' is not a number" in view.message.text()
    view.fields[1].setText("")
    qtbot.mouseClick(view.try_button, LEFT)
    qtbot.waitUntil(lambda: "is empty" in view.message.text(), timeout=TIMEOUT_MS)

    (tmp_path / "flower.png").write_bytes(b"")
    view.try_file(str(tmp_path / "flower.png"))
    qtbot.waitUntil(lambda: "does not take images" in view.message.text(), timeout=TIMEOUT_MS)
    (tmp_path / "rows.csv").write_text("1,2,3\n")
    view.try_file(str(tmp_path / "rows.csv"))
    qtbot.waitUntil(lambda: "rows.csv: holds shape (1, 3)" in view.message.text(),
                    timeout=TIMEOUT_MS)


@pytest.mark.parametrize("example", ["autoencoder_digits", "gan_ring"])
def test_fresh_weights_say_so_and_show_a_reconstruction_or_a_sample(window, qtbot,
                                                                    example: str):
    window.set_session(Session(load_graph(EXAMPLES / f"{example}.loom")))
    view = window.insights.view(TryItView)
    view.load()
    qtbot.waitUntil(lambda: view.model is not None, timeout=TIMEOUT_MS)
    assert "Fresh, untrained weights" in view.source.text()
    if example == "gan_ring":
        assert view.pages.currentIndex() == 2
        view.seed.setValue(7)
        qtbot.mouseClick(view.generate_button, LEFT)
        _answered(view, qtbot, None)
        assert "the point" in view.answer_view.text.text() and len(view.answer.values) == 2
    else:
        qtbot.mouseClick(view.sample_button, LEFT)
        _answered(view, qtbot, None)
        assert view.answer.image is not None and view.answer.image.shape == (1, 8, 8)
        assert view.answer_view.after_title.text() == "reconstruction"
        title, values = view.answer.code
        assert title == "Linear 'code'" and len(values) == 2
        assert "squeezed the input into Linear 'code'" in view.answer_view.code.text()
