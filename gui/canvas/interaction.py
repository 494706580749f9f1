"""Mouse gestures on the canvas turned into commands: moving nodes and drawing wires."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QPen
from PySide6.QtWidgets import QGraphicsPathItem

from graph.commands import Command, Connect, Disconnect, Macro, Move
from graph.document import Edge
from graph.layout import snap
from gui.canvas.edge_item import wire_path
from gui.canvas.node_item import NodeItem
from gui.canvas.port_item import PortItem

if TYPE_CHECKING:
    from gui.canvas.scene import GraphScene

DRAG_THRESHOLD = 3.0


class NodeDrag:
    """Dragging selected nodes pushes ``Move`` commands that merge into one undo step."""

    def __init__(self, scene: GraphScene) -> None:
        self.scene = scene
        self._press: QPointF | None = None
        self._start: dict[str, tuple[float, float]] = {}
        self._last: dict[str, tuple[float, float]] = {}
        self._cmd: Move | None = None

    def begin(self, pos: QPointF) -> None:
        net = self.scene.network
        self._press = pos
        self._start = {i: net.node(i).pos for i in self.scene.selected_node_ids()}
        self._last = dict(self._start)
        self._cmd = None

    def move(self, pos: QPointF) -> None:
        if self._press is None or not self._start:
            return
        delta = pos - self._press
        if self._cmd is None and delta.manhattanLength() < DRAG_THRESHOLD:
            return
        target = {
            i: (snap(x + delta.x()), snap(y + delta.y())) for i, (x, y) in self._start.items()
        }
        if target == self._last:
            return
        cmd = Move(self.scene.network_name, target)
        if self.scene.session.push(cmd):
            self._last = target
            self._cmd = self._cmd or cmd

    def finish(self) -> None:
        """End the drag: the next drag starts a new undo step."""
        if self._cmd is not None:
            self._cmd.mergeable = False
        self._press, self._cmd, self._start = None, None, {}


class WireDrag:
    """Dragging from a port draws a wire; releasing on a matching port connects them.

    Dragging from an input that is already fed detaches its wire: dropping it on
    another input moves it there, dropping it on empty canvas deletes it.
    """

    def __init__(self, scene: GraphScene) -> None:
        self.scene = scene
        self._fixed: PortItem | None = None
        self._detached: Edge | None = None
        self._preview: QGraphicsPathItem | None = None

    @property
    def active(self) -> bool:
        return self._fixed is not None

    def begin(self, port: PortItem, pos: QPointF) -> None:
        self._detached = None
        if port.is_input:
            source = self.scene.network.source_of(port.node.node_id, port.key)
            if source is not None:
                self._detached = Edge(source, port.node.node_id, port.key)
                port = self.scene.node_item(source).output or port
        self._fixed = port
        self._preview = QGraphicsPathItem()
        self._preview.setPen(QPen(self.scene.colors.selected, 2.0, Qt.PenStyle.DashLine))
        self._preview.setZValue(3)
        self.scene.addItem(self._preview)
        self.move(pos)

    def move(self, pos: QPointF) -> None:
        if self._fixed is None or self._preview is None:
            return
        anchor = self._fixed.anchor()
        if self._fixed.is_input:
            self._preview.setPath(wire_path(pos, anchor))
        else:
            self._preview.setPath(wire_path(anchor, pos))

    def finish(self, pos: QPointF) -> None:
        fixed = self._fixed
        if fixed is None:
            return
        if self._preview is not None:
            self.scene.removeItem(self._preview)
        self._preview, self._fixed = None, None
        commands: list[Command] = []
        if self._detached is not None:
            commands.append(Disconnect(self.scene.network_name, *self._detached))
        connect = self._connection(fixed, pos)
        if connect is not None and not self._same(connect):
            commands.append(connect)
        elif connect is not None:
            return  # dropped back where it was
        if len(commands) == 1:
            self.scene.session.push(commands[0])
        elif commands:
            self.scene.session.push(Macro("Reconnect", commands))

    def _same(self, cmd: Connect) -> bool:
        d = self._detached
        return d is not None and (cmd.source, cmd.target, cmd.port) == tuple(d)

    def _connection(self, fixed: PortItem, pos: QPointF) -> Connect | None:
        """The Connect that dropping at ``pos`` asks for, or None when nothing is there."""
        net = self.scene.network_name
        port, node = self._target_at(pos, want_input=not fixed.is_input)
        if fixed.is_input:
            if port is not None:
                return Connect(net, port.node.node_id, fixed.node.node_id, fixed.key)
            if node is not None and node.output is not None:
                return Connect(net, node.node_id, fixed.node.node_id, fixed.key)
            return None
        source = fixed.node.node_id
        if port is not None:
            return Connect(net, source, port.node.node_id, port.key)
        if node is not None and node.inputs:
            free = [k for k, p in node.inputs.items() if not p.connected]
            key = free[0] if free else next(iter(node.inputs))
            return Connect(net, source, node.node_id, key)
        return None

    def _target_at(self, pos: QPointF, want_input: bool) -> tuple[PortItem | None, NodeItem | None]:
        area = QRectF(pos.x() - 6, pos.y() - 6, 12, 12)
        node: NodeItem | None = None
        for item in self.scene.items(area):
            if isinstance(item, PortItem) and item.is_input == want_input:
                return item, None
            if node is None and isinstance(item, NodeItem):
                node = item
        return None, node
