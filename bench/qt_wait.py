"""Waiting for the window in the benchmarks that drive it (``bench_editor``, ``bench_window``)."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QEventLoop, QTimer


def wait(condition: Callable[[], bool], timeout_s: float, every_ms: int = 20) -> bool:
    """Run the event loop until ``condition`` holds (checked every ``every_ms``)."""
    loop = QEventLoop()
    timer = QTimer()
    timer.setInterval(every_ms)
    timer.timeout.connect(lambda: loop.quit() if condition() else None)
    QTimer.singleShot(int(timeout_s * 1000), loop.quit)
    timer.start()
    if not condition():
        loop.exec()
    timer.stop()
    return condition()
