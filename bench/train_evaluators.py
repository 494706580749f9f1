"""Train the shipped evaluator classifiers once and write them to resources/evaluators.

    .venv/bin/python bench/train_evaluators.py               # writes the shipped files
    .venv/bin/python bench/train_evaluators.py --out /tmp/ev # somewhere else, to compare

This is how ``resources/evaluators/digits_classifier.{loom,safetensors}`` were made
(seed 0, 30 epochs, one CPU thread; about 20 s). That run printed:

    digits: penultimate-feature scale 0.7360
    digits: test accuracy 99.26% (268/270)
    digits: Fréchet distance on the test split: real train vs real test 3.15, uniform
            noise vs real test 332.52; 1,000 images judged in 0.19 s

The weights are bitwise reproducible on one machine (only the order of the
metadata keys in the safetensors header varies).

Steps: train the graph of ``runtime.evaluators.digits.classifier_document`` with
Layerloom's own Trainer (its train split only; the test split is never seen),
calibrate, then save the graph and its weights (preprocessing in the metadata).

Calibration: Fréchet distances grow with the square of the feature scale, which
training leaves arbitrary. The features layer and the head are rescaled by ``c``
and ``1/c`` (ReLU commutes with positive scaling, so every prediction stays
exactly the same) so that the geometric mean of the real-vs-real (train vs val)
and noise-vs-real distances is that of the reference numbers 4 and 280. Their
ratio is the network's own (about 105 on the test split, against 70 for the
reference).
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from torch import fx, nn

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from graph import Document, save_graph  # noqa: E402
from runtime.checkpoint import save_weights  # noqa: E402
from runtime.evaluators import (  # noqa: E402
    Evaluator,
    EvaluatorInfo,
    evaluator_datasets,
    evaluator_info,
    load_evaluator,
)
from runtime.evaluators.digits import classifier_document  # noqa: E402
from runtime.evaluators.evaluator import features_distance  # noqa: E402
from runtime.run_data import RunData, load_run_data  # noqa: E402
from runtime.trainer import RunOptions, Trainer  # noqa: E402

REFERENCE = (4.0, 280.0)  # real-vs-real and noise-vs-real distances to calibrate towards
DOCUMENTS = {"digits": classifier_document}


def train(doc: Document, seed: int) -> tuple[fx.GraphModule, RunData]:
    """Train the document's one network on CPU with one thread (reproducible)."""
    with tempfile.TemporaryDirectory() as tmp:
        options = RunOptions(seed=seed, device="cpu", threads=1, out_dir=tmp, activations=False)
        result = Trainer(doc, options).run()
    if result.status != "completed":
        raise SystemExit(f"training stopped: {result.status}")
    (module,) = result.networks.values()
    assert isinstance(module, fx.GraphModule)  # a one-process run keeps compile_network's modules
    data = load_run_data(doc, doc.training, torch.device("cpu"))
    return module.cpu().eval(), data


def raw_split(data: RunData, split: str) -> tuple[np.ndarray, np.ndarray | None]:
    """A split's raw images (the data set's own pixel values) and labels."""
    prepared = data.prepared
    rows = prepared.split(split).indices
    labels = prepared.dataset.y[rows] if prepared.dataset.y is not None else None
    return prepared.dataset.x[rows], labels


def distances(evaluator: Evaluator, data: RunData, split: str) -> tuple[float, float]:
    """Real train vs real ``split``, and uniform noise vs real ``split``."""
    real = evaluator.judge(raw_split(data, split)[0])
    train_real = evaluator.judge(raw_split(data, "train")[0])
    noise = evaluator.judge(evaluator.noise_images(len(real.features)))
    return features_distance(train_real, real), features_distance(noise, real)


def calibrate(evaluator: Evaluator, data: RunData) -> float:
    """Rescale the penultimate features in place (see the module docstring); returns ``c``."""
    real, noise = distances(evaluator, data, "val")
    scale = math.sqrt(math.sqrt(REFERENCE[0] * REFERENCE[1] / (real * noise)))
    features, head = feature_layers(evaluator.module)
    with torch.no_grad():
        features.weight.mul_(scale)
        features.bias.mul_(scale)
        head.weight.div_(scale)
    return scale


def feature_layers(module: nn.Module) -> tuple[nn.Linear, nn.Linear]:
    """The Linear that makes the features (before its ReLU) and the head that reads them."""
    features, head = module.get_submodule("features"), module.get_submodule("head")
    if not isinstance(features, nn.Linear) or not isinstance(head, nn.Linear):
        raise SystemExit("the evaluator graph needs Linear layers labelled 'features' and 'head'")
    return features, head


def build(name: str, out: Path, epochs: int, seed: int) -> EvaluatorInfo:
    """Train, calibrate and write one evaluator's graph and weights into ``out``."""
    info = dataclasses.replace(_info(name), folder=out)
    doc = DOCUMENTS[name](epochs=epochs, seed=seed)
    module, data = train(doc, seed)
    scale = calibrate(Evaluator(info, module, data.prepared.preprocessing), data)
    save_graph(doc, info.loom_path)
    save_weights(info.weights_path, {next(iter(doc.training.networks)): module}, data)
    for path in (info.loom_path, info.weights_path):
        path.chmod(0o644)  # shipped files: readable by everyone (temp files start as 0600)
    print(f"{name}: penultimate-feature scale {scale:.4f}")
    check(load_evaluator(info), data)
    return info


def check(evaluator: Evaluator, data: RunData) -> None:
    """Reload the written files and print the test accuracy, baselines and speed."""
    name = evaluator.info.dataset
    images, labels = raw_split(data, "test")
    right = int((evaluator.judge(images).predicted == labels).sum())
    print(f"{name}: test accuracy {right / len(images):.2%} ({right}/{len(images)})")
    real, noise = distances(evaluator, data, "test")
    thousand = evaluator.noise_images(1000)
    start = time.perf_counter()
    evaluator.judge(thousand)
    took = time.perf_counter() - start
    print(f"{name}: Fréchet distance on the test split: real train vs real test {real:.2f}, "
          f"uniform noise vs real test {noise:.2f}; 1,000 images judged in {took:.2f} s")


def _info(name: str) -> EvaluatorInfo:
    info = evaluator_info(name)
    if info is None or name not in DOCUMENTS:
        raise SystemExit(f"no evaluator for '{name}'; known: {', '.join(evaluator_datasets())}")
    return info


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help="data sets (default: all with an evaluator)")
    parser.add_argument("--out", type=Path, default=None,
                        help="folder to write to (default: resources/evaluators)")
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    for name in args.names or list(DOCUMENTS):
        out = args.out or _info(name).folder
        out.mkdir(parents=True, exist_ok=True)
        build(name, out, args.epochs, args.seed)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
