"""The Insights dock: the views of ``gui.insights`` as tabs, fed by the window's run."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QEvent, QObject, Signal
from PySide6.QtGui import QResizeEvent
from PySide6.QtWidgets import QFrame, QScrollArea, QTabWidget, QWidget

from gui.insights import Insight, insight_classes
from gui.session import Session
from gui.training import TrainingController


class InsightsPanel(QTabWidget):
    """One tab per view; tabs that do not apply to the open document are hidden.

    Each view sits in a scroll area: a tab that needs more room than the dock has
    scrolls, instead of its minimum size setting the dock's (the bottom docks share
    one height, and the canvas must keep most of the window). ``indexOf``,
    ``currentWidget`` and ``setCurrentWidget`` speak of the views, not their pages.
    """

    node_named = Signal(str, str)

    def __init__(self, controller: TrainingController) -> None:
        super().__init__()
        self.setDocumentMode(True)
        self.views: list[Insight] = [cls(controller) for cls in insight_classes()]
        for view in self.views:
            self.addTab(ScrollingPage(view), view.title)
            view.node_named.connect(self.node_named)
            view.hide()  # until the dock is on screen (see set_on_screen)
        controller.reported.connect(self._event)

    def set_on_screen(self, on_screen: bool) -> None:
        """Show the views only while the dock is on screen. A dock tabbed behind
        another (Problems) stays visible to Qt, merely moved off screen, and the
        views load data and import torch when shown: not before the user looks."""
        for view in self.views:
            view.setVisible(on_screen)

    def view(self, cls: type[Insight]) -> Insight:
        return next(v for v in self.views if isinstance(v, cls))

    def indexOf(self, widget: QWidget) -> int:
        views: list[QWidget] = list(self.views)
        return views.index(widget) if widget in views else super().indexOf(widget)

    def currentWidget(self) -> QWidget:
        index = self.currentIndex()
        return self.views[index] if 0 <= index < len(self.views) else super().currentWidget()

    def setCurrentWidget(self, widget: QWidget) -> None:
        self.setCurrentIndex(self.indexOf(widget))

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


class ScrollingPage(QScrollArea):
    """A view that fills its tab, and scrolls only where the tab is smaller than the
    view's minimum size.

    QScrollArea's own resizing (``widgetResizable``) gives a view with wrapping labels
    its preferred height for the width (its layout's ``heightForWidth``), so plots that
    would shrink to fit scrolled out of the short dock instead.
    """

    def __init__(self, view: QWidget) -> None:
        super().__init__()
        self.view = view
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setWidget(view)
        view.installEventFilter(self)  # its minimum size changes as records arrive

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self.view and event.type() == QEvent.Type.LayoutRequest:
            self.fit()
        return False

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self.fit()

    def fit(self) -> None:
        least = self.view.minimumSizeHint().expandedTo(self.view.minimumSize())
        self.view.resize(least.expandedTo(self.viewport().size()))

