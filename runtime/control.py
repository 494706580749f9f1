"""Pause, resume and stop: flags a caller sets and the training loop checks between steps."""

from __future__ import annotations

import queue
import threading
import time
from typing import Protocol

from runtime.events import PausedEvent, ResumedEvent, Sink


class _Flag(Protocol):
    def is_set(self) -> bool: ...

    def set(self) -> None: ...

    def clear(self) -> None: ...


class _Inbox(Protocol):
    def get_nowait(self) -> object: ...


class _Answer(Protocol):
    def __call__(self, request: object) -> dict[str, object]: ...


class RunControl:
    """Works across threads, or across processes when given multiprocessing Events.

    While paused, requests that arrive in ``requests`` (a queue) are answered by
    ``answer`` and the answers emitted as events: the window asks a paused run to walk
    a step on its live networks (``runtime.inspect.step_request``)."""

    def __init__(self, stop: _Flag | None = None, pause: _Flag | None = None,
                 requests: _Inbox | None = None) -> None:
        self.stop_flag: _Flag = stop if stop is not None else threading.Event()
        self.pause_flag: _Flag = pause if pause is not None else threading.Event()
        self.requests = requests
        self.answer: _Answer | None = None

    def stop(self) -> None:
        self.stop_flag.set()

    def pause(self) -> None:
        self.pause_flag.set()

    def resume(self) -> None:
        self.pause_flag.clear()

    @property
    def stopped(self) -> bool:
        return self.stop_flag.is_set()

    def checkpoint(self, emit: Sink) -> bool:
        """Called between steps: waits while paused; False once a stop was asked for."""
        if self.pause_flag.is_set() and not self.stop_flag.is_set():
            emit(PausedEvent(type="paused"))
            while self.pause_flag.is_set() and not self.stop_flag.is_set():
                answered = self._serve()
                if answered is not None:
                    emit(answered)
                time.sleep(0.05)
            emit(ResumedEvent(type="resumed"))
        return not self.stop_flag.is_set()

    def _serve(self) -> dict[str, object] | None:
        """The answer to the next request, if one is waiting."""
        if self.requests is None or self.answer is None:
            return None
        try:
            request = self.requests.get_nowait()
        except (queue.Empty, EOFError, OSError):  # nothing asked, or the asker is gone
            return None
        return self.answer(request)
