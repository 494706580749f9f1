"""Looking inside a network during a run: activation probes, samples, NaN tracing."""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING

import torch
from torch import nn

from runtime.events import ActivationsEvent, NodeSummary, SamplesEvent
from runtime.recipes.losses import as_targets
from runtime.telemetry import capture_outputs, summarize

if TYPE_CHECKING:
    from graph.training import TrainingSpec
    from runtime.run_data import RunData

PROBE_SIZE = 64
FEATURE_MAPS = 4


def _ids(module: nn.Module) -> dict[str, str]:
    return dict(getattr(module, "node_ids", {}))


def _titles(module: nn.Module) -> dict[str, str]:
    return dict(getattr(module, "node_titles", {}))


class ProbeRecorder:
    """A fixed probe batch, run through every network at the end of each epoch."""

    def __init__(self, networks: dict[str, nn.Module], data: RunData,
                 training: TrainingSpec) -> None:
        self.networks = networks
        self.data = data
        self.task = training.task
        self.loss = training.loss.name
        source = data.val_x if data.has_val else data.train_x
        self.real = source[:PROBE_SIZE]
        device = self.real.device
        self.noise: torch.Tensor | None = None
        if self.task == "gan":
            seeded = torch.Generator(device="cpu").manual_seed(1234)
            self.noise = torch.randn(PROBE_SIZE, data.latent_size, generator=seeded).to(device)

    def inputs(self, network: str) -> torch.Tensor:
        if self.task == "gan" and self.noise is not None and network == self.data.generator:
            return self.noise
        return self.real

    @torch.no_grad()
    def record(self, epoch: int) -> ActivationsEvent:
        """Every node's output summary, per network (keyed by node id)."""
        result: dict[str, dict[str, NodeSummary]] = {}
        for name, module in self.networks.items():
            was_training = module.training
            module.eval()
            x = self.inputs(name)
            outs = capture_outputs(module, _ids(module), functools.partial(module, x))
            module.train(was_training)
            nodes = {node_id: summarize(t, FEATURE_MAPS) for node_id, t in outs.items()}
            for input_id in getattr(module, "input_ids", ())[:1]:
                nodes[input_id] = summarize(x, FEATURE_MAPS)
            result[name] = nodes
        return ActivationsEvent(type="activations", epoch=epoch, networks=result)

    @torch.no_grad()
    def samples(self, epoch: int) -> SamplesEvent | None:
        """Generated samples (GAN) or reconstructions (autoencoder), in model space."""
        if self.task == "gan" and self.noise is not None:
            generator = self.networks[self.data.generator]
            generator.eval()
            fake = generator(self.noise).float().cpu()
            generator.train()
            return SamplesEvent(type="samples", epoch=epoch, kind="generated",
                                shape=list(fake.shape[1:]),
                                values=fake.reshape(len(fake), -1).tolist())
        if self.task == "autoencoder":
            (module,) = self.networks.values()
            module.eval()
            x = self.real[:8]
            out = as_targets(module(x).float(), self.loss).cpu()
            module.train()
            return SamplesEvent(type="samples", epoch=epoch, kind="reconstruction",
                                shape=list(x.shape[1:]),
                                inputs=x.float().cpu().reshape(len(x), -1).tolist(),
                                values=out.reshape(len(out), -1).tolist())
        return None


@torch.no_grad()
def first_nonfinite_node(networks: dict[str, nn.Module], x: torch.Tensor,
                         data: RunData) -> tuple[str, str, str] | None:
    """(network, "Linear 'fc2'", node id) of the first layer whose output is NaN/Inf."""
    for name, module in networks.items():
        inputs = x
        if data.latent_size and name == data.generator:
            inputs = torch.randn(len(x), data.latent_size, device=x.device)
        if not torch.isfinite(inputs).all():
            return None
        ids = _ids(module)
        outs = capture_outputs(module, ids, functools.partial(module, inputs))
        titles = {node_id: _titles(module).get(attr, node_id) for attr, node_id in ids.items()}
        for node_id, out in outs.items():  # hooks fire in execution order
            if out.is_floating_point() and not torch.isfinite(out).all():
                return name, titles[node_id], node_id
        weights = [p for p in module.parameters() if not torch.isfinite(p).all()]
        if weights:
            for attr, node_id in ids.items():
                sub = module.get_submodule(attr)
                if any(not torch.isfinite(p).all() for p in sub.parameters()):
                    return name, titles[node_id], node_id
    return None
