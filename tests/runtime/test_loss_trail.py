"""Step events carry the loss of every step since the previous one (binned), so the
window's step curve is as dense as the steps however the events are throttled."""

from __future__ import annotations

from typing import Any

import pytest
import torch
from helpers import moons_mlp

from runtime import trainer as trainer_module
from runtime.telemetry import TRAIL_POINTS, LossTrail
from runtime.trainer import RunOptions, Trainer


class EveryFifth:
    """A throttle that lets every fifth step through (the first one too)."""

    def __init__(self, _interval: float) -> None:
        self.calls = 0

    def ready(self) -> bool:
        self.calls += 1
        return self.calls % 5 == 1


def steps(monkeypatch: pytest.MonkeyPatch | None = None) -> list[Any]:
    if monkeypatch is not None:
        monkeypatch.setattr(trainer_module, "Throttle", EveryFifth)
    events: list[Any] = []
    options = RunOptions(step_interval=0, threads=1, activations=False)
    Trainer(moons_mlp(epochs=2, batch_size=8), options, sink=events.append).run()
    return [e for e in events if e["type"] == "step"]


def test_every_step_reaches_the_step_curve_whatever_the_throttle(
        monkeypatch: pytest.MonkeyPatch) -> None:
    each = steps()  # an event per step: its trail is that step
    for event in each:
        assert event["trail"] == {"at": [pytest.approx(event["epoch"] - 1 + event["step"]
                                                       / event["steps"])],
                                  "loss": [pytest.approx(event["loss"])]}
    fifth = steps(monkeypatch)
    assert len(each) == 42 and len(fifth) == 9  # steps 1, 6, …, 41
    at = [x for e in fifth for x in e["trail"]["at"]]
    losses = [v for e in fifth for v in e["trail"]["loss"]]
    reported = len(at)  # the steps after the last event wait for the next one
    assert len(each) - 5 < reported <= len(each)
    assert at == pytest.approx([e["trail"]["at"][0] for e in each][:reported])
    assert losses == pytest.approx([e["loss"] for e in each][:reported], rel=1e-6)


def test_a_long_trail_is_binned_into_means_of_consecutive_steps() -> None:
    trail = LossTrail()
    for i in range(40):
        trail.add(i / 10, {"loss": torch.tensor(float(i)), "d_loss": torch.tensor(1.0)})
    taken = trail.take()
    assert len(taken["at"]) == len(taken["loss"]) == TRAIL_POINTS
    assert taken["loss"][0] in (0.5, 1.0)  # 40 steps in 16 runs of 2 or 3: 0+1 or 0+1+2
    assert taken["loss"] == sorted(set(taken["loss"]))  # runs of consecutive steps, in order
    assert sum(taken["loss"]) / TRAIL_POINTS == pytest.approx(19.5, abs=0.2)
    assert taken["d_loss"] == [1.0] * TRAIL_POINTS
    assert taken["at"] == sorted(taken["at"])
    assert trail.take() == {}
