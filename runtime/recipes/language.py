"""Language-model recipe: next-token prediction, cross-entropy at every position.

Reported per split: the loss in nats per token, perplexity (e^loss), next-token
accuracy, and for character tokens bits per character (loss / ln 2).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from graph.training import TrainingSpec
from runtime.recipes.base import StepContext, batches
from runtime.recipes.supervised import _SingleNetwork

NATS_PER_BIT = math.log(2)


def next_token_loss(out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Mean cross-entropy of scores N×T×V against next tokens N×T."""
    return F.cross_entropy(out.reshape(-1, out.shape[-1]), y.reshape(-1))


def text_metrics(loss: float, characters: bool) -> dict[str, float]:
    """Perplexity, and bits per character for character tokens, from nats per token."""
    metrics = {"loss": loss, "perplexity": math.exp(min(loss, 700.0))}
    if characters:
        metrics["bpc"] = loss / NATS_PER_BIT
    return metrics


class LanguageModelRecipe(_SingleNetwork):
    task = "language_model"

    def __init__(self, networks: dict[str, nn.Module], training: TrainingSpec) -> None:
        super().__init__(networks, training, next_token_loss)
        self.characters = training.tokenizer.kind == "characters"

    @torch.no_grad()
    def evaluate(self, x: torch.Tensor, y: torch.Tensor | None, batch_size: int,
                 ctx: StepContext) -> dict[str, float]:
        # Summed per batch: a split's scores (tokens × vocabulary) need not fit in memory.
        assert y is not None, "a language model needs its next tokens"
        self.train(False)
        total, correct, count = 0.0, 0.0, 0
        for part in batches(len(x), batch_size):
            with ctx.autocast():
                out = self.model(x[part]).float()
            flat, target = out.reshape(-1, out.shape[-1]), y[part].reshape(-1)
            total += float(F.cross_entropy(flat, target, reduction="sum"))
            correct += float((flat.argmax(dim=-1) == target).sum())
            count += target.numel()
        metrics = text_metrics(total / max(count, 1), self.characters)
        metrics["accuracy"] = correct / max(count, 1)
        return metrics
