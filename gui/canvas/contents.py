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

from PySide6.QtWidgets import QGraphicsItem

from gui.canvas.chunked import ChunkedWork
from gui.canvas.edge_item import EdgeItem

NO_CONTENTS = QGraphicsItem.GraphicsItemFlag.ItemHasNoContents
CHUNK = 400  # items switched per turn of the event loop


class ContentSwitch(ChunkedWork):
    """Whether items paint themselves (``hidden``: they do not), applied lazily."""

    def __init__(self) -> None:
        super().__init__(self._apply, CHUNK)
        self.hidden = False

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
        self.later(items, replace=True)
        self.now(now)
