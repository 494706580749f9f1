"""Optimizers and learning-rate schedules from a network's training spec."""

from __future__ import annotations

from collections.abc import Iterable

import torch
from torch import nn

from graph.training import NetworkTrainingSpec, OptimizerSpec, ScheduleSpec


def make_optimizer(params: Iterable[nn.Parameter], spec: OptimizerSpec) -> torch.optim.Optimizer:
    trainable = [p for p in params if p.requires_grad]
    if not trainable:
        raise ValueError("the network has no trainable weights (every layer is frozen)")
    lr, wd = spec.lr, spec.weight_decay
    if spec.name == "sgd":
        return torch.optim.SGD(trainable, lr=lr, momentum=spec.momentum, nesterov=spec.nesterov
                               and spec.momentum > 0, weight_decay=wd)
    if spec.name == "adam":
        return torch.optim.Adam(trainable, lr=lr, betas=spec.betas, weight_decay=wd)
    if spec.name == "adamw":
        return torch.optim.AdamW(trainable, lr=lr, betas=spec.betas, weight_decay=wd)
    if spec.name == "rmsprop":
        return torch.optim.RMSprop(trainable, lr=lr, momentum=spec.momentum, weight_decay=wd)
    if spec.name == "adagrad":
        return torch.optim.Adagrad(trainable, lr=lr, weight_decay=wd)
    raise ValueError(f"unknown optimizer {spec.name!r}")


class Schedule:
    """Wraps a torch scheduler and says when it steps: per batch or per epoch."""

    def __init__(self, optimizer: torch.optim.Optimizer, spec: ScheduleSpec,
                 epochs: int, steps_per_epoch: int) -> None:
        self.spec = spec
        self.per_batch = spec.name == "onecycle"
        self.scheduler: torch.optim.lr_scheduler.LRScheduler | None = None
        self.plateau: torch.optim.lr_scheduler.ReduceLROnPlateau | None = None
        if spec.name == "step":
            self.scheduler = torch.optim.lr_scheduler.StepLR(
                optimizer, step_size=spec.step_size, gamma=spec.gamma)
        elif spec.name == "cosine":
            self.scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=epochs)
        elif spec.name == "onecycle":
            base = optimizer.param_groups[0]["lr"]
            self.scheduler = torch.optim.lr_scheduler.OneCycleLR(
                optimizer, max_lr=spec.max_lr or base * 10, epochs=epochs,
                steps_per_epoch=max(1, steps_per_epoch))
        elif spec.name == "plateau":
            self.plateau = torch.optim.lr_scheduler.ReduceLROnPlateau(
                optimizer, factor=spec.gamma, patience=spec.patience)

    def after_batch(self) -> None:
        if self.per_batch and self.scheduler is not None:
            self.scheduler.step()

    def after_epoch(self, monitored: float | None) -> None:
        if self.plateau is not None and monitored is not None:
            self.plateau.step(monitored)
        elif not self.per_batch and self.scheduler is not None:
            self.scheduler.step()

    def state_dict(self) -> dict[str, object]:
        target = self.plateau or self.scheduler
        return target.state_dict() if target is not None else {}

    def load_state_dict(self, state: dict[str, object]) -> None:
        target = self.plateau or self.scheduler
        if target is not None and state:
            target.load_state_dict(state)


def make_training(module: nn.Module, spec: NetworkTrainingSpec, epochs: int,
                  steps_per_epoch: int) -> tuple[torch.optim.Optimizer, Schedule]:
    optimizer = make_optimizer(module.parameters(), spec.optimizer)
    return optimizer, Schedule(optimizer, spec.schedule, epochs, steps_per_epoch)
