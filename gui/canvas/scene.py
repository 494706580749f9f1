"""The scene of one network, driven only by document events and shape results."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from typing import Any

from PySide6.QtCore import QLineF, QPointF, QRectF
from PySide6.QtGui import QPainter, QPen
from PySide6.QtWidgets import QGraphicsScene

from graph.document import Edge, Network
from gui.canvas.edge_item import EdgeItem
from gui.canvas.interaction import GRID, NodeDrag, WireDrag
from gui.canvas.node_item import NodeItem
from gui.session import Session
from gui.theme import CanvasColors

MAJOR_EVERY = 5


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
        self.setItemIndexMethod(QGraphicsScene.ItemIndexMethod.BspTreeIndex)
        for node in self.network.nodes():
            self._node_added(network, node.id)
        for edge in self.network.edges():
            self._edge_added(network, edge)
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
        self.refresh_status()

    def detach(self) -> None:
        """Stop following the document (before the scene is thrown away)."""
        for signal, handler in self._handlers:
            signal.disconnect(handler)
        self._handlers.clear()
        self.session.shapes_changed.disconnect(self._shapes_changed)
        self.session.diagnostics_changed.disconnect(self.refresh_status)

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
        self.update()

    # -- document events -------------------------------------------------------
    def _node_added(self, network: str, node_id: str) -> None:
        if network != self.network_name:
            return
        item = NodeItem(self.network.node(node_id), self.colors)
        self.nodes[node_id] = item
        self._edges_of.setdefault(node_id, set())
        self.addItem(item)
        self._refresh_node(node_id)
        self._refresh_status_of(node_id)

    def _node_removed(self, network: str, node_id: str) -> None:
        if network != self.network_name:
            return
        item = self.nodes.pop(node_id)
        self._edges_of.pop(node_id, None)
        self.removeItem(item)

    def _param_changed(self, network: str, node_id: str, _name: str) -> None:
        if network == self.network_name:
            self._refresh_node(node_id)

    def _label_changed(self, network: str, node_id: str) -> None:
        if network == self.network_name:
            self._refresh_node(node_id)

    def _node_moved(self, network: str, node_id: str) -> None:
        if network != self.network_name:
            return
        self.nodes[node_id].setPos(QPointF(*self.network.node(node_id).pos))
        self._update_wires(node_id)

    def _edge_added(self, network: str, edge: Edge) -> None:
        if network != self.network_name:
            return
        item = EdgeItem(edge, self.colors)
        self.edges[edge] = item
        self._edges_of[edge.source].add(edge)
        self._edges_of[edge.target].add(edge)
        self.addItem(item)
        self.addItem(item.badge)
        self._refresh_node(edge.source)
        self._refresh_node(edge.target)
        self._update_wires(edge.target)
        self._label_wire(item)

    def _edge_removed(self, network: str, edge: Edge) -> None:
        if network != self.network_name:
            return
        item = self.edges.pop(edge)
        for end in (edge.source, edge.target):
            self._edges_of.get(end, set()).discard(edge)
        self.removeItem(item.badge)
        self.removeItem(item)
        if edge.source in self.nodes:
            self._refresh_node(edge.source)
        if edge.target in self.nodes:
            self._refresh_node(edge.target)
            self._update_wires(edge.target)

    def _shapes_changed(self, network: str, ids: set[str]) -> None:
        if network != self.network_name:
            return
        for node_id in ids:
            if node_id in self.nodes:
                self._refresh_node(node_id)
                self._refresh_status_of(node_id)
                for edge in self._edges_of[node_id]:
                    if edge.source == node_id:
                        self._label_wire(self.edges[edge])

    # -- refreshing items ------------------------------------------------------
    def _refresh_node(self, node_id: str) -> None:
        edges = self._edges_of[node_id]
        connected = [e.port for e in edges if e.target == node_id]
        shape = self.session.shape(self.network_name, node_id)
        item = self.nodes[node_id]
        item.refresh(self.network.node(node_id), connected, shape)
        if item.output is not None:
            item.output.set_connected(any(e.source == node_id for e in edges))

    def _update_wires(self, node_id: str) -> None:
        for edge in self._edges_of.get(node_id, ()):
            src, dst = self.nodes[edge.source], self.nodes[edge.target]
            self.edges[edge].set_ends(src.output_anchor(), dst.input_anchor(edge.port))

    def _label_wire(self, item: EdgeItem) -> None:
        if not self.session.shapes_ready:
            item.set_label("", True)
            return
        out = self.session.shape(self.network_name, item.edge.source).out
        item.set_label(out.describe() if out else "?", out is not None)

    def refresh_status(self) -> None:
        """Re-mark every node from the latest diagnostics and shape errors."""
        for node_id in self.nodes:
            self._refresh_status_of(node_id)

    def _refresh_status_of(self, node_id: str) -> None:
        found = self.session.node_diagnostics(self.network_name, node_id)
        messages = [(d.severity, d.message) for d in found]
        error = self.session.shape(self.network_name, node_id).error
        if error and not any(error in m for _, m in messages):
            messages.insert(0, ("error", error))
        status = None
        if messages:
            status = "error" if any(s == "error" for s, _ in messages) else "warning"
        item = self.nodes[node_id]
        tip = "\n".join(f"{'⛔' if s == 'error' else '⚠'} {m}" for s, m in messages)
        item.set_status(status, tip or item.spec.description)

    # -- background grid -------------------------------------------------------
    def drawBackground(self, painter: QPainter, rect: QRectF) -> None:
        painter.fillRect(rect, self.colors.background)
        scale = painter.worldTransform().m11()
        step = GRID if scale >= 0.6 else GRID * MAJOR_EVERY
        left = math.floor(rect.left() / step) * step
        top = math.floor(rect.top() / step) * step
        minor: list[QLineF] = []
        major: list[QLineF] = []
        x = left
        while x < rect.right():
            line = QLineF(x, rect.top(), x, rect.bottom())
            (major if round(x / GRID) % MAJOR_EVERY == 0 else minor).append(line)
            x += step
        y = top
        while y < rect.bottom():
            line = QLineF(rect.left(), y, rect.right(), y)
            (major if round(y / GRID) % MAJOR_EVERY == 0 else minor).append(line)
            y += step
        painter.setPen(QPen(self.colors.grid, 0))
        painter.drawLines(minor)
        painter.setPen(QPen(self.colors.grid_major, 0))
        painter.drawLines(major)
