"""Crash recovery: a killed window's last edits come back at the next start, and a
recovery copy is deleted only when the user says so or once it is safe elsewhere."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

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
# "recover" answers the recovery question with Recover, then prints what the window shows.
DRIVER = """
import json, sys
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QMessageBox
from graph.commands import SetParam
from gui.app import application
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
    app.exit(0)

QTimer.singleShot(0, edit if mode == "edit" else answer)
sys.exit(main.main([path]))
"""


def _start(mode: str, path: Path, home: Path) -> subprocess.Popen[str]:
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", HOME=str(home),
               XDG_DATA_HOME=str(home / "data"), XDG_CONFIG_HOME=str(home / "config"),
               PYTHONPATH=str(ROOT))
    return subprocess.Popen([sys.executable, "-c", DRIVER, mode, str(path)], cwd=ROOT,
                            env=env, stdout=subprocess.PIPE, text=True)


def _line(proc: subprocess.Popen[str]) -> object:
    assert proc.stdout is not None
    line = proc.stdout.readline()
    assert line, f"the window process ended (exit {proc.wait()})"
    return json.loads(line)


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
    window = _start("edit", work, tmp_path)
    try:
        edited = _line(window)
        copy = _wait_for_copy(tmp_path / "data", edited)
    finally:
        window.send_signal(signal.SIGKILL)
        window.wait(TIMEOUT)
    assert window.returncode == -signal.SIGKILL
    assert load_graph(work).to_data() != edited  # the edits were never saved

    again = _start("recover", work, tmp_path)
    try:
        question = _line(again)
        shown = _line(again)
        assert again.wait(TIMEOUT) == 0
    finally:
        again.kill()
        again.wait()
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
