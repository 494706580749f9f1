"""Embedding view: what one node makes of the validation samples, drawn in 2-D.

A node's outputs on up to ``SAMPLES`` held-out samples are flattened to one vector
per sample and projected to two dimensions by PCA or t-SNE
(``runtime.inspect.projection``). The points can then be grouped by k-means; the
adjusted Rand index says how well those groups agree with the true classes (1: the
same grouping, about 0: no better than chance).
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from torch import nn

from runtime.inspect.forward import output_node_id
from runtime.inspect.projection import Embedding, pca_2d, tsne_2d
from runtime.telemetry import capture_outputs

if TYPE_CHECKING:
    from runtime.inspect.model import InspectedModel
    from runtime.inspect.probes import ProbeContext
    from runtime.run_data import RunData

SAMPLES = 1000  # at most this many points: a record a few thousand numbers long
METHODS = ("pca", "tsne")


# -- a node's outputs ----------------------------------------------------------------
def node_titles(module: nn.Module) -> dict[str, str]:
    """Node id → "Linear 'code'" for every node the compiled module runs."""
    titles: dict[str, str] = dict(getattr(module, "node_titles", {}))
    ids: dict[str, str] = dict(getattr(module, "node_ids", {}))
    return {node_id: titles.get(attr, node_id) for attr, node_id in ids.items()}


@torch.no_grad()
def node_outputs(module: nn.Module, node_id: str, x: torch.Tensor, batch: int = 256,
                 output_id: str | None = None) -> np.ndarray:
    """The node's output for each sample, flattened: (N, values per sample). The node
    ``output_id`` (the network's Output) gives what the network returns."""
    names = {a: n for a, n in dict(getattr(module, "node_ids", {})).items() if n == node_id}
    if not names and node_id != output_id:
        raise KeyError(node_id)
    was_training = module.training
    module.eval()
    try:
        parts = []
        for start in range(0, len(x), batch):
            part = x[start:start + batch]
            if not names:
                out = module(part)
            else:
                out = capture_outputs(module, names, functools.partial(module, part))[node_id]
            parts.append(out.reshape(len(part), -1).float().cpu().numpy())
    finally:
        module.train(was_training)
    return np.concatenate(parts) if parts else np.zeros((0, 0), np.float32)


@torch.no_grad()
def default_node(module: nn.Module, task: str, sample: torch.Tensor) -> str | None:
    """An autoencoder's code (its narrowest layer); otherwise the last hidden layer:
    the node that feeds the last layer with weights (the output head)."""
    if task == "autoencoder":
        from runtime.latent import bottleneck

        found = bottleneck(module, sample[:1])
        return dict(getattr(module, "node_ids", {}))[found[0]] if found else None
    ids = dict(getattr(module, "node_ids", {}))
    was_training = module.training
    module.eval()
    outs = capture_outputs(module, ids, functools.partial(module, sample[:1]))
    module.train(was_training)
    order = list(outs)  # hooks fire in execution order
    weighted = {node_id for attr, node_id in ids.items()
                if any(True for _ in module.get_submodule(attr).parameters())}
    heads = [i for i, node_id in enumerate(order) if node_id in weighted]
    last = heads[-1] - 1 if heads and heads[-1] > 0 else len(order) - 2
    attrs = {node_id: attr for attr, node_id in ids.items()}
    # Dropout passes its input on unchanged at rest: name the layer that made the values.
    while last > 0 and isinstance(module.get_submodule(attrs[order[last]]), nn.Dropout):
        last -= 1
    return order[last] if last >= 0 else None


def held_out(data: RunData) -> tuple[str, torch.Tensor, torch.Tensor | None]:
    """Up to ``SAMPLES`` samples the network did not train on: validation, else test,
    else (saying so) training samples."""
    for split in ("val", "test", "train"):
        x = getattr(data, f"{split}_x")
        if len(x):
            y = getattr(data, f"{split}_y")
            return split, x[:SAMPLES], y[:SAMPLES] if y is not None else None
    raise ValueError("the data set has no samples")


def class_labels(y: torch.Tensor | None) -> np.ndarray | None:
    """One class index per sample, or None (regression, sequences, no labels)."""
    if y is None or y.dim() != 1 or y.is_floating_point():
        return None
    return np.asarray(y.cpu().numpy(), dtype=np.int64)


def embed(module: nn.Module, network: str, node_id: str, x: torch.Tensor,
          y: torch.Tensor | None, split: str, method: str = "pca",
          class_names: tuple[str, ...] | None = None,
          output: tuple[str, str] | None = None) -> Embedding:
    """``node_id``'s outputs for the samples ``x``, projected to 2-D by ``method`` (with
    PCA asked of at most two values per sample, they are drawn as they are: "values").
    ``output``: the network's Output node (id, title), which gives what the network returns."""
    if method not in METHODS:
        raise ValueError(f"unknown projection {method!r}; choose pca or tsne")
    output_id, output_title = output or (None, "")
    values = node_outputs(module, node_id, x, output_id=output_id)
    title = output_title if node_id == output_id else node_titles(module).get(node_id, node_id)
    explained = None
    if method == "pca" and values.ndim == 2 and values.shape[1] <= 2:
        # Two values (a 2-D code) are already a map: draw them as they are, not rotated.
        method = "values"
        points = np.zeros((len(values), 2))
        points[:, :values.shape[1]] = values
    elif method == "pca":
        points, explained = pca_2d(values)
    else:
        points = tsne_2d(values)
    return Embedding(network, node_id, title, method, points, class_labels(y), class_names,
                     int(values.shape[1]) if values.ndim == 2 else 0, split, explained)


def embed_inspected(model: InspectedModel, network: str, node_id: str,
                    method: str) -> Embedding:
    """The embedding of a node of a model at rest (a run's weights, or fresh ones), on
    the held-out samples preprocessed as the weights were trained."""
    split = next(s for s in ("val", "test", "train") if len(getattr(model.data, f"{s}_x")))
    x, y = model.split(split)
    if network not in model.networks:
        raise ValueError(f"the training section does not train network '{network}'")
    if model.training.task == "gan" and network == model.data.generator:
        raise ValueError("a generator is fed noise, not the data: choose a node of "
                         f"'{model.data.generator}'s discriminator")
    module = model.networks[network]
    output_id = output_node_id(model.doc, network)
    if node_id not in node_titles(module) and node_id != output_id:
        raise ValueError("an Input holds the samples themselves: choose a layer to see what "
                         "it makes of them")
    output = None
    if output_id is not None:
        node = model.doc.network(network).node(output_id)
        output = (output_id, f"{node.type} '{node.label}'")
    return embed(module, network, node_id, x[:SAMPLES], y[:SAMPLES] if y is not None else None,
                 split, method, model.data.prepared.dataset.class_names, output)


class EmbeddingProbe:
    """A run's default node in PCA at every probed epoch's end."""

    kind = "embedding"

    def __init__(self, context: ProbeContext, network: str, node_id: str) -> None:
        self.network, self.node_id = network, node_id
        self.module = context.networks[network]
        self.split, self.x, self.y = held_out(context.data)
        self.names = context.data.prepared.dataset.class_names

    def record(self) -> dict[str, Any] | None:
        return embed(self.module, self.network, self.node_id, self.x, self.y, self.split,
                     "pca", self.names).record()


def probe(context: ProbeContext) -> EmbeddingProbe | None:
    """The embedding probe for classifiers, regressors and autoencoders."""
    task = context.training.task
    if task not in ("classification", "regression", "autoencoder"):
        return None
    from runtime.run_data import data_network

    network = data_network(context.doc, context.training)
    module = context.networks.get(network)
    if module is None or len(context.probe_x) == 0:
        return None
    node_id = default_node(module, task, context.probe_x)
    if node_id is None:
        return None
    return EmbeddingProbe(context, network, node_id)
