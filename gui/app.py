"""Start-up: the application object, the first document, recovery, and screenshots.

The window is shown before torch has finished importing: ``warmup`` imports it
in a background thread and shapes are filled in when it is ready.
"""

from __future__ import annotations

import logging
import sys
import tempfile
from pathlib import Path

from PySide6.QtCore import QEventLoop, QSettings, QTimer
from PySide6.QtWidgets import QApplication, QMessageBox

from graph.fileformat import GraphFileError, load_graph
from gui.crash import CrashReporter
from gui.files import blank_document
from gui.main_window import APP_NAME, MainWindow
from gui.qt_compat import guard_none_refcount
from gui.recovery import offer_recovery
from gui.resources import DEFAULT_EXAMPLE
from gui.session import Session
from gui.warmup import warmup

log = logging.getLogger(__name__)
SCREENSHOT_SIZE = (1600, 1000)


def application() -> QApplication:
    """The process's QApplication, created with Layerloom's names when missing."""
    guard_none_refcount()
    app = QApplication.instance()
    if not isinstance(app, QApplication):
        app = QApplication(sys.argv[:1])
    app.setOrganizationName(APP_NAME)
    app.setApplicationName(APP_NAME)
    app.setApplicationDisplayName(APP_NAME)
    return app


def first_session(path: str | None) -> Session:
    """The document to start with: ``path``, else the digits example (untitled), else blank."""
    if path is not None:
        return Session(load_graph(path), Path(path).resolve())
    if DEFAULT_EXAMPLE.exists():
        try:
            session = Session(load_graph(DEFAULT_EXAMPLE))
        except GraphFileError as exc:
            log.warning("cannot open the default example: %s", exc)
        else:
            session.example = DEFAULT_EXAMPLE  # named after it, as File > New from example
            return session
    return Session(blank_document())


def run(path: str | None = None, screenshot: str | None = None) -> int:
    """Run the editor; with ``screenshot``, save a PNG of the loaded window and exit."""
    app = application()
    if screenshot is not None:
        return _screenshot(app, path, Path(screenshot))
    CrashReporter().install()  # unexpected errors: recovery copies, crash.log, a dialog
    window = open_window(path)
    QTimer.singleShot(0, lambda: offer_recovery(window))
    return app.exec()


def open_window(path: str | None = None, settings: QSettings | None = None, *,
                autosave: bool = True) -> MainWindow:
    """Show a main window with ``path`` (or the start-up document) loaded.

    Torch is imported in the background once the window is up; shapes follow.
    """
    window = MainWindow(settings, autosave=autosave)
    try:
        session = first_session(path)
    except GraphFileError as exc:
        QMessageBox.warning(None, "Cannot open file", f"{path}:\n{exc}")
        session = Session(blank_document())
    if session.path is not None:
        window.recent.add(session.path)
    window.set_session(session)
    window.show()
    return window


def _select_example_node(window: MainWindow) -> None:
    """Show the inspector filled in: select the first layer with weights."""
    view = window.current_view()
    if view is None:
        return
    net = view.graph_scene.network
    chosen = next((n.id for n in net.nodes() if n.spec.has_weights), None)
    if chosen is not None:
        view.graph_scene.select_nodes([chosen])


def _screenshot(app: QApplication, path: str | None, out: Path) -> int:
    """Render the window with ``path`` loaded and its shapes filled in to ``out``."""
    try:
        session = first_session(path)
    except GraphFileError as exc:
        log.error("cannot open %s: %s", path, exc)
        return 1
    with tempfile.TemporaryDirectory() as folder:
        settings = QSettings(str(Path(folder) / "settings.ini"), QSettings.Format.IniFormat)
        window = MainWindow(settings, autosave=False)
        window.set_session(session)
        window.resize(*SCREENSHOT_SIZE)
        window.show()
        done: list[bool] = []

        def shoot() -> None:
            session.validate_now()
            window.summary.refresh()
            app.processEvents()
            for view in window.tabs.views():
                view.frame_all()
            _select_example_node(window)
            app.processEvents()
            done.append(window.grab().save(str(out)))
            loop.quit()

        # A local loop rather than app.exec(): the application stays usable afterwards.
        loop = QEventLoop()
        warmup().when_ready(lambda: QTimer.singleShot(50, shoot))
        loop.exec()
        window.close()
    if not (done and done[0]):
        log.error("could not write the screenshot to %s", out)
        return 1
    return 0
