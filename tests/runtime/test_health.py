"""Health warnings: each fires on a small network built to show it, in a real short run,
and none fires on the gallery's examples trained briefly with their own settings."""

from __future__ import annotations

import re
from contextlib import ExitStack
from pathlib import Path
from typing import Any
from unittest.mock import patch

import numpy as np
import pytest
from helpers import training

from graph import Document, NetworkBuilder, load_graph
from graph.commands import SetParam
from runtime import trainer as trainer_module
from runtime.inspect import probes
from runtime.inspect.health import HealthMonitor, HealthWarning
from runtime.trainer import RunOptions, Trainer, TrainingFailed

EXAMPLES = sorted((Path(__file__).resolve().parents[2] / "resources" / "examples").glob("*.loom"))
# mlp_iris in full: its 22 validation samples make the noisiest validation loss of the
# gallery (the over-fitting check's hardest case); the others shortened to 8 epochs
FAST_EXAMPLES = (("mlp_iris", None), ("gan_ring", 8), ("rnn_sine", 8))
MOONS = {"name": "moons", "options": {"n_samples": 240, "noise": 0.1}}


def mlp(layers: int = 2, act: str = "ReLU", width: int = 16, features: int = 2,
        outputs: int = 2, **settings: Any) -> Document:
    """Input → (Linear fcN → act actN) × layers → Linear 'head' → Output."""
    doc = Document.new()
    b = NetworkBuilder(doc)
    h = b.add("Input", shape=[features], label="point")
    for i in range(1, layers + 1):
        h = b.add(act, b.add("Linear", h, out_features=width, label=f"fc{i}"), label=f"act{i}")
    b.add("Output", b.add("Linear", h, out_features=outputs, label="head"), label="out")
    fields: dict[str, Any] = {"task": "classification", "data": MOONS, "epochs": 3,
                              "networks": {"main": {"optimizer": {"name": "adam", "lr": 0.02}}}}
    fields.update(settings)
    doc.set_training(training(**fields))
    return doc


def sgd(lr: float) -> dict[str, Any]:
    return {"main": {"optimizer": {"name": "sgd", "lr": lr}}}


def watch(doc: Document, every_epoch: bool = True, events: list[Any] | None = None,
          **options: Any) -> list[HealthWarning]:
    """Train ``doc`` (one thread, a step event per step) and feed its events, and the
    failure the runner would send, to a monitor."""
    monitor = HealthMonitor(doc)
    seen = events if events is not None else []

    def sink(event: Any) -> None:
        seen.append(event)
        monitor.feed(event)

    with ExitStack() as stack:
        if every_epoch:  # activation probes at each epoch's end, whatever the machine's speed
            stack.enter_context(patch.object(trainer_module, "PROBE_SHARE", 1.0))
        # the other views' probes (boundary, embeddings…) feed no warning: skip their cost
        stack.enter_context(patch.object(probes, "factories", list))
        try:
            Trainer(doc, RunOptions(step_interval=0, threads=1, **options), sink=sink).run()
        except TrainingFailed as exc:
            monitor.feed({"type": "failed", "message": str(exc), "node": exc.node_id,
                          "network": exc.network})
    return monitor.warnings


def node_id(doc: Document, label: str) -> str:
    return next(n.id for n in doc.network("main").nodes() if n.label == label)


def of_kind(warnings: list[HealthWarning], kind: str) -> list[HealthWarning]:
    return [w for w in warnings if w.kind == kind]


def test_dead_relus_are_named_after_too_large_a_step() -> None:
    doc = mlp(networks=sgd(5.0))
    dead = of_kind(watch(doc), "dead_units")
    assert [w.node for w in dead] == [node_id(doc, "act2")]
    assert "ReLU 'act2'" in dead[0].message and "never active" in dead[0].message
    assert dead[0].network == "main" and dead[0].epoch == 1


def test_vanishing_gradients_in_a_deep_sigmoid_stack() -> None:
    doc = mlp(layers=10, act="Sigmoid", epochs=1)
    found = of_kind(watch(doc, every_epoch=False, activations=False), "vanishing_gradients")
    assert [w.node for w in found] == [node_id(doc, "fc1")]
    assert "Linear 'fc1'" in found[0].message and "ReLU" in found[0].message


def big_targets_csv(folder: Path) -> Path:
    """One feature, targets in the hundreds of thousands (left unnormalised)."""
    rng = np.random.default_rng(0)
    x = rng.uniform(-3, 3, 300)
    y = 1e5 * (np.sin(x) + 0.1 * rng.normal(size=300))
    path = folder / "big.csv"
    path.write_text("x,y\n" + "".join(f"{a},{b}\n" for a, b in zip(x, y, strict=True)))
    return path


def regression(path: Path, **settings: Any) -> Document:
    data = {"name": "csv", "options": {"path": str(path), "target": "y"}}
    return mlp(layers=1, features=1, outputs=1, task="regression", loss={"name": "mse"},
               data=data, **settings)


def test_exploding_gradients_from_huge_targets(tmp_path: Path) -> None:
    doc = regression(big_targets_csv(tmp_path), epochs=1)
    found = of_kind(watch(doc, activations=False), "exploding_gradients")
    assert len(found) == 1 and found[0].epoch == 1
    assert "Exploding gradients" in found[0].message and "clipping" in found[0].message


def test_a_too_high_learning_rate_makes_the_loss_diverge() -> None:
    found = of_kind(watch(mlp(networks={"main": {"optimizer": {"name": "adam", "lr": 0.5}}}),
                          activations=False), "diverging")
    assert len(found) == 1 and found[0].node is None
    assert "learning rate is probably too high" in found[0].message


def test_a_tiny_learning_rate_leaves_the_loss_flat() -> None:
    doc = mlp(networks=sgd(1e-5), batch_size=16)
    found = of_kind(watch(doc, activations=False), "flat")
    assert len(found) == 1 and found[0].epoch == 3
    assert "learning rate may be too low" in found[0].message


def test_a_flat_loss_with_frozen_layers_names_them() -> None:
    doc = mlp(networks=sgd(1e-5), batch_size=16)
    for label in ("fc1", "fc2"):
        SetParam("main", node_id(doc, label), "trainable", False).apply(doc)
    found = of_kind(watch(doc, activations=False), "flat")
    assert [w.node for w in found] == [node_id(doc, "fc1")]
    assert "Linear 'fc1', Linear 'fc2' are frozen" in found[0].message


def test_over_fitting_says_the_epoch_it_began() -> None:
    data = {"name": "moons", "options": {"n_samples": 100, "noise": 0.35},
            "split": {"train": 0.3, "val": 0.7, "test": 0.0}}
    events: list[Any] = []
    found = of_kind(watch(mlp(width=128, data=data, epochs=40, batch_size=16,
                              networks={"main": {"optimizer": {"name": "adam", "lr": 0.01}}}),
                          events=events, activations=False), "overfitting")
    assert len(found) == 1
    val = [e["val_loss"] for e in events if e["type"] == "epoch"][:found[0].epoch]
    best = 1 + int(np.argmin(val))  # the epoch of the lowest validation loss until then
    assert f"Over-fitting since epoch {best + 1}: the validation loss, lowest at epoch {best} " \
        in found[0].message
    assert 1 < best < found[0].epoch
    train = [e["train_loss"] for e in events if e["type"] == "epoch"]
    assert train[found[0].epoch - 1] < train[best - 1]
    assert "has risen to" in found[0].message and "memorising" in found[0].message


def test_non_finite_values_name_the_first_node_that_made_them() -> None:
    doc = Document.new()
    b = NetworkBuilder(doc)
    h = b.add("Linear", b.add("Input", shape=[2], label="point"), out_features=8, label="fc1")
    for i in range(1, 8):  # 1e6 each: past float32's 3e38 at the seventh
        h = b.add("Scale", h, factor=1e6, label=f"boost{i}")
    b.add("Output", b.add("Linear", h, out_features=2, label="head"), label="out")
    doc.set_training(training(task="classification", data=MOONS, epochs=1))
    found = of_kind(watch(doc, activations=False), "nonfinite")
    assert [w.node for w in found] == [node_id(doc, "boost7")]
    assert "Scale 'boost7' produced NaN or infinite values" in found[0].message


def test_each_warning_is_given_once() -> None:
    monitor = HealthMonitor()
    monitor.feed({"type": "started", "task": "classification"})
    step = {"type": "step", "epoch": 1, "step": 1, "steps": 10, "loss": 0.7,
            "grad_norms": {"main": {"a": 1e5, "b": 1.0}}}
    assert monitor.feed(step) == []  # one large gradient is not yet exploding
    assert [w.kind for w in monitor.feed(step)] == ["exploding_gradients"]
    assert monitor.feed(step) == []
    assert [w.kind for w in monitor.warnings] == ["exploding_gradients"]
    monitor.feed({"type": "started", "task": "classification"})  # a new run
    assert monitor.warnings == []


def gallery_warnings(path: Path, epochs: int | None = None) -> list[HealthWarning]:
    """The example with its own settings (all its epochs unless ``epochs``) but at most 10
    steps an epoch, probes at every epoch's end."""
    doc = load_graph(path)
    return watch(doc, epochs=epochs, max_steps_per_epoch=10)


@pytest.mark.parametrize(("name", "epochs"), FAST_EXAMPLES)
def test_no_warning_on_gallery_examples(name: str, epochs: int | None) -> None:
    path = next(p for p in EXAMPLES if p.stem == name)
    assert gallery_warnings(path, epochs) == []


@pytest.mark.slow
@pytest.mark.parametrize("path", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_no_warning_on_any_gallery_example(path: Path) -> None:
    assert gallery_warnings(path) == []


def test_the_command_line_prints_each_warning_once(tmp_path: Path, capsys: Any) -> None:
    from graph import save_graph
    from runtime.cli import main

    graph_file = tmp_path / "hot.loom"
    save_graph(mlp(networks={"main": {"optimizer": {"name": "adam", "lr": 0.5}}}), graph_file)
    assert main(["train", str(graph_file), "--out", str(tmp_path / "out"), "--threads", "1"]) == 0
    err = capsys.readouterr().err
    assert err.count("The loss is rising") == 1
    assert re.search(r"\nwarning, epoch \d: The loss is rising: .*too high", err)


@pytest.mark.slow
@pytest.mark.parametrize("name", ["mlp_moons", "mlp_iris", "lstm_digits", "cnn_digits",
                                  "rnn_sine"])
def test_no_warning_on_whole_runs_of_the_small_examples(name: str) -> None:
    """Every step of every epoch, as the window trains them (the noisy validation losses of
    long runs are where an over-fitting check goes wrong)."""
    doc = load_graph(next(p for p in EXAMPLES if p.stem == name))
    assert watch(doc) == []
