"""Work on many scene items without freezing the canvas.

What a view shows is done at once; the rest waits in an insertion-ordered set
and is done a chunk at a time from the event loop, so one frame never pays for
thousands of items (and a view about to paint takes what it needs first).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable
from typing import Any

from PySide6.QtCore import QObject, QTimer


class ChunkedWork(QObject):
    """Keys waiting for ``work``; ``now`` does some or all of them at once."""

    def __init__(self, work: Callable[[list[Any]], None], chunk: int) -> None:
        super().__init__()
        self._work = work
        self._chunk = chunk
        self._pending: dict[Hashable, None] = {}  # insertion-ordered set
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(0)
        self._timer.timeout.connect(self._step)

    @property
    def pending(self) -> int:
        return len(self._pending)

    def later(self, keys: Iterable[Hashable], replace: bool = False) -> None:
        """Queue ``keys`` (instead of what was queued, with ``replace``)."""
        if replace:
            self._pending = dict.fromkeys(keys)
        else:
            self._pending.update(dict.fromkeys(keys))
        if self._pending and not self._timer.isActive():
            self._timer.start()

    def now(self, keys: Iterable[Hashable] | None = None) -> None:
        """Do those of ``keys`` still waiting (everything waiting, without ``keys``)."""
        pending = self._pending
        due = list(pending) if keys is None else [k for k in keys if k in pending]
        for key in due:
            del pending[key]
        if due:
            self._work(due)
        if not pending:
            self._timer.stop()

    def discard(self, key: Hashable) -> None:
        self._pending.pop(key, None)

    def clear(self) -> None:
        self._timer.stop()
        self._pending.clear()

    def _step(self) -> None:
        self.now(list(self._pending)[:self._chunk])
        if self._pending:
            self._timer.start()
