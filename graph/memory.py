"""How much memory a training run needs, estimated from inferred shapes (nothing allocated).

Counted: weights, their gradients, the optimiser's state (Adam keeps two values
per weight, SGD with momentum one), every node's output for one training batch
twice over (kept for the backward pass, then its gradient) with what attention
and recurrent layers keep inside (attention weights, gates), the widest layer at
the evaluation batch size (no backward, but larger batches), and the data set
itself, which the trainer keeps on the device. Weights stay fp32 under mixed
precision, so everything is counted at 4 bytes a value: an upper estimate.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from graph.datafit import DataFacts
from graph.document import Document, Node
from graph.shapes import NodeShape, ShapeInference
from graph.ties import shared_counts
from graph.training import OptimizerSpec

BYTES_PER_VALUE = 4
EVAL_BATCH_MIN = 1024  # the trainer evaluates in batches of max(1024, 4 × batch size)


def eval_batch_size(batch_size: int) -> int:
    """The batch size of evaluation: no activations are kept for backward, so larger."""
    return max(EVAL_BATCH_MIN, batch_size * 4)


def optimizer_copies(spec: OptimizerSpec) -> int:
    """Values the optimiser keeps per trainable weight."""
    if spec.name in ("adam", "adamw"):
        return 2  # first and second moments
    if spec.name == "sgd":
        return 1 if spec.momentum > 0 else 0
    if spec.name == "rmsprop":
        return 1 + (1 if spec.momentum > 0 else 0)
    return 1  # adagrad: the sum of squares


@dataclass(frozen=True)
class Largest:
    """The node that needs the most memory: the first one to make smaller."""

    network: str
    node: str  # node id
    title: str  # "Linear 'fc2'"
    values: int  # output values per sample
    params: int
    bytes: int


@dataclass(frozen=True)
class MemoryEstimate:
    """Bytes a run needs, by kind; ``total`` is the peak (training or evaluation)."""

    weights: int
    gradients: int
    optimizer: int
    train_activations: int
    eval_activations: int
    data: int
    batch_size: int  # of training, as large as the training split allows
    eval_batch: int
    configured_batch: int  # the training section's batch size
    largest: Largest | None
    complete: bool  # False when some shapes are unknown (then it is a lower bound)

    @property
    def total(self) -> int:
        fixed = self.weights + self.gradients + self.optimizer + self.data
        return fixed + max(self.train_activations, self.eval_activations)

    def describe(self) -> str:
        """"about 1.2 GB (weights …, …)": one line for the summary and messages."""
        parts = [f"weights {format_bytes(self.weights)}",
                 f"gradients {format_bytes(self.gradients)}",
                 f"optimizer state {format_bytes(self.optimizer)}",
                 f"activations {format_bytes(self.train_activations)} at batch size "
                 f"{self.batch_size}",
                 f"evaluation {format_bytes(self.eval_activations)} at batch size "
                 f"{self.eval_batch}"]
        if self.data:
            parts.append(f"data {format_bytes(self.data)}")
        bound = "about" if self.complete else "at least"
        return f"{bound} {format_bytes(self.total)} ({', '.join(parts)})"


def format_bytes(n: int) -> str:
    """A byte count made readable: 950 → '950 B', 1_250_000 → '1.2 MB'."""
    value = float(n)
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if abs(value) < 1000 or unit == "TB":
            return f"{int(value)} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    raise AssertionError("unreachable")


def estimate_memory(doc: Document, shapes: ShapeInference | None = None,
                    data: DataFacts | None = None) -> MemoryEstimate:
    """The memory the document's training run needs (every trained network together)."""
    if shapes is None:
        shapes = ShapeInference(doc)
    shapes.update()
    training = doc.training
    batch = training.batch_size
    eval_batch = eval_batch_size(batch)
    if data is not None:  # no batch is larger than its split
        split = training.data.split
        batch = max(1, min(batch, math.ceil(data.samples * split.train)))
        evaluated = math.ceil(data.samples * max(split.val, split.test))
        eval_batch = max(1, min(eval_batch, evaluated))
    totals = _Totals()
    for name, spec in training.networks.items():
        if name in doc.networks:
            totals.add(doc, name, shapes.results.get(name, {}), spec.optimizer, batch,
                       eval_batch)
    data_bytes = 0
    if data is not None:
        target = math.prod(data.target_shape) if data.target is not None else 0
        per_target = 8 if data.target in ("class", "sequence_class") else BYTES_PER_VALUE
        data_bytes = data.samples * (data.sample_values * BYTES_PER_VALUE + target * per_target)
    return MemoryEstimate(
        weights=totals.params * BYTES_PER_VALUE, gradients=totals.trainable * BYTES_PER_VALUE,
        optimizer=totals.optimizer * BYTES_PER_VALUE,
        train_activations=totals.activations * batch * 2 * BYTES_PER_VALUE,
        eval_activations=totals.eval_peak * eval_batch * BYTES_PER_VALUE,
        data=data_bytes, batch_size=batch, eval_batch=eval_batch,
        configured_batch=training.batch_size, largest=totals.largest, complete=totals.complete)


class _Totals:
    """Value counts summed over the trained networks."""

    def __init__(self) -> None:
        self.params = self.trainable = self.optimizer = self.activations = self.eval_peak = 0
        self.largest: Largest | None = None
        self.complete = True

    def add(self, doc: Document, name: str, results: dict[str, NodeShape],
            optimizer: OptimizerSpec, batch: int, eval_batch: int) -> None:
        net = doc.network(name)
        copies = optimizer_copies(optimizer)
        shared = shared_counts(net, results)  # a tied weight is stored once
        for node in net.nodes():
            shape = results.get(node.id)
            if shape is None or shape.out is None or shape.pending:
                self.complete = False
                continue
            if node.spec.role == "output":
                continue  # it passes its input on: nothing new is stored
            ports = {port: results.get(source) for port, source in net.inputs_of(node.id)}
            ins = sum(_values(source) for source in ports.values())
            values = math.prod(shape.out.shape) + _inner_values(node, ports)
            tied = shared.get(node.id, 0)
            self.params += shape.params - tied
            self.trainable += max(shape.trainable - tied, 0)
            self.optimizer += max(shape.trainable - tied, 0) * copies
            self.activations += values
            self.eval_peak = max(self.eval_peak, values + ins)
            cost = ((shape.params + shape.trainable * (1 + copies)) + values * batch * 2
                    ) * BYTES_PER_VALUE
            cost = max(cost, (values + ins) * eval_batch * BYTES_PER_VALUE)
            # The node to make smaller is one with weights: a ReLU after a wide Linear is
            # as wide, but its width is the Linear's.
            if node.spec.has_weights and (self.largest is None or cost > self.largest.bytes):
                title = f"{node.spec.display_name} '{node.label}'"
                self.largest = Largest(name, node.id, title, values, shape.params, cost)


_GATES = {"RNN": 1, "GRU": 3, "LSTM": 4}


def _inner_values(node: Node, ports: dict[str, NodeShape | None]) -> int:
    """Values a layer keeps inside for backward, beyond its output: attention weights
    (heads × T × S, before and after the softmax), the feed-forward block, the gates of
    every recurrent step."""
    def steps(port: str) -> int | None:
        shape = ports.get(port)
        return shape.out.shape[0] if shape and shape.out and len(shape.out.shape) > 1 else None

    p = node.params
    if node.type == "MultiheadAttention":
        query = steps("query")
        return 2 * p["num_heads"] * query * (steps("key_value") or query) if query else 0
    if node.type in ("TransformerEncoderLayer", "TransformerDecoderLayer"):
        x = steps("x")
        if x is None:
            return 0
        keys = x + (steps("memory") or 0)  # a decoder also attends to the memory
        return 2 * p["nhead"] * x * keys + 2 * p["dim_feedforward"] * x
    if node.type in _GATES:
        x = steps("x")
        directions = 2 if p["bidirectional"] else 1
        return _GATES[node.type] * p["hidden_size"] * (x or 0) * directions * p["num_layers"]
    return 0


def _values(shape: NodeShape | None) -> int:
    return math.prod(shape.out.shape) if shape is not None and shape.out is not None else 0
