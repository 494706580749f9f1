"""The file and network commands work with any window that offers ``WindowHost``."""

from __future__ import annotations

from pathlib import Path

from conftest import sample_document
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QMainWindow

from gui.canvas.view import GraphView
from gui.documents import DocumentActions
from gui.files import Autosave, RecentFiles
from gui.networks import NetworkActions
from gui.session import Session
from gui.training import TrainingController


class Host:
    """A window that is nothing but the protocol: no tabs, docks or panels."""

    def __init__(self, folder: Path) -> None:
        self.widget = QMainWindow()
        self.session: Session | None = Session(sample_document())
        self.recent = RecentFiles(QSettings(str(folder / "settings.ini"),
                                            QSettings.Format.IniFormat))
        self.autosave: Autosave | None = None
        self.training = TrainingController()
        self.shown: list[str] = []
        self.messages: list[str] = []

    def as_widget(self) -> QMainWindow:
        return self.widget

    def set_session(self, session: Session) -> None:
        self.session = session

    def current_view(self) -> GraphView | None:
        return None

    def current_network(self) -> str:
        return "main"

    def show_network(self, name: str) -> GraphView | None:
        self.shown.append(name)
        return None

    def show_message(self, text: str, ms: int = 0) -> None:
        self.messages.append(text)

    def show_runs_note(self, text: str) -> None:
        self.messages.append(text)


def test_networks_and_files_need_only_the_host(qtbot, tmp_path: Path) -> None:
    host = Host(tmp_path)
    qtbot.addWidget(host.widget)
    assert NetworkActions(host).add("second")
    assert host.shown == ["second"] and host.session is not None
    assert list(host.session.doc.networks) == ["main", "second"]
    path = tmp_path / "two.loom"
    host.session.path = path
    documents = DocumentActions(host)
    assert documents.save() and path.exists()
    assert host.messages == [f"Saved {path}"] and host.recent.paths() == [str(path)]
    assert documents.open_path(path, confirmed=True)
    assert host.session.path == path.resolve() and not host.session.dirty
