"""The training loop: learning, exact resume, failures reported against the node."""

from __future__ import annotations

import itertools
import json
import math
from pathlib import Path

import pytest
import torch
from helpers import digits_cnn, moons_mlp

from graph.compile import state_dict_by_id
from runtime.checkpoint import load_checkpoint, load_weights, read_weights
from runtime.control import RunControl
from runtime.trainer import RunOptions, Trainer, TrainingFailed


def _weights(trainer: Trainer) -> dict[str, torch.Tensor]:
    return state_dict_by_id(trainer.networks["main"])


def test_classification_learns_and_writes_run_files(tmp_path: Path) -> None:
    events: list[dict] = []
    trainer = Trainer(moons_mlp(), RunOptions(epochs=6, out_dir=tmp_path, step_interval=0),
                      sink=events.append)
    result = trainer.run()
    assert result.status == "completed"
    epochs = [e for e in events if e["type"] == "epoch"]
    assert len(epochs) == 6
    assert epochs[-1]["train_loss"] < 0.6 * epochs[0]["train_loss"]
    assert result.metrics["test_accuracy"] > 0.8
    kinds = {e["type"] for e in events}
    assert {"started", "step", "epoch", "activations", "checkpoint", "finished"} <= kinds
    step = next(e for e in events if e["type"] == "step")
    assert {"loss", "lr", "samples_per_s", "eta_s", "grad_norms"} <= set(step)
    acts = next(e for e in events if e["type"] == "activations")["networks"]["main"]
    assert {"n1", "n2", "n3", "n4"} <= set(acts)  # every node incl. the input
    assert 0.0 <= acts["n3"]["dead"] <= 1.0 and len(acts["n3"]["hist"]) > 0
    for name in ("graph.loom", "metrics.jsonl", "checkpoint.pt", "model.safetensors",
                 "preprocessing.json"):
        assert (tmp_path / name).exists(), name
    per_network, metadata = read_weights(tmp_path / "model.safetensors")
    assert set(per_network["main"]) == set(_weights(trainer))
    assert metadata.preprocessing is not None
    assert len((tmp_path / "metrics.jsonl").read_text().splitlines()) == 6


def _stop_after_checkpoint(control: RunControl, epoch: int):
    def sink(event: dict) -> None:
        if event["type"] == "checkpoint" and event["epoch"] == epoch:
            control.stop()

    return sink


@pytest.mark.parametrize("make", [lambda: moons_mlp(dropout=0.3), digits_cnn],
                         ids=["mlp-dropout", "cnn-augment-onecycle"])
def test_resume_from_checkpoint_matches_an_uninterrupted_run(tmp_path: Path, make) -> None:
    options = {"epochs": 4, "max_steps_per_epoch": 6}
    straight = Trainer(make(), RunOptions(**options))
    straight.run()
    control = RunControl()
    first = Trainer(make(), RunOptions(**options, out_dir=tmp_path, checkpoint_share=None),
                    sink=_stop_after_checkpoint(control, 2), control=control)
    assert first.run().status == "stopped"
    assert load_checkpoint(tmp_path / "checkpoint.pt").epoch == 2
    resumed = Trainer(make(), RunOptions(**options, resume=tmp_path / "checkpoint.pt",
                                         out_dir=tmp_path))
    result = resumed.run()
    assert result.status == "completed" and result.epochs_done == 4
    log = (tmp_path / "metrics.jsonl").read_text().splitlines()
    assert [json.loads(line)["epoch"] for line in log] == [1, 2, 3, 4]  # none lost
    expected, got = _weights(straight), _weights(resumed)
    assert expected.keys() == got.keys()
    for key in expected:
        assert torch.equal(expected[key], got[key]), key


def test_nan_in_a_layer_stops_the_run_naming_the_node() -> None:
    trainer = Trainer(moons_mlp(), RunOptions(epochs=2, step_interval=0))
    trainer.setup()
    with torch.no_grad():
        trainer.networks["main"].fc2.weight[0, 0] = math.nan
    with pytest.raises(TrainingFailed, match="Linear 'fc2'") as info:
        trainer.run()
    assert "NaN" in str(info.value) and info.value.node_id == "n4"


def test_exception_in_forward_is_reported_against_the_node() -> None:
    trainer = Trainer(moons_mlp(), RunOptions(epochs=1))
    trainer.setup()

    def broken(x: torch.Tensor) -> torch.Tensor:
        raise RuntimeError("mat1 and mat2 shapes cannot be multiplied")

    trainer.networks["main"].fc1.forward = broken
    with pytest.raises(TrainingFailed, match="Linear 'fc1': mat1 and mat2") as info:
        trainer.run()
    assert info.value.node_id == "n2"


def test_early_stopping_restores_the_best_weights() -> None:
    doc = moons_mlp(early_stopping={"enabled": True, "patience": 1, "monitor": "val_loss"},
                    networks={"main": {"optimizer": {"name": "sgd", "lr": 5.0}}})
    events: list[dict] = []
    trainer = Trainer(doc, RunOptions(epochs=30), sink=events.append)
    result = trainer.run()
    assert result.status == "early_stopped" and result.epochs_done < 30
    losses = [e["val_loss"] for e in events if e["type"] == "epoch"]
    best = min(range(len(losses)), key=losses.__getitem__)
    assert best < len(losses) - 1  # it stopped after getting worse


def test_data_that_does_not_fit_the_input_is_refused_by_name() -> None:
    doc = moons_mlp()
    doc.set_param("main", "n1", "shape", [3])
    with pytest.raises(TrainingFailed, match=r"samples are 2 .*expects 3"):
        Trainer(doc, RunOptions(epochs=1)).run()


def test_weights_load_back_into_a_fresh_compile(tmp_path: Path) -> None:
    doc = moons_mlp()
    trainer = Trainer(doc, RunOptions(epochs=1, out_dir=tmp_path))
    trainer.run()
    from graph import compile_graph

    fresh = compile_graph(doc)
    load_weights(tmp_path / "model.safetensors", {"main": fresh})
    for key, value in state_dict_by_id(fresh).items():
        assert torch.equal(value, _weights(trainer)[key])


def test_checkpoints_take_a_bounded_share_of_the_run() -> None:
    from runtime.checkpoint import CheckpointPacer

    now = [0.0]
    pacer = CheckpointPacer(0.02, clock=lambda: now[0])
    saved = []
    for epoch in range(1, 201):  # 0.1 s epochs, 0.04 s saves
        now[0] += 0.1
        if pacer.due(final=epoch == 200):
            pacer.save(lambda: now.__setitem__(0, now[0] + 0.04))
            saved.append(epoch)
    assert saved[0] == 1 and saved[-1] == 200  # the first measures a save; the last is kept
    assert 0.04 * len(saved) <= 0.03 * now[0]  # about 2% of the run
    assert all(b - a >= 20 for a, b in itertools.pairwise(saved[:-1]))
    every = CheckpointPacer(None)
    assert every.due(final=False)


def test_a_run_of_quick_epochs_checkpoints_only_now_and_then(tmp_path: Path) -> None:
    events: list[dict] = []
    Trainer(moons_mlp(), RunOptions(epochs=30, out_dir=tmp_path, step_interval=0,
                                    activations=False), sink=events.append).run()
    saved = [e["epoch"] for e in events if e["type"] == "checkpoint"]
    assert saved[0] == 1 and saved[-1] == 30 and len(saved) < 30
    assert load_checkpoint(tmp_path / "checkpoint.pt").epoch == 30



def test_a_view_that_breaks_never_ends_the_run(monkeypatch: pytest.MonkeyPatch) -> None:
    from runtime.inspect import probes

    class Broken:
        kind = "broken"
        calls = 0

        def record(self) -> None:
            Broken.calls += 1
            raise RuntimeError("a bug in a view")

    def failing_factory(_context: probes.ProbeContext) -> None:
        raise IndexError("a view that cannot be set up")

    monkeypatch.setattr(probes, "factories", lambda: [failing_factory, lambda _c: Broken()])
    events: list[dict] = []
    result = Trainer(moons_mlp(), RunOptions(epochs=3, max_steps_per_epoch=2),
                     sink=events.append).run()
    assert result.status == "completed" and result.epochs_done == 3
    assert Broken.calls == 1  # dropped after its first failure
    assert not any(e["type"] == "broken" for e in events)
