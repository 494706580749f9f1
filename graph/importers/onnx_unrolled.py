"""An RNN unrolled into one ``Tanh`` step per time step, as torch's exporter writes
``nn.RNN``: any number of stacked layers, each one- or bidirectional.

A chain is the steps of one direction of one layer: ``h_t = tanh(h_{t-1}·Whhᵀ + b_hh
+ x_t)``, starting from zeros, where ``x_t`` is time step t of the input projection
``X·Wihᵀ + b_ih`` (read backwards, through a flip, by a reverse chain). Chains reading
the same input make one layer; a layer's sequence (the steps concatenated in time) feeds
the next layer or leaves batch-first, and the final states leave through a stack of
them and ``Gather``s. Each layer becomes one catalog RNN node (chained with "sequence").
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import onnx

from graph.importers.onnx_graph import OnnxGraph, attr
from graph.importers.onnx_layer import Layer
from graph.importers.onnx_projection import Projection, projection

_FLIP_END = -(1 << 63)


@dataclass
class _Step:
    tanh: onnx.NodeProto
    hidden_in: str
    x_t: str
    weight: np.ndarray  # Whh, torch layout
    bias: np.ndarray
    nodes: list[onnx.NodeProto]


@dataclass
class _Chain:
    steps: list[_Step]
    proj: Projection
    reverse: bool
    nodes: list[onnx.NodeProto] = field(default_factory=list)

    def outputs(self) -> list[str]:
        """The hidden state after each time step, in time order."""
        outs = [s.tanh.output[0] for s in self.steps]
        return outs[::-1] if self.reverse else outs


def unrolled_rnns(g: OnnxGraph) -> list[Layer]:
    chains = [c for c in (_chain(g, n) for n in g.nodes if n.op_type == "Tanh") if c]
    groups: dict[str, list[_Chain]] = {}
    for chain in chains:
        groups.setdefault(chain.proj.source, []).append(chain)
    sequences = {src: _sequence(g, group) for src, group in groups.items()}
    layers = []
    for source, group in groups.items():
        layer = _layer(g, source, group, sequences)
        if layer is not None:
            layers.append(layer)
    return layers


# -- chains ------------------------------------------------------------------------------
def _step(g: OnnxGraph, tanh: onnx.NodeProto) -> _Step | None:
    """tanh(h·Whhᵀ + b_hh + x_t): the Add of a projection of h and one more term."""
    add = g.producer.get(tanh.input[0])
    if add is None or add.op_type != "Add" or len(g.activations(add)) != 2:
        return None
    for i in (0, 1):
        inner = g.producer.get(add.input[i])
        matmul = g.producer.get(inner.input[0]) if inner is not None else None
        if inner is None or inner.op_type != "Add" or matmul is None or matmul.op_type != "MatMul":
            continue
        w = g.const(matmul.input[1])
        b = next((c for c in map(g.const, inner.input) if c is not None), None)
        if w is None or b is None or w.ndim != 2:
            continue
        return _Step(tanh, matmul.input[0], add.input[1 - i], np.ascontiguousarray(w.T),
                     b.reshape(-1), [matmul, inner, add, tanh])
    return None


def _next_step(g: OnnxGraph, step: _Step) -> _Step | None:
    users = [u for u in g.uses(step.tanh.output[0]) if u.op_type == "MatMul"]
    inner = g.sole_use(users[0].output[0]) if len(users) == 1 else None
    add = g.sole_use(inner.output[0]) if inner is not None else None
    tanh = g.sole_use(add.output[0]) if add is not None else None
    nxt = _step(g, tanh) if tanh is not None and tanh.op_type == "Tanh" else None
    return nxt if nxt is not None and nxt.hidden_in == step.tanh.output[0] else None


def _time_slice(g: OnnxGraph, value: str) -> tuple[str, int, list[onnx.NodeProto]] | None:
    """x_t = Squeeze(Slice(X, t, t+1, axis 0)): X, t and the two nodes."""
    squeeze = g.producer.get(value)
    sl = g.producer.get(squeeze.input[0]) if squeeze is not None else None
    if squeeze is None or squeeze.op_type != "Squeeze" or sl is None or sl.op_type != "Slice":
        return None
    starts, ends = g.const(sl.input[1]), g.const(sl.input[2])
    axes = g.const(sl.input[3]) if len(sl.input) > 3 and sl.input[3] else np.zeros(1)
    if starts is None or ends is None or axes is None or starts.size != 1 or int(axes[0]) != 0:
        return None
    t = int(starts[0])
    return (sl.input[0], t, [sl, squeeze]) if int(ends[0]) == t + 1 else None


def _unflipped(g: OnnxGraph, value: str) -> onnx.NodeProto | None:
    """The Slice reversing ``value`` along time (x[::-1]), if that is what made it."""
    sl = g.producer.get(value)
    if sl is None or sl.op_type != "Slice" or len(sl.input) < 5:
        return None
    parts = [g.const(n) for n in sl.input[1:5]]
    if any(p is None or p.size != 1 for p in parts):
        return None
    start, end, axis, step = (int(p.reshape(())) for p in parts)  # type: ignore[union-attr]
    return sl if (start, axis, step) == (-1, 0, -1) and end <= _FLIP_END + 1 else None


def _chain(g: OnnxGraph, tanh: onnx.NodeProto) -> _Chain | None:
    """The steps starting at ``tanh``, when it is a first step (zero initial state)."""
    first = _step(g, tanh)
    fill = g.fills.get(first.hidden_in) if first is not None else None
    if first is None or fill is None or fill.value != 0.0:
        return None
    steps = [first]
    while (nxt := _next_step(g, steps[-1])) is not None:
        steps.append(nxt)
    sliced = [_time_slice(g, s.x_t) for s in steps]
    found = [s for s in sliced if s is not None]
    if len(found) != len(steps) or [s[1] for s in found] != list(range(len(steps))):
        return None
    inputs = {s[0] for s in found}
    if len(inputs) != 1 or any(not np.array_equal(s.weight, first.weight)
                               or not np.array_equal(s.bias, first.bias) for s in steps):
        return None
    value = inputs.pop()
    flip = _unflipped(g, value)
    proj = projection(g, flip.input[0] if flip is not None else value)
    if proj is None:
        return None
    made = g.producer.get(flip.input[0] if flip is not None else value)
    nodes = [n for s in steps for n in s.nodes] + [n for s in found for n in s[2]]
    nodes += [n for n in (flip, made, proj.node) if n is not None]
    return _Chain(steps, proj, flip is not None, list({id(n): n for n in nodes}.values()))


# -- layers ------------------------------------------------------------------------------
def _concat_of(g: OnnxGraph, values: list[str], axis: int) -> onnx.NodeProto | None:
    """The Concat of exactly ``values`` along ``axis``, if one reads them."""
    user = next((u for u in g.uses(values[0]) if u.op_type == "Concat"), None)
    rank = len(g.shape(user.output[0]) or ()) if user is not None else 0
    if user is None or not rank or list(user.input) != values or (
            attr(user, "axis", 0) % rank != axis):
        return None
    return user


def _sequence(g: OnnxGraph, group: list[_Chain]) -> tuple[str, list[onnx.NodeProto]] | None:
    """The layer's time-first sequence (T × N × dirs·H) and the Concats making it."""
    if len(group) == 1:
        cat = _concat_of(g, group[0].outputs(), 0)
        return (cat.output[0], [cat]) if cat is not None else None
    cats = [c for c in (_concat_of(g, c.outputs(), 0) for c in _ordered(group)) if c]
    both = _concat_of(g, [c.output[0] for c in cats], 2) if len(cats) == 2 else None
    return (both.output[0], [*cats, both]) if both is not None else None


def _ordered(group: list[_Chain]) -> list[_Chain]:
    return sorted(group, key=lambda c: c.reverse)


def _layer(g: OnnxGraph, source: str, group: list[_Chain],
           sequences: dict[str, tuple[str, list[onnx.NodeProto]] | None]) -> Layer | None:
    group = _ordered(group)
    if [c.reverse for c in group] not in ([False], [False, True]):
        return None
    nodes = [n for c in group for n in c.nodes]
    entry = g.producer.get(source)
    if entry is not None and entry.op_type == "Transpose" and list(
            attr(entry, "perm", [])) == [1, 0, 2]:
        nodes.append(entry)
        source = entry.input[0]
    elif not any(seq is not None and seq[0] == source for seq in sequences.values()):
        return None
    exit_ = _sequence_exit(g, sequences[group[0].proj.source], set(sequences)) or _last_exit(
        g, group)
    if exit_ is None:
        return None
    mode, value, tail = exit_
    weights: dict[str, np.ndarray] = {}
    for chain, suffix in zip(group, ("_l0", "_l0_reverse"), strict=False):
        weights.update({f"rnn.weight_ih{suffix}": chain.proj.weight,
                        f"rnn.bias_ih{suffix}": chain.proj.bias,
                        f"rnn.weight_hh{suffix}": chain.steps[0].weight.astype(np.float32),
                        f"rnn.bias_hh{suffix}": chain.steps[0].bias.astype(np.float32)})
    params = {"hidden_size": group[0].steps[0].weight.shape[0], "num_layers": 1,
              "bidirectional": len(group) == 2, "dropout": 0.0, "output": mode}
    return Layer("RNN", params, [source], value, nodes + tail, weights)


def _sequence_exit(g: OnnxGraph, seq: tuple[str, list[onnx.NodeProto]] | None,
                   sources: set[str]) -> tuple[str, str, list[onnx.NodeProto]] | None:
    """Every step out: batch-first through a Transpose, or time-first into the next layer."""
    if seq is None:
        return None
    value, cats = seq
    if value in sources:
        return "sequence", value, cats
    back = g.sole_use(value)
    if back is not None and back.op_type == "Transpose" and list(
            attr(back, "perm", [])) == [1, 0, 2]:
        return "sequence", back.output[0], [*cats, back]
    return None


def _final(g: OnnxGraph, chain: _Chain) -> tuple[str, list[onnx.NodeProto]]:
    """A chain's final state, through the Squeeze / Unsqueeze of its size-1 layer axis."""
    value, nodes = chain.steps[-1].tanh.output[0], []
    while (user := g.sole_use(value)) is not None and user.op_type in ("Squeeze", "Unsqueeze"):
        nodes.append(user)
        value = user.output[0]
    return value, nodes


def _last_exit(g: OnnxGraph, group: list[_Chain]) -> tuple[str, str, list[onnx.NodeProto]] | None:
    """The final hidden state(s), batch-first: Gather from the stack of every chain's final
    state (one Gather, or forward and backward joined by a Concat)."""
    finals = [_final(g, c) for c in group]
    nodes = [n for _, tail in finals for n in tail]
    value = finals[0][0]
    if len(group) == 1 and len(g.shape(value) or ()) == 2:
        return "last", value, nodes
    stack = g.sole_use(value)
    if stack is None:
        return None
    if stack.op_type == "Gather" and len(group) == 1:
        index = g.const(stack.input[1])
        ok = index is not None and index.size == 1 and int(index.reshape(())) in (0, -1)
        return ("last", stack.output[0], [*nodes, stack]) if ok else None
    if stack.op_type != "Concat" or attr(stack, "axis", 0) != 0:
        return None
    picks = [u for u in g.uses(stack.output[0]) if u.op_type == "Gather"]
    rows = {_row(g, p, len(stack.input)): p for p in picks}
    wanted = [list(stack.input).index(f) if f in stack.input else -1 for f, _ in finals]
    chosen = [rows[i] for i in wanted if i in rows]
    if len(chosen) != len(wanted):
        return None
    if len(group) == 1:
        return "last", chosen[0].output[0], [*nodes, stack, chosen[0]]
    cat = _concat_of(g, [c.output[0] for c in chosen], 1)
    return ("last", cat.output[0], [*nodes, stack, *chosen, cat]) if cat is not None else None


def _row(g: OnnxGraph, gather: onnx.NodeProto, count: int) -> int:
    index = g.const(gather.input[1])
    if index is None or index.size != 1 or attr(gather, "axis", 0) != 0:
        return -1
    return int(index.reshape(())) % count
