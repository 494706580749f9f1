"""One piece of slow work (seconds of torch) on a worker thread, its outcome as a signal.

Dialogs that export or evaluate hand a function and a snapshot of the document to
a ``BackgroundJob``; the event loop goes on painting, and ``done`` arrives on the
GUI thread with the result or the exception, never both.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QTimer, Signal

POLL_MS = 50
_workers: set[threading.Thread] = set()  # alive, or ended but not yet seen ended
_reaper: QTimer | None = None


def start_worker(work: Callable[..., Any], *args: Any, name: str) -> threading.Thread:
    """Start ``work(*args)`` on a daemon thread, with cyclic garbage collection off until
    the GUI thread has seen every such thread end.

    A collection runs on whichever thread happens to allocate. Run on a worker, it can
    free a cycle holding a Qt object (an old dialog, a closed document's session), and a
    QObject deleted off the GUI thread leaves its timers behind: the next one to fire
    crashes the process (seen in the data check's and the exporters' threads). Reference
    counting still frees almost everything meanwhile; cycles wait the seconds a job takes.
    """
    global _reaper
    gc.disable()
    thread = threading.Thread(target=work, args=args, name=name, daemon=True)
    _workers.add(thread)
    thread.start()
    if _reaper is None:
        _reaper = QTimer()
        _reaper.setInterval(POLL_MS)
        _reaper.timeout.connect(_reap)
    _reaper.start()
    return thread


def _reap() -> None:
    """On the GUI thread: forget ended workers; the last one gone, collect again."""
    for thread in [t for t in _workers if not t.is_alive()]:
        _workers.discard(thread)
    if not _workers:
        gc.enable()
        if _reaper is not None:
            _reaper.stop()


def workers_running() -> bool:
    return bool(_workers)


class BackgroundJob(QObject):
    """Runs one call at a time; ``done(result, error)`` reports it on the GUI thread."""

    done = Signal(object, object)  # the result, or None; the exception, or None

    def __init__(self, parent: QObject | None = None, *, blocks_close: bool = True) -> None:
        super().__init__(parent)
        # Whether the window waits for it before closing: an export must not be cut short
        # half-written; a job that only reads (a listing, a preview) may be dropped.
        self.blocks_close = blocks_close
        self._thread: threading.Thread | None = None
        self._outcome: tuple[Any, BaseException | None] = (None, None)
        self._poll = QTimer(self)
        self._poll.setInterval(POLL_MS)
        self._poll.timeout.connect(self._check)

    @property
    def running(self) -> bool:
        return self._thread is not None

    def start(self, work: Callable[..., Any], *args: Any, name: str = "job") -> None:
        if self.running:
            raise RuntimeError("a background job is already running")
        self._outcome = (None, None)
        self._thread = start_worker(self._run, work, *args, name=name)
        self._poll.start()

    def _run(self, work: Callable[..., Any], *args: Any) -> None:
        try:
            self._outcome = (work(*args), None)
        except Exception as exc:  # reported to the dialog, which says it in place
            self._outcome = (None, exc)

    def _check(self) -> None:
        if self._thread is None or self._thread.is_alive():
            return
        self._thread = None
        self._poll.stop()
        _reap()
        result, error = self._outcome
        self._outcome = (None, None)  # a failure's traceback holds data and networks
        if error is not None:
            error = error.with_traceback(None)
        self.done.emit(result, error)
