"""Attention maps: the weights each head gives every key, for the probe input.

Faithful to the layer: a forward pre-hook on each ``nn.MultiheadAttention`` inside an
attention node captures the exact call the layer makes (query, key, value, causal
mask, key padding mask), and the same module is then called again on those inputs
with ``need_weights=True, average_attn_weights=False``. The model's own forward is
left as it is (it asks for no weights, and keeps its fast kernels) outside the probe.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import torch
from torch import nn

if TYPE_CHECKING:
    from graph.document import Document
    from runtime.inspect.probes import ProbeContext
    from runtime.run_data import RunData

KIND = "attention"
DIGITS = 4
MAX_TOKENS = 64  # longer sequences show their first positions
MIN_TOKENS = 8
MAX_VALUES = 8_000  # weights in one record, all layers and samples together
MAX_SAMPLES = 4
IMAGE_SIDE = 28
SHOWN = {" ": "␣", "\n": "↵", "\t": "⇥"}


@dataclass(frozen=True)
class AttentionSite:
    """One ``nn.MultiheadAttention`` inside a node (a decoder layer holds two)."""

    node_id: str
    role: str  # "" for the node's only attention, else "self-attention" / "cross-attention"
    module: nn.MultiheadAttention


def attention_sites(module: nn.Module) -> list[AttentionSite]:
    """Every attention inside the network's nodes, in network order."""
    sites = []
    for attr, node_id in getattr(module, "node_ids", {}).items():
        inner = [(name, m) for name, m in module.get_submodule(attr).named_modules()
                 if isinstance(m, nn.MultiheadAttention)]
        for name, mha in inner:
            role = "" if len(inner) == 1 else (
                "cross-attention" if name.endswith("multihead_attn") else "self-attention")
            sites.append(AttentionSite(node_id, role, mha))
    return sites


@torch.no_grad()
def attention_weights(module: nn.Module, x: torch.Tensor | tuple[torch.Tensor, ...],
                      ) -> list[tuple[AttentionSite, torch.Tensor]]:
    """Each site's weights for input ``x``: N × heads × queries × keys (rows sum to 1,
    masked keys get 0), computed in eval mode (no dropout on the weights)."""
    sites = attention_sites(module)
    calls: dict[int, tuple[tuple[Any, ...], dict[str, Any]]] = {}
    handles = []
    for index, site in enumerate(sites):
        def keep(_m: nn.Module, args: tuple[Any, ...], kwargs: dict[str, Any],
                 index: int = index) -> None:
            calls.setdefault(index, (args, dict(kwargs)))

        handles.append(site.module.register_forward_pre_hook(keep, with_kwargs=True))
    was_training = module.training
    module.eval()
    try:
        module(*x) if isinstance(x, tuple) else module(x)
        found = []
        for index, site in enumerate(sites):
            if index not in calls:
                continue  # not on the path of this input
            args, kwargs = calls[index]
            kwargs.update(need_weights=True, average_attn_weights=False)
            _, weights = site.module(*args, **kwargs)
            # a query whose keys are all padding attends to nothing: torch gives NaN there
            found.append((site, torch.nan_to_num(weights.float(), nan=0.0)))
    finally:
        for handle in handles:
            handle.remove()
        module.train(was_training)
    return found


def _rounded(t: torch.Tensor) -> Any:
    # in double precision, so 0.1 is written as 0.1, not 0.10000000149011612
    return torch.round(t.double().cpu() * 10**DIGITS).div(10**DIGITS).tolist()


def _token_labels(x: torch.Tensor, data: RunData | None) -> list[list[str]] | None:
    """The tokens of each sample as short labels: characters for a text model, else ids."""
    if x.is_floating_point() or x.dim() != 2:
        return None
    decode = None
    if data is not None and data.tokenizer is not None:
        from runtime.tokens import from_record

        decode = from_record(data.tokenizer).decode
    labels = []
    for row in x.cpu().tolist():
        if decode is None:
            labels.append([str(t) for t in row])
        else:
            labels.append([SHOWN.get(c, c) for c in (decode([t]) for t in row)])
    return labels


def patch_grid(doc: Document | None, network: str) -> tuple[int, int, int] | None:
    """(rows, columns, patch size) of a Patchify node's grid, for a vision Transformer."""
    if doc is None:
        return None
    net = doc.network(network)
    patch = next((n for n in net.nodes() if n.type == "Patchify"), None)
    source = next((n for n in net.nodes() if n.type == "Input"), None)
    if patch is None or source is None or len(source.params["shape"]) != 3:
        return None
    size = int(patch.params["patch_size"])
    _, h, w = source.params["shape"]
    return h // size, w // size, size


def attention_record(module: nn.Module, x: torch.Tensor, doc: Document | None = None,
                     network: str = "main", data: RunData | None = None) -> dict[str, Any]:
    """The weights of every attention site for the first samples of ``x``, as a record.

    ``{"layers": [{"node", "role", "heads", "queries", "keys", "weights": n × heads ×
    q × k}], "samples": n, "tokens": per-sample labels or None, "grid": [rows, columns,
    patch] or None, "images": n×C×H×W or None}``. Sequences longer than
    ``MAX_TOKENS`` show their first positions (``queries``/``keys`` keep the full
    lengths), fewer when all layers' heads would not fit ``MAX_VALUES`` otherwise."""
    probe = x[:MAX_SAMPLES]
    found = attention_weights(module, probe)
    heads = sum(w.shape[1] for _, w in found)
    cut = max(MIN_TOKENS, min(MAX_TOKENS, math.isqrt(MAX_VALUES // max(heads, 1))))
    per_sample = sum(min(w.shape[2], cut) * min(w.shape[3], cut) * w.shape[1]
                     for _, w in found)
    samples = max(1, min(len(probe), MAX_VALUES // max(per_sample, 1)))
    layers = [{"node": site.node_id, "role": site.role, "heads": int(w.shape[1]),
               "queries": int(w.shape[2]), "keys": int(w.shape[3]),
               "weights": _rounded(w[:samples, :, :cut, :cut])}
              for site, w in found]
    tokens = _token_labels(probe[:samples], data)
    grid = patch_grid(doc, network)
    images = None
    if grid is not None and probe.dim() == 4:
        images = _rounded(probe[:samples].float())
    return {"network": network, "samples": samples, "layers": layers,
            "tokens": [t[:cut] for t in tokens] if tokens else None,
            "grid": list(grid) if grid else None, "images": images}


class AttentionProbe:
    """Attention maps of the run's probe input at each epoch's end."""

    kind = KIND

    def __init__(self, context: ProbeContext, network: str) -> None:
        self.context = context
        self.network = network

    def record(self) -> dict[str, Any] | None:
        c = self.context
        return attention_record(c.networks[self.network], c.probe_x, c.doc, self.network,
                                c.data)


def probe(context: ProbeContext) -> AttentionProbe | None:
    """An attention probe when the network the data feeds holds attention."""
    from runtime.run_data import data_network

    network = data_network(context.doc, context.training)
    module = context.networks.get(network)
    if module is None or not attention_sites(module):
        return None
    return AttentionProbe(context, network)
