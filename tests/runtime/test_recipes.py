"""Every task, loss, optimizer and schedule trains on tiny data for a few steps."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from helpers import moons_mlp, training

from graph import Document, NetworkBuilder
from runtime.evaluate import evaluate_document, predict
from runtime.trainer import RunOptions, Trainer, TrainingFailed

SHORT = {"epochs": 2, "max_steps_per_epoch": 4}


def _run(doc: Document, **options) -> tuple[dict, list[dict]]:
    events: list[dict] = []
    result = Trainer(doc, RunOptions(**{**SHORT, **options}), sink=events.append).run()
    assert result.status == "completed"
    for key, value in result.metrics.items():
        if isinstance(value, float):
            assert math.isfinite(value), key
    return result.metrics, events


@pytest.mark.parametrize("optimizer", ["sgd", "adam", "adamw", "rmsprop", "adagrad"])
def test_every_optimizer(optimizer: str) -> None:
    doc = moons_mlp(networks={"main": {"optimizer": {"name": optimizer, "lr": 0.01,
                                                     "nesterov": True}}})
    metrics, _ = _run(doc)
    assert "test_accuracy" in metrics


@pytest.mark.parametrize("schedule", ["none", "step", "cosine", "onecycle", "plateau"])
def test_every_schedule_changes_the_learning_rate_as_it_should(schedule: str) -> None:
    # A plateau needs a loss that stops improving: a learning rate too small to move it.
    lr = 1e-7 if schedule == "plateau" else 0.1
    doc = moons_mlp(networks={"main": {
        "optimizer": {"name": "sgd", "lr": lr},
        "schedule": {"name": schedule, "step_size": 1, "gamma": 0.5, "patience": 0}}})
    _, events = _run(doc, epochs=3)
    lrs = [e["lr"]["main"] for e in events if e["type"] == "epoch"]
    if schedule == "none":
        assert lrs == [0.1, 0.1, 0.1]
    elif schedule == "step":
        assert lrs == pytest.approx([0.05, 0.025, 0.0125])
    elif schedule == "plateau":
        assert lrs[0] == lr and lrs[-1] < lr
    else:
        assert lrs[-1] != 0.1


def _classifier(loss: str, outputs: int, last: str | None = None) -> Document:
    doc = Document.new()
    b = NetworkBuilder(doc)
    h = b.add("ReLU", b.add("Linear", b.add("Input", shape=[2]), out_features=16))
    h = b.add("Linear", h, out_features=outputs)
    if last:
        h = b.add(last, h)
    b.add("Output", h)
    doc.set_training(training(task="classification", loss={"name": loss, "label_smoothing": 0.1
                                                            if loss == "cross_entropy" else 0},
                              data={"name": "moons", "options": {"n_samples": 200}},
                              networks={"main": {"optimizer": {"lr": 0.02}}}))
    return doc


@pytest.mark.parametrize(("loss", "outputs", "last"),
                         [("cross_entropy", 2, None), ("nll", 2, "LogSoftmax"),
                          ("bce_logits", 1, None)])
def test_classification_losses(loss: str, outputs: int, last: str | None) -> None:
    metrics, _ = _run(_classifier(loss, outputs, last), epochs=4, max_steps_per_epoch=None)
    assert metrics["test_accuracy"] > 0.6


def test_single_logit_classifier_reports_both_classes(tmp_path: Path) -> None:
    # one output read as P(class 1): a confident class-0 prediction must read as such
    doc = _classifier("bce_logits", 1, None)
    _run(doc, epochs=4, max_steps_per_epoch=None, out_dir=tmp_path)
    report = evaluate_document(doc, tmp_path / "model.safetensors")
    shown = report["examples"]
    assert {e["predicted"] for e in shown} == {"0", "1"}
    assert all(0.5 <= e["confidence"] <= 1 for e in shown)
    points = tmp_path / "points.npy"
    np.save(points, np.array([[-1.0, 0.5], [2.0, -0.5]], dtype=np.float32))
    for row in predict(doc, tmp_path / "model.safetensors", points):
        classes = {c["class"]: c["probability"] for c in row["classes"]}
        assert set(classes) == {"0", "1"}
        assert sum(classes.values()) == pytest.approx(1.0)
    top = [row["classes"][0]["class"] for row in predict(doc, tmp_path / "model.safetensors",
                                                          points)]
    assert top == ["0", "1"]  # the two moons' far ends


@pytest.mark.parametrize("loss", ["mse", "l1", "huber"])
def test_regression_on_sine_forecasting(loss: str) -> None:
    doc = Document.new()
    b = NetworkBuilder(doc)
    h = b.add("RNN", b.add("Input", shape=[12, 1]), hidden_size=16)
    b.add("Output", b.add("Linear", h, out_features=1))
    doc.set_training(training(task="regression", loss={"name": loss},
                              data={"name": "sine", "options": {"n_samples": 300,
                                                                "length": 12}}))
    metrics, events = _run(doc)
    assert {"test_mse", "test_mae", "test_r2"} <= set(metrics)
    losses = [e["train_loss"] for e in events if e["type"] == "epoch"]
    assert len(losses) == 2


def test_regression_on_logits_is_judged_on_their_sigmoid() -> None:
    import torch

    from runtime.recipes.supervised import RegressionRecipe

    recipe = RegressionRecipe({"main": torch.nn.Linear(1, 1)},
                              training(task="regression", loss={"name": "bce_logits"}))
    metrics = recipe.metrics(torch.zeros(4, 1), torch.full((4, 1), 0.5))  # sigmoid(0) = 0.5
    assert metrics["mse"] == 0.0 and metrics["mae"] == 0.0


def test_sequence_classification_per_time_step() -> None:
    doc = Document.new()
    b = NetworkBuilder(doc)
    h = b.add("Embedding", b.add("Input", shape=[5], kind="tokens", vocab_size=10),
              embedding_dim=16)
    h = b.add("TransformerEncoderLayer", b.add("PositionalEncoding", h), nhead=2,
              dim_feedforward=32)
    b.add("Output", b.add("Linear", h, out_features=10))
    doc.set_training(training(task="classification",
                              data={"name": "reverse", "options": {"length": 5, "vocab": 10,
                                                                   "n_samples": 200}}))
    metrics, _ = _run(doc)
    assert 0 <= metrics["test_sequence_accuracy"] <= metrics["test_accuracy"] <= 1


def _autoencoder(loss: str = "mse") -> Document:
    doc = Document.new()
    b = NetworkBuilder(doc)
    h = b.add("Flatten", b.add("Input", shape=[1, 8, 8]))
    code = b.add("Linear", b.add("ReLU", b.add("Linear", h, out_features=32)), out_features=2,
                 label="code")
    h = b.add("Linear", b.add("ReLU", b.add("Linear", code, out_features=32)), out_features=64)
    b.add("Output", b.add("Reshape", h, shape=[1, 8, 8]))
    doc.set_training(training(task="autoencoder", loss={"name": loss},
                              data={"name": "digits", "normalize": "unit"}))
    return doc


def test_autoencoder_reconstructs_and_reports(tmp_path: Path) -> None:
    doc = _autoencoder()
    metrics, events = _run(doc, out_dir=tmp_path)
    assert "test_reconstruction_mse" in metrics
    recon = next(e for e in events if e["type"] == "samples")
    assert recon["kind"] == "reconstruction" and recon["shape"] == [1, 8, 8]
    assert len(recon["inputs"]) == len(recon["values"]) == 8
    report = evaluate_document(doc, tmp_path / "model.safetensors")
    assert report["reconstruction_mse"] == pytest.approx(metrics["test_reconstruction_mse"],
                                                         rel=1e-4)
    assert report["code_layer"] == "Linear 'code'" and report["code_size"] == 2
    assert 0.1 <= report["code_knn_accuracy"] <= 1.0  # ten classes: chance is 0.1
    assert 0.3 <= report["pca_knn_accuracy"] <= 0.8  # PCA to 2-D gives about 0.6


def test_autoencoder_on_logits_is_evaluated_on_their_sigmoid(tmp_path: Path) -> None:
    # bce_logits outputs logits; training, evaluation, previews and predictions all show
    # sigmoid(logits), the pixels it reconstructs
    doc = _autoencoder("bce_logits")
    metrics, events = _run(doc, out_dir=tmp_path)
    report = evaluate_document(doc, tmp_path / "model.safetensors")
    assert report["reconstruction_mse"] == pytest.approx(metrics["test_reconstruction_mse"],
                                                         rel=1e-4)
    previews = [v for e in events if e["type"] == "samples" for row in e["values"] for v in row]
    assert previews and all(0 < v < 1 for v in previews)
    images = tmp_path / "images.npy"
    np.save(images, np.full((2, 1, 8, 8), 8.0, dtype=np.float32))  # raw digits pixels: 0..16
    predicted = [v for row in predict(doc, tmp_path / "model.safetensors", images)
                 for v in row["values"]]
    assert len(predicted) == 128 and all(0 < v < 1 for v in predicted)


def _ring_gan() -> Document:
    doc = Document.new("generator")
    g = NetworkBuilder(doc, "generator")
    h = g.add("ReLU", g.add("Linear", g.add("Noise", size=8), out_features=32))
    g.add("Output", g.add("Linear", h, out_features=2))
    d = NetworkBuilder(doc, "discriminator")
    h = d.add("LeakyReLU", d.add("Linear", d.add("Input", shape=[2]), out_features=32),
              negative_slope=0.2)
    d.add("Output", d.add("Linear", h, out_features=1))
    doc.set_training(training(
        task="gan", gan={"generator": "generator", "discriminator": "discriminator"},
        networks={"generator": {"optimizer": {"lr": 0.001}},
                  "discriminator": {"optimizer": {"lr": 0.001}}},
        data={"name": "ring", "options": {"n_samples": 400}, "normalize": "none"}))
    return doc


def test_gan_trains_two_networks_and_reports_mode_coverage(tmp_path: Path) -> None:
    doc = _ring_gan()
    metrics, events = _run(doc, out_dir=tmp_path)
    assert {"train_d_loss", "train_g_loss", "val_d_accuracy"} <= set(metrics) or \
        {"val_d_loss", "val_g_loss"} <= set(metrics)
    samples = next(e for e in events if e["type"] == "samples")
    assert samples["kind"] == "generated" and samples["shape"] == [2]
    acts = next(e for e in events if e["type"] == "activations")["networks"]
    assert set(acts) == {"generator", "discriminator"}
    report = evaluate_document(doc, tmp_path / "model.safetensors")
    assert report["modes"] == 8 and 0 <= report["modes_covered"] <= 8
    assert 0.0 <= report["high_quality_share"] <= 1.0


def test_mixed_precision_on_cpu_falls_back_with_a_note() -> None:
    doc = moons_mlp(precision="bf16")
    _, events = _run(doc)
    started = events[0]
    assert started["device"] == "cpu" and "fp32" in started["note"]


def test_asking_for_a_missing_gpu_is_a_clear_error() -> None:
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    with pytest.raises(TrainingFailed, match="no CUDA GPU"):
        Trainer(moons_mlp(device="cuda"), RunOptions(epochs=1)).run()


def test_a_loss_that_does_not_fit_the_task_is_refused() -> None:
    doc = moons_mlp(loss={"name": "mse"})
    with pytest.raises(TrainingFailed, match="does not fit classification"):
        Trainer(doc, RunOptions(epochs=1)).run()
