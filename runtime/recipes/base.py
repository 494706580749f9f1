"""What every recipe provides to the trainer."""

from __future__ import annotations

import math
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field

import torch
from torch import nn

from graph.training import LossSpec, TrainingSpec


class NonFiniteLoss(ArithmeticError):
    """A loss was NaN or infinite; raised before it could corrupt the weights."""

    def __init__(self, network: str) -> None:
        super().__init__(f"the loss of network '{network}' is not finite")
        self.network = network


@dataclass
class StepContext:
    """Per-network optimisers plus the mixed-precision settings of the run."""

    optimizers: dict[str, torch.optim.Optimizer]
    device: torch.device
    amp_dtype: torch.dtype | None = None
    scaler: torch.amp.GradScaler | None = None
    grad_clip: dict[str, float | None] = field(default_factory=dict)
    # Checking every loss costs a host sync: free on the CPU, a stall on a GPU, where
    # the trainer checks at its telemetry points instead.
    check_finite: bool = False

    def autocast(self) -> AbstractContextManager[object]:
        if self.amp_dtype is None:
            return nullcontext()
        return torch.autocast(self.device.type, dtype=self.amp_dtype)

    def update(self, name: str, loss: torch.Tensor, module: nn.Module) -> None:
        """Backward and optimiser step for one network, honouring AMP and clipping."""
        if self.check_finite and not math.isfinite(loss.item()):
            raise NonFiniteLoss(name)
        optimizer = self.optimizers[name]
        optimizer.zero_grad(set_to_none=True)
        clip = self.grad_clip.get(name)
        if self.scaler is not None:
            self.scaler.scale(loss).backward()
            if clip:
                self.scaler.unscale_(optimizer)
                nn.utils.clip_grad_norm_(module.parameters(), clip)
            self.scaler.step(optimizer)
            self.scaler.update()
        else:
            loss.backward()
            if clip:
                nn.utils.clip_grad_norm_(module.parameters(), clip)
            optimizer.step()


class Recipe:
    """Base class: ``networks`` maps network names to compiled modules."""

    task = ""

    def __init__(self, networks: dict[str, nn.Module], training: TrainingSpec) -> None:
        self.networks = networks
        self.training = training

    @property
    def loss_spec(self) -> LossSpec:
        return self.training.loss

    def train_step(self, x: torch.Tensor, y: torch.Tensor | None,
                   ctx: StepContext) -> dict[str, torch.Tensor]:
        """One optimisation step; returns detached loss tensors (no host sync)."""
        raise NotImplementedError

    @torch.no_grad()
    def evaluate(self, x: torch.Tensor, y: torch.Tensor | None,
                 batch_size: int, ctx: StepContext) -> dict[str, float]:
        """Loss and headline metrics on a whole split (prefix added by the caller)."""
        raise NotImplementedError

    def train(self, mode: bool = True) -> None:
        for module in self.networks.values():
            module.train(mode)


def batches(n: int, batch_size: int) -> list[slice]:
    return [slice(i, min(i + batch_size, n)) for i in range(0, n, batch_size)]
