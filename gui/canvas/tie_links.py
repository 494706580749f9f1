"""Dashed arcs between a Linear and the Embedding whose weight it shares.

Drawn from the document alone (the Linear's ``tie_weight_to``), never stored: the
scene tells ``TieLinks`` which nodes were added, removed, changed or moved.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QPainterPath, QPen
from PySide6.QtWidgets import QGraphicsPathItem, QGraphicsScene

from graph.document import Network
from graph.ties import TIE_PARAM

ARC_RISE = 70.0  # how far above the nodes the arc bends


class TieLink(QGraphicsPathItem):
    """The arc from the Embedding ``owner`` to the Linear ``user`` (node ids)."""

    def __init__(self, user: str, owner: str) -> None:
        super().__init__()
        self.user, self.owner = user, owner
        self.setZValue(-1)  # under the nodes, like the wires
        self.setAcceptedMouseButtons(Qt.MouseButton.NoButton)

    def set_ends(self, owner_box: QRectF, user_box: QRectF) -> None:
        start = QPointF(owner_box.center().x(), owner_box.top())
        end = QPointF(user_box.center().x(), user_box.top())
        top = min(start.y(), end.y()) - ARC_RISE
        path = QPainterPath(start)
        path.cubicTo(QPointF(start.x(), top), QPointF(end.x(), top), end)
        self.setPath(path)


class TieLinks:
    """The scene's tie arcs, kept in step with the network's tie parameters."""

    def __init__(self, scene: QGraphicsScene, network: Callable[[], Network],
                 box: Callable[[str], QRectF | None], color: QColor) -> None:
        self._scene, self._network, self._box = scene, network, box
        self._pen = QPen(color, 1.5, Qt.PenStyle.DashLine)
        self.items: dict[str, TieLink] = {}  # by the Linear's node id

    def set_color(self, color: QColor) -> None:
        self._pen.setColor(color)
        for item in self.items.values():
            item.setPen(self._pen)

    def sync_all(self) -> None:
        for node in self._network().nodes():
            self.sync(node.id)

    def sync(self, node_id: str) -> None:
        """Redraw the arcs ``node_id`` takes part in, after it was added, removed or edited."""
        net = self._network()
        node = net.node(node_id) if node_id in net else None
        owner = node.params.get(TIE_PARAM, "") if node is not None else ""
        self._set(node_id, owner if owner in net else "")
        for item in list(self.items.values()):
            if item.owner == node_id and node is None:
                self._set(item.user, "")
        if node is not None and node.type == "Embedding":  # back (undo): its users' arcs too
            for user in net.nodes():
                if user.params.get(TIE_PARAM) == node_id and user.id not in self.items:
                    self._set(user.id, node_id)

    def touched(self, node_id: str) -> None:
        """A node moved or was renamed: its arcs follow."""
        for item in self.items.values():
            if node_id in (item.user, item.owner):
                self._place(item)

    def _set(self, user: str, owner: str) -> None:
        item = self.items.get(user)
        if item is not None and item.owner != owner:
            self._scene.removeItem(item)
            del self.items[user]
            item = None
        if owner and item is None:
            item = TieLink(user, owner)
            item.setPen(self._pen)
            self.items[user] = item
            self._scene.addItem(item)
        if item is not None:
            self._place(item)

    def _place(self, item: TieLink) -> None:
        owner, user = self._box(item.owner), self._box(item.user)
        if owner is not None and user is not None:
            item.set_ends(owner, user)
        net = self._network()
        item.setToolTip(f"'{net.node(item.user).label}' uses the weight of "
                        f"'{net.node(item.owner).label}' (tied: one tensor)")
