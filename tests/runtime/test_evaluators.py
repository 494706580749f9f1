"""The shipped evaluator classifier: accuracy, distance baselines, and GAN reports on digits."""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from helpers import training

from graph import Document, NetworkBuilder
from graph.training import DataSpec
from runtime.data import PreparedData, prepare
from runtime.evaluate import Trained, _evaluator_report, evaluate_document
from runtime.evaluators import (
    EvaluatorError,
    EvaluatorInfo,
    evaluator_for,
    evaluator_info,
    load_evaluator,
    register,
)
from runtime.evaluators.evaluator import features_distance
from runtime.run_data import load_run_data
from runtime.trainer import RunOptions, Trainer


@pytest.fixture(scope="module")
def digits() -> PreparedData:
    """The digits splits a document with the default data section gets."""
    return prepare(DataSpec(name="digits"), "classification")


def _raw(data: PreparedData, split: str) -> np.ndarray:
    return data.dataset.x[data.split(split).indices]


def test_the_shipped_evaluator_classifies_the_digits_test_split(digits: PreparedData) -> None:
    evaluator = evaluator_for("digits")
    assert evaluator is not None
    labels = digits.dataset.y[digits.test.indices]
    accuracy = evaluator.accuracy(_raw(digits, "test"), labels)
    print(f"digits evaluator test accuracy: {accuracy:.4f}")
    assert accuracy >= 0.98


def test_real_vs_real_is_small_and_noise_vs_real_is_large(digits: PreparedData) -> None:
    evaluator = evaluator_for("digits")
    assert evaluator is not None
    test = _raw(digits, "test")
    report = evaluator.report(generated=_raw(digits, "val"), real=test,
                              train=_raw(digits, "train"))
    real, noise = report["frechet_real_vs_real"], report["frechet_noise_vs_real"]
    print(f"digits Fréchet distances: real train vs test {real:.2f}, noise vs test "
          f"{noise:.2f}, real val vs test {report['frechet_distance']:.2f}")
    assert 1.0 < real < 8.0
    assert 150.0 < noise < 600.0
    # Real held-out images pass the judging bar an example GAN is held to.
    assert report["evaluator_confidence"] >= 0.95
    assert report["evaluator_classes_covered"] == 10
    assert report["frechet_distance"] < 20.0


def test_judging_a_thousand_images_takes_under_a_second() -> None:
    evaluator = evaluator_for("digits")
    assert evaluator is not None
    images = evaluator.noise_images(1000)
    timings = []
    for _ in range(3):  # the best of three: this machine is shared with other work
        start = time.perf_counter()
        judged = evaluator.judge(images)
        timings.append(time.perf_counter() - start)
    assert min(timings) < 1.0
    assert judged.probs.shape == (1000, 10) and judged.features.shape == (1000, 64)
    assert np.allclose(judged.probs.sum(axis=1), 1.0, atol=1e-5)


def test_pixels_outside_the_value_range_are_clipped() -> None:
    evaluator = evaluator_for("digits")
    assert evaluator is not None
    images = evaluator.noise_images(20)
    wild = np.where(images > 8, images + 100.0, images - 100.0)
    assert np.array_equal(evaluator.judge(wild).probs,
                          evaluator.judge(np.where(images > 8, 16.0, 0.0)).probs)


def test_data_sets_without_an_evaluator_have_none() -> None:
    assert evaluator_for("moons") is None
    assert evaluator_info("mnist") is None


def test_a_second_evaluator_for_a_data_set_is_refused() -> None:
    info = evaluator_info("digits")
    assert info is not None
    with pytest.raises(ValueError, match="already registered"):
        register(info)


def test_a_missing_evaluator_file_is_a_clear_error(tmp_path: Path) -> None:
    info = evaluator_info("digits")
    assert info is not None
    with pytest.raises(EvaluatorError, match=r"missing.*train_evaluators\.py"):
        load_evaluator(dataclasses.replace(info, folder=tmp_path))


def test_the_evaluator_is_an_ordinary_layerloom_graph() -> None:
    info = evaluator_info("digits")
    assert isinstance(info, EvaluatorInfo)
    evaluator = load_evaluator(info)
    assert evaluator.preprocessing.dataset == "digits"
    assert evaluator.value_range == (0.0, 16.0)
    assert "self.head(" in evaluator.module.code


def _tiny_digits_gan(data: dict[str, object] | None = None) -> Document:
    doc = Document.new("generator")
    g = NetworkBuilder(doc, "generator")
    h = g.add("Linear", g.add("Noise", size=16), out_features=64)
    g.add("Output", g.add("Tanh", g.add("Reshape", h, shape=[1, 8, 8])))
    d = NetworkBuilder(doc, "discriminator")
    h = d.add("Linear", d.add("Flatten", d.add("Input", shape=[1, 8, 8])), out_features=64)
    d.add("Output", d.add("Linear", d.add("LeakyReLU", h, negative_slope=0.2), out_features=1))
    doc.set_training(training(
        task="gan", epochs=1, batch_size=64,
        gan={"generator": "generator", "discriminator": "discriminator"},
        networks={"generator": {"optimizer": {"lr": 0.001}},
                  "discriminator": {"optimizer": {"lr": 0.001}}},
        data=data or {"name": "digits"}))
    return doc


def test_a_digits_gan_report_has_the_evaluator_numbers_and_baselines(tmp_path: Path) -> None:
    doc = _tiny_digits_gan()
    result = Trainer(doc, RunOptions(out_dir=tmp_path, device="cpu", activations=False)).run()
    assert result.status == "completed"
    report = evaluate_document(doc, tmp_path / "model.safetensors")
    print({k: v for k, v in report.items() if k != "evaluator_class_shares"})
    assert "note" not in report
    assert report["evaluator"] == "digits" and report["evaluator_classes"] == 10
    assert 0.1 <= report["evaluator_confidence"] <= 1.0
    assert 1 <= report["evaluator_classes_covered"] <= 10
    assert sum(report["evaluator_class_shares"]) == pytest.approx(1.0)
    real, noise = report["frechet_real_vs_real"], report["frechet_noise_vs_real"]
    assert 0 < real < 20 < noise
    # One epoch of a linear generator is far from the data, however it turned out.
    assert real < report["frechet_distance"] < 1e4
    assert report["generated"] == len(load_run_data(doc, doc.training, torch.device("cpu"))
                                      .train_x)


def test_generated_samples_are_judged_in_raw_pixel_values() -> None:
    """Samples in model space ([-1, 1] for a Tanh generator) are inverted to 0..16 first:
    the real train split fed in as 'generated' scores like real data."""
    doc = _tiny_digits_gan()
    data = load_run_data(doc, doc.training, torch.device("cpu"))
    assert data.prepared.preprocessing.kind == "symmetric"
    evaluator = evaluator_for("digits")
    assert evaluator is not None
    trained = Trained({}, data.prepared.preprocessing)
    report = _evaluator_report(evaluator, data, trained, data.train_x, data.test_x)
    assert report["evaluator_confidence"] >= 0.95
    assert report["frechet_distance"] == pytest.approx(report["frechet_real_vs_real"], rel=1e-6)
    judged = evaluator.judge(np.asarray(data.prepared.preprocessing.invert(data.test_x.numpy())))
    assert features_distance(judged, judged) == pytest.approx(0.0, abs=1e-6)


def test_images_without_an_evaluator_keep_the_note(tmp_path: Path) -> None:
    images = np.random.default_rng(0).uniform(0, 16, (120, 1, 8, 8)).astype(np.float32)
    np.savez(tmp_path / "images.npz", x=images)
    doc = _tiny_digits_gan({"name": "npz", "options": {"path": str(tmp_path / "images.npz"),
                                                       "y_key": ""}})
    result = Trainer(doc, RunOptions(out_dir=tmp_path, device="cpu", activations=False,
                                     max_steps_per_epoch=2)).run()
    assert result.status == "completed"
    report = evaluate_document(doc, tmp_path / "model.safetensors")
    assert "evaluator classifier" in report["note"]
    assert "frechet_distance" not in report and "evaluator_confidence" not in report
