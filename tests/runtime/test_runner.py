"""Background runs in a spawned process: events stream back, and no failure of the
trainer can take the caller down."""

from __future__ import annotations

import math
from pathlib import Path

import torch
from helpers import moons_mlp, training

from graph import Document, NetworkBuilder
from runtime.checkpoint import load_checkpoint
from runtime.runner import Runner
from runtime.trainer import RunOptions

TIMEOUT = 120.0


def _wait_for(runner: Runner, kind: str) -> list[dict]:
    seen: list[dict] = []
    import time

    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline:
        seen += runner.poll()
        if any(e["type"] == kind for e in seen) or runner.ended is not None:
            return seen
        time.sleep(0.02)
    raise AssertionError(f"no {kind!r} event within {TIMEOUT} s: {[e['type'] for e in seen]}")


def test_background_run_streams_events_to_the_end(tmp_path: Path) -> None:
    runner = Runner(moons_mlp(), RunOptions(epochs=3, out_dir=tmp_path))
    runner.start()
    events = runner.wait(TIMEOUT)
    kinds = [e["type"] for e in events]
    assert kinds[0] == "started" and kinds[-1] == "finished", kinds
    assert kinds.count("epoch") == 3
    assert events[-1]["status"] == "completed"
    assert (tmp_path / "model.safetensors").exists()
    assert not runner.running


def test_killed_trainer_is_reported_and_its_checkpoint_loads(tmp_path: Path) -> None:
    runner = Runner(moons_mlp(), RunOptions(epochs=500, out_dir=tmp_path))
    runner.start()
    _wait_for(runner, "checkpoint")
    runner.kill()
    events = runner.wait(TIMEOUT)
    crashed = events[-1]
    assert crashed["type"] == "crashed", [e["type"] for e in events]
    assert "SIGKILL" in crashed["message"] and str(tmp_path) in crashed["message"]
    assert load_checkpoint(tmp_path / "checkpoint.pt").epoch >= 1


def test_stop_ends_the_run_cleanly() -> None:
    runner = Runner(moons_mlp(), RunOptions(epochs=500))
    runner.start()
    _wait_for(runner, "epoch")
    runner.stop()
    events = runner.wait(TIMEOUT)
    assert events[-1]["type"] == "finished" and events[-1]["status"] == "stopped"


def test_exception_in_forward_is_reported_against_the_layer() -> None:
    # Token ids from the data set reach beyond the vocabulary the Input declares.
    doc = Document.new()
    b = NetworkBuilder(doc)
    tokens = b.add("Input", shape=[6], kind="tokens", vocab_size=3, label="tokens")
    h = b.add("Embedding", tokens, embedding_dim=8, label="embed")
    b.add("Output", b.add("Linear", h, out_features=10, label="head"))
    doc.set_training(training(task="classification",
                              data={"name": "reverse", "options": {"length": 6}}))
    runner = Runner(doc, RunOptions(epochs=1))
    runner.start()
    failed = runner.wait(TIMEOUT)[-1]
    assert failed["type"] == "failed", failed
    assert failed["message"].startswith("Embedding 'embed'"), failed["message"]
    assert failed["node"] == "n2" and failed["network"] == "main"


def test_nan_weights_in_a_checkpoint_are_traced_to_their_layer(tmp_path: Path) -> None:
    from runtime.trainer import Trainer

    Trainer(moons_mlp(), RunOptions(epochs=1, out_dir=tmp_path)).run()
    data = load_checkpoint(tmp_path / "checkpoint.pt")
    data.weights["main"]["n4.weight"][0, 0] = math.nan
    torch.save(data.model_dump(), tmp_path / "corrupt.pt")
    runner = Runner(moons_mlp(), RunOptions(epochs=3, resume=tmp_path / "corrupt.pt"))
    runner.start()
    failed = runner.wait(TIMEOUT)[-1]
    assert failed["type"] == "failed", failed
    assert "Linear 'fc2'" in failed["message"] and "NaN" in failed["message"]
