"""Crash recovery: a killed window's last edits come back at the next start, and a
recovery copy is deleted only when the user says so or once it is safe elsewhere."""

from __future__ import annotations

import json
import os
import queue
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QMessageBox

from graph.commands import SetParam
from graph.fileformat import GraphFileError, load_graph
from gui.files import Autosave, orphaned_copies
from gui.recovery import offer_recovery

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "resources" / "examples" / "mlp_moons.loom"
TIMEOUT = 60.0

# Runs the real program (main.main) and, once its window is up, acts as a user would:
# "edit" changes fc1's width and adds a layer, then prints the document;
# "crash" does the same, then Frame all fails inside its slot (a bug planted here), and
#   the crash dialog's text is printed;
# "recover" answers the recovery question with Recover, then prints what the window shows.
DRIVER = """
import json, sys
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QMessageBox
from graph.commands import SetParam
from gui.app import application
from gui.canvas.view import GraphView
from gui.main_window import MainWindow
import main

app = application()
mode, path = sys.argv[1], sys.argv[2]

def window():
    return next(w for w in app.topLevelWidgets() if isinstance(w, MainWindow))

def edit():
    session = window().session
    session.push(SetParam("main", session.doc.network("main").by_label("fc1").id,
                          "out_features", 29))
    window().add_layer("Tanh")
    print(json.dumps(session.doc.to_data()), flush=True)
    if mode == "crash":  # at once: the autosave's timer has had no chance to run
        GraphView.frame_all = lambda view: 1 / 0
        window().window_actions.frame_all.trigger()
        shown()

def shown():
    dialog = QApplication.activeModalWidget()
    if dialog is None or dialog.windowTitle() != "Unexpected error — Layerloom":
        QTimer.singleShot(20, shown)
        return
    print(json.dumps([dialog.message.text(), dialog.error.text()]), flush=True)

def answer():
    box = app.activeModalWidget()
    if not isinstance(box, QMessageBox):
        QTimer.singleShot(20, answer)
        return
    print(json.dumps(box.text()), flush=True)
    QTimer.singleShot(20, report)
    next(b for b in box.buttons()
         if box.buttonRole(b) == QMessageBox.ButtonRole.AcceptRole).click()

def report():
    session = window().session
    if app.activeModalWidget() is not None or not session.recovered:
        QTimer.singleShot(20, report)
        return
    print(json.dumps({"title": window().windowTitle(), "path": str(session.path),
                      "doc": session.doc.to_data()}), flush=True)

QTimer.singleShot(0, answer if mode == "recover" else edit)
sys.exit(main.main([path]))
"""


class Program:
    """The real program in a subprocess, driven by DRIVER; what it prints arrives on a
    queue, so a window that never answers fails the test instead of hanging it."""

    def __init__(self, mode: str, path: Path, home: Path) -> None:
        env = dict(os.environ, QT_QPA_PLATFORM="offscreen", HOME=str(home),
                   XDG_DATA_HOME=str(home / "data"), XDG_CONFIG_HOME=str(home / "config"),
                   PYTHONPATH=str(ROOT))
        self.proc = subprocess.Popen([sys.executable, "-c", DRIVER, mode, str(path)],
                                     cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True)
        self.lines: queue.Queue[str] = queue.Queue()
        self.pump = threading.Thread(target=self._pump, daemon=True)
        self.pump.start()

    def _pump(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(line)
        self.lines.put("")

    def read(self) -> Any:
        try:
            line = self.lines.get(timeout=TIMEOUT)
        except queue.Empty:
            raise AssertionError(f"the window said nothing for {TIMEOUT:.0f} s") from None
        assert line, f"the window process ended (exit {self.proc.wait()})"
        return json.loads(line)

    def kill(self) -> int:
        self.proc.send_signal(signal.SIGKILL)
        code = self.proc.wait(TIMEOUT)
        self.pump.join(TIMEOUT)  # it has read to the end: the pipe can close
        assert self.proc.stdout is not None
        self.proc.stdout.close()  # left open, it is a ResourceWarning
        return code


def _wait_for_copy(folder: Path, expected: object) -> Path:
    """The recovery copy once it holds ``expected`` (written a moment after the edit)."""
    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline:
        for copy in folder.rglob("recovery-*.loom"):
            try:
                if load_graph(copy).to_data() == expected:
                    return copy
            except (OSError, GraphFileError):
                pass  # replaced while read
        time.sleep(0.05)
    raise AssertionError(f"no recovery copy with the edits under {folder}")


def test_a_killed_window_s_last_edits_are_offered_and_recovered_at_the_next_start(
    tmp_path: Path,
) -> None:
    work = tmp_path / "moons.loom"
    shutil.copy(EXAMPLE, work)
    window = Program("edit", work, tmp_path)
    try:
        edited = window.read()
        copy = _wait_for_copy(tmp_path / "data", edited)
    finally:
        assert window.kill() == -signal.SIGKILL
    assert load_graph(work).to_data() != edited  # the edits were never saved

    again = Program("recover", work, tmp_path)
    try:
        question = again.read()
        shown = again.read()
    finally:
        again.kill()
    assert isinstance(question, str) and question.startswith(
        "Layerloom closed unexpectedly; recover the unsaved changes to moons.loom (saved ")
    assert shown == {"title": "moons.loom* — Layerloom", "path": str(work), "doc": edited}
    assert not copy.exists()  # the recovering window keeps the changes in its own copy
    assert [load_graph(c).to_data() for c in copy.parent.glob("recovery-*.loom")] == [edited]


def _crashed_copy(window, folder: Path) -> Path:
    """A recovery copy of an edit to ``window``'s document, as if its window had died."""
    session = window.session
    session.path = folder.parent / "work.loom"
    autosave = Autosave(folder)
    autosave.attach(session)
    session.push(SetParam("main", session.doc.network("main").by_label("conv").id,
                          "out_channels", 5))
    assert autosave.save_now()
    assert autosave._lock is not None
    autosave._lock.unlock()  # its window is gone
    return autosave.copy


def _answer(button: str, seen: list[str]) -> None:
    """Click ``button`` of the next message box once it is shown."""
    box = QApplication.activeModalWidget()
    if not isinstance(box, QMessageBox):
        QTimer.singleShot(10, lambda: _answer(button, seen))
        return
    seen.append(box.text())
    next(b for b in box.buttons() if b.text() == button).click()


def test_discard_deletes_the_copy_and_names_the_file_and_time(window, tmp_path: Path) -> None:
    copy = _crashed_copy(window, tmp_path / "recovery")
    saved = time.strftime("%H:%M", time.localtime(copy.stat().st_mtime))
    seen: list[str] = []
    QTimer.singleShot(0, lambda: _answer("Discard", seen))
    offer_recovery(window, tmp_path / "recovery")
    assert seen == [f"Layerloom closed unexpectedly; recover the unsaved changes to "
                    f"work.loom (saved {saved})?"]
    assert not copy.exists() and orphaned_copies(tmp_path / "recovery") == []
    assert window.session.dirty  # nothing was opened


def test_recover_cancelled_at_the_unsaved_prompt_keeps_the_copy(
    window, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    copy = _crashed_copy(window, tmp_path / "recovery")
    before = window.session
    monkeypatch.setattr(QMessageBox, "question",
                        lambda *args, **kwargs: QMessageBox.StandardButton.Cancel)
    seen: list[str] = []
    QTimer.singleShot(0, lambda: _answer("Recover", seen))
    offer_recovery(window, tmp_path / "recovery")
    assert len(seen) == 1
    assert window.session is before
    assert copy.exists() and [f.copy for f in orphaned_copies(tmp_path / "recovery")] == [copy]
