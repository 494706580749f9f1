"""Pause, resume and stop: flags a caller sets and the training loop checks between steps."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any, Protocol


class _Flag(Protocol):
    def is_set(self) -> bool: ...

    def set(self) -> None: ...

    def clear(self) -> None: ...


class RunControl:
    """Works across threads, or across processes when given multiprocessing Events."""

    def __init__(self, stop: _Flag | None = None, pause: _Flag | None = None) -> None:
        self.stop_flag: _Flag = stop if stop is not None else threading.Event()
        self.pause_flag: _Flag = pause if pause is not None else threading.Event()

    def stop(self) -> None:
        self.stop_flag.set()

    def pause(self) -> None:
        self.pause_flag.set()

    def resume(self) -> None:
        self.pause_flag.clear()

    @property
    def stopped(self) -> bool:
        return self.stop_flag.is_set()

    def checkpoint(self, emit: Callable[[dict[str, Any]], None]) -> bool:
        """Called between steps: waits while paused; False once a stop was asked for."""
        if self.pause_flag.is_set() and not self.stop_flag.is_set():
            emit({"type": "paused"})
            while self.pause_flag.is_set() and not self.stop_flag.is_set():
                time.sleep(0.05)
            emit({"type": "resumed"})
        return not self.stop_flag.is_set()
