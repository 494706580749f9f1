"""A node's connection point: inputs on the left edge, the output on the right.

A port is a hit area for wiring gestures; its dot is painted by its node (so a
canvas of a thousand nodes is not also a canvas of three thousand painted items).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QPainter
from PySide6.QtWidgets import (
    QGraphicsItem,
    QGraphicsSceneHoverEvent,
    QGraphicsSceneMouseEvent,
    QStyleOptionGraphicsItem,
    QWidget,
)

if TYPE_CHECKING:
    from gui.canvas.node_item import NodeItem
    from gui.canvas.scene import GraphScene

NO_CONTENTS = QGraphicsItem.GraphicsItemFlag.ItemHasNoContents
CROSS = Qt.CursorShape.CrossCursor
RADIUS = 5.5
HIT = 9.0  # half-size of the square that catches the mouse


class PortItem(QGraphicsItem):
    """An input port (``key`` is the port key, e.g. ``x`` or ``in1``) or the output (``key`` "")."""

    def __init__(self, node: NodeItem, key: str, is_input: bool) -> None:
        super().__init__(node)
        self.node = node
        self.key = key
        self.is_input = is_input
        self.connected = False
        self.hover = False
        self.setFlag(NO_CONTENTS)
        self.setAcceptHoverEvents(True)
        self.setCursor(CROSS)

    def boundingRect(self) -> QRectF:
        return QRectF(-HIT, -HIT, 2 * HIT, 2 * HIT)

    def anchor(self) -> QPointF:
        """Where wires attach, in scene coordinates."""
        return self.scenePos()

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem,
              widget: QWidget | None = None) -> None:
        """Nothing: the node paints the dot."""

    def set_connected(self, connected: bool) -> None:
        if connected != self.connected:
            self.connected = connected
            self.node.update()

    # -- gestures: dragging from a port draws a wire ----------------------------
    def _scene(self) -> GraphScene:
        from gui.canvas.scene import GraphScene

        scene = self.scene()
        assert isinstance(scene, GraphScene)
        return scene

    def hoverEnterEvent(self, event: QGraphicsSceneHoverEvent) -> None:
        self.hover = True
        self.node.update()

    def hoverLeaveEvent(self, event: QGraphicsSceneHoverEvent) -> None:
        self.hover = False
        self.node.update()

    def mousePressEvent(self, event: QGraphicsSceneMouseEvent) -> None:
        if event.button() != Qt.MouseButton.LeftButton:
            event.ignore()
            return
        self._scene().wiring.begin(self, event.scenePos())
        event.accept()

    def mouseMoveEvent(self, event: QGraphicsSceneMouseEvent) -> None:
        self._scene().wiring.move(event.scenePos())

    def mouseReleaseEvent(self, event: QGraphicsSceneMouseEvent) -> None:
        self._scene().wiring.finish(event.scenePos())
