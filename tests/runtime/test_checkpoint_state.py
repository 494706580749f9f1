"""Checkpoints save and restore a run's training state, with no trainer around it."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from helpers import moons_mlp

from graph.compile import compile_network, state_dict_by_id
from runtime.checkpoint import RunState, TrainingState, WeightsError, restore, save
from runtime.optim import make_training

STEPS = 4


def _state(seed: int, steps_per_epoch: int = STEPS) -> TrainingState:
    doc = moons_mlp(networks={"main": {"optimizer": {"name": "sgd", "lr": 0.1, "momentum": 0.9},
                                       "schedule": {"name": "onecycle"}}})
    torch.manual_seed(seed)
    module = compile_network(doc, "main")
    optimizer, schedule = make_training(module, doc.training.networks["main"], 3,
                                        steps_per_epoch)
    return TrainingState({"main": module}, {"main": optimizer}, {"main": schedule}, None,
                         steps_per_epoch)


def _train(state: TrainingState, steps: int) -> None:
    module, optimizer = state.networks["main"], state.optimizers["main"]
    for _ in range(steps):
        optimizer.zero_grad()
        module(torch.randn(8, 2)).square().mean().backward()
        optimizer.step()
        state.schedules["main"].after_batch()


def test_a_training_state_round_trips_through_a_checkpoint(tmp_path: Path) -> None:
    saved = _state(seed=0)
    _train(saved, STEPS)
    save(tmp_path / "checkpoint.pt", saved, RunState(epoch=1, global_step=STEPS))
    fresh = _state(seed=1)
    progress = restore(tmp_path / "checkpoint.pt", fresh)
    assert (progress.epoch, progress.global_step) == (1, STEPS)
    for key, value in state_dict_by_id(saved.networks["main"]).items():
        assert torch.equal(state_dict_by_id(fresh.networks["main"])[key], value), key
    assert fresh.schedules["main"].state_dict() == saved.schedules["main"].state_dict()
    momentum = [s["momentum_buffer"] for s in saved.optimizers["main"].state.values()]
    restored = [s["momentum_buffer"] for s in fresh.optimizers["main"].state.values()]
    assert all(torch.equal(a, b) for a, b in zip(momentum, restored, strict=True))


def test_a_checkpoint_of_other_epoch_lengths_is_refused_and_nothing_loads(tmp_path: Path) -> None:
    saved = _state(seed=0)
    _train(saved, STEPS)
    save(tmp_path / "checkpoint.pt", saved, RunState(epoch=1, global_step=STEPS))
    other = _state(seed=1, steps_per_epoch=2 * STEPS)  # a per-batch schedule counts steps
    before = {k: v.clone() for k, v in state_dict_by_id(other.networks["main"]).items()}
    with pytest.raises(WeightsError, match="schedules"):
        restore(tmp_path / "checkpoint.pt", other)
    after = state_dict_by_id(other.networks["main"])
    assert all(torch.equal(after[k], v) for k, v in before.items())
