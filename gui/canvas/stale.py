"""Bringing many items up to date without freezing the canvas.

One edit near the input of a long network changes the shape of hundreds of
nodes. The items in view are refreshed at once; the rest are refreshed a
chunk at a time from the event loop, so the canvas shows the edit within a
frame and stays responsive while the off-screen items catch up.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from PySide6.QtCore import QObject, QTimer

EAGER_LIMIT = 150  # fewer changed nodes than this are all refreshed at once
CHUNK = 250  # nodes refreshed per turn of the event loop


class StaleNodes(QObject):
    """Node ids waiting for ``refresh``; ``flush`` refreshes some or all of them now."""

    def __init__(self, refresh: Callable[[str], None]) -> None:
        super().__init__()
        self._refresh = refresh
        self._pending: dict[str, None] = {}  # insertion-ordered set
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(0)
        self._timer.timeout.connect(self._step)

    @property
    def pending(self) -> int:
        return len(self._pending)

    def add(self, ids: Iterable[str]) -> None:
        self._pending.update(dict.fromkeys(ids))
        if len(self._pending) < EAGER_LIMIT:
            self.flush()
        elif not self._timer.isActive():
            self._timer.start()

    def flush(self, ids: Iterable[str] | None = None) -> None:
        """Refresh ``ids`` (those that are pending), or everything pending."""
        chosen = list(self._pending) if ids is None else [i for i in ids if i in self._pending]
        for node_id in chosen:
            del self._pending[node_id]
            self._refresh(node_id)
        if not self._pending:
            self._timer.stop()

    def discard(self, node_id: str) -> None:
        self._pending.pop(node_id, None)

    def stop(self) -> None:
        self._timer.stop()
        self._pending.clear()

    def _step(self) -> None:
        self.flush(list(self._pending)[:CHUNK])
        if self._pending:
            self._timer.start()
