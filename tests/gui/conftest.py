"""pytest-qt fixtures: a headless Qt, isolated settings, and a window with a small network."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QPointF, QSettings, QStandardPaths, Qt
from PySide6.QtGui import QMouseEvent
from PySide6.QtWidgets import QApplication

from graph.builder import NetworkBuilder
from graph.document import Document
from gui.qt_compat import guard_none_refcount

guard_none_refcount()  # before pytest-qt makes the application: see gui/qt_compat.py


@pytest.fixture(scope="session", autouse=True)
def isolated_settings(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Keep QSettings and recovery copies out of the user's real folders."""
    QStandardPaths.setTestModeEnabled(True)
    folder = tmp_path_factory.mktemp("settings")
    QSettings.setDefaultFormat(QSettings.Format.IniFormat)
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(folder))


@pytest.fixture(scope="session", autouse=True)
def empty_clipboard_at_exit(qapp: QApplication) -> Iterator[None]:
    """Clear the clipboard before Qt shuts down: mime data it still owns at interpreter
    exit is freed twice by the offscreen platform (a segfault after the last test)."""
    yield
    qapp.clipboard().clear()
    qapp.processEvents()


@pytest.fixture(scope="session")
def torch_ready(qapp: QApplication) -> None:
    from gui.app import application
    from gui.warmup import warmup

    application()
    warmup().load_now()


def sample_document() -> Document:
    """Input 1×8×8 → Conv2d → Flatten → Linear(10) → Output, 260 px apart."""
    doc = Document.new("main")
    b = NetworkBuilder(doc, "main", spacing=260.0)
    x = b.add("Input", shape=[1, 8, 8], label="image")
    c = b.add("Conv2d", x, out_channels=4, label="conv")
    f = b.add("Flatten", c, label="flat")
    fc = b.add("Linear", f, out_features=10, label="fc")
    b.add("Output", fc, label="out")
    return doc


@pytest.fixture
def window(qtbot, torch_ready: None, tmp_path: Path) -> Iterator:
    from gui.main_window import MainWindow
    from gui.session import Session

    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    win = MainWindow(settings, autosave=False)
    win.set_session(Session(sample_document()))
    win.resize(1400, 900)
    win.show()
    qtbot.waitExposed(win)
    win.current_view().frame_all()
    yield win
    win.training.shutdown()  # no run outlives its test
    win.documents.confirm_discard = lambda: True  # never a modal prompt at teardown
    win.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    win.close()
    qtbot.wait(1)  # let the deferred delete run, so later tests start from few widgets


class Gestures:
    """Real mouse events sent to a view's viewport (``QTest.mouseMove`` holds no buttons)."""

    @staticmethod
    def node_id(win, label: str, network: str = "main") -> str:
        node = win.session.doc.network(network).by_label(label)
        assert node is not None, label
        return node.id

    @staticmethod
    def send(view, kind: QMouseEvent.Type, scene_pos: QPointF,
             button: Qt.MouseButton, buttons: Qt.MouseButton) -> None:
        viewport = view.viewport()
        local = QPointF(view.mapFromScene(scene_pos))
        global_pos = QPointF(viewport.mapToGlobal(local.toPoint()))
        event = QMouseEvent(kind, local, global_pos, button, buttons,
                            Qt.KeyboardModifier.NoModifier)
        QApplication.sendEvent(viewport, event)

    @classmethod
    def drag(cls, view, start: QPointF, end: QPointF, steps: int = 6) -> None:
        """Press the left button at ``start``, move to ``end`` holding it, release."""
        left, none = Qt.MouseButton.LeftButton, Qt.MouseButton.NoButton
        cls.send(view, QMouseEvent.Type.MouseButtonPress, start, left, left)
        for i in range(1, steps + 1):
            point = start + (end - start) * (i / steps)
            cls.send(view, QMouseEvent.Type.MouseMove, point, none, left)
        cls.send(view, QMouseEvent.Type.MouseButtonRelease, end, left, none)

    @classmethod
    def click(cls, view, pos: QPointF) -> None:
        left, none = Qt.MouseButton.LeftButton, Qt.MouseButton.NoButton
        cls.send(view, QMouseEvent.Type.MouseButtonPress, pos, left, left)
        cls.send(view, QMouseEvent.Type.MouseButtonRelease, pos, left, none)


@pytest.fixture
def gestures() -> type[Gestures]:
    return Gestures


@pytest.fixture
def sample_doc() -> Document:
    return sample_document()


def drag_event(cls: type, at: object, *args: object) -> object:
    """A drag/drop event at ``at``: PySide6 releases disagree on QPoint vs QPointF."""
    from PySide6.QtCore import QPoint, QPointF

    point = QPointF(at)  # type: ignore[call-overload]
    try:
        return cls(point, *args)
    except TypeError:
        return cls(QPoint(round(point.x()), round(point.y())), *args)
