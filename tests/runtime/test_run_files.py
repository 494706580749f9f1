"""Weights metadata and checkpoints: damaged or hostile files are one located WeightsError.

Issue 13, cases 5 and 7. Hundreds of mutants (``mutants.py``) go through the paths a
user reaches (predict, export, --resume); only the project's own errors may come out.
"""

from __future__ import annotations

import copy
import json
import random
from pathlib import Path

import numpy as np
import pytest
import torch
from helpers import moons_mlp
from mutants import checkpoint_mutants, issue_metadata_mutants, metadata_mutants
from safetensors import safe_open
from safetensors.torch import save_file

from graph import Document, save_graph
from runtime.checkpoint import WeightsError, read_weights
from runtime.cli import main
from runtime.control import RunControl
from runtime.data import DataError
from runtime.data.preprocess import FORMAT_VERSION
from runtime.evaluate import predict
from runtime.export import ExportError, load_trained
from runtime.trainer import RunOptions, Trainer, TrainingFailed

PROJECT_ERRORS = (WeightsError, DataError, ExportError, TrainingFailed)
OPTIONS = {"epochs": 2, "max_steps_per_epoch": 2, "activations": False}


def _doc() -> Document:
    # A one-cycle schedule and kept best weights: every part of a checkpoint is in use.
    return moons_mlp(
        networks={"main": {"optimizer": {"name": "adam", "lr": 0.02},
                           "schedule": {"name": "onecycle"}}},
        early_stopping={"enabled": True, "patience": 5, "restore_best": True})


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A run stopped after its first epoch of two: checkpoint.pt and model.safetensors."""
    out = tmp_path_factory.mktemp("run")
    control = RunControl()

    def stop(event: dict) -> None:
        if event["type"] == "checkpoint":
            control.stop()

    Trainer(_doc(), RunOptions(**OPTIONS, out_dir=out, checkpoint_share=None), sink=stop,
            control=control).run()
    save_graph(_doc(), out / "moons.loom")
    (out / "points.csv").write_text("-1.0,0.5\n2.0,0.0\n")
    return out


def _with_metadata(run: Path, metadata: dict[str, str], path: Path) -> Path:
    with safe_open(str(run / "model.safetensors"), framework="pt") as f:
        tensors = {key: f.get_tensor(key) for key in f.keys()}  # noqa: SIM118
    save_file(tensors, str(path), metadata=metadata)
    return path


def _metadata(run: Path) -> dict[str, str]:
    with safe_open(str(run / "model.safetensors"), framework="pt") as f:
        return dict(f.metadata())


# -- case 5: weights metadata ---------------------------------------------------------
@pytest.mark.parametrize("index", range(7))
def test_the_metadata_mutants_of_the_issue_are_named_with_file_and_field(
        run: Path, tmp_path: Path, capsys, index: int) -> None:
    what, metadata = list(issue_metadata_mutants(_metadata(run)))[index]
    weights = _with_metadata(run, metadata, tmp_path / "model.safetensors")
    code = main(["predict", str(run / "moons.loom"), "--weights", str(weights),
                 str(run / "points.csv")])
    err = capsys.readouterr().err
    assert code == 1, what
    assert "unexpected" not in err, err
    assert err.startswith(f"error: {weights}: metadata 'preprocessing"), err
    assert "train again" in err  # says what to do


def test_a_missing_offset_reads_as_the_issue_asks(run: Path, tmp_path: Path) -> None:
    metadata = _metadata(run)
    record = json.loads(metadata["preprocessing"])
    del record["offset"]
    weights = _with_metadata(run, {**metadata, "preprocessing": json.dumps(record)},
                             tmp_path / "model.safetensors")
    with pytest.raises(WeightsError, match=r"model\.safetensors: metadata "
                                           r"'preprocessing\.offset': required field is missing"):
        read_weights(weights)


def test_metadata_mutants_raise_only_project_errors(run: Path, tmp_path: Path) -> None:
    doc = _doc()
    outcomes = {"refused": 0, "accepted": 0}
    for i, (what, metadata) in enumerate(metadata_mutants(_metadata(run), random.Random(13),
                                                          300)):
        weights = _with_metadata(run, metadata, tmp_path / f"m{i % 4}.safetensors")
        try:
            predict(doc, weights, run / "points.csv")
            load_trained(doc, "main", weights)
        except PROJECT_ERRORS:
            outcomes["refused"] += 1
        except Exception as exc:  # an escape: name the mutant
            raise AssertionError(f"mutant {i} ({what}) escaped as {type(exc).__name__}: "
                                 f"{exc}") from exc
        else:
            outcomes["accepted"] += 1
    assert outcomes["refused"] > 150 and outcomes["accepted"] > 10, outcomes


def test_writer_and_reader_share_the_metadata_model(run: Path) -> None:
    from runtime.records import PreprocessingRecord, WeightsMetadata

    per_network, metadata = read_weights(run / "model.safetensors")
    assert metadata.preprocessing is not None and set(per_network) == {"main"}
    assert WeightsMetadata.read(metadata.to_safetensors(), "x") == metadata
    assert metadata.to_safetensors() == _metadata(run)  # what the trainer wrote, exactly
    record = metadata.preprocessing
    assert PreprocessingRecord.of(record.to_preprocessing()) == record
    assert PreprocessingRecord.model_fields["version"].annotation.__args__ == (FORMAT_VERSION,)


def test_a_safetensors_file_from_elsewhere_is_refused_by_name(run: Path, tmp_path: Path) -> None:
    weights = _with_metadata(run, {"format": "pt"}, tmp_path / "other.safetensors")
    with pytest.raises(WeightsError, match=r"other\.safetensors is not a Layerloom weights "
                                           r"file \(its metadata has format \"pt\""):
        read_weights(weights)


def test_offsets_that_do_not_fit_the_samples_are_refused(run: Path, tmp_path: Path) -> None:
    metadata = _metadata(run)
    record = json.loads(metadata["preprocessing"])
    record["offset"] = [0.0, 0.0, 0.0]  # samples have 2 features
    weights = _with_metadata(run, {**metadata, "preprocessing": json.dumps(record)},
                             tmp_path / "model.safetensors")
    with pytest.raises(WeightsError, match=r"'preprocessing\.offset': constants of shape \[3\] "
                                           r"do not fit samples of shape \[2\]"):
        read_weights(weights)


def _predict_with_record(run: Path, tmp_path: Path, **changes: object) -> int:
    metadata = _metadata(run)
    record = {**json.loads(metadata["preprocessing"]), **changes}
    weights = _with_metadata(run, {**metadata, "preprocessing": json.dumps(record)},
                             tmp_path / "model.safetensors")
    return main(["predict", str(run / "moons.loom"), "--weights", str(weights),
                 str(run / "points.csv")])


def test_samples_stored_in_another_shape_of_the_same_size_still_predict(
        run: Path, tmp_path: Path, capsys) -> None:
    # Data of 1×8×8 may feed an Input of [64]; predict must reshape as training did.
    code = _predict_with_record(run, tmp_path, sample_shape=[2, 1], offset=[[0.0], [0.0]],
                                scale=[[1.0], [1.0]])
    assert code == 0, capsys.readouterr().err
    assert capsys.readouterr().out.count("\n") == 2


def test_class_names_that_do_not_match_the_outputs_are_refused(
        run: Path, tmp_path: Path, capsys) -> None:
    assert _predict_with_record(run, tmp_path, class_names=["only"], num_classes=None) == 1
    err = capsys.readouterr().err
    assert "metadata 'preprocessing.class_names' names 1 classes but network 'main' gives 2 " \
           "outputs" in err, err


@pytest.mark.parametrize(("text", "reason"), [
    ("{", "is not valid JSON"),
    ('{"version": 1, "kind": "none", "sample_shape": [2], "scale": [1, 1]}',
     "field 'offset': required field is missing"),
], ids=["broken", "no-offset"])
def test_a_checkpoint_s_preprocessing_json_is_checked_on_export(
        run: Path, tmp_path: Path, capsys, text: str, reason: str) -> None:
    (tmp_path / "checkpoint.pt").write_bytes((run / "checkpoint.pt").read_bytes())
    (tmp_path / "preprocessing.json").write_text(text)
    code = main(["export", str(run / "moons.loom"), "--weights", str(tmp_path / "checkpoint.pt"),
                 "--format", "safetensors", "-o", str(tmp_path / "out.safetensors")])
    err = capsys.readouterr().err
    assert code == 1 and f"{tmp_path / 'preprocessing.json'}" in err and reason in err, err
    assert not (tmp_path / "out.safetensors").exists()


# -- case 7: checkpoints for --resume -------------------------------------------------
def _checkpoint(run: Path) -> dict:
    return torch.load(run / "checkpoint.pt", weights_only=True)


@pytest.mark.parametrize(("change", "field", "reason"), [
    (lambda c: c.pop("optimizers"), "optimizers", "required field is missing"),
    (lambda c: c.update(rng=c["rng"][:100]), "rng",
     "expected the 5056 bytes of a CPU random generator state"),
    (lambda c: c.update(epoch="two"), "epoch", 'expected an integer, got "two"'),
], ids=["no-optimizers", "rng-size", "epoch-two"])
def test_resume_from_the_checkpoints_of_the_issue(run: Path, tmp_path: Path, capsys, change,
                                                  field: str, reason: str) -> None:
    data = _checkpoint(run)
    change(data)
    torch.save(data, tmp_path / "bad.pt")
    out = tmp_path / "out"
    code = main(["train", str(run / "moons.loom"), "--resume", str(tmp_path / "bad.pt"),
                 "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 1
    assert f"error: {tmp_path / 'bad.pt'}: checkpoint field '{field}': {reason}" in err, err
    assert not out.exists()  # refused before anything was written


def test_a_checkpoint_for_another_schedule_is_refused(run: Path, tmp_path: Path) -> None:
    data = _checkpoint(run)
    data["schedules"]["main"]["total_steps"] = 1000
    torch.save(data, tmp_path / "other.pt")
    trainer = Trainer(_doc(), RunOptions(**OPTIONS, resume=tmp_path / "other.pt"))
    with pytest.raises(WeightsError, match=r"'schedules\.main\.total_steps': this run has 4, "
                                           r"the checkpoint 1000"):
        trainer.run()


def test_checkpoint_mutants_raise_only_project_errors(run: Path, tmp_path: Path) -> None:
    trainer = Trainer(_doc(), RunOptions(**OPTIONS, checkpoint_share=None))
    trainer.setup()
    # Each mutant meets a fresh run: what an accepted one loaded is undone before the next.
    fresh = copy.deepcopy({"weights": trainer.networks["main"].state_dict(),
                           "optimizer": trainer.optimizers["main"].state_dict(),
                           "schedule": trainer.schedules["main"].state_dict()})
    path = tmp_path / "mutant.pt"
    outcomes = {"refused": 0, "resumed": 0}
    for i, (what, data) in enumerate(checkpoint_mutants(_checkpoint(run), random.Random(7),
                                                        200)):
        torch.save(data, path)
        trainer.networks["main"].load_state_dict(fresh["weights"])
        trainer.optimizers["main"].load_state_dict(copy.deepcopy(fresh["optimizer"]))
        trainer.schedules["main"].load_state_dict(copy.deepcopy(fresh["schedule"]))
        trainer.options.resume = path
        try:
            trainer.run()
        except PROJECT_ERRORS:
            outcomes["refused"] += 1
        except Exception as exc:
            raise AssertionError(f"mutant {i} ({what}) escaped as {type(exc).__name__}: "
                                 f"{exc}") from exc
        else:
            outcomes["resumed"] += 1
    assert outcomes["refused"] > 100 and outcomes["resumed"] > 10, outcomes


def test_an_untouched_checkpoint_still_resumes(run: Path) -> None:
    trainer = Trainer(_doc(), RunOptions(**OPTIONS, resume=run / "checkpoint.pt"))
    result = trainer.run()
    assert result.status in ("completed", "early_stopped") and result.epochs_done == 2
    assert np.isfinite(result.metrics["test_loss"])
