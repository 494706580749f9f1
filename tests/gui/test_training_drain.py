"""The window's drain of a run's events: a few milliseconds a turn, in order, to the end."""

from __future__ import annotations

import time
from typing import Any

from gui.training import TrainingController
from runtime.events import end_event


class QueuedRunner:
    """A run whose events have all arrived (``Runner.poll``'s contract, no process)."""

    def __init__(self, events: list[dict[str, Any]]) -> None:
        self.events = list(events)
        self.ended: dict[str, Any] | None = None

    def poll(self, limit: int = 1000) -> list[dict[str, Any]]:
        out, self.events = self.events[:limit], self.events[limit:]
        self.ended = next((e for e in out if end_event(e) is not None), self.ended)
        return out


def test_a_burst_is_handed_on_over_several_turns_in_order_then_the_run_ends(qtbot):
    controller = TrainingController()
    events = [{"type": "embedding", "epoch": i} for i in range(10)] + [
        {"type": "finished", "epochs_done": 1, "stopped": False}]
    controller.runner = QueuedRunner(events)  # type: ignore[assignment]
    controller.state = "running"
    controller.budget_s = 0.010
    seen: list[dict[str, Any]] = []
    turns: list[int] = []

    def slow(event: dict[str, Any]) -> None:  # a view that takes 4 ms to draw each record
        seen.append(event)
        time.sleep(0.004)

    controller.reported.connect(slow)
    controller.drained.connect(lambda: turns.append(len(seen)))
    controller._drain()
    assert 1 <= len(seen) <= 4 and controller.state == "running"  # the budget stopped it
    while controller.state == "running" and len(turns) < 20:
        controller._drain()
    assert seen == events  # every event, once, in order
    assert controller.state == "idle" and controller.runner is None  # the end ended it
    assert len(turns) >= 3 and turns[-1] == len(events)
