"""A paused run walks a step on its live networks when asked, and keeps its weights."""

from __future__ import annotations

import functools
import queue
import threading
import time
from pathlib import Path
from typing import Any

import pytest
import torch
from helpers import moons_mlp

from runtime.control import RunControl
from runtime.inspect.step_request import answer, step_request
from runtime.runner import Runner
from runtime.trainer import RunOptions, Trainer


def _until(events: list[dict[str, Any]], kind: str, timeout: float = 60.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = [e for e in events if e.get("type") == kind]
        if found:
            return found[0]
        time.sleep(0.02)
    raise AssertionError(f"no {kind} event in {timeout} s; got {[e['type'] for e in events]}")


def test_a_paused_trainer_answers_without_changing_its_weights() -> None:
    events: list[dict[str, Any]] = []
    requests: queue.Queue[object] = queue.Queue()
    control = RunControl(requests=requests)

    def sink(event: dict[str, Any]) -> None:
        events.append(event)
        if event["type"] == "epoch":
            control.pause()

    trainer = Trainer(moons_mlp(), RunOptions(epochs=3, max_steps_per_epoch=3,
                                              activations=False), sink, control)
    control.answer = functools.partial(answer, trainer)
    thread = threading.Thread(target=trainer.run)
    thread.start()
    try:
        _until(events, "paused")
        weights = {k: v.clone() for k, v in trainer.networks["main"].state_dict().items()}
        moments = trainer.optimizers["main"].state_dict()["state"][0]["exp_avg"].clone()
        requests.put(step_request(5, 3, ident=1))
        walked = _until(events, "step_walk")
        assert walked["id"] == 1 and "error" not in walked
        record = walked["record"]
        assert record["index"] == 5 and record["batch"] == 3
        assert record["update"]["optimizer"] == "adam" and record["update"]["lr"] == 0.02
        assert set(record["update"]["relative"]) == set(record["backward"]["params"])
        now = trainer.networks["main"].state_dict()
        assert all(torch.equal(weights[k], v) for k, v in now.items())
        after = trainer.optimizers["main"].state_dict()["state"][0]["exp_avg"]
        assert torch.equal(moments, after)
        requests.put(step_request(10**6, 1, ident=2))
        deadline = time.monotonic() + 30
        while len([e for e in events if e["type"] == "step_walk"]) < 2:
            assert time.monotonic() < deadline
            time.sleep(0.02)
        failed = [e for e in events if e["type"] == "step_walk"][1]
        assert failed["id"] == 2 and "does not exist" in failed["error"]
    finally:
        control.stop()
        thread.join(30)
    assert not thread.is_alive()


@pytest.mark.slow  # a spawned run; tests/gui/test_step_view.py takes this path from the window
def test_a_paused_background_run_sends_a_step_walk_event(tmp_path: Path) -> None:
    runner = Runner(moons_mlp(), RunOptions(epochs=500, max_steps_per_epoch=2, out_dir=tmp_path,
                                            activations=False, threads=1))
    runner.start()
    events: list[dict[str, Any]] = []
    try:
        deadline = time.monotonic() + 90
        while not any(e["type"] == "epoch" for e in events):
            assert time.monotonic() < deadline and runner.ended is None, events[-1:]
            events += runner.poll()
            time.sleep(0.02)
        runner.pause()
        runner.request(step_request(2, 1, ident=9))
        while not any(e["type"] == "step_walk" for e in events):
            assert time.monotonic() < deadline and runner.ended is None, events[-1:]
            events += runner.poll()
            time.sleep(0.02)
    finally:
        runner.stop()
        events += runner.wait(60)
    walked = next(e for e in events if e["type"] == "step_walk")
    assert walked["id"] == 9 and walked["record"]["index"] == 2
    assert walked["record"]["loss"]["name"] == "cross-entropy"
    assert [e["type"] for e in events].index("paused") < [e["type"] for e in events].index(
        "step_walk")
