"""Start-up: the screenshot mode renders the loaded window with shapes filled in."""

from __future__ import annotations

from conftest import sample_document
from PySide6.QtGui import QImage

from gui.app import run
from gui.files import blank_document


def test_screenshot_writes_a_png_of_the_loaded_window(torch_ready, tmp_path):
    source = tmp_path / "blank.loom"
    from graph.fileformat import save_graph

    save_graph(blank_document(), source)
    out = tmp_path / "shot.png"
    assert run(str(source), screenshot=str(out)) == 0
    image = QImage(str(out))
    assert (image.width(), image.height()) == (1600, 1000)


def test_screenshot_of_a_missing_file_fails(torch_ready, tmp_path):
    assert run(str(tmp_path / "missing.loom"), screenshot=str(tmp_path / "x.png")) == 1


def test_the_window_needs_no_torch_to_appear(tmp_path):
    """Building and showing the window imports no torch: that happens in the background."""
    import subprocess
    import sys
    from pathlib import Path

    code = (
        "import sys\n"
        "from PySide6.QtCore import QSettings\n"
        "from gui.app import application\n"
        "from gui.main_window import MainWindow\n"
        "from gui.session import Session\n"
        "from gui.files import blank_document\n"
        "app = application()\n"
        f"w = MainWindow(QSettings({str(tmp_path / 's.ini')!r}, QSettings.Format.IniFormat),"
        " autosave=False)\n"
        "session = Session(blank_document())\n"
        "session.start_shapes = lambda: None\n"
        "w.set_session(session)\n"
        "w.show()\n"
        "app.processEvents()\n"
        "print('torch' in sys.modules)\n"
    )
    root = Path(__file__).resolve().parents[2]
    env = {"QT_QPA_PLATFORM": "offscreen", "PYTHONPATH": str(root), "HOME": str(tmp_path)}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            cwd=root, env=env, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"


class FakeWarmup:
    """Stands in for the torch import: records when it is started, loads on demand."""

    def __init__(self) -> None:
        self.is_ready = False
        self.starts = 0
        self.callbacks: list = []

    def when_ready(self, callback, start: bool = True) -> None:
        self.callbacks.append(callback)
        if start:
            self.start()

    def start(self) -> None:
        self.starts += 1

    def finish(self) -> None:
        self.is_ready = True
        for callback in self.callbacks:
            callback()


def test_shapes_show_at_first_paint_and_torch_loads_after_it(qtbot, tmp_path, monkeypatch):
    """Shapes come from the layers' rules when the canvas first paints; torch, which
    competes with painting for the GIL, is imported after that and adds parameter
    counts and validation."""
    from PySide6.QtCore import QSettings

    import gui.main_window
    import gui.session
    from gui.main_window import MainWindow
    from gui.session import Session

    fake = FakeWarmup()
    monkeypatch.setattr(gui.main_window, "warmup", lambda: fake)
    monkeypatch.setattr(gui.session, "warmup", lambda: fake)
    monkeypatch.setattr(gui.main_window, "TORCH_DELAY_MS", 200)
    window = MainWindow(QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat),
                        autosave=False)
    hidden = Session(sample_document())
    window.set_session(hidden)
    qtbot.wait(50)
    assert not hidden.shapes_ready and fake.starts == 0  # not shown, not painted: not yet
    qtbot.waitUntil(lambda: fake.starts == 1, timeout=1000)  # the fallback timer
    assert hidden.shapes_ready

    monkeypatch.setattr(gui.main_window, "TORCH_DELAY_MS", 60_000)
    session = Session(sample_document())
    window.set_session(session)
    window.resize(1400, 900)
    window.show()
    qtbot.waitUntil(lambda: fake.starts == 2, timeout=5000)  # the first paint, not the timer
    scene = window.current_view().graph_scene
    conv = next(i for i in scene.nodes.values() if i.title == "conv")
    labels = {item.label for item in scene.edges.values()}
    assert labels == {"N×1×8×8", "N×4×8×8", "N×256", "N×10"}
    assert "… params" in conv.lines
    assert window.problem_count.text() == "Loading PyTorch…"
    height = conv.boundingRect().height()

    fake.finish()
    qtbot.waitUntil(lambda: (session.shapes_complete and bool(session.diagnostics))
                    or window.problem_count.text() != "Loading PyTorch…", timeout=3000)
    assert "40 params" in conv.lines and "… params" not in conv.lines
    assert conv.boundingRect().height() == height  # the count took the reserved line
    window.current_view().viewport().update()
    qtbot.wait(50)
    assert fake.starts == 2  # once per document
    window.documents.confirm_discard = lambda: True
    window.close()


def test_the_bottom_docks_leave_the_canvas_most_of_the_height(window):
    from PySide6.QtWidgets import QDockWidget

    from gui.main_window import BOTTOM_HEIGHT

    problems = window.findChild(QDockWidget, "ProblemsDock")
    assert problems.height() <= BOTTOM_HEIGHT + 4
    assert window.current_view().height() > 0.6 * window.height()
