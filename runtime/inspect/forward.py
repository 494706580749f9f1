"""One sample's path through a network: every node's output as a small, drawable record.

``forward_records(module, x)`` runs a compiled module once with forward hooks and
returns, per node id in execution (topological) order, a ``ForwardRecord``: what the
canvas draws on the node (a grid of feature maps, a bar strip, a heat-map) and the
output's mean and standard deviation. The step view and Try it share it.

Records stay small (a few thousand numbers per node at most) because they cross a
process boundary and are drawn on the canvas: images keep up to ``MAX_CHANNELS``
channels downsampled to ``MAX_MAP`` pixels a side, vectors up to ``MAX_BARS`` bars,
sequences up to ``MAX_SEQUENCE`` cells a side. Values keep 7 significant digits (a
float32 holds about that many), so a record still equals torch's numbers to 1e-6
wherever nothing was pooled.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Literal, TypedDict

import torch
import torch.nn.functional as F
from torch import nn

from graph.document import Document
from runtime.telemetry import capture_outputs

MAX_CHANNELS = 8
MAX_MAP = 16
MAX_BARS = 64
MAX_SEQUENCE = 32

RecordKind = Literal["image", "vector", "sequence"]


class ForwardRecord(TypedDict):
    """One node's output for one sample.

    - ``kind`` "image" (C×H×W feature maps): ``values`` is a list of channels, each a
      list of rows; "vector": a flat list (one bar each); "sequence" (T×D, tokens by
      features): a list of rows (one per position), drawn as a heat-map.
    - ``shape``: the sample's full output shape (no batch dimension).
    - ``mean``, ``std``, ``min``, ``max``: over the whole output of the sample (finite values).
    - ``reduced``: "" when ``values`` are the output itself; otherwise how it was made
      smaller, in words for the user ("first 8 of 32 channels, each averaged to 16×16").
    - ``nonfinite``: the output held NaN or infinite values.
    """

    kind: RecordKind
    shape: list[int]
    mean: float
    std: float
    min: float
    max: float
    values: list[float] | list[list[float]] | list[list[list[float]]]
    reduced: str
    nonfinite: bool


def _round(value: float) -> float:
    return float(f"{value:.7g}") if math.isfinite(value) else 0.0


def _rounded(t: torch.Tensor) -> list[float] | list[list[float]] | list[list[list[float]]]:
    flat = [_round(v) for v in t.reshape(-1).tolist()]
    if t.dim() <= 1:
        return flat
    if t.dim() == 2:
        width = t.shape[1]
        return [flat[i:i + width] for i in range(0, len(flat), width)]
    height, width = t.shape[1], t.shape[2]
    size = height * width
    return [[flat[c * size + r * width: c * size + (r + 1) * width] for r in range(height)]
            for c in range(t.shape[0])]


def _pool2d(t: torch.Tensor, rows: int, cols: int) -> torch.Tensor:
    """``t`` (…×H×W) averaged down to at most rows×cols (unchanged when it fits)."""
    h, w = t.shape[-2], t.shape[-1]
    if h <= rows and w <= cols:
        return t
    lead = t.shape[:-2]
    pooled = F.adaptive_avg_pool2d(t.reshape(-1, 1, h, w), (min(h, rows), min(w, cols)))
    return pooled.reshape(*lead, pooled.shape[-2], pooled.shape[-1])


def _image(t: torch.Tensor) -> tuple[torch.Tensor, str]:
    channels, h, w = t.shape
    shown = _pool2d(t[:MAX_CHANNELS], MAX_MAP, MAX_MAP)
    notes = []
    if channels > MAX_CHANNELS:
        notes.append(f"first {MAX_CHANNELS} of {channels} channels")
    if tuple(shown.shape[1:]) != (h, w):
        notes.append(f"each averaged from {h}×{w} to {shown.shape[1]}×{shown.shape[2]}")
    return shown, ", ".join(notes)


def _vector(t: torch.Tensor) -> tuple[torch.Tensor, str]:
    n = t.numel()
    if n <= MAX_BARS:
        return t.reshape(-1), ""
    pooled = F.adaptive_avg_pool1d(t.reshape(1, 1, -1), MAX_BARS).reshape(-1)
    return pooled, f"{n} values averaged into {MAX_BARS} bars of about {n / MAX_BARS:.3g} each"


def _sequence(t: torch.Tensor) -> tuple[torch.Tensor, str]:
    rows, cols = t.shape
    shown = _pool2d(t, MAX_SEQUENCE, MAX_SEQUENCE)
    if tuple(shown.shape) == (rows, cols):
        return shown, ""
    return shown, f"averaged from {rows}×{cols} to {shown.shape[0]}×{shown.shape[1]}"


def record_of(sample: torch.Tensor) -> ForwardRecord:
    """The record of one sample's tensor (no batch dimension)."""
    t = sample.detach().float().cpu()
    finite = t[torch.isfinite(t)]
    nonfinite = finite.numel() != t.numel()
    if finite.numel():
        mean, std = float(finite.mean()), float(finite.std(unbiased=False))
        low, high = float(finite.min()), float(finite.max())
    else:
        mean = std = low = high = 0.0
    kind: RecordKind
    if t.dim() == 3:
        kind, (shown, reduced) = "image", _image(t)
    elif t.dim() == 2:
        kind, (shown, reduced) = "sequence", _sequence(t)
    else:
        kind, (shown, reduced) = "vector", _vector(t)
    return ForwardRecord(kind=kind, shape=list(t.shape), mean=mean, std=std, min=low,
                         max=high, values=_rounded(shown), reduced=reduced,
                         nonfinite=nonfinite)


def forward_records(module: nn.Module, x: torch.Tensor | Sequence[torch.Tensor],
                    sample: int = 0, output_id: str | None = None
                    ) -> dict[str, ForwardRecord]:
    """Every node's output for sample ``sample`` of the batch ``x``, keyed by node id.

    ``module`` is a compiled network (it carries ``node_ids`` and ``input_ids``); the
    Input nodes come first, then the layers in the order they ran. When ``output_id``
    (the Output node's id) is given, it gets the network's result. No gradients are
    kept and the module's mode (train/eval) is left as it is.
    """
    inputs = (x,) if isinstance(x, torch.Tensor) else tuple(x)
    names: dict[str, str] = dict(getattr(module, "node_ids", {}))
    result: list[torch.Tensor] = []

    def run() -> None:
        result.append(module(*inputs))

    with torch.no_grad():
        outputs = capture_outputs(module, names, run)
    records: dict[str, ForwardRecord] = {}
    for input_id, tensor in zip(getattr(module, "input_ids", ()), inputs, strict=False):
        records[input_id] = record_of(tensor[sample])
    for node_id, out in outputs.items():
        records[node_id] = record_of(out[sample])
    if output_id is not None and result and isinstance(result[0], torch.Tensor):
        records[output_id] = record_of(result[0][sample])
    return records


def output_node_id(doc: Document, network: str) -> str | None:
    """The id of ``network``'s Output node in ``doc``, if it has exactly one."""
    if network not in doc.networks:
        return None
    found = [n.id for n in doc.network(network).nodes() if n.spec.role == "output"]
    return found[0] if len(found) == 1 else None
