"""Training from the window: the Train button, live curves, pause/stop, refusals, failures."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtCore import Qt, QTimer

from graph.commands import SetParam, SetTraining
from gui.export_dialog import default_weights
from gui.session import Session
from gui.training import LOADING, TrainingController

RUN_TIMEOUT_MS = 120_000  # a spawned process imports torch and loads digits first


def _short(window, **overrides) -> None:
    window.training.overrides = {"max_steps_per_epoch": 2, **overrides}


def test_train_button_runs_in_the_background_and_shows_the_results(window, qtbot, gestures):
    _short(window, epochs=2)
    panel = window.training_panel
    qtbot.mouseClick(panel.train_button, Qt.MouseButton.LeftButton)
    assert window.training.state == "running"
    assert not panel.train_button.isEnabled() and panel.stop_button.isEnabled()
    assert not window.window_actions.train.isEnabled()
    qtbot.waitUntil(lambda: window.training.state == "idle", timeout=RUN_TIMEOUT_MS)
    assert panel.status.text().startswith("<b>Finished after 2 epochs</b>")
    xs, losses = panel.loss.data["train_loss"]
    assert xs == [1, 2] and all(loss > 0 for loss in losses)
    assert "val_loss" in panel.loss.data and "val_accuracy" in panel.metrics.data
    assert panel.loss.data["step loss"][0]  # the step curve between epochs
    assert "test split: loss " in panel.status.text() and "accuracy" in panel.status.text()
    weights = window.training.out_dir / "model.safetensors"
    assert weights.is_file()
    assert default_weights(window.session) == str(weights)  # Export trained model finds it
    assert panel.train_button.isEnabled() and window.window_actions.train.isEnabled()
    assert panel.evaluate_button.isEnabled()
    window.show_node("main", conv := gestures.node_id(window, "conv"))  # select it
    assert panel.layer.shown is not None and panel.layer.selected == (
        "main", conv, "'conv'")
    assert sum(panel.layer.shown["hist"]) > 0
    assert "'conv', epoch 2: mean " in panel.layer.plot.titleLabel.text
    assert not panel.samples.widget.isVisible()  # a classifier has no samples to show

    window.session.push(SetTraining(window.session.doc.training.replaced(  # after the run
        "data.split", {"train": 0.5, "val": 0.1, "test": 0.4})))
    qtbot.mouseClick(panel.evaluate_button, Qt.MouseButton.LeftButton)
    dialog = window.evaluate_dialog
    assert dialog.weights.text() == str(weights)
    qtbot.waitUntil(lambda: dialog.report is not None, timeout=RUN_TIMEOUT_MS)
    assert dialog.report["split"] == "test" and "accuracy" in dialog.summary.text()
    assert dialog.report["samples"] == 270  # the run's 15% test split, not today's 40%
    assert "the run's own graph.loom" in dialog.summary.text()
    assert dialog.confusion.rowCount() == dialog.confusion.columnCount() == 10
    counts = [int(dialog.confusion.item(i, j).text()) for i in range(10) for j in range(10)]
    assert sum(counts) == dialog.report["samples"]
    assert dialog.per_class.rowCount() == 10 and dialog.per_class.isVisibleTo(dialog)
    dialog.reject()


def test_pause_resume_and_stop_from_the_buttons(window, qtbot):
    _short(window, epochs=500)
    panel = window.training_panel
    window.window_actions.train.trigger()
    qtbot.waitUntil(lambda: "train_loss" in panel.loss.data, timeout=RUN_TIMEOUT_MS)
    # the first epoch's weights exist, but evaluating them mid-run would be a moving target
    assert not window.window_actions.evaluate.isEnabled()
    assert not panel.evaluate_button.isEnabled()
    qtbot.mouseClick(panel.pause_button, Qt.MouseButton.LeftButton)
    assert window.training.state == "paused" and panel.pause_button.text() == "Resume"
    qtbot.mouseClick(panel.pause_button, Qt.MouseButton.LeftButton)
    assert window.training.state == "running" and panel.pause_button.text() == "Pause"
    qtbot.mouseClick(panel.stop_button, Qt.MouseButton.LeftButton)
    assert window.training.state == "stopping" and panel.stop_button.text() == "Stop now"
    qtbot.waitUntil(lambda: window.training.state == "idle", timeout=RUN_TIMEOUT_MS)
    assert panel.status.text().startswith("<b>Stopped after ")
    assert (window.training.out_dir / "model.safetensors").is_file()  # stopping keeps them
    assert window.window_actions.evaluate.isEnabled() and panel.evaluate_button.isEnabled()

    window.documents.confirm_discard = lambda: True
    window.window_actions.new.trigger()  # another document: the last one's run goes away
    assert panel.loss.data == {} and panel.metrics.data == {} and panel.status.text() == ""
    assert panel.loss.plot.getViewBox().viewRange() == [[0, 1], [0, 1]]
    assert not panel.evaluate_button.isEnabled()


def test_a_document_with_errors_is_not_trained_and_says_why(window, gestures):
    conv = gestures.node_id(window, "conv")
    assert window.session.push(SetParam("main", conv, "kernel_size", 12))  # > the 8×8 image
    window.window_actions.train.trigger()
    assert window.training.state == "idle" and window.training.runner is None
    text = window.training_panel.status.text()
    assert text.startswith("Not started: cannot train while the document has errors:")
    assert "'conv'" in text


def test_a_failing_run_reports_its_reason_in_the_panel(window, qtbot, tmp_path: Path):
    session = window.session
    missing = tmp_path / "nowhere.csv"
    training = session.doc.training.replaced("data", {"name": "csv",
                                                      "options": {"path": str(missing)}})
    assert session.push(SetTraining(training))
    _short(window, epochs=1)
    window.window_actions.train.trigger()
    assert window.training.state == "running"  # only the run finds the file missing
    qtbot.waitUntil(lambda: window.training.state == "idle", timeout=RUN_TIMEOUT_MS)
    panel = window.training_panel
    text = panel.status.text()
    assert text.startswith("<b>Training failed:</b>")
    assert "nowhere.csv" in text and "Traceback" not in text


def test_a_failure_at_a_layer_links_to_it(window, gestures):
    conv = gestures.node_id(window, "conv")
    panel = window.training_panel
    panel.on_event({"type": "failed", "network": "main", "node": conv,
                    "message": "Conv2d 'conv' produced NaN"})
    assert "Show the layer" in panel.status.text()
    panel.status.linkActivated.emit("node")
    assert window.current_view().graph_scene.selected_node_ids() == [conv]


def _answer_the_question(window, button, after_ms: int = 0) -> list[str]:
    """Press ``button`` of the modal question once it is up; returns its text when seen.

    The timer belongs to the window, so it cannot fire into a later test."""
    from PySide6.QtWidgets import QApplication, QMessageBox

    seen: list[str] = []

    def press() -> None:
        box = QApplication.activeModalWidget()
        if isinstance(box, QMessageBox):
            seen.append(box.text())
            box.button(button).click()

    timer = QTimer(window, singleShot=True, interval=after_ms)
    timer.timeout.connect(press)
    timer.start()
    window.destroyed.connect(timer.stop)
    return seen


def test_closing_the_window_mid_run_asks_and_then_ends_the_run(window, qtbot):
    from PySide6.QtWidgets import QMessageBox

    _short(window, epochs=500)
    window.documents.confirm_discard = lambda: True
    window.window_actions.train.trigger()
    runner = window.training.runner
    seen = _answer_the_question(window, QMessageBox.StandardButton.Cancel)
    assert not window.close()  # cancelled: the run goes on
    assert seen and seen[0].startswith("A network is still training")
    assert window.training.state == "running"
    _answer_the_question(window, QMessageBox.StandardButton.Yes)
    assert window.close()
    assert window.training.state == "idle" and runner.ended is not None


def test_the_close_question_goes_away_when_the_run_ends_by_itself(window, qtbot):
    from PySide6.QtWidgets import QMessageBox

    _short(window, epochs=2)
    window.documents.confirm_discard = lambda: True
    window.window_actions.train.trigger()
    # unanswered, the question would stay up; a fallback cancels it so the test cannot hang
    fallback = _answer_the_question(window, QMessageBox.StandardButton.Cancel,
                                    after_ms=RUN_TIMEOUT_MS)
    assert window.close()  # the run ended while the question was up: the window closes
    assert window.training.state == "idle" and not fallback
    for timer in window.findChildren(QTimer):
        timer.stop()


def test_samples_show_as_points_images_or_inputs_over_reconstructions(window):
    samples = window.training_panel.samples
    rng = np.random.default_rng(0)
    samples.update({"type": "samples", "epoch": 3, "kind": "generated", "shape": [2],
                    "values": rng.normal(size=(64, 2)).tolist()})
    assert samples.count == 64 and samples.scatter.data.size == 64
    samples.update({"type": "samples", "epoch": 4, "kind": "generated", "shape": [1, 8, 8],
                    "values": rng.random((64, 64)).tolist()})
    assert samples.count == 16 and samples.image.image.shape == (2 * 9, 8 * 9)  # 2 rows of 8
    samples.update({"type": "samples", "epoch": 5, "kind": "reconstruction",
                    "shape": [1, 8, 8], "inputs": rng.random((8, 64)).tolist(),
                    "values": rng.random((8, 64)).tolist()})
    assert samples.image.image.shape == (2 * 9, 8 * 9)  # inputs above reconstructions
    assert "inputs (top) and reconstructions" in samples.plot.titleLabel.text


def test_stop_asked_twice_ends_the_run_at_once(window, qtbot):
    _short(window, epochs=500)
    panel = window.training_panel
    window.window_actions.train.trigger()
    qtbot.mouseClick(panel.stop_button, Qt.MouseButton.LeftButton)  # maybe still starting
    assert window.training.state == "stopping" and panel.stop_button.text() == "Stop now"
    qtbot.mouseClick(panel.stop_button, Qt.MouseButton.LeftButton)
    assert window.training.state == "idle"
    assert "stopped by force before it could save its weights" in panel.status.text()


def test_training_waits_for_pytorch_to_load(window):
    session = Session(window.session.doc)  # shapes not started: nothing validated yet
    assert not session.shapes_complete
    assert TrainingController().start(session) == LOADING


def test_train_pressed_while_pytorch_loads_starts_once_checked(window, qtbot, monkeypatch):
    _short(window, epochs=1)
    session = window.session
    monkeypatch.setattr(type(session), "shapes_complete", property(lambda self: False))
    window.window_actions.train.trigger()
    window.window_actions.train.trigger()  # pressed twice: still one run
    assert window.training.state == "idle"
    assert window.training_panel.status.text().startswith("Training starts as soon as")
    monkeypatch.undo()
    session.validate_now()  # what the window does once torch has loaded
    assert window.training.state == "running"
    runner = window.training.runner
    session.validate_now()
    assert window.training.runner is runner


def test_evaluate_without_weights_says_what_to_choose(window, qtbot):
    window.window_actions.evaluate.trigger()
    dialog = window.evaluate_dialog
    assert dialog.weights.text() == "" and not dialog.job.running
    qtbot.mouseClick(dialog.evaluate_button, Qt.MouseButton.LeftButton)
    assert dialog.summary.text().startswith("Choose the weights a training run wrote")
    dialog.weights.setText("/nowhere/model.safetensors")
    qtbot.mouseClick(dialog.evaluate_button, Qt.MouseButton.LeftButton)
    assert "/nowhere/model.safetensors does not exist" in dialog.summary.text()
    dialog.reject()


def test_the_window_stays_open_while_a_background_job_runs(window, qtbot):
    import gc
    import threading

    from gui.background import BackgroundJob, workers_running

    release = threading.Event()
    job = BackgroundJob(window)
    job.start(release.wait, 30)
    assert not gc.isenabled()  # no collection on this thread while the worker imports torch
    window.documents.confirm_discard = lambda: True
    assert not window.close() and "Still exporting or evaluating" in \
        window.statusBar().currentMessage()
    release.set()
    qtbot.waitUntil(lambda: not job.running, timeout=5000)
    # Other readers the window started (a run listing, a data preview) may still be
    # ending; the collector returns once the GUI thread has seen the last one go.
    qtbot.waitUntil(lambda: not workers_running(), timeout=10000)
    assert gc.isenabled()
    assert window.close()


def test_editing_waits_while_the_document_trains_and_the_banner_stops_the_run(
        window, qtbot, gestures):
    from graph.commands import Move

    _short(window, epochs=500)
    conv = gestures.node_id(window, "conv")
    session = window.session
    assert not window.run_banner.isVisible()
    window.window_actions.train.trigger()
    assert window.training.state == "running" and window.run_banner.isVisible()
    assert not session.push(SetParam("main", conv, "out_channels", 3))
    assert "cannot be edited until the run ends" in window.statusBar().currentMessage()
    depth = len(session.history.undo_stack)
    window.window_actions.undo.trigger()
    assert len(session.history.undo_stack) == depth  # nothing undone under the run
    node = session.doc.network("main").node(conv)
    assert session.push(Move("main", {conv: (node.pos[0] + 40, node.pos[1])}))  # layout only
    window.show_node("main", conv)  # selecting to inspect still works
    assert window.inspector.node_id == conv
    qtbot.mouseClick(window.run_banner.stop, Qt.MouseButton.LeftButton)
    assert window.training.state == "stopping"
    qtbot.waitUntil(lambda: window.training.state == "idle", timeout=RUN_TIMEOUT_MS)
    assert not window.run_banner.isVisible()
    assert session.push(SetParam("main", conv, "out_channels", 3))
