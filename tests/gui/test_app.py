"""Start-up: the screenshot mode renders the loaded window with shapes filled in."""

from __future__ import annotations

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
