"""One piece of slow work (seconds of torch) on a worker thread, its outcome as a signal.

Dialogs that export or evaluate hand a function and a snapshot of the document to
a ``BackgroundJob``; the event loop goes on painting, and ``done`` arrives on the
GUI thread with the result or the exception, never both.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QTimer, Signal

POLL_MS = 50


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
        result, error = self._outcome
        self._outcome = (None, None)  # a failure's traceback holds data and networks
        if error is not None:
            error = error.with_traceback(None)
        self.done.emit(result, error)
