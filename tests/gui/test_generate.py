"""The Generate panel: a language model's samples during a run, then text written with its
weights, streamed, stoppable, and a prompt it cannot read told in place."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt

from graph import Document, NetworkBuilder
from graph.commands import SetTraining
from graph.training import TrainingSpec
from gui.session import Session
from runtime.data.text import SHAKESPEARE

RUN_TIMEOUT_MS = 120_000  # a spawned process imports torch first
WRITE_TIMEOUT_MS = 30_000
VOCAB = 64


def char_lstm(corpus: Path) -> Document:
    """Embedding → LSTM (every step) → Linear(V), trained on ``corpus`` as characters."""
    doc = Document.new()
    b = NetworkBuilder(doc)
    x = b.add("Input", shape=[32], kind="tokens", vocab_size=VOCAB, label="text")
    h = b.add("Embedding", x, embedding_dim=16, label="embed")
    h = b.add("LSTM", h, hidden_size=32, output="sequence", label="lstm")
    b.add("Output", b.add("Linear", h, out_features=VOCAB, label="head"), label="next")
    doc.set_training(TrainingSpec.model_validate({
        "task": "language_model", "batch_size": 16, "epochs": 2,
        "data": {"name": "text", "options": {"path": str(corpus)}},
        "networks": {"main": {"optimizer": {"name": "adam", "lr": 0.01}}}}))
    return doc


def _write(panel, qtbot, prompt: str, tokens: int, **settings: float) -> None:
    panel.prompt.setPlainText(prompt)
    panel.tokens.setValue(tokens)
    for name, value in settings.items():
        getattr(panel, name).setValue(value)
    qtbot.mouseClick(panel.generate_button, Qt.MouseButton.LeftButton)


def test_a_run_shows_samples_then_generate_writes_with_its_weights(window, qtbot,
                                                                   tmp_path: Path) -> None:
    from runtime.generate import generate, load_text_model

    panel = window.generate_panel
    assert not window.generate_dock.isVisible()  # a classifier: nothing to write with
    assert "language_model" in panel.hint.text() and not panel.generate_button.isEnabled()
    session = window.session  # the task set in Settings: the panel follows it, undo too
    assert session.push(SetTraining(session.doc.training.replaced("task", "language_model")))
    assert window.generate_dock.isVisible() and panel.generate_button.isEnabled()
    session.undo()
    assert not window.generate_dock.isVisible() and not panel.generate_button.isEnabled()
    corpus = tmp_path / "slice.txt"
    corpus.write_text(SHAKESPEARE.read_text(encoding="utf-8")[:12_000], encoding="utf-8")
    window.set_session(Session(char_lstm(corpus)))
    assert window.generate_dock.isVisible() and panel.hint.isHidden()
    qtbot.waitUntil(lambda: window.session.shapes_complete, timeout=WRITE_TIMEOUT_MS)
    window.training.overrides = {"max_steps_per_epoch": 2}
    window.window_actions.train.trigger()
    assert window.training.state == "running"
    qtbot.waitUntil(lambda: window.training.state == "idle", timeout=RUN_TIMEOUT_MS)
    assert window.training_panel.status.text().startswith("<b>Finished after 2 epochs</b>")
    samples = panel.samples.samples  # one per epoch, in the panel and beside the curves
    assert [s["epoch"] for s in samples] == [1, 2]
    assert samples[0]["prompt"] == "That I am proud to hunt.\n"  # the held-out text's line
    shown = panel.samples.view.toPlainText()
    assert "— epoch 1" in shown and "— epoch 2" in shown and samples[1]["text"] in shown
    assert window.training_panel.text_samples.samples == samples
    assert window.training_panel.text_samples.isVisible()
    weights = window.training.out_dir / "model.safetensors"
    assert panel.weights.text() == str(weights)

    _write(panel, qtbot, "ROMEO", 60, temperature=0.8, top_k=10, seed=7)
    assert panel.writer.running and panel.stop_button.isEnabled()
    qtbot.waitUntil(lambda: not panel.writer.running, timeout=WRITE_TIMEOUT_MS)
    model = load_text_model(window.session.doc, weights)
    expected = "".join(generate(model, model.tokenizer.encode("ROMEO"), 60, 0.8, 10, 7))
    assert panel.output.toPlainText() == "ROMEO" + expected
    assert panel.status.text().startswith("Wrote ")

    _write(panel, qtbot, "ΩROMEO", 20)
    qtbot.waitUntil(lambda: not panel.writer.running, timeout=WRITE_TIMEOUT_MS)
    message = panel.status.text()
    assert "Cannot generate: the prompt cannot be written in the model's vocabulary" in message
    assert "'Ω' (U+03A9)" in message and "Leave out unknown characters" in message
    assert panel.output.toPlainText() == ""
    panel.skip_unknown.setChecked(True)
    qtbot.mouseClick(panel.generate_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not panel.writer.running, timeout=WRITE_TIMEOUT_MS)
    assert panel.output.toPlainText().startswith("ROMEO")
    assert "left out of the prompt" in panel.status.text() and "'Ω'" in panel.status.text()

    _write(panel, qtbot, "\n", 100_000)  # streamed: text shows while the model writes
    qtbot.waitUntil(lambda: len(panel.output.toPlainText()) > 20, timeout=WRITE_TIMEOUT_MS)
    assert panel.writer.running
    assert not panel.generate_button.isEnabled() and not panel.prompt.isEnabled()
    qtbot.mouseClick(panel.stop_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not panel.writer.running, timeout=WRITE_TIMEOUT_MS)
    assert panel.status.text() == "Stopped."
    assert len(panel.output.toPlainText()) < 100_000 and panel.generate_button.isEnabled()

    _write(panel, qtbot, "\n", 100_000)
    qtbot.waitUntil(lambda: len(panel.output.toPlainText()) > 20, timeout=WRITE_TIMEOUT_MS)
    window.set_session(Session(char_lstm(corpus)))  # another document: that text goes away
    qtbot.waitUntil(lambda: not panel.writer.running, timeout=WRITE_TIMEOUT_MS)
    qtbot.wait(100)
    assert panel.output.toPlainText() == "" and panel.generate_button.isEnabled()
