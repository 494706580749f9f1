"""The scene of one network, driven only by document events and shape results."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from PySide6.QtCore import QPointF, QRect, QRectF, Qt
from PySide6.QtGui import QPainter
from PySide6.QtWidgets import QGraphicsScene

from graph.document import Edge, Network
from graph.ties import TIE_PARAM
from gui.canvas.background import draw_grid
from gui.canvas.contents import ContentSwitch
from gui.canvas.edge_item import EdgeItem, WireLabel
from gui.canvas.interaction import NodeDrag, WireDrag
from gui.canvas.node_item import WIDTH, NodeItem
from gui.canvas.overview import Overview
from gui.canvas.spatial import NodeBoxes
from gui.canvas.stale import StaleNodes
from gui.canvas.tie_links import TieLinks
from gui.session import Session
from gui.theme import CanvasColors, problems_html

WORLD = 100_000.0  # the scrollable area to start with; it grows with the nodes


class GraphScene(QGraphicsScene):
    """Items for the nodes and wires of one network of a session's document."""

    def __init__(self, session: Session, network: str, colors: CanvasColors) -> None:
        super().__init__()
        self.session = session
        self.network_name = network
        self.colors = colors
        self.nodes: dict[str, NodeItem] = {}
        self.edges: dict[Edge, EdgeItem] = {}
        self._edges_of: dict[str, set[Edge]] = {}
        self.moving = NodeDrag(self)
        self.wiring = WireDrag(self)
        self.overview = Overview()
        self.overview_on = False
        self.contents = ContentSwitch()
        self.stale = StaleNodes(self._refresh_shape_of)
        self.boxes = NodeBoxes()
        self._diagnosed: set[str] = set()  # nodes marked from the last diagnostics
        self._selected_wires: set[EdgeItem] = set()
        self.setItemIndexMethod(QGraphicsScene.ItemIndexMethod.BspTreeIndex)
        self.setSceneRect(QRectF(-WORLD / 2, -WORLD / 2, WORLD, WORLD))
        self._build()
        self.ties = TieLinks(self, lambda: self.network, self._node_box, colors.muted)
        self.ties.sync_all()
        self._diagnosed = session.diagnosed_nodes(network)
        self._handlers: list[tuple[Any, Callable[..., None]]] = []
        ev = session.doc.events
        for signal, handler in (
            (ev.node_added, self._node_added), (ev.node_removed, self._node_removed),
            (ev.param_changed, self._param_changed), (ev.label_changed, self._label_changed),
            (ev.node_moved, self._node_moved), (ev.edge_added, self._edge_added),
            (ev.edge_removed, self._edge_removed),
        ):
            signal.connect(handler)
            self._handlers.append((signal, handler))
        session.shapes_changed.connect(self._shapes_changed)
        session.diagnostics_changed.connect(self.refresh_status)
        self.selectionChanged.connect(self._selection_changed)

    def _build(self) -> None:
        """Items for the whole network: each node laid out once, each wire placed once."""
        net = self.network
        for node in net.nodes():
            self._add_node_item(node.id)
        for edge in net.edges():
            self._add_edge_item(edge)
        for node_id in self.nodes:
            self._refresh_node(node_id, wires=False)
            self._refresh_status_of(node_id)
        for item in self.edges.values():
            src, dst = self.nodes[item.edge.source], self.nodes[item.edge.target]
            item.set_ends(src.output_anchor(), dst.input_anchor(item.edge.port))
        for item in self.edges.values():  # once every item is in place (one index build)
            item.place_label(self._covered)
            self._label_wire(item)
        self._grow_world(self.nodes_rect())

    def detach(self) -> None:
        """Stop following the document (before the scene is thrown away)."""
        for signal, handler in self._handlers:
            signal.disconnect(handler)
        self._handlers.clear()
        self.stale.clear()
        self.contents.clear()  # its queue holds items about to be deleted
        self.session.shapes_changed.disconnect(self._shapes_changed)
        self.session.diagnostics_changed.disconnect(self.refresh_status)
        self.selectionChanged.disconnect(self._selection_changed)

    @property
    def network(self) -> Network:
        return self.session.doc.network(self.network_name)

    # -- queries ---------------------------------------------------------------
    def node_item(self, node_id: str) -> NodeItem:
        return self.nodes[node_id]

    def selected_node_ids(self) -> list[str]:
        return [i.node_id for i in self.selectedItems() if isinstance(i, NodeItem)]

    def selected_edges(self) -> list[Edge]:
        return [i.edge for i in self.selectedItems() if isinstance(i, EdgeItem)]

    def select_nodes(self, ids: Iterable[str]) -> None:
        chosen = set(ids)
        self.clearSelection()
        for node_id in chosen:
            if node_id in self.nodes:
                self.nodes[node_id].setSelected(True)

    def nodes_rect(self) -> QRectF:
        rect = QRectF()
        for item in self.nodes.values():
            rect = rect.united(item.sceneBoundingRect())
        return rect

    def set_colors(self, colors: CanvasColors) -> None:
        self.colors = colors
        for node in self.nodes.values():
            node.set_colors(colors)
        for edge in self.edges.values():
            edge.set_colors(colors)
        self.ties.set_color(colors.muted)
        self._picture_changed()
        self.update()

    # -- zoomed out: one picture instead of many items -----------------------------
    def set_overview(self, on: bool) -> None:
        """Draw the overview picture instead of the items' own paint (the view's zoom decides)."""
        if on == self.overview_on:
            return
        self.overview_on = on
        everything = [*self.nodes.values(), *self.edges.values()]
        # Zoomed out, nearly everything is in view: switch it all now. Zoomed in, a view
        # switches what it shows just before it paints (catch_up_in_view).
        self.contents.switch(on, everything, everything if on else ())
        self._redraw_background()  # the picture itself is kept current by _picture_changed

    def _selection_changed(self) -> None:
        selected = {i for i in self.selectedItems() if isinstance(i, EdgeItem)}
        for item in selected ^ self._selected_wires:
            item.show_selected(item in selected)
        self._selected_wires = selected
        self._picture_changed()

    def _picture_changed(self) -> None:
        if self.overview.valid:
            self.overview.invalidate()
            if self.overview_on:
                self._redraw_background()

    def _redraw_background(self) -> None:
        """The overview lives in the background, which views cache: drop their copies."""
        for view in self.views():
            view.resetCachedContent()
        self.update()

    def _grow_world(self, rect: QRectF) -> None:
        """Make room when nodes reach past the scrollable area."""
        world = self.sceneRect()
        if rect.isNull() or world.contains(rect):
            return
        self.setSceneRect(world.united(rect.adjusted(-WORLD / 4, -WORLD / 4, WORLD / 4, WORLD / 4)))

    # -- document events -------------------------------------------------------
    def _node_box(self, node_id: str) -> QRectF | None:
        item = self.nodes.get(node_id)
        return item.sceneBoundingRect() if item is not None else None

    def _add_node_item(self, node_id: str) -> NodeItem:
        item = NodeItem(self.network.node(node_id), self.colors)
        self.contents.apply(item)
        self.nodes[node_id] = item
        self._edges_of.setdefault(node_id, set())
        self.addItem(item)
        self._file_box(node_id)
        return item

    def _add_edge_item(self, edge: Edge) -> EdgeItem:
        item = EdgeItem(edge, self.colors)
        self.contents.apply(item)
        self.edges[edge] = item
        self._edges_of[edge.source].add(edge)
        self._edges_of[edge.target].add(edge)
        self.addItem(item)
        self.addItem(item.badge)
        return item

    def _node_added(self, network: str, node_id: str) -> None:
        if network != self.network_name:
            return
        item = self._add_node_item(node_id)
        self._refresh_node(node_id)
        self._refresh_status_of(node_id)
        self.ties.sync(node_id)
        self._grow_world(item.sceneBoundingRect())
        self._picture_changed()

    def _node_removed(self, network: str, node_id: str) -> None:
        if network != self.network_name:
            return
        item = self.nodes.pop(node_id)
        self.boxes.remove(node_id)
        self.stale.discard(node_id)
        self._edges_of.pop(node_id, None)
        self.contents.discard(item)
        self.removeItem(item)
        self.ties.sync(node_id)
        self._picture_changed()

    def _param_changed(self, network: str, node_id: str, name: str) -> None:
        if network == self.network_name:
            self._refresh_node(node_id)
            if name == TIE_PARAM:
                self.ties.sync(node_id)

    def _label_changed(self, network: str, node_id: str) -> None:
        if network == self.network_name:
            self._refresh_node(node_id)
            self.ties.touched(node_id)

    def _node_moved(self, network: str, node_id: str) -> None:
        if network != self.network_name:
            return
        item = self.nodes[node_id]
        item.setPos(QPointF(*self.network.node(node_id).pos))
        self._file_box(node_id)
        self._picture_changed()
        self._update_wires(node_id)
        self.ties.touched(node_id)
        self._grow_world(item.sceneBoundingRect())

    def _edge_added(self, network: str, edge: Edge) -> None:
        if network != self.network_name:
            return
        item = self._add_edge_item(edge)
        self._refresh_node(edge.source)
        self._refresh_node(edge.target)
        self._update_wires(edge.target)
        self._label_wire(item)
        self._picture_changed()

    def _edge_removed(self, network: str, edge: Edge) -> None:
        if network != self.network_name:
            return
        item = self.edges.pop(edge)
        for end in (edge.source, edge.target):
            self._edges_of.get(end, set()).discard(edge)
        self.contents.discard(item)
        self.removeItem(item.badge)
        self.removeItem(item)
        if edge.source in self.nodes:
            self._refresh_node(edge.source)
        if edge.target in self.nodes:
            self._refresh_node(edge.target)
            self._update_wires(edge.target)
        self._picture_changed()

    def _shapes_changed(self, network: str, ids: set[str]) -> None:
        if network != self.network_name:
            return
        self.stale.add(i for i in ids if i in self.nodes)
        self.catch_up_in_view()

    def catch_up_in_view(self) -> None:
        """Bring the waiting items that a view shows up to date (before it paints them)."""
        refresh = self.stale.pending and not self.overview_on
        if not (refresh or self.contents.pending):
            return
        items = self._items_in_view()
        self.contents.now(items)
        if refresh:
            self.stale.now({i.node_id for i in items if isinstance(i, NodeItem)}
                           | {i.edge.source for i in items if isinstance(i, EdgeItem)})

    def _items_in_view(self) -> list[NodeItem | EdgeItem]:
        """The node and wire items that a view shows, a wire also when only its label is."""
        found: dict[NodeItem | EdgeItem, None] = {}
        for view in self.views():
            area = view.mapToScene(view.viewport().rect()).boundingRect()
            for item in self.items(area, Qt.ItemSelectionMode.IntersectsItemBoundingRect):
                if isinstance(item, NodeItem | EdgeItem):
                    found[item] = None
                elif isinstance(item, WireLabel) and item.edge in self.edges:
                    found[self.edges[item.edge]] = None
        return list(found)

    def _refresh_shape_of(self, node_id: str) -> None:
        if node_id in self.nodes:
            self._refresh_node(node_id)
            self._refresh_status_of(node_id)
            for edge in self._edges_of[node_id]:
                if edge.source == node_id:
                    self._label_wire(self.edges[edge])

    # -- refreshing items ------------------------------------------------------
    def _refresh_node(self, node_id: str, *, wires: bool = True) -> None:
        edges = self._edges_of[node_id]
        connected = [e.port for e in edges if e.target == node_id]
        shape = self.session.shape(self.network_name, node_id)
        item = self.nodes[node_id]
        height = item.height
        item.refresh(self.network.node(node_id), connected, shape)
        if item.output is not None:
            item.output.set_connected(any(e.source == node_id for e in edges))
        if item.height != height:  # its ports moved with its middle
            self._file_box(node_id)
            if wires:
                self._update_wires(node_id)
            self._picture_changed()

    def _update_wires(self, node_id: str) -> None:
        for edge in self._edges_of.get(node_id, ()):
            src, dst = self.nodes[edge.source], self.nodes[edge.target]
            item = self.edges[edge]
            item.set_ends(src.output_anchor(), dst.input_anchor(edge.port))
            item.place_label(self._covered)

    def _covered(self, rect: QRectF) -> bool:
        """Whether a node lies under ``rect`` (a wire label there would hide it)."""
        return self.boxes.overlaps(rect)

    def _file_box(self, node_id: str) -> None:
        item = self.nodes[node_id]
        pos = item.pos()
        self.boxes.put(node_id, (pos.x(), pos.y(), pos.x() + WIDTH, pos.y() + item.height))

    def _label_wire(self, item: EdgeItem) -> None:
        if not self.session.shapes_ready:
            item.set_label("", True)
            return
        shape = self.session.shape(self.network_name, item.edge.source)
        if shape.out is not None:
            item.set_label(shape.out.describe(), True)
        else:  # "…": known once torch has loaded; "?": unknown because of an error
            item.set_label("…" if shape.pending else "?", shape.pending)

    def refresh_status(self) -> None:
        """Re-mark the nodes whose diagnostics came or went (shape errors mark themselves)."""
        diagnosed = self.session.diagnosed_nodes(self.network_name)
        for node_id in (diagnosed | self._diagnosed) & self.nodes.keys():
            self._refresh_status_of(node_id)
        self._diagnosed = diagnosed

    def _refresh_status_of(self, node_id: str) -> None:
        messages = self.session.node_problems(self.network_name, node_id)
        status = None
        if messages:
            status = "error" if any(s == "error" for s, _ in messages) else "warning"
        item = self.nodes[node_id]
        tip = problems_html(messages)
        if item.set_status(status, tip or item.spec.description):
            self._picture_changed()

    # -- background grid -------------------------------------------------------
    def drawBackground(self, painter: QPainter, rect: QRectF | QRect) -> None:
        area = QRectF(rect)  # Qt passes a QRectF; the signature also admits a QRect
        draw_grid(painter, area, self.colors)
        if self.overview_on:
            self.overview.paint(painter, area, self.colors, self.nodes.values(),
                                self.edges.values())
