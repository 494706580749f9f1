"""A document's networks and data, ready to look at outside a run.

The window computes a step, a try-it prediction or an embedding of a chosen node
on a worker thread from this; the command line and the tests use it the same way.
Weights come from a run's ``model.safetensors`` (or ``checkpoint.pt``'s folder), or
the networks start fresh from the training seed, exactly as a run would start.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from graph.compile import CompileError, compile_network
from graph.document import Document
from graph.training import TrainingSpec
from runtime.checkpoint import WeightsError
from runtime.data import Preprocessing
from runtime.run_data import RunData, load_run_data
from runtime.trainer import RunOptions, effective_training


@dataclass
class InspectedModel:
    """Networks (eval mode, on the CPU), the run's data, and where the weights came from."""

    doc: Document
    training: TrainingSpec
    networks: dict[str, nn.Module]
    data: RunData
    weights: Path | None  # None: fresh weights from the training seed
    stored: Preprocessing | None = None  # the preprocessing saved with the weights

    @property
    def preprocessing(self) -> Preprocessing:
        """How raw samples become inputs: as the weights were trained, else as the data
        is prepared now (fresh weights)."""
        return self.stored or self.data.prepared.preprocessing

    def split(self, name: str) -> tuple[torch.Tensor, torch.Tensor | None]:
        """A split's inputs (preprocessed with the stored constants) and targets."""
        from runtime.evaluate import _stored_split

        return _stored_split(self.data, name, self.stored), getattr(self.data, f"{name}_y")

    @property
    def main(self) -> nn.Module:
        """The network the data feeds (the only one outside a GAN)."""
        from runtime.run_data import data_network

        return self.networks[data_network(self.doc, self.training)]


def fresh_networks(doc: Document, training: TrainingSpec) -> dict[str, nn.Module]:
    """The networks as a run would start them (the same seed, the same initial weights)."""
    torch.manual_seed(training.seed)
    networks: dict[str, nn.Module] = {}
    for name in training.networks:
        try:
            networks[name] = compile_network(doc, name)
        except CompileError as exc:
            raise WeightsError(f"network '{name}' does not compile: {exc}") from None
    return networks


def inspect_model(doc: Document, weights: str | Path | None = None,
                  base_dir: Path | None = None) -> InspectedModel:
    """Load ``doc``'s networks (with ``weights`` when given) and its data on the CPU.

    Raises ``WeightsError`` or ``DataError`` with a message for the user."""
    training = effective_training(doc, RunOptions())
    device = torch.device("cpu")
    stored = None
    if weights is not None:
        from runtime.evaluate import load_trained

        trained = load_trained(doc, weights)
        networks, stored = trained.networks, trained.preprocessing
    else:
        networks = fresh_networks(doc, training)
    for module in networks.values():
        module.to(device).eval()
    data = load_run_data(doc, training, device, base_dir)
    return InspectedModel(doc, training, networks, data,
                          Path(weights) if weights is not None else None, stored)
