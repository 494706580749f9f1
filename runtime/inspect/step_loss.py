"""The loss stage of a step, per task: which loss, what it compares, and in words.

``loss_stage`` returns the loss tensor (for the backward pass) and a ``LossRecord``
that names the loss, the target and the prediction of the shown sample the way a
learner reads them ("class 1 (moon B)", "0.42"), with class probabilities for a
classifier.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypedDict

import torch
import torch.nn.functional as F

from graph.training import TrainingSpec
from runtime.inspect.forward import ForwardRecord, record_of
from runtime.recipes.language import next_token_loss
from runtime.recipes.losses import (
    as_targets,
    class_loss,
    class_probabilities,
    predicted_classes,
    value_loss,
)
from runtime.run_data import RunData

LOSS_NAMES = {
    "cross_entropy": "cross-entropy", "nll": "negative log-likelihood",
    "bce_logits": "binary cross-entropy (on logits)", "mse": "mean squared error",
    "l1": "mean absolute error (L1)", "huber": "Huber loss",
}
MAX_SHOWN = 8  # values written out in words; records carry the rest


class LossRecord(TypedDict):
    """The loss of a step: ``value`` is the mean over the batch (as training uses it)."""

    name: str
    value: float
    target: str  # the shown sample's target, in words
    prediction: str  # the shown sample's prediction, in words
    probabilities: list[float]  # classification: one per class (else empty)
    target_record: ForwardRecord | None  # values/images: drawn beside the prediction
    prediction_record: ForwardRecord | None


LossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def _numbers(t: torch.Tensor) -> str:
    values = [f"{v:.4g}" for v in t.reshape(-1)[:MAX_SHOWN].tolist()]
    more = " …" if t.numel() > MAX_SHOWN else ""
    return (values[0] if len(values) == 1 else "[" + ", ".join(values) + more + "]")


def _class_name(data: RunData, index: int) -> str:
    names = data.prepared.dataset.class_names
    if names and 0 <= index < len(names) and names[index] != str(index):
        return f"class {index} ({names[index]})"
    return f"class {index}"


def sample_label(data: RunData, index: int) -> str:
    """The training sample ``index``'s target in words ("class 3", "[0.5, 1.2]", "")."""
    y = data.train_y
    if y is None or not 0 <= index < len(y):
        return ""
    target = y[index]
    if target.dtype == torch.int64 and target.dim() == 0:
        return _class_name(data, int(target))
    return _numbers(target.float())


def loss_function(training: TrainingSpec) -> tuple[LossFn, bool]:
    """The task's loss and whether its targets are the inputs themselves (autoencoder)."""
    task, spec = training.task, training.loss
    if task == "classification":
        return class_loss(spec), False
    if task == "language_model":
        return next_token_loss, False
    return value_loss(spec), task == "autoencoder"


def loss_stage(training: TrainingSpec, data: RunData, out: torch.Tensor, x: torch.Tensor,
               y: torch.Tensor | None, sample: int = 0) -> tuple[torch.Tensor, LossRecord]:
    """The loss of ``out`` against the batch's targets, and its record for ``sample``."""
    fn, autoencoder = loss_function(training)
    target = x if autoencoder else y
    if target is None:
        raise ValueError("this data set has no targets, so a supervised step cannot run; "
                         "choose a data set with labels or values")
    loss = fn(out.float(), target)
    name = LOSS_NAMES.get(training.loss.name, training.loss.name)
    if training.task == "language_model":
        name = "cross-entropy (next token)"
    shown, wanted = out[sample].detach().float(), target[sample].detach()
    record = LossRecord(name=name, value=float(loss.detach()), target="", prediction="",
                        probabilities=[], target_record=None, prediction_record=None)
    if training.task == "classification" and wanted.dim() == 0:
        probs = class_probabilities(shown.unsqueeze(0))[0]
        picked = int(predicted_classes(shown.unsqueeze(0), training.loss.name)[0])
        record["target"] = _class_name(data, int(wanted))
        record["prediction"] = f"{_class_name(data, picked)}, p = {float(probs[picked]):.3f}"
        record["probabilities"] = [float(p) for p in probs]
    elif wanted.dtype == torch.int64:  # one class (or next token) per position
        tokens = shown.argmax(dim=-1)
        hits = int((tokens == wanted.reshape(tokens.shape)).sum())
        record["target"] = f"ids {_numbers(wanted)}"
        record["prediction"] = f"ids {_numbers(tokens)} ({hits} of {tokens.numel()} right)"
    else:
        guess = as_targets(shown, training.loss.name)
        wanted_f = wanted.float().reshape(guess.shape)
        record["target"], record["prediction"] = _numbers(wanted_f), _numbers(guess)
        record["target_record"] = record_of(wanted_f)
        record["prediction_record"] = record_of(guess)
    return loss, record


def discriminator_loss(d_real: torch.Tensor, d_fake: torch.Tensor) -> torch.Tensor:
    """The GAN recipe's discriminator loss: real → 1, generated → 0 (on logits)."""

    def bce(logits: torch.Tensor, real: bool) -> torch.Tensor:
        logits = logits.reshape(logits.shape[0], -1)
        wanted = torch.ones_like(logits) if real else torch.zeros_like(logits)
        return F.binary_cross_entropy_with_logits(logits, wanted)

    return bce(d_real.float(), True) + bce(d_fake.float(), False)


def discriminator_record(d_real: torch.Tensor, loss: torch.Tensor,
                         sample: int = 0) -> LossRecord:
    p_real = float(torch.sigmoid(d_real[sample].detach().float().reshape(-1)[0]))
    return LossRecord(
        name="binary cross-entropy (real → 1, generated → 0)", value=float(loss.detach()),
        target="real (1)", prediction=f"P(real) = {p_real:.3f}", probabilities=[],
        target_record=None, prediction_record=None)


GAN_TARGET = "real sample → 1, generated → 0"  # what a GAN's discriminator is taught


def sample_labels(data: RunData, limit: int = 20_000, gan: bool = False) -> list[str]:
    """The targets of the first ``limit`` training samples in words (the step view's picker).
    A GAN's discriminator (``gan``) is not taught the data's labels: every real sample's
    target is "real" (1), the generator's output's "generated" (0)."""
    y = data.train_y
    if gan:
        return [GAN_TARGET] * min(limit, len(data.train_x))
    if y is None:
        return []
    y = y[:limit].cpu()
    if y.dtype == torch.int64 and y.dim() == 1:
        return [_class_name(data, v) for v in y.tolist()]
    return [_numbers(row.float()) for row in y]
