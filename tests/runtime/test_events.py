"""The events a run streams are what ``runtime.events`` declares, key by key."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from helpers import moons_mlp
from pydantic import TypeAdapter
from test_recipes import _autoencoder, _ring_gan

from runtime.control import RunControl
from runtime.events import RUN_EVENT_TYPES, metrics_of, run_event
from runtime.runner import Runner, _child_main
from runtime.trainer import RunOptions, Trainer


def _check(event: dict[str, Any]) -> None:
    """``event`` has every required key of its type, no undeclared one (an epoch's
    metrics aside) and values of the declared types."""
    declared = RUN_EVENT_TYPES[event["type"]]
    keys = set(event)
    assert declared.__required_keys__ <= keys, (event["type"], keys)
    extra = keys - declared.__required_keys__ - declared.__optional_keys__
    if event["type"] == "epoch":
        extra -= set(metrics_of(event))
    assert not extra, (event["type"], extra)
    TypeAdapter(declared).validate_python(event, strict=True)


def _run(doc: Any, tmp_path: Path) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    Trainer(doc, RunOptions(epochs=1, max_steps_per_epoch=3, step_interval=0,
                            out_dir=tmp_path), sink=events.append).run()
    return events


@pytest.mark.parametrize("make", [moons_mlp, _ring_gan, _autoencoder],
                         ids=["classification", "gan", "autoencoder"])
def test_a_runs_events_are_the_declared_types(tmp_path: Path, make: Any) -> None:
    events = _run(make(), tmp_path)
    for event in events:
        if run_event(event) is not None:  # the epoch probes' views check their own
            _check(event)
    kinds = {e["type"] for e in events}
    assert {"started", "step", "epoch", "activations", "checkpoint", "finished"} <= kinds
    epoch = next(e for e in events if e["type"] == "epoch")
    assert "train_loss" in metrics_of(epoch) and "val_loss" in metrics_of(epoch)


def test_pauses_failures_and_crashes_are_the_declared_types() -> None:
    events: list[dict[str, Any]] = []
    control = RunControl()

    def sink(event: dict[str, Any]) -> None:
        events.append(event)
        control.resume()

    control.pause()
    assert control.checkpoint(sink)

    class Queue:  # what the child process puts its last word into
        def put(self, event: dict[str, Any]) -> None:
            events.append(event)

        def close(self) -> None: ...

        def join_thread(self) -> None: ...

    _child_main("not a document", RunOptions(), Queue(), RunControl().stop_flag,
                RunControl().pause_flag)
    events.append(dict(Runner(moons_mlp()).abandon("ended when the window closed")))
    assert [e["type"] for e in events] == ["paused", "resumed", "failed", "crashed"]
    for event in events:
        _check(event)


def test_probe_views_are_left_to_their_readers() -> None:
    assert run_event({"type": "boundary", "epoch": 1, "grid": []}) is None
    step = {"type": "paused"}
    assert run_event(step) is step
