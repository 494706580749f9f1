"""The canvas view: zoom around the cursor, pan, rubber-band selection, drops, quick add."""

from __future__ import annotations

from PySide6.QtCore import QEvent, QPoint, QPointF, QRectF, Qt, Signal
from PySide6.QtGui import (
    QAction,
    QContextMenuEvent,
    QCursor,
    QDragEnterEvent,
    QDragMoveEvent,
    QDropEvent,
    QKeyEvent,
    QMouseEvent,
    QPainter,
    QPaintEvent,
    QResizeEvent,
    QWheelEvent,
)
from PySide6.QtWidgets import QGraphicsView, QMenu

from graph.commands import AddNode
from graph.layout import snap
from gui import mime
from gui.canvas.node_item import HEADER, WIDTH
from gui.canvas.overview import overview_zoom
from gui.canvas.quick_add import QuickAddPopup
from gui.canvas.scene import GraphScene

NEW_HEIGHT = 70.0  # about a new node's height (header and two rows)
GAP = 16.0  # free space kept around other nodes


def _ring(k: int) -> list[tuple[int, int]]:
    """Offsets (columns, half-rows) tried at distance ``k``: below first, then above,
    then beside."""
    if k == 0:
        return [(0, 0)]
    return [(0, k), (0, -k), *((dx, dy) for dx in (1, -1) for dy in range(-k, k + 1))]

MIN_ZOOM, MAX_ZOOM = 0.05, 3.0


class GraphView(QGraphicsView):
    """Shows one ``GraphScene``; turns drops and quick-add picks into ``AddNode`` commands."""

    files_dropped = Signal(list)
    painted = Signal()  # after every paint of the canvas

    def __init__(self, scene: GraphScene) -> None:
        super().__init__(scene)
        self.graph_scene = scene
        self.item_actions: list[QAction] = []  # shown on a node's context menu
        self._pan_from: QPoint | None = None
        self._space = False
        self._quick_pos = QPointF()
        self._quick: QuickAddPopup | None = None
        self._painted = False
        self._refit = False  # frame again on resize (before the first paint)
        self.setRenderHints(QPainter.RenderHint.Antialiasing
                            | QPainter.RenderHint.TextAntialiasing)
        self.setDragMode(QGraphicsView.DragMode.RubberBandDrag)
        self.setRubberBandSelectionMode(Qt.ItemSelectionMode.IntersectsItemShape)
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.AnchorUnderMouse)
        self.setViewportUpdateMode(QGraphicsView.ViewportUpdateMode.SmartViewportUpdate)
        self.setOptimizationFlag(QGraphicsView.OptimizationFlag.DontSavePainterState)
        self.setCacheMode(QGraphicsView.CacheModeFlag.CacheBackground)
        self.setAcceptDrops(True)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)

    # -- navigation ------------------------------------------------------------
    @property
    def zoom(self) -> float:
        return self.transform().m11()

    def zoom_by(self, factor: float) -> None:
        """Scale by ``factor``, kept between the zoom limits (or the framing zoom, if smaller)."""
        zoom = self.zoom
        target = max(min(MIN_ZOOM, zoom), min(MAX_ZOOM, zoom * factor))
        if target != zoom:
            self.scale(target / zoom, target / zoom)
        self._zoom_changed()

    def frame_all(self) -> None:
        """Fit every node in view (at most 100 %); a huge network may go below MIN_ZOOM."""
        self.frame_rect(self.graph_scene.nodes_rect())

    def frame_rect(self, rect: QRectF) -> None:
        """Fit ``rect`` (scene coordinates) in view, at most 100 %."""
        if rect.isNull():
            self.centerOn(0, 0)
            return
        self.fitInView(rect.adjusted(-60, -60, 60, 60), Qt.AspectRatioMode.KeepAspectRatio)
        if self.zoom > 1.0:
            self.zoom_by(1.0 / self.zoom)
        self.centerOn(rect.center())
        self._zoom_changed()
        self._refit = not self._painted  # the window is still settling its size

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        if self._refit:
            self.frame_all()

    def _zoom_changed(self) -> None:
        self.graph_scene.set_overview(self.zoom < overview_zoom(len(self.graph_scene.nodes)))

    def paintEvent(self, event: QPaintEvent) -> None:
        self._zoom_changed()  # cheap; catches transforms set from outside zoom_by
        self.graph_scene.catch_up_in_view()
        super().paintEvent(event)
        self._painted, self._refit = True, False
        self.painted.emit()

    def center_on_node(self, node_id: str) -> None:
        item = self.graph_scene.nodes.get(node_id)
        if item is not None:
            self.centerOn(item.sceneBoundingRect().center())

    def visible_center(self) -> QPointF:
        return self.mapToScene(self.viewport().rect().center())

    def wheelEvent(self, event: QWheelEvent) -> None:
        self.zoom_by(1.0015 ** event.angleDelta().y())

    def mousePressEvent(self, event: QMouseEvent) -> None:
        pan = event.button() == Qt.MouseButton.MiddleButton or (
            self._space and event.button() == Qt.MouseButton.LeftButton)
        if pan:
            self._pan_from = event.position().toPoint()
            self.viewport().setCursor(Qt.CursorShape.ClosedHandCursor)
            event.accept()
            return
        super().mousePressEvent(event)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        if self._pan_from is not None:
            pos = event.position().toPoint()
            delta = pos - self._pan_from
            self._pan_from = pos
            self.horizontalScrollBar().setValue(self.horizontalScrollBar().value() - delta.x())
            self.verticalScrollBar().setValue(self.verticalScrollBar().value() - delta.y())
            event.accept()
            return
        super().mouseMoveEvent(event)

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if self._pan_from is not None:
            self._pan_from = None
            self.viewport().unsetCursor()
            event.accept()
            return
        super().mouseReleaseEvent(event)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() == Qt.Key.Key_Space and not event.isAutoRepeat():
            self._space = True
            self.viewport().setCursor(Qt.CursorShape.OpenHandCursor)
            return
        super().keyPressEvent(event)

    def keyReleaseEvent(self, event: QKeyEvent) -> None:
        if event.key() == Qt.Key.Key_Space and not event.isAutoRepeat():
            self._space = False
            self.viewport().unsetCursor()
            return
        super().keyReleaseEvent(event)

    def event(self, event: QEvent) -> bool:
        # Tab opens the quick-add popup instead of moving the focus.
        if event.type() == QEvent.Type.KeyPress and isinstance(event, QKeyEvent) \
                and event.key() == Qt.Key.Key_Tab and not event.modifiers():
            cursor = self.mapFromGlobal(QCursor.pos())
            inside = self.viewport().rect().contains(cursor)
            self.open_quick_add(cursor if inside else self.viewport().rect().center())
            return True
        return super().event(event)

    # -- adding layers ---------------------------------------------------------
    def open_quick_add(self, view_pos: QPoint) -> QuickAddPopup:
        if self._quick is None:
            self._quick = QuickAddPopup()
            self._quick.chosen.connect(lambda type_id: self.add_layer(type_id, self._quick_pos))
        self._quick_pos = self.mapToScene(view_pos)
        self._quick.popup(self.viewport().mapToGlobal(view_pos))
        return self._quick

    def add_layer(self, type_id: str, scene_pos: QPointF | None = None) -> str | None:
        """Add a layer centred near ``scene_pos`` (the view centre by default); its id."""
        at = scene_pos if scene_pos is not None else self.visible_center()
        cmd = AddNode(self.graph_scene.network_name, type_id,
                      pos=self._free_spot(snap(at.x() - WIDTH / 2), snap(at.y() - HEADER / 2)))
        if not self.graph_scene.session.push(cmd):
            return None
        self.graph_scene.select_nodes([cmd.node_id or ""])
        return cmd.node_id

    def _free_spot(self, x: float, y: float) -> tuple[float, float]:
        """(x, y), or the nearest place below or beside it where a new node covers none
        (Tab with the cursor over a node, or the view's centre on a node, dropped the new
        one on top of it)."""
        taken = [item.sceneBoundingRect().adjusted(-GAP, -GAP, GAP, GAP)
                 for item in self.graph_scene.nodes.values()]
        step = NEW_HEIGHT / 2 + GAP
        for ring in range(40):
            for dx, dy in _ring(ring):
                cx, cy = x + dx * (WIDTH + GAP), y + dy * step
                box = QRectF(cx, cy, WIDTH, NEW_HEIGHT)
                if not any(box.intersects(t) for t in taken):
                    return cx, cy
        return x, y

    def contextMenuEvent(self, event: QContextMenuEvent) -> None:
        tops = [i.topLevelItem() for i in self.items(event.pos())]
        item = next((i for i in tops if i.flags() & i.GraphicsItemFlag.ItemIsSelectable), None)
        if item is None:
            self.open_quick_add(event.pos())
            return
        if not item.isSelected():
            self.graph_scene.clearSelection()
            item.setSelected(True)
        if self.item_actions:
            menu = QMenu(self)
            menu.addActions(self.item_actions)
            menu.exec(event.globalPos())

    # -- drops -----------------------------------------------------------------
    def _accepts(self, event: QDragEnterEvent | QDragMoveEvent | QDropEvent) -> bool:
        data = event.mimeData()
        return mime.layer_type(data) is not None or bool(mime.loom_paths(data))

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if self._accepts(event):
            event.acceptProposedAction()
        else:
            event.ignore()

    def dragMoveEvent(self, event: QDragMoveEvent) -> None:
        if self._accepts(event):
            event.acceptProposedAction()
        else:
            event.ignore()

    def dropEvent(self, event: QDropEvent) -> None:
        data = event.mimeData()
        type_id = mime.layer_type(data)
        if type_id is not None:
            self.add_layer(type_id, self.mapToScene(event.position().toPoint()))
            event.acceptProposedAction()
            self.setFocus()
        elif paths := mime.loom_paths(data):
            event.acceptProposedAction()
            self.files_dropped.emit(paths)
        else:
            event.ignore()
