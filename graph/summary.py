"""A Keras-style summary of a document: per node its output shape, parameters and FLOPs.

FLOPs are counted per sample by running each node's module on the ``meta``
device (no memory, no weights initialised) under torch's ``FlopCounterMode``,
which counts matrix multiplications, convolutions and attention as two FLOPs
per multiply-add. Element-wise layers (activations, norms, pooling) count 0.
The last line estimates the memory a training run needs (``graph.memory``).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from graph.catalog import TensorSpec, catalog
from graph.document import Document, Node
from graph.layers._helpers import same_shape
from graph.memory import estimate_memory
from graph.shapes import NodeShape, ShapeInference, module_call
from graph.ties import shared_counts


@dataclass(frozen=True)
class SummaryRow:
    """One node of a summary table."""

    node: str  # node id
    label: str
    layer: str  # the layer type's display name
    out: TensorSpec | None  # None when the shape is unknown (see validation)
    params: int
    trainable: int
    flops: int | None  # per sample; None when it cannot be counted

    @property
    def shape_text(self) -> str:
        return self.out.describe() if self.out is not None else "?"


def summarize(doc: Document, network: str, shapes: ShapeInference | None = None
              ) -> list[SummaryRow]:
    """The rows of ``network``'s summary, in topological order.

    ``shapes`` is a live inference following ``doc`` (brought up to date here);
    without it a fresh one is run.
    """
    net = doc.network(network)
    if shapes is None:
        shapes = ShapeInference(doc)
    shapes.update()
    results = shapes.results.get(network, {})
    shared = shared_counts(net, results)  # the tied weight counts in the Embedding's row

    def row(node: Node, inputs: list[tuple[str, str]]) -> SummaryRow:
        shape = results.get(node.id, NodeShape(None))
        ins = [results[s].out if s in results else None for _, s in inputs]
        tied = shared.get(node.id, 0)
        params, trainable = shape.params - tied, max(shape.trainable - tied, 0)
        return SummaryRow(
            node=node.id, label=node.label, layer=node.spec.display_name, out=shape.out,
            params=params, trainable=trainable, flops=_flops(node, shape, ins),
        )

    return list(net.walk(row).values())


def format_summary(doc: Document, shapes: ShapeInference | None = None) -> str:
    """Every network's summary table with its totals, as plain text."""
    if shapes is None:
        shapes = ShapeInference(doc)
    tables = [_table(name, summarize(doc, name, shapes)) for name in doc.networks]
    return "\n\n".join([*tables, memory_line(doc, shapes)])


def memory_line(doc: Document, shapes: ShapeInference | None = None) -> str:
    """The training run's memory estimate, and the layer that needs the most."""
    estimate = estimate_memory(doc, shapes)
    text = f"Training memory: {estimate.describe()}"
    if estimate.largest is not None:
        text += f"; the largest layer is {estimate.largest.title}"
    return text


def format_count(n: int) -> str:
    """An integer with thousands separators: 1234567 → '1,234,567'."""
    return f"{n:,}"


def format_flops(n: int | None) -> str:
    """A FLOP count made readable: 950 → '950', 1234 → '1.2 K', 3.4e9 → '3.4 G'."""
    if n is None:
        return "?"
    value = float(n)
    for unit in ("", " K", " M", " G", " T"):
        if abs(value) < 1000 or unit == " T":
            return f"{int(value)}" if not unit else f"{value:.1f}{unit}"
        value /= 1000
    raise AssertionError("unreachable")


# -- table ------------------------------------------------------------------
_HEADERS = ("Node", "Layer", "Output shape", "Params", "FLOPs")


def _table(network: str, rows: list[SummaryRow]) -> str:
    cells = [
        (r.label, r.layer, r.shape_text, format_count(r.params), format_flops(r.flops))
        for r in rows
    ]
    widths = [max([len(h), *(len(c[i]) for c in cells)]) for i, h in enumerate(_HEADERS)]
    rule = "─" * (sum(widths) + 2 * (len(widths) - 1))

    def line(values: tuple[str, ...]) -> str:
        parts = [v.ljust(w) if i < 3 else v.rjust(w)
                 for i, (v, w) in enumerate(zip(values, widths, strict=True))]
        return "  ".join(parts).rstrip()

    total = sum(r.params for r in rows)
    trainable = sum(r.trainable for r in rows)
    known = [r.flops for r in rows if r.flops is not None]
    flops = format_flops(sum(known)) + " per sample"
    if len(known) != len(rows):
        flops += " (incomplete: some shapes are unknown)"
    return "\n".join([
        f"Network '{network}'",
        rule,
        line(_HEADERS),
        rule,
        *(line(c) for c in cells),
        rule,
        f"Total params: {format_count(total)} (trainable {format_count(trainable)}, "
        f"frozen {format_count(total - trainable)})",
        f"Total FLOPs: {flops}",
    ])


# -- counting -----------------------------------------------------------------
_GATES = {"RNN": 1, "GRU": 3, "LSTM": 4}


def _flops(node: Node, shape: NodeShape, ins: list[TensorSpec | None]) -> int | None:
    """FLOPs of one node for one sample; 0 for inputs and outputs, None when unknown."""
    spec = node.spec
    if spec.role != "layer":
        return 0
    if shape.out is None or any(t is None for t in ins):
        return None
    known = tuple(t for t in ins if t is not None)
    return _layer_flops(spec.id, tuple(sorted(node.params.items())), known)


@lru_cache(maxsize=8192)
def _layer_flops(type_id: str, frozen: tuple[tuple[str, Any], ...],
                 ins: tuple[TensorSpec, ...]) -> int | None:
    """Counted once per (layer type, parameters, input shapes): tables recount often."""
    params = dict(frozen)
    if type_id in _GATES:  # on the meta device a recurrent layer unrolls every step: slow
        return _recurrent_flops(_GATES[type_id], params, ins[0])
    spec = catalog().get(type_id)
    if spec.shape is same_shape and not spec.has_weights:
        return 0  # element-wise: torch's counter counts matrix products and convolutions
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    try:
        with torch.device("meta"):
            module = module_call(spec, params, list(ins)).build()
            module.eval()
            xs = [
                torch.zeros((1, *t.shape), dtype=torch.long if t.dtype == "long" else None)
                for t in ins
            ]
        with FlopCounterMode(display=False) as counter:
            module(*xs)
    except Exception:  # counting is best effort: the table says '?' instead
        return None
    return int(counter.get_total_flops())


def _recurrent_flops(gates: int, p: dict[str, Any], x: TensorSpec) -> int:
    """Multiply-adds of the gate matrices, as torch's counter would count them (×2)."""
    steps, width = x.shape
    hidden, directions = p["hidden_size"], 2 if p["bidirectional"] else 1
    total = 0
    for layer in range(p["num_layers"]):
        size = width if layer == 0 else hidden * directions
        total += directions * steps * 2 * gates * hidden * (size + hidden)
    return total
