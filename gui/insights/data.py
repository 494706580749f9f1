"""The Insights dock's Data tab: the document's data set at a glance (``DataPreviewWidget``),
following the training section as it changes. It loads only while the tab is on show."""

from __future__ import annotations

from PySide6.QtGui import QShowEvent
from PySide6.QtWidgets import QVBoxLayout

from gui.data_preview import DataPreviewWidget
from gui.insights import Insight
from gui.session import Session
from gui.training import TrainingController


class DataInsight(Insight):
    """Samples, class balance and split sizes of the data the document trains on."""

    title = "Data"

    def __init__(self, controller: TrainingController) -> None:
        super().__init__(controller)
        self.preview = DataPreviewWidget()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 4, 6, 4)
        layout.addWidget(self.preview)

    def set_session(self, session: Session) -> None:
        if self.session is not None:
            self.session.changed.disconnect(self.follow)
        super().set_session(session)
        session.changed.connect(self.follow)
        self.follow()

    def follow(self) -> None:
        """Preview the document's data as its training section is now (when on show)."""
        session = self.session
        if session is None or not self.isVisible():
            return
        training = session.doc.training
        self.preview.show_data(training.data, training.task,
                               session.path.parent if session.path else None)

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        self.follow()
