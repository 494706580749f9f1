"""Switching a large scene's items between painting themselves and the overview.

Zoomed out, node and wire items paint nothing (``ItemHasNoContents``) and the
overview draws them all at once. Switching three thousand items costs several
milliseconds, so only what a view shows is switched at once; the rest follows a
chunk at a time from the event loop (and, if a view reaches it first, before
that view paints), so the frame that crosses the threshold costs little more
than its neighbours.
"""

from __future__ import annotations

from collections.abc import Iterable

from PySide6.QtCore import QObject, QTimer
from PySide6.QtWidgets import QGraphicsItem

from gui.canvas.edge_item import EdgeItem

NO_CONTENTS = QGraphicsItem.GraphicsItemFlag.ItemHasNoContents
CHUNK = 400  # items switched per turn of the event loop


class ContentSwitch(QObject):
    """Whether items paint themselves (``hidden``: they do not), applied lazily."""

    def __init__(self) -> None:
        super().__init__()
        self.hidden = False
        self._pending: dict[QGraphicsItem, None] = {}  # insertion-ordered set
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(0)
        self._timer.timeout.connect(self._step)

    @property
    def pending(self) -> int:
        return len(self._pending)

    def apply(self, item: QGraphicsItem) -> None:
        """Bring one node or wire item (and a wire's label) in line now."""
        self._apply([item])

    def _apply(self, items: Iterable[QGraphicsItem]) -> None:
        hidden = self.hidden  # a tight loop: thousands of items when the zoom crosses over
        for item in items:
            item.setFlag(NO_CONTENTS, hidden)
            if type(item) is EdgeItem:
                item.badge.suppress(hidden)

    def switch(self, hidden: bool, items: Iterable[QGraphicsItem],
               now: Iterable[QGraphicsItem]) -> None:
        """Switch all ``items``: those in ``now`` at once, the others soon."""
        self.hidden = hidden
        self._pending = dict.fromkeys(items)
        self.catch_up(now)
        if self._pending:
            self._timer.start()

    def catch_up(self, items: Iterable[QGraphicsItem]) -> None:
        """Switch those of ``items`` still waiting (a view is about to paint them)."""
        pending = self._pending
        due = [item for item in items if item in pending]
        for item in due:
            del pending[item]
        self._apply(due)
        if not pending:
            self._timer.stop()

    def discard(self, item: QGraphicsItem) -> None:
        self._pending.pop(item, None)

    def _step(self) -> None:
        self.catch_up(list(self._pending)[:CHUNK])
        if self._pending:
            self._timer.start()
