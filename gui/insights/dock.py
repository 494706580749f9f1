"""The Insights dock: the views of ``gui.insights`` as tabs, fed by the window's run."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QTabWidget

from gui.insights import Insight, insight_classes
from gui.session import Session
from gui.training import TrainingController


class InsightsPanel(QTabWidget):
    """One tab per view; tabs that do not apply to the open document are hidden."""

    node_named = Signal(str, str)

    def __init__(self, controller: TrainingController) -> None:
        super().__init__()
        self.setDocumentMode(True)
        self.views: list[Insight] = [cls(controller) for cls in insight_classes()]
        for view in self.views:
            self.addTab(view, view.title)
            view.node_named.connect(self.node_named)
        controller.reported.connect(self._event)

    def view(self, cls: type[Insight]) -> Insight:
        return next(v for v in self.views if isinstance(v, cls))

    def set_session(self, session: Session) -> None:
        for view in self.views:
            view.set_session(session)
        self.refresh_tabs()

    def refresh_tabs(self) -> None:
        """Show the tabs of the views that apply to the document as it is now."""
        for index, view in enumerate(self.views):
            self.setTabVisible(index, view.applies())

    def select(self, network: str, node_id: str | None) -> None:
        for view in self.views:
            view.on_selection(network, node_id)

    def _event(self, event: dict[str, Any]) -> None:
        if event.get("type") == "started":
            for view in self.views:
                view.clear()
            self.refresh_tabs()
        for view in self.views:
            view.on_event(event)
