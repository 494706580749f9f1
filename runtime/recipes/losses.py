"""Loss functions from a ``LossSpec``, shaped for each task's outputs."""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F

from graph.training import LossSpec

LossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def class_loss(spec: LossSpec) -> LossFn:
    """Loss between scores (N×C or N×T×C) and integer labels (N or N×T)."""

    def flat(out: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if out.dim() == 3:  # one label per time step
            return out.reshape(-1, out.shape[-1]), y.reshape(-1)
        return out, y

    if spec.name == "cross_entropy":
        return lambda out, y: F.cross_entropy(*flat(out, y), label_smoothing=spec.label_smoothing)
    if spec.name == "nll":
        return lambda out, y: F.nll_loss(*flat(out, y))
    if spec.name == "bce_logits":
        return lambda out, y: F.binary_cross_entropy_with_logits(
            out.reshape(-1), y.reshape(-1).to(out.dtype))
    raise ValueError(f"loss '{spec.name}' does not fit classification; use cross_entropy, "
                     "nll or bce_logits")


def value_loss(spec: LossSpec) -> LossFn:
    """Loss between predicted and target values of the same number of elements."""

    def same(out: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return out, y.reshape(out.shape).to(out.dtype)

    if spec.name == "mse":
        return lambda out, y: F.mse_loss(*same(out, y))
    if spec.name == "l1":
        return lambda out, y: F.l1_loss(*same(out, y))
    if spec.name == "huber":
        return lambda out, y: F.huber_loss(*same(out, y), delta=spec.huber_delta)
    if spec.name == "bce_logits":
        return lambda out, y: F.binary_cross_entropy_with_logits(*same(out, y))
    raise ValueError(f"loss '{spec.name}' does not fit this task; use mse, l1, huber or "
                     "bce_logits")


def as_targets(out: torch.Tensor, loss: str) -> torch.Tensor:
    """A value/reconstruction output in its targets' own space: bce_logits trains on logits."""
    return torch.sigmoid(out) if loss == "bce_logits" else out


def class_probabilities(out: torch.Tensor) -> torch.Tensor:
    """One probability per class along the last dimension: a softmax, or for a single
    output (a binary logit) the pair P(class 0), P(class 1)."""
    if out.shape[-1] > 1:
        return torch.softmax(out, dim=-1)
    positive = torch.sigmoid(out)
    return torch.cat([1 - positive, positive], dim=-1)


def predicted_classes(out: torch.Tensor, loss: str) -> torch.Tensor:
    if loss == "bce_logits":
        return (out.reshape(out.shape[0], -1)[:, 0] > 0).long()
    return out.argmax(dim=-1)
