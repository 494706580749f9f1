"""Unexpected errors in the window: recovery copy first, then crash.log, then a dialog."""

from __future__ import annotations

import shutil
import sys
import threading
from pathlib import Path

import pytest
from PySide6.QtCore import QTimer
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import QApplication
from test_recovery import EXAMPLE, Program

import gui.crash
from graph.commands import SetParam
from graph.fileformat import load_graph
from gui.canvas.view import GraphView
from gui.crash import CrashReporter
from gui.files import Autosave


@pytest.fixture
def reporter(window, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CrashReporter:
    """The window with autosave on (only the crash may write its copy) and the reporter
    installed as the hooks; pytest-qt's own capture is off for these tests."""
    window.session.path = tmp_path / "work.loom"
    window.autosave = Autosave(tmp_path / "recovery", interval_ms=600_000, delay_ms=600_000)
    window.autosave.attach(window.session)
    found = CrashReporter(tmp_path / "data")
    monkeypatch.setattr(sys, "excepthook", found.excepthook)
    monkeypatch.setattr(threading, "excepthook", found._thread_excepthook)
    return found


def _edit(window) -> dict:
    session = window.session
    session.push(SetParam("main", session.doc.network("main").by_label("conv").id,
                          "out_channels", 5))
    return session.doc.to_data()


def _boom(view: GraphView) -> None:
    raise RuntimeError("frame exploded")


def _frame_all(window, qtbot) -> None:
    """Frame all, chosen while the event loop runs (as a click would be)."""
    QTimer.singleShot(0, window.window_actions.frame_all.trigger)
    qtbot.wait(20)


@pytest.mark.qt_no_exception_capture
def test_an_error_in_a_slot_keeps_the_document_logs_and_shows_a_dialog(
    window, reporter: CrashReporter, monkeypatch: pytest.MonkeyPatch, qtbot,
) -> None:
    edited = _edit(window)
    assert not window.autosave.copy.exists()
    monkeypatch.setattr(GraphView, "frame_all", _boom)
    _frame_all(window, qtbot)

    assert load_graph(window.autosave.copy).to_data() == edited
    log = reporter.log.read_text(encoding="utf-8")
    assert log.startswith("==== ") and "Layerloom 0.1.0 · Python" in log
    assert "document: work.loom: your unsaved changes are kept in a recovery copy" in log
    assert "in frame_all" in log and log.rstrip().endswith("RuntimeError: frame exploded")
    dialog = reporter.dialog
    assert dialog is not None and dialog.isVisible() and dialog.parent() is window
    assert "Layerloom ran into an unexpected error." in dialog.message.text()
    assert "work.loom: your unsaved changes are kept in a recovery copy" in dialog.message.text()
    assert "RuntimeError: frame exploded" in dialog.error.text()
    assert str(reporter.log) in dialog.log_line.text()

    dialog.copy_button.click()
    copied = QApplication.clipboard().text()
    assert copied.startswith("Traceback") and "in _boom" in copied
    assert copied.count("RuntimeError: frame exploded") == 1
    opened = []
    monkeypatch.setattr(QDesktopServices, "openUrl", lambda url: opened.append(url))
    dialog.open_button.click()
    assert [url.toLocalFile() for url in opened] == [str(reporter.folder)]
    assert dialog.isVisible()  # both buttons leave it open

    _frame_all(window, qtbot)  # again, while the dialog is open
    assert reporter.dialog is dialog and dialog.repeat_line.isVisible()
    assert "1 more error(s)" in dialog.repeat_line.text()
    assert reporter.log.read_text(encoding="utf-8").count("RuntimeError: frame exploded") == 2
    dialog.close()
    assert reporter.dialog is None
    _frame_all(window, qtbot)  # after it was closed: a new dialog
    assert reporter.dialog is not None and reporter.dialog.isVisible()
    reporter.dialog.close()


@pytest.mark.qt_no_exception_capture
def test_an_error_on_a_worker_thread_is_reported_on_the_gui_thread(
    window, reporter: CrashReporter, qtbot,
) -> None:
    def work() -> None:
        raise ValueError("worker failed")

    thread = threading.Thread(target=work)
    thread.start()
    thread.join()
    qtbot.waitUntil(lambda: reporter.dialog is not None and reporter.dialog.isVisible())
    assert "ValueError: worker failed" in reporter.dialog.error.text()
    assert "ValueError: worker failed" in reporter.log.read_text(encoding="utf-8")
    reporter.dialog.close()


def test_the_log_is_rotated_and_capped(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(gui.crash, "MAX_LOG_BYTES", 4000)
    reporter = CrashReporter(tmp_path, keep=list)
    for i in range(gui.crash.MAX_LOGGED):
        assert reporter._write_log(f"Traceback\nValueError: {i}\n" + "x" * 500, []) is None
        assert reporter.log.stat().st_size <= 4000
    assert "ValueError: 49" in reporter.log.read_text(encoding="utf-8")
    assert (tmp_path / "crash.log.1").stat().st_size <= 4000
    assert sorted(p.name for p in tmp_path.iterdir()) == ["crash.log", "crash.log.1"]
    refused = reporter._write_log("Traceback\nValueError: one too many\n", [])
    assert refused is not None and "not logged" in refused
    assert "one too many" not in reporter.log.read_text(encoding="utf-8")
    huge = CrashReporter(tmp_path / "huge", keep=list)
    assert huge._write_log("Traceback\n" + "y" * 10 * gui.crash.MAX_ENTRY_CHARS, []) is None
    assert huge.log.stat().st_size < 2 * gui.crash.MAX_ENTRY_CHARS


def test_the_program_installs_the_reporter(tmp_path: Path) -> None:
    work = tmp_path / "moons.loom"
    shutil.copy(EXAMPLE, work)
    program = Program("crash", work, tmp_path)
    try:
        edited = program.read()
        message, error = program.read()
        logs = list((tmp_path / "data").rglob("crash.log"))
        copies = list((tmp_path / "data").rglob("recovery-*.loom"))
    finally:
        program.kill()
    assert "moons.loom: your unsaved changes are kept in a recovery copy" in message
    assert "ZeroDivisionError: division by zero" in error
    assert len(logs) == 1 and "ZeroDivisionError" in logs[0].read_text(encoding="utf-8")
    assert logs[0].parent == copies[0].parent.parent  # the user's data folder
    assert [load_graph(c).to_data() for c in copies] == [edited]
