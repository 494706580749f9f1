"""Files from the window: save and reopen, the unsaved prompt, recent files, recovery, drops."""

from __future__ import annotations

import time
from pathlib import Path

from conftest import drag_event
from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QApplication, QFileDialog, QMessageBox

import gui.files
from graph.commands import SetParam
from graph.fileformat import load_graph
from gui.files import Autosave, orphaned_copies


def test_save_and_reopen_gives_the_same_document(window, gestures, monkeypatch, tmp_path):
    session = window.session
    conv = gestures.node_id(window, "conv")
    window.current_view().add_layer("ReLU", QPointF(100, 400))
    session.push(SetParam("main", conv, "out_channels", 7))
    assert window.windowTitle() == "untitled.loom* — Layerloom"
    target = tmp_path / "net.loom"
    monkeypatch.setattr(QFileDialog, "getSaveFileName",
                        lambda *args, **kwargs: (str(tmp_path / "net"), ""))
    window.window_actions.save.trigger()
    assert target.exists()
    assert window.windowTitle() == "net.loom — Layerloom"
    saved = session.doc.to_data()

    assert window.documents.open_path(target)
    assert window.session is not session
    assert window.session.doc.to_data() == saved
    assert load_graph(target).to_data() == saved
    assert window.recent.paths()[0] == str(target.resolve())
    assert len(window.current_view().graph_scene.nodes) == 6


def test_unsaved_changes_are_asked_about(window, gestures, monkeypatch):
    session = window.session
    session.push(SetParam("main", gestures.node_id(window, "conv"), "out_channels", 9))
    answers = [QMessageBox.StandardButton.Cancel]
    monkeypatch.setattr(QMessageBox, "question", lambda *args, **kwargs: answers[0])
    window.window_actions.new.trigger()
    assert window.session is session  # cancelled
    answers[0] = QMessageBox.StandardButton.Discard
    window.window_actions.new.trigger()
    assert window.session is not session
    assert [n.type for n in window.session.doc.network("main").nodes()] == ["Input", "Output"]
    assert len(window.session.doc.network("main").edges()) == 1
    assert not window.session.dirty


def test_autosave_leaves_a_copy_that_can_be_recovered(window, gestures, tmp_path):
    session = window.session
    session.path = tmp_path / "work.loom"
    autosave = Autosave(tmp_path / "recovery")
    autosave.attach(session)
    assert not autosave.save_now()  # nothing unsaved yet
    session.push(SetParam("main", gestures.node_id(window, "conv"), "out_channels", 5))
    assert autosave.save_now()
    assert autosave.copy.exists()
    assert orphaned_copies(tmp_path / "recovery") == []  # its window is still running
    autosave._lock.unlock()  # as if the window had crashed
    found = orphaned_copies(tmp_path / "recovery")
    assert [f.copy for f in found] == [autosave.copy]
    assert found[0].original == tmp_path / "work.loom"

    changed = session.doc.to_data()
    session.history.mark_clean()  # so recovering asks nothing
    assert window.documents.recover(found[0])
    assert window.session.doc.to_data() == changed
    assert window.session.dirty and window.session.path == tmp_path / "work.loom"
    assert window.windowTitle() == "work.loom* — Layerloom"
    assert not autosave.copy.exists()


def test_a_graph_slow_to_save_is_autosaved_less_often(window, gestures, tmp_path, monkeypatch):
    real = gui.files.save_graph

    def slow(doc, path):
        time.sleep(0.05)
        real(doc, path)

    monkeypatch.setattr(gui.files, "save_graph", slow)
    autosave = Autosave(tmp_path / "recovery", delay_ms=100)
    window.session.push(SetParam("main", gestures.node_id(window, "conv"), "out_channels", 5))
    autosave.attach(window.session)  # saves at once: the document has unsaved changes
    assert autosave.copy.exists()
    assert autosave.delay_ms >= 1000  # 50 ms of saving is at most 5 % of the time


def test_a_clean_close_removes_the_recovery_copy(window, gestures, tmp_path):
    autosave = Autosave(tmp_path / "recovery")
    autosave.attach(window.session)
    window.session.push(SetParam("main", gestures.node_id(window, "conv"), "out_channels", 5))
    autosave.save_now()
    autosave.stop()
    assert not autosave.copy.exists() and orphaned_copies(tmp_path / "recovery") == []


def test_dropping_a_loom_file_on_the_canvas_opens_it(window, tmp_path):
    example = tmp_path / "dropped.loom"
    window.session.save(example)
    window.documents.new_blank()
    data = QMimeData()
    data.setUrls([QUrl.fromLocalFile(str(example))])
    viewport = window.current_view().viewport()
    at, action = QPointF(100, 100), Qt.DropAction.CopyAction
    left, mods = Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier
    enter = drag_event(QDragEnterEvent, at, action, data, left, mods)
    QApplication.sendEvent(viewport, enter)
    assert enter.isAccepted()
    QApplication.sendEvent(viewport, drag_event(QDropEvent, at, action, data, left, mods))
    assert window.session.path == Path(example).resolve()
    assert len(window.session.doc.network("main")) == 5


def test_theme_switch_is_remembered(window):
    window.set_theme("dark")
    assert window.settings.value("theme") == "dark"
    assert window.tabs.colors.background.name() == "#1e2127"
    window.set_theme("light")


def test_export_code_replaces_the_file_whole_or_not_at_all(window, monkeypatch, tmp_path):
    (tmp_path / "out").mkdir()
    target = tmp_path / "out" / "model.py"
    target.write_text("old", encoding="utf-8")
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *args, **kwargs: (str(target), ""))
    warnings = []
    monkeypatch.setattr(QMessageBox, "warning", lambda *args: warnings.append(args[-1]))

    def full_disk(*args):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("os.replace", full_disk)
    window.window_actions.export_code.trigger()
    assert target.read_text(encoding="utf-8") == "old"
    assert [p.name for p in target.parent.iterdir()] == ["model.py"]  # no temporary left
    assert "No space left on device" in warnings[0]
    monkeypatch.undo()
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *args, **kwargs: (str(target), ""))
    window.window_actions.export_code.trigger()
    assert "class " in target.read_text(encoding="utf-8")


def test_an_example_opens_under_its_own_name_with_its_description(window, monkeypatch):
    from PySide6.QtGui import QAction
    from PySide6.QtWidgets import QLabel

    window.documents.confirm_discard = lambda: True
    example = next(a for a in window.findChildren(QAction) if a.text() == "Example: mlp moons")
    example.trigger()
    assert window.windowTitle() == "mlp_moons.loom (example, not saved yet) — Layerloom"
    window.current_view().graph_scene.select_nodes([])
    labels = {label.objectName(): label.text()
              for label in window.inspector.widget().findChildren(QLabel)}
    assert labels["DocumentDescription"].startswith("A multilayer perceptron")

    offered: list[str] = []

    def save_dialog(_parent, _title, start, _filter):
        offered.append(start)
        return "", ""

    monkeypatch.setattr(QFileDialog, "getSaveFileName", save_dialog)
    window.window_actions.save_as.trigger()
    assert Path(offered[0]).name == "mlp_moons.loom"  # Save As starts from the example's name


def test_the_start_up_example_is_named_as_an_example() -> None:
    from gui.app import DEFAULT_EXAMPLE, first_session

    session = first_session(None)
    assert session.path is None and session.example == DEFAULT_EXAMPLE
    assert session.display_name == DEFAULT_EXAMPLE.name  # not "untitled.loom"


def test_a_new_blank_network_fits_the_default_data_set(window, qtbot):
    window.documents.new_blank()
    session = window.session
    qtbot.waitUntil(lambda: not session.starter, timeout=20000)
    net = session.doc.network("main")
    assert [net.node(n).type for n in net.topological_order()] == [
        "Input", "Flatten", "Linear", "Output"]
    assert not session.dirty
    qtbot.waitUntil(lambda: session.diagnostics is not None and not any(
        d.is_error for d in session.diagnostics), timeout=10000)
    window.window_actions.fit_to_data.trigger()
    assert "already fits" in window.statusBar().currentMessage()
