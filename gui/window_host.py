"""The main window as its controllers see it: narrow protocols that mypy checks.

``DocumentActions`` and ``NetworkActions`` (files and networks) are given the window
as a ``WindowHost``, and ``WindowActions`` (menus and toolbar) as an ``ActionsHost``:
they use only what is listed here, so the window's panels, docks and timers stay its
own business, and ``MainWindow`` is checked against these lists where it hands itself
over.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from PySide6.QtWidgets import QDockWidget, QMainWindow

    from gui.canvas.view import GraphView
    from gui.documents import DocumentActions
    from gui.files import Autosave, RecentFiles
    from gui.networks import NetworkActions
    from gui.panels.training import TrainingPanel
    from gui.session import Session
    from gui.training import TrainingController


class WindowHost(Protocol):
    """What the file and network commands need of the window."""

    @property
    def session(self) -> Session | None: ...

    @property
    def recent(self) -> RecentFiles: ...

    @property
    def autosave(self) -> Autosave | None: ...

    @property
    def training(self) -> TrainingController: ...

    def as_widget(self) -> QMainWindow:
        """The window as a Qt widget: the parent of dialogs, actions and menus."""
        ...

    def set_session(self, session: Session) -> None: ...

    def current_view(self) -> GraphView | None: ...

    def current_network(self) -> str: ...

    def show_network(self, name: str) -> GraphView | None:
        """Bring ``name``'s canvas to the front (None: no such network)."""
        ...

    def show_message(self, text: str, ms: int = ...) -> None:
        """A passing note in the status bar."""
        ...

    def show_runs_note(self, text: str) -> None:
        """Say ``text`` in the Runs panel and list the runs again (they moved)."""
        ...


class ActionsHost(WindowHost, Protocol):
    """What the menus and the toolbar wire their actions to."""

    @property
    def documents(self) -> DocumentActions: ...

    @property
    def networks(self) -> NetworkActions: ...

    @property
    def training_panel(self) -> TrainingPanel: ...

    @property
    def docks(self) -> list[QDockWidget]: ...

    @property
    def theme(self) -> str: ...

    def set_theme(self, name: str) -> None: ...

    def undo(self) -> None: ...

    def redo(self) -> None: ...

    def cut(self) -> None: ...

    def copy(self) -> None: ...

    def paste(self) -> None: ...

    def duplicate(self) -> None: ...

    def delete(self) -> None: ...

    def select_all(self) -> None: ...

    def frame_all(self) -> None: ...

    def auto_layout(self) -> None: ...

    def zoom(self, factor: float) -> None: ...

    def train(self) -> None: ...

    def open_step(self) -> None: ...

    def training_settings(self) -> None: ...

    def evaluate(self) -> None: ...

    def fit_to_data(self) -> None: ...
