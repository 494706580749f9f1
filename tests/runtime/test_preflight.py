"""Checks before a run: the Output fits the data's targets, the run fits in memory,
and an allocation that fails mid-run names the node (issue 13, cases 1, 2 and 10)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from helpers import moons_mlp, training

from graph import Document, NetworkBuilder, load_graph, save_graph
from graph.commands import SetParam
from graph.datafit import DataFacts, output_fit
from graph.memory import estimate_memory, format_bytes
from graph.shapes import infer_network
from runtime.cli import main

ROOT = Path(__file__).resolve().parents[2]
GB = 1_000_000_000


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def set_param(doc: Document, label: str, **params: Any) -> None:
    node = next(n for n in doc.network("main").nodes() if n.label == label)
    for name, value in params.items():
        SetParam("main", node.id, name, value).apply(doc)


def sine_with_two_outputs(folder: Path) -> Path:
    """The issue's file: the sine example whose head gives 2 values instead of 1."""
    data = json.loads((ROOT / "resources/examples/rnn_sine.loom").read_text())
    for node in data["networks"]["main"]["nodes"]:
        if node["type"] == "Linear":
            node["label"] = "head"
            node["params"]["out_features"] = 2
    data["training"]["data"]["options"]["n_samples"] = 64
    path = folder / "sine.loom"
    path.write_text(json.dumps(data))
    return path


def moons_file(folder: Path, name: str = "moons.loom", fc2: int = 2, **fields: Any) -> Path:
    doc = moons_mlp(**fields)
    set_param(doc, "fc2", out_features=fc2)
    path = folder / name
    save_graph(doc, path)
    return path


# -- case 1: the Output against the targets --------------------------------------------
SINE_MESSAGE = ("Output of 'main' gives 2 values per sample but the task regression on 'sine' "
                "has 1 target per sample: set Linear 'head' out_features to 1")


def test_validate_checks_the_output_against_the_targets(capsys, tmp_path: Path) -> None:
    path = sine_with_two_outputs(tmp_path)
    code, out, _ = run(capsys, "validate", str(path))
    assert code == 1
    assert out.splitlines()[0] == f"main:head: {SINE_MESSAGE}"


def test_train_refuses_before_the_loss_fails(capsys, tmp_path: Path) -> None:
    path = sine_with_two_outputs(tmp_path)
    code, _, err = run(capsys, "train", str(path), "--epochs", "1", "--out",
                       str(tmp_path / "out"))
    assert code == 1
    assert err == f"error: {SINE_MESSAGE}\n"


def test_the_trainer_names_the_node_feeding_the_output(tmp_path: Path) -> None:
    from runtime.trainer import Trainer, TrainingFailed

    doc = load_graph(sine_with_two_outputs(tmp_path))
    with pytest.raises(TrainingFailed) as failed:
        Trainer(doc).setup()
    head = next(n for n in doc.network("main").nodes() if n.label == "head")
    assert failed.value.node_id == head.id and failed.value.network == "main"


# -- case 2: classes against scores ----------------------------------------------------
def test_a_csv_with_more_classes_than_outputs(capsys, tmp_path: Path) -> None:
    table = tmp_path / "kinds.csv"
    rows = [f"{i * 0.1:.1f},{i % 3},kind{i % 7}" for i in range(28)]
    table.write_text("a,b,kind\n" + "\n".join(rows) + "\n")
    path = moons_file(tmp_path, data={"name": "csv", "options": {"path": "kinds.csv"},
                                      "split": {"stratify": False}})
    code, out, _ = run(capsys, "validate", str(path))
    assert code == 1
    assert out.splitlines()[0] == (
        "main:fc2: Output of 'main' gives 2 scores per sample but the task classification on "
        "'csv' has 7 classes (kind0, kind1, kind2, kind3, …): set Linear 'fc2' out_features "
        "to 7")
    code, _, err = run(capsys, "train", str(path), "--epochs", "1", "--out",
                       str(tmp_path / "out"))
    assert code == 1 and "has 7 classes" in err and "unexpected" not in err


def test_an_npz_with_labels_0_to_9(capsys, tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    np.savez(tmp_path / "ten.npz", x=rng.normal(size=(40, 2)).astype(np.float32),
             y=np.arange(40) % 10)
    path = moons_file(tmp_path, data={"name": "npz", "options": {"path": "ten.npz"},
                                      "split": {"stratify": False}})
    code, _, err = run(capsys, "train", str(path), "--epochs", "1", "--out",
                       str(tmp_path / "out"))
    assert code == 1
    assert err == ("error: Output of 'main' gives 2 scores per sample but the task "
                   "classification on 'npz' has 10 classes (labels 0–9): set Linear 'fc2' "
                   "out_features to 10\n")


def test_one_logit_fits_two_classes_with_bce_but_not_more(capsys, tmp_path: Path) -> None:
    single = moons_file(tmp_path, "single.loom", fc2=1, loss={"name": "bce_logits"})
    code, out, _ = run(capsys, "validate", str(single))
    assert code == 0, out
    pair = moons_file(tmp_path, "pair.loom", fc2=2, loss={"name": "bce_logits"})
    code, out, _ = run(capsys, "validate", str(pair))
    assert code == 1
    assert "needs one logit per label (1 per sample): set Linear 'fc2' out_features to 1" in out
    blobs = moons_file(tmp_path, "blobs.loom", fc2=1, loss={"name": "bce_logits"},
                       data={"name": "blobs", "options": {"classes": 3, "n_samples": 60}})
    code, out, _ = run(capsys, "validate", str(blobs))
    assert code == 1
    assert "the bce_logits loss tells two classes apart, but the task classification on " \
           "'blobs' has 3 classes" in out


def test_more_scores_than_classes_is_a_warning(capsys, tmp_path: Path) -> None:
    path = moons_file(tmp_path, fc2=10)
    code, out, _ = run(capsys, "validate", str(path))
    assert code == 0
    assert out.splitlines()[0] == (
        "main:fc2: warning: Output of 'main' gives 10 scores per sample but the task "
        "classification on 'moons' has only 2 classes, so 8 of them never match a label: set "
        "Linear 'fc2' out_features to 2")


def test_one_label_per_time_step_needs_a_score_per_step_and_class() -> None:
    doc = moons_mlp()
    net = doc.network("main")
    output = next(n for n in net.nodes() if n.type == "Output")
    out = infer_network(net)[output.id].out
    facts = DataFacts("copy", 10, (8,), "sequence_class", (8,), 10)
    (found,) = output_fit(net, out, doc.training, facts)
    assert found.severity == "error" and found.node == net.source_of(output.id, "x")
    assert "needs N×8×10" in found.message


def test_a_task_the_targets_do_not_suit_is_an_error_in_validate(capsys, tmp_path: Path) -> None:
    path = moons_file(tmp_path, task="regression", loss={"name": "mse"})
    code, out, _ = run(capsys, "validate", str(path))
    assert code == 1
    assert out.splitlines()[0] == ("training: the task does not fit the data: moons has class "
                                   "targets; use classification, or read the target as values")


def test_a_data_set_that_cannot_load_is_a_warning_in_validate(capsys, tmp_path: Path) -> None:
    path = moons_file(tmp_path, data={"name": "csv", "options": {"path": "absent.csv"}})
    code, out, _ = run(capsys, "validate", str(path))
    assert code == 0
    assert out.startswith("training: warning: the data cannot be checked against the network: "
                          "CSV: file not found")


# -- case 10: memory -------------------------------------------------------------------
def wide_moons(folder: Path) -> Path:
    """The issue's layer: a million features on moons (on the CPU, whatever the machine)."""
    doc = moons_mlp(device="cpu")
    set_param(doc, "fc1", out_features=1_000_000)
    path = folder / "wide.loom"
    save_graph(doc, path)
    return path


def free_ram(monkeypatch: pytest.MonkeyPatch, n: int) -> None:
    monkeypatch.setattr("runtime.preflight._free_ram", lambda: n)


def test_validate_refuses_a_run_larger_than_memory(capsys, tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    free_ram(monkeypatch, GB // 2)
    code, out, _ = run(capsys, "validate", str(wide_moons(tmp_path)))
    assert code == 1
    line = out.splitlines()[0]
    assert line.startswith("main:fc1: training needs about 592.0 MB (weights 20.0 MB, ")
    assert line.endswith("but the computer has only 500.0 MB free: make Linear 'fc1' smaller "
                         "(1,000,000 values per sample, 3,000,000 weights) or lower the batch "
                         "size (32)")


def test_validate_warns_above_half_of_memory(capsys, tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    free_ram(monkeypatch, GB)
    code, out, _ = run(capsys, "validate", str(wide_moons(tmp_path)))
    assert code == 0
    assert out.startswith("main:fc1: warning: training needs about 592.0 MB")
    assert "more than half of the 1.0 GB the computer has free" in out


def test_train_refuses_before_allocating(capsys, tmp_path: Path,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    free_ram(monkeypatch, GB // 2)
    code, _, err = run(capsys, "train", str(wide_moons(tmp_path)), "--epochs", "1", "--out",
                       str(tmp_path / "out"))
    assert code == 1
    assert err.startswith("error: training needs about 592.0 MB") and "Linear 'fc1'" in err
    assert not (tmp_path / "out").exists()


def test_summary_shows_the_memory_estimate(capsys, tmp_path: Path) -> None:
    code, out, _ = run(capsys, "summary", str(wide_moons(tmp_path)))
    assert code == 0
    assert out.splitlines()[-1].startswith("Training memory: about 8.3 GB (weights 20.0 MB")
    assert out.rstrip().endswith("the largest layer is Linear 'fc1'")


def test_memory_estimate_hand_counted() -> None:
    doc = Document.new()
    b = NetworkBuilder(doc)
    b.add("Output", b.add("Linear", b.add("Input", shape=[2]), out_features=3, label="fc"))
    doc.set_training(training(batch_size=4))  # adam: two values per weight
    estimate = estimate_memory(doc)
    weights = (2 * 3 + 3) * 4
    assert (estimate.weights, estimate.gradients, estimate.optimizer) == \
        (weights, weights, 2 * weights)
    assert estimate.train_activations == (2 + 3) * 4 * 2 * 4  # Input + Linear, kept + grads
    assert estimate.eval_activations == (2 + 3) * 1024 * 4
    assert estimate.total == 4 * weights + (2 + 3) * 1024 * 4
    facts = DataFacts("moons", 10, (2,), "class", (), 2)  # split 7 / 2 / 1 (0.7, 0.15, 0.15)
    small = estimate_memory(doc, data=facts)
    assert small.eval_batch == 2 and small.data == 10 * (2 * 4 + 8)
    assert small.total == 4 * weights + small.data + (2 + 3) * 4 * 2 * 4
    assert small.largest is not None and small.largest.title == "Linear 'fc'"
    doc.set_training(training(batch_size=4, networks={"main": {"optimizer": {
        "name": "sgd", "momentum": 0.0}}}))
    assert estimate_memory(doc).optimizer == 0
    assert format_bytes(950) == "950 B" and format_bytes(1_250_000) == "1.2 MB"


def test_attention_weights_count_as_activations() -> None:
    doc = Document.new()
    b = NetworkBuilder(doc)
    x = b.add("Input", shape=[16, 8])
    b.add("Output", b.add("MultiheadAttention", x, num_heads=4, label="attn"))
    doc.set_training(training(batch_size=2))
    kept = 16 * 8 + 16 * 8 + 2 * 4 * 16 * 16  # input, output, weights before/after softmax
    assert estimate_memory(doc).train_activations == kept * 2 * 2 * 4


# -- case 10: an allocation that fails during the run ----------------------------------
ALLOC = ("DefaultCPUAllocator: can't allocate memory: you tried to allocate 4000000000 bytes. "
         "Error code 12 (Cannot allocate memory)")


def failing_linear(monkeypatch: pytest.MonkeyPatch, error: Exception,
                   evaluation_only: bool = False) -> None:
    real = torch.nn.functional.linear

    def linear(x: torch.Tensor, *args: Any) -> torch.Tensor:
        if x.shape[-1] == 16 and (torch.is_grad_enabled() != evaluation_only):
            raise error
        return real(x, *args)

    monkeypatch.setattr(torch.nn.modules.linear.F, "linear", linear)


@pytest.mark.parametrize("error", [RuntimeError(ALLOC), MemoryError()])
def test_an_allocation_failure_while_training_names_the_node(
        capsys, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, error: Exception) -> None:
    path = moons_file(tmp_path, device="cpu")
    failing_linear(monkeypatch, error)
    code, _, err = run(capsys, "train", str(path), "--epochs", "1", "--out",
                       str(tmp_path / "out"))
    last = err.splitlines()[-1]  # after the progress lines
    assert code == 1
    assert last.startswith("error: ran out of memory in Linear 'fc2' in epoch 1 (")
    assert last.endswith("lower the batch size (32) or make Linear 'fc2' smaller")


def test_an_allocation_failure_while_evaluating_names_the_node(
        capsys, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = moons_file(tmp_path, device="cpu")
    failing_linear(monkeypatch, RuntimeError(ALLOC), evaluation_only=True)
    code, _, err = run(capsys, "train", str(path), "--epochs", "1", "--out",
                       str(tmp_path / "out"))
    assert code == 1
    assert err.splitlines()[-1] == (
        f"error: ran out of memory in Linear 'fc2' evaluating the validation split ({ALLOC}): "
        "lower the batch size (32) or make Linear 'fc2' smaller")


def test_evaluate_on_data_with_more_classes_says_so(capsys, tmp_path: Path) -> None:
    trained = moons_file(tmp_path, "moons.loom")
    assert run(capsys, "train", str(trained), "--epochs", "1", "--out", str(tmp_path / "out"))[0] \
        == 0
    rng = np.random.default_rng(0)
    np.savez(tmp_path / "ten.npz", x=rng.normal(size=(40, 2)).astype(np.float32),
             y=np.arange(40) % 10)
    other = moons_file(tmp_path, "ten.loom", data={"name": "npz", "options": {"path": "ten.npz"},
                                                   "split": {"stratify": False}})
    code, _, err = run(capsys, "evaluate", str(other), "--weights",
                       str(tmp_path / "out" / "model.safetensors"))
    assert code == 1
    assert err.startswith("error: Output of 'main' gives 2 scores per sample but the task "
                          "classification on 'npz' has 10 classes")


def test_a_run_above_half_of_memory_starts_with_a_warning(tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    from runtime.trainer import RunOptions, Trainer

    free_ram(monkeypatch, GB)
    events: list[dict[str, Any]] = []
    doc = load_graph(wide_moons(tmp_path))
    Trainer(doc, RunOptions(epochs=1, max_steps_per_epoch=1, activations=False),
            sink=events.append).run()
    (started,) = [e for e in events if e["type"] == "started"]
    assert started["note"].startswith("training needs about 592.0 MB")
    assert "more than half of the 1.0 GB the computer has free" in started["note"]


def test_a_made_up_set_is_described_without_making_all_of_it(monkeypatch) -> None:
    import runtime.preflight as preflight

    asked: list[dict[str, Any]] = []
    load = preflight.load_dataset

    def recording(name: str, options: dict[str, Any], base_dir: Path | None = None) -> Any:
        asked.append(dict(options))
        return load(name, options, base_dir)

    monkeypatch.setattr(preflight, "load_dataset", recording)
    spec = training(task="regression", loss={"name": "mse"}, data={
        "name": "sine", "options": {"n_samples": 1_000_000, "length": 512}})
    facts = preflight.describe_data(spec)
    assert asked == [{"n_samples": 64, "length": 512}]
    assert (facts.samples, facts.sample_shape, facts.target_shape) == (1_000_000, (512, 1), (1,))
