"""Classification, regression and autoencoder recipes: one network, one optimiser."""

from __future__ import annotations

import torch
from torch import nn

from graph.training import TrainingSpec
from runtime.recipes.base import Recipe, StepContext, batches
from runtime.recipes.losses import (
    LossFn,
    as_targets,
    class_loss,
    predicted_classes,
    value_loss,
)


class _SingleNetwork(Recipe):
    def __init__(self, networks: dict[str, nn.Module], training: TrainingSpec,
                 loss: LossFn) -> None:
        super().__init__(networks, training)
        (self.name, self.model), = networks.items()
        self.loss = loss

    def target(self, x: torch.Tensor, y: torch.Tensor | None) -> torch.Tensor:
        assert y is not None, "this task needs targets"
        return y

    def train_step(self, x: torch.Tensor, y: torch.Tensor | None,
                   ctx: StepContext) -> dict[str, torch.Tensor]:
        with ctx.autocast():
            out = self.model(x)
            loss = self.loss(out.float(), self.target(x, y))
        ctx.update(self.name, loss, self.model)
        return {"loss": loss.detach()}

    @torch.no_grad()
    def evaluate(self, x: torch.Tensor, y: torch.Tensor | None, batch_size: int,
                 ctx: StepContext) -> dict[str, float]:
        self.train(False)
        outs = []
        for part in batches(len(x), batch_size):
            with ctx.autocast():
                outs.append(self.model(x[part]).float())
        out = torch.cat(outs)
        return self.metrics(out, self.target(x, y))

    def metrics(self, out: torch.Tensor, target: torch.Tensor) -> dict[str, float]:
        return {"loss": float(self.loss(out, target))}


class ClassificationRecipe(_SingleNetwork):
    task = "classification"

    def __init__(self, networks: dict[str, nn.Module], training: TrainingSpec) -> None:
        super().__init__(networks, training, class_loss(training.loss))

    def metrics(self, out: torch.Tensor, target: torch.Tensor) -> dict[str, float]:
        pred = predicted_classes(out, self.loss_spec.name)
        correct = pred == target.reshape(pred.shape)
        result = {"loss": float(self.loss(out, target)), "accuracy": float(correct.float().mean())}
        if correct.dim() == 2:  # sequences: the whole sequence right
            result["sequence_accuracy"] = float(correct.all(dim=1).float().mean())
        return result


class RegressionRecipe(_SingleNetwork):
    task = "regression"

    def __init__(self, networks: dict[str, nn.Module], training: TrainingSpec) -> None:
        super().__init__(networks, training, value_loss(training.loss))

    def metrics(self, out: torch.Tensor, target: torch.Tensor) -> dict[str, float]:
        target = target.reshape(out.shape).to(out.dtype)
        err = as_targets(out, self.loss_spec.name) - target
        total = ((target - target.mean(dim=0)) ** 2).sum()
        r2 = 1.0 - float((err**2).sum() / total) if float(total) > 0 else 0.0
        return {"loss": float(self.loss(out, target)), "mse": float((err**2).mean()),
                "mae": float(err.abs().mean()), "r2": r2}


class AutoencoderRecipe(_SingleNetwork):
    """Reconstruct the input as the model sees it (after preprocessing); no labels used."""

    task = "autoencoder"

    def __init__(self, networks: dict[str, nn.Module], training: TrainingSpec) -> None:
        super().__init__(networks, training, value_loss(training.loss))

    def target(self, x: torch.Tensor, y: torch.Tensor | None) -> torch.Tensor:
        return x

    def metrics(self, out: torch.Tensor, target: torch.Tensor) -> dict[str, float]:
        recon = as_targets(out, self.loss_spec.name)
        mse = float(((recon - target.reshape(out.shape)) ** 2).mean())
        return {"loss": float(self.loss(out, target)), "reconstruction_mse": mse}
