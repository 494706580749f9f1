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
_gc_paused = 0  # jobs under way; the collector runs again once none is


def _pause_gc() -> None:
    """No cyclic garbage collection while a job runs. A collection on the GUI thread
    while the worker was importing torch's exporters (torch.onnx) crashed the process
    with a segmentation fault in CI; reference counting still frees almost everything,
    and the cycles wait the few seconds a job takes."""
    global _gc_paused
    _gc_paused += 1
    gc.disable()


def _resume_gc() -> None:
    global _gc_paused
    _gc_paused -= 1
    if _gc_paused == 0:
        gc.enable()


class BackgroundJob(QObject):
    """Runs one call at a time; ``done(result, error)`` reports it on the GUI thread."""

    done = Signal(object, object)  # the result, or None; the exception, or None

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
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
        self._thread = threading.Thread(target=self._run, args=(work, *args), name=name,
                                        daemon=True)
        _pause_gc()
        self._thread.start()
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
        _resume_gc()
        result, error = self._outcome
        self._outcome = (None, None)  # a failure's traceback holds data and networks
        if error is not None:
            error = error.with_traceback(None)
        self.done.emit(result, error)
