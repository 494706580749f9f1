"""What the layers learn: the first convolution's filters, feature maps of the probe
input, and the validation samples that activate one unit most.

Records are plain, rounded lists. During a run they are capped hard (``LIVE``: a few
thousand numbers an epoch); computed from weights on the window's worker thread they
may be larger (``AT_REST``), since they never cross a process boundary.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import torch
import torch.nn.functional as F
from torch import nn

from runtime.telemetry import capture_outputs

if TYPE_CHECKING:
    from graph.document import Document
    from runtime.inspect.probes import ProbeContext
    from runtime.run_data import RunData

KIND = "features"
DIGITS = 4  # decimals kept: a colour scale cannot show more
TOP_BATCH = 256
TOP_ROW_VALUES = 32  # a non-image input is shown as a row of its first values


@dataclass(frozen=True)
class Limits:
    """How much one record may hold."""

    samples: int  # probe samples with feature maps
    channels: int  # channels per layer
    side: int  # larger maps are averaged down to side×side
    values: int  # numbers in all maps of one sample, all layers together
    filters: int = 64  # first-layer filters


LIVE = Limits(samples=4, channels=8, side=14, values=4_000)
AT_REST = Limits(samples=8, channels=16, side=28, values=40_000)


def _rounded(t: torch.Tensor) -> Any:
    # in double precision, so 0.1 is written as 0.1, not 0.10000000149011612
    return torch.round(t.detach().double().cpu() * 10**DIGITS).div(10**DIGITS).tolist()


def _shrunk(t: torch.Tensor, side: int) -> torch.Tensor:
    """N×C×H×W averaged down so that neither side exceeds ``side``."""
    h, w = t.shape[-2:]
    if h <= side and w <= side:
        return t
    return F.adaptive_avg_pool2d(t.float(), (min(h, side), min(w, side)))


def first_conv(module: nn.Module) -> tuple[str, nn.Conv2d] | None:
    """The first Conv2d node (in the network's order): (node id, its module)."""
    for attr, node_id in getattr(module, "node_ids", {}).items():
        sub = module.get_submodule(attr)
        if isinstance(sub, nn.Conv2d):
            return node_id, sub
    return None


def filters_record(module: nn.Module, limits: Limits) -> dict[str, Any] | None:
    """The first convolution's weights, out × in × k × k (at most ``limits.filters``
    filters; inputs beyond three channels are cut to eight tiles)."""
    found = first_conv(module)
    if found is None:
        return None
    node_id, conv = found
    weight = conv.weight.detach()
    in_c = weight.shape[1]
    shown = weight[: limits.filters, : 3 if in_c == 3 else 8]
    return {"node": node_id, "shape": list(weight.shape), "rgb": in_c == 3,
            "values": _rounded(shown), "shown": [int(shown.shape[0]), int(shown.shape[1])]}


def map_nodes(outputs: dict[str, torch.Tensor], doc: Document | None, network: str,
              live: bool) -> list[str]:
    """Nodes with image-shaped outputs (N×C×H×W): during a run only convolutions and
    poolings (their maps are what a learner asks about); at rest every such node."""
    wanted = []
    for node_id, out in outputs.items():
        if out.dim() != 4:
            continue
        if live and doc is not None:
            kind = doc.network(network).node(node_id).type
            if "Conv" not in kind and "Pool" not in kind:
                continue
        wanted.append(node_id)
    return wanted


def maps_record(module: nn.Module, x: torch.Tensor, limits: Limits,
                doc: Document | None = None, network: str = "main",
                live: bool = False) -> dict[str, Any]:
    """Feature maps of the first samples of ``x`` for every image-shaped node.

    ``{"samples": n, "inputs": n×C×H×W (image inputs only), "maps": {node id:
    {"channels": C, "size": [H, W], "values": n × c × h × w}}}``, nodes in network
    order, as many samples as fit ``limits.values``."""
    ids = dict(getattr(module, "node_ids", {}))
    probe = x[: limits.samples]
    with torch.no_grad():
        outputs = capture_outputs(module, ids, lambda: module(probe))
    nodes = map_nodes(outputs, doc, network, live)
    shrunk = {n: _shrunk(outputs[n][:, : limits.channels], limits.side) for n in nodes}
    per_sample = sum(t[0].numel() for t in shrunk.values())
    samples = max(1, min(len(probe), limits.values // max(per_sample, 1)))
    maps = {n: {"channels": int(outputs[n].shape[1]), "size": list(outputs[n].shape[-2:]),
                "values": _rounded(t[:samples])} for n, t in shrunk.items()}
    record: dict[str, Any] = {"samples": samples, "maps": maps}
    if probe.dim() == 4 and probe.is_floating_point():
        record["inputs"] = _rounded(_shrunk(probe[:samples], 28))
    return record


def features_record(module: nn.Module, x: torch.Tensor, limits: Limits,
                    doc: Document | None = None, network: str = "main",
                    live: bool = False) -> dict[str, Any]:
    """Filters and feature maps in one record, computed in eval mode (dropout off,
    batch norm on its running statistics), the module's mode restored after."""
    was_training = module.training
    module.eval()
    try:
        record = {"network": network, "filters": filters_record(module, limits),
                  **maps_record(module, x, limits, doc, network, live)}
    finally:
        module.train(was_training)
    return record


class FeatureProbe:
    """Filters and feature maps of the run's probe input at each epoch's end."""

    kind = KIND

    def __init__(self, context: ProbeContext, network: str) -> None:
        self.context = context
        self.network = network

    def record(self) -> dict[str, Any] | None:
        module = self.context.networks[self.network]
        record = features_record(module, self.context.probe_x, LIVE, self.context.doc,
                                 self.network, live=True)
        return with_labels(record, self.context.data)


def class_labels(y: torch.Tensor, data: RunData) -> list[str]:
    """Classes by the data set's names ("setosa"), else by their numbers."""
    names = data.prepared.dataset.class_names
    return [names[c] if names and 0 <= c < len(names) else str(c) for c in y.tolist()]


def with_labels(record: dict[str, Any], data: RunData) -> dict[str, Any]:
    """The probe samples' classes (the probe batch is the first validation samples, or
    the first training samples when there is no validation split)."""
    y = data.val_y if data.has_val else data.train_y
    if y is not None and y.dim() == 1:
        record["labels"] = class_labels(y[: record["samples"]], data)
    return record


def probe(context: ProbeContext) -> FeatureProbe | None:
    """A feature probe when the network the data feeds has a Conv2d."""
    from runtime.run_data import data_network

    network = data_network(context.doc, context.training)
    module = context.networks.get(network)
    if module is None or first_conv(module) is None or context.probe_x.dim() != 4:
        return None
    return FeatureProbe(context, network)


def unit_activations(out: torch.Tensor, unit: int) -> tuple[torch.Tensor, str]:
    """One unit's activation per sample, and how it was taken: a channel's mean over its
    map, a feature's mean over the positions of a sequence, or a plain value."""
    if out.dim() == 4:
        return out[:, unit].float().mean(dim=(1, 2)), "mean over the channel's map"
    if out.dim() == 3:
        return out[..., unit].float().mean(dim=1), "mean over the positions"
    return out.reshape(len(out), -1)[:, unit].float(), "its value"


def unit_count(out: torch.Tensor) -> int:
    if out.dim() == 3:
        return int(out.shape[-1])
    return int(out.shape[1]) if out.dim() == 4 else int(out[0].numel())


@torch.no_grad()
def top_inputs(module: nn.Module, node_id: str, unit: int, data: RunData,
               count: int = 9) -> dict[str, Any]:
    """The validation samples (the training split when there is none) on which unit
    ``unit`` of node ``node_id`` is largest, best first.

    Raises ``ValueError`` with a message for the user when the node or unit is not there."""
    ids = {a: n for a, n in getattr(module, "node_ids", {}).items() if n == node_id}
    if not ids:
        raise ValueError("this layer has no output of its own in the compiled network")
    split = "validation" if data.has_val else "training"
    x = data.val_x if data.has_val else data.train_x
    y = data.val_y if data.has_val else data.train_y
    was_training = module.training
    module.eval()
    scores: list[torch.Tensor] = []
    units = 0
    try:
        for start in range(0, len(x), TOP_BATCH):
            batch = x[start:start + TOP_BATCH]
            out = capture_outputs(module, ids, functools.partial(module, batch))[node_id]
            units = unit_count(out)
            if not 0 <= unit < units:
                raise ValueError(f"unit {unit} does not exist: this layer has {units} units "
                                 f"(0…{units - 1})")
            values, how = unit_activations(out, unit)
            scores.append(values.cpu())
    finally:
        module.train(was_training)
    activation = torch.cat(scores)
    best = torch.argsort(activation, descending=True, stable=True)[:count]
    return {"node": node_id, "unit": unit, "units": units, "how": how, "split": split,
            "indices": best.tolist(), "activations": _rounded(activation[best]),
            "labels": class_labels(y[best], data) if y is not None and y.dim() == 1 else None,
            **_shown_inputs(x[best.to(x.device)], data)}


def _shown_inputs(x: torch.Tensor, data: RunData) -> dict[str, Any]:
    """The chosen samples as the window shows them: images, texts, or rows of values."""
    if x.dim() == 4 and x.is_floating_point():
        return {"input_kind": "image", "inputs": _rounded(_shrunk(x, 64))}
    if not x.is_floating_point() and data.tokenizer is not None:
        from runtime.tokens import from_record

        tokenizer = from_record(data.tokenizer)
        return {"input_kind": "text", "inputs": [tokenizer.decode(row) for row in x.cpu()]}
    rows = x.reshape(len(x), -1)
    return {"input_kind": "row", "inputs": _rounded(rows[:, :TOP_ROW_VALUES]),
            "values": int(rows.shape[1])}

