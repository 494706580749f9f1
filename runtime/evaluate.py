"""Evaluating a trained document on a split, and predicting on new inputs.

Both use the preprocessing stored with the weights, so evaluation and
prediction see inputs exactly as training did.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from graph.compile import CompileError, compile_network
from graph.document import Document
from runtime.checkpoint import WeightsError, load_weights
from runtime.curves import curves_report
from runtime.data import DataError, Preprocessing
from runtime.data.inputs import network_inputs
from runtime.evaluators import Evaluator, evaluator_for
from runtime.latent import code_report
from runtime.metrics import (
    classification_report,
    mode_coverage,
    reconstruction_report,
    regression_report,
)
from runtime.recipes.losses import as_targets, class_probabilities
from runtime.records import TokenizerRecord
from runtime.run_data import RunData, input_shape, load_run_data
from runtime.run_options import RunOptions, effective_training

SHOWN_PREDICTIONS = 16


@dataclass
class Trained:
    """Compiled networks with their weights loaded, in eval mode, and their preprocessing."""

    networks: dict[str, nn.Module]
    preprocessing: Preprocessing | None
    tokenizer: TokenizerRecord | None = None  # text models: how text becomes ids


def load_trained(doc: Document, weights: str | Path, device: str = "cpu") -> Trained:
    networks: dict[str, nn.Module] = {}
    for name in doc.training.networks:
        try:
            networks[name] = compile_network(doc, name)
        except CompileError as exc:
            raise WeightsError(f"network '{name}' does not compile: {exc}") from None
    metadata = load_weights(weights, networks)
    for module in networks.values():
        module.to(device).eval()
    record = metadata.preprocessing
    if record is not None:
        record.check_fits(doc, str(weights))
    return Trained(networks, record.to_preprocessing() if record is not None else None,
                   metadata.tokenizer)


def _stored_split(data: RunData, split: str, pre: Preprocessing | None) -> torch.Tensor:
    """The split's inputs preprocessed with the constants stored at training time."""
    x = getattr(data, f"{split}_x")
    if pre is None:
        return x
    rows = data.prepared.split(split).indices
    raw = data.prepared.dataset.x[rows]
    return torch.as_tensor(np.asarray(pre.apply(raw), dtype=raw.dtype)).reshape(x.shape).to(
        x.device)


@torch.no_grad()
def _outputs(module: nn.Module, x: torch.Tensor, batch: int = 512) -> torch.Tensor:
    return torch.cat([module(x[i:i + batch]).float() for i in range(0, len(x), batch)])


@dataclass
class Evaluation:
    """A report with what it was computed from, sample by sample, for views that show
    individual samples: the split's raw inputs (before normalisation) and rows, the true
    targets and the predictions (class indices, or values)."""

    report: dict[str, Any]
    inputs: np.ndarray | None = None
    rows: np.ndarray | None = None
    truth: np.ndarray | None = None
    predicted: np.ndarray | None = None

    def members(self, true_class: int, predicted_class: int) -> np.ndarray:
        """Positions (in the split) of the samples of one confusion-matrix cell."""
        if self.truth is None or self.predicted is None or self.truth.ndim != 1:
            return np.zeros(0, dtype=np.int64)  # one class per time step: not per sample
        return np.flatnonzero((self.truth == true_class) & (self.predicted == predicted_class))

    def misclassified(self) -> np.ndarray:
        if self.truth is None or self.predicted is None or self.truth.ndim != 1:
            return np.zeros(0, dtype=np.int64)
        return np.flatnonzero(self.truth != self.predicted)


def evaluate_document(doc: Document, weights: str | Path, split: str = "test",
                      base_dir: Path | None = None, seed: int | None = None) -> dict[str, Any]:
    """A report of the task's metrics on ``split``, plus a few example predictions."""
    return evaluate_samples(doc, weights, split, base_dir, seed).report


def evaluate_samples(doc: Document, weights: str | Path, split: str = "test",
                     base_dir: Path | None = None, seed: int | None = None) -> Evaluation:
    """``evaluate_document``'s report with the samples behind it (classification and
    regression keep them; other tasks return the report alone)."""
    training = effective_training(doc, RunOptions(seed=seed))
    trained = load_trained(doc, weights)
    data = load_run_data(doc, training, torch.device("cpu"), base_dir)
    if split not in ("train", "val", "test"):
        raise DataError(f"unknown split '{split}'; choose train, val or test")
    x = _stored_split(data, split, trained.preprocessing)
    y = getattr(data, f"{split}_y")
    if len(x) == 0:
        raise DataError(f"the {split} split is empty; change the split fractions")
    report: dict[str, Any] = {"task": training.task, "split": split, "samples": len(x)}
    result = Evaluation(report)
    if training.task == "gan":
        report.update(_gan_report(data, trained, x))
        return result
    (module,) = trained.networks.values()
    if training.task == "language_model":
        from runtime.language import language_report

        report.update(language_report(module, x, y, data, training, trained.tokenizer,
                                      str(weights)))
        return result
    out = _outputs(module, x)
    rows = data.prepared.split(split).indices
    if training.task == "classification":
        names = data.prepared.dataset.class_names
        report.update(classification_report(y.numpy(), out.numpy(), names))
        _add_curves(report, y.numpy(), class_probabilities(out).numpy())
        report["examples"] = _examples(out, y, names)
        predicted = class_probabilities(out).argmax(dim=-1).numpy()
        return Evaluation(report, data.prepared.dataset.x[rows], rows, y.numpy(), predicted)
    if training.task == "regression":
        values = as_targets(out, training.loss.name).numpy()
        report.update(regression_report(y.numpy(), values))
        baseline = data.prepared.baselines.get(split)
        if baseline is not None:
            report["baseline_mse"] = baseline  # "repeat the last value"
        return Evaluation(report, data.prepared.dataset.x[rows], rows,
                          y.numpy().reshape(len(values), -1), values.reshape(len(values), -1))
    recon = as_targets(out, training.loss.name)
    report.update(reconstruction_report(x.numpy(), recon.reshape(x.shape).numpy()))
    train_x = _stored_split(data, "train", trained.preprocessing)
    report.update(code_report(module, train_x, data.train_y, x, y))
    return result


def _add_curves(report: dict[str, Any], y: np.ndarray, probabilities: np.ndarray) -> None:
    """ROC and precision-recall areas in the report, and per class beside its F1."""
    probabilities = probabilities.reshape(-1, probabilities.shape[-1])
    curves = curves_report(y.reshape(-1), probabilities, report["class_names"])
    report.update(curves)
    by_class = {c["class"]: c for c in curves["curves"]}
    for row in report["per_class"]:
        found = by_class.get(row["class"])
        if found is not None:
            row["auc"], row["average_precision"] = found["auc"], found["average_precision"]


def _examples(out: torch.Tensor, y: torch.Tensor | None,
              names: tuple[str, ...] | None) -> list[dict[str, Any]]:
    if out.dim() != 2:
        return []
    probs = class_probabilities(out)
    shown = []
    for i in range(min(SHOWN_PREDICTIONS, len(out))):
        k = int(probs[i].argmax())
        label = names[k] if names and k < len(names) else str(k)
        truth = int(y[i]) if y is not None else None
        shown.append({"index": i, "predicted": label, "confidence": float(probs[i].max()),
                      "true": names[truth] if names and truth is not None else truth})
    return shown


def _gan_report(data: RunData, trained: Trained, real: torch.Tensor) -> dict[str, Any]:
    generator = trained.networks[data.generator]
    evaluator = _image_evaluator(data)
    # As many samples as the train split: the generated-vs-real distance then has the
    # sampling noise of the real-vs-real baseline printed beside it.
    count = max(len(real), len(data.train_x)) if evaluator is not None else len(real)
    noise = torch.randn(count, data.latent_size, generator=torch.Generator().manual_seed(0))
    fake = _outputs(generator, noise)
    report: dict[str, Any] = {"generated": len(fake)}
    meta = data.prepared.dataset.metadata
    if "modes" in meta and fake.reshape(len(fake), -1).shape[1] == 2:
        pre = trained.preprocessing
        points = np.asarray(pre.invert(fake.numpy()) if pre else fake.numpy())
        report.update(mode_coverage(points.reshape(len(points), 2),
                                    np.asarray(meta["modes"], dtype=float), float(meta["sigma"])))
    elif evaluator is not None:
        report.update(_evaluator_report(evaluator, data, trained, fake, real))
    else:
        report["note"] = ("sample quality for this data needs an evaluator classifier, which "
                          "Layerloom does not ship for it")
    return report


def _image_evaluator(data: RunData) -> Evaluator | None:
    """The shipped evaluator classifier of the run's data set, if it has one for its images."""
    dataset = data.prepared.dataset
    if dataset.layout != "image":
        return None
    evaluator = evaluator_for(dataset.name)
    if evaluator is None or evaluator.sample_shape != dataset.sample_shape:
        return None
    return evaluator


def _evaluator_report(evaluator: Evaluator, data: RunData, trained: Trained,
                      fake: torch.Tensor, real: torch.Tensor) -> dict[str, Any]:
    """Generated and held-out images back in raw pixel values, judged by the evaluator."""
    pre = trained.preprocessing or data.prepared.preprocessing
    shape = pre.sample_shape
    if fake[0].numel() != math.prod(shape):
        return {"note": f"the generator makes {fake[0].numel()} values per sample but the "
                        f"{data.prepared.dataset.name} images have {math.prod(shape)}, so the "
                        "evaluator classifier cannot judge them"}
    generated = np.asarray(pre.invert(fake.reshape(len(fake), *shape).numpy()))
    held_out = np.asarray(pre.invert(real.reshape(len(real), *shape).numpy()))
    train = data.prepared.dataset.x[data.prepared.train.indices]
    return evaluator.report(generated, held_out, train)


def predict(doc: Document, weights: str | Path, inputs: str | Path) -> list[dict[str, Any]]:
    """Predictions for each input: class names with probabilities, or values."""
    if doc.training.task == "language_model":
        raise DataError("a language model continues text rather than scoring inputs: use "
                        "'layerloom generate FILE.loom --weights W --prompt TEXT'")
    trained = load_trained(doc, weights)
    network, module = next(iter(trained.networks.items()))
    pre = trained.preprocessing
    x = torch.as_tensor(network_inputs(inputs, pre))
    wanted = input_shape(doc, network)  # samples may be stored in another shape (same size)
    if wanted is not None and x.dim() > 1 and math.prod(x.shape[1:]) == math.prod(wanted):
        x = x.reshape(len(x), *wanted)
    out = _outputs(module, x)
    if doc.training.task == "classification" and pre is not None and pre.class_names \
            and out.dim() == 2 and out.shape[1] != len(pre.class_names) \
            and (out.shape[1], len(pre.class_names)) != (1, 2):  # one logit: binary
        raise WeightsError(f"{weights}: metadata 'preprocessing.class_names' names "
                           f"{len(pre.class_names)} classes but network '{network}' gives "
                           f"{out.shape[1]} outputs; were these weights trained with another "
                           "graph?")
    results = []
    for row in out:
        if doc.training.task == "classification" and row.dim() == 1:
            probs = class_probabilities(row)
            names = pre.class_names if pre and pre.class_names else None
            top = torch.argsort(probs, descending=True)[:3].tolist()
            results.append({"classes": [
                {"class": names[k] if names else str(k), "probability": float(probs[k])}
                for k in top]})
        else:
            values = as_targets(row, doc.training.loss.name)
            results.append({"values": values.reshape(-1).tolist()})
    return results
