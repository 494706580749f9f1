"""One canvas tab per network of the open document (a GAN has two)."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QTabWidget

from gui.canvas.scene import GraphScene
from gui.canvas.view import GraphView
from gui.session import Session
from gui.theme import CanvasColors


class CanvasTabs(QTabWidget):
    """Tabs of ``GraphView``s, following the document's networks."""

    selection_changed = Signal()  # the current tab's selection, or the current tab, changed
    files_dropped = Signal(list)

    def __init__(self, colors: CanvasColors) -> None:
        super().__init__()
        self.colors = colors
        self.session: Session | None = None
        self.item_actions: list[QAction] = []  # offered on a node's context menu
        self.setDocumentMode(True)
        self.setMovable(False)
        self.currentChanged.connect(lambda _index: self.selection_changed.emit())

    def set_session(self, session: Session) -> None:
        """Show ``session``'s networks, dropping the previous document's tabs."""
        if self.session is not None:
            self.session.doc.events.network_added.disconnect(self._network_added)
            self.session.doc.events.network_removed.disconnect(self._network_removed)
            self.session.changed.disconnect(self.follow_order)
        self.clear_tabs()
        self.session = session
        for name in session.network_order():
            self._network_added(name)
        session.doc.events.network_added.connect(self._network_added)
        session.doc.events.network_removed.connect(self._network_removed)
        session.changed.connect(self.follow_order)  # an undone removal restores its place
        self.setTabBarAutoHide(len(session.doc.networks) <= 1)
        self.setCurrentIndex(0)

    def follow_order(self) -> None:
        """Put the tabs in the session's network order (networks come and go with undo)."""
        if self.session is None:
            return
        for index, name in enumerate(self.session.network_order()):
            view = self.view_for(name)
            if view is not None and self.indexOf(view) != index:
                self.tabBar().moveTab(self.indexOf(view), index)

    def clear_tabs(self) -> None:
        while self.count():
            view = self.widget(0)
            self.removeTab(0)
            if isinstance(view, GraphView):
                view.graph_scene.detach()
                view.deleteLater()

    def views(self) -> list[GraphView]:
        return [w for i in range(self.count()) if isinstance(w := self.widget(i), GraphView)]

    def current_view(self) -> GraphView | None:
        view = self.currentWidget()
        return view if isinstance(view, GraphView) else None

    def view_for(self, network: str) -> GraphView | None:
        return next((v for v in self.views() if v.graph_scene.network_name == network), None)

    def show_network(self, network: str) -> GraphView | None:
        view = self.view_for(network)
        if view is not None:
            self.setCurrentWidget(view)
        return view

    def set_colors(self, colors: CanvasColors) -> None:
        self.colors = colors
        for view in self.views():
            view.graph_scene.set_colors(colors)
            view.resetCachedContent()

    def _network_added(self, name: str) -> None:
        assert self.session is not None
        scene = GraphScene(self.session, name, self.colors)
        view = GraphView(scene)
        view.item_actions = self.item_actions
        scene.selectionChanged.connect(self._scene_selection_changed)
        view.files_dropped.connect(self.files_dropped.emit)
        self.addTab(view, name)
        self.setTabBarAutoHide(self.count() <= 1)

    def _network_removed(self, name: str) -> None:
        view = self.view_for(name)
        if view is not None:
            self.removeTab(self.indexOf(view))
            view.graph_scene.detach()
            view.deleteLater()

    def _scene_selection_changed(self) -> None:
        view = self.current_view()
        if view is not None and view.graph_scene is self.sender():
            self.selection_changed.emit()
