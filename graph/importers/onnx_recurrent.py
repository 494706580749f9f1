"""Recurrent layers in ONNX: the ``LSTM`` / ``GRU`` / ``RNN`` ops, and (``onnx_unrolled``)
an RNN unrolled into one ``Tanh`` step per time step, as torch's exporter writes ``nn.RNN``.

Layerloom's recurrent layers are batch-first and return the final hidden state
("last") or every step ("sequence"). ONNX runs time-first, so an exporter wraps
the op in transposes, and picks the final state out of ``Y_h`` with ``Gather``s.
Those wrappers are matched here exactly; anything else is left to be refused.
Stacked layers become one catalog node per ONNX op, chained with "sequence".
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import onnx

from graph.importers.onnx_graph import OnnxGraph, attr
from graph.importers.onnx_layer import Layer
from graph.importers.onnx_unrolled import unrolled_rnns

_GATES = {"LSTM": 4, "GRU": 3, "RNN": 1}
# torch's gate blocks taken from ONNX's: LSTM i,o,f,c → i,f,g,o; GRU z,r,h → r,z,n
_TORCH_ORDER = {"LSTM": [0, 2, 3, 1], "GRU": [1, 0, 2], "RNN": [0]}
_DEFAULT_ACTIVATIONS = {"LSTM": ["Sigmoid", "Tanh", "Tanh"], "GRU": ["Sigmoid", "Tanh"],
                        "RNN": ["Tanh"]}


@dataclass
class _Op:
    node: onnx.NodeProto
    dirs: int
    hidden: int
    weights: dict[str, np.ndarray]
    source: str = ""
    nodes: list[onnx.NodeProto] = field(default_factory=list)
    exits: dict[str, str] = field(default_factory=dict)  # "last" / "sequence" → value


def recurrent_layers(g: OnnxGraph) -> list[Layer]:
    ops = {id(n): op for n in g.nodes if n.op_type in _GATES
           for op in [_read_op(g, n)] if op is not None}
    by_y = {op.node.output[0]: op for op in ops.values() if op.node.output}
    layers: list[Layer] = []
    for op in ops.values():
        _find_last(g, op, ops)
        _find_sequence(g, op, by_y, ops)
    for op in ops.values():
        if op.source and len(op.exits) == 1:
            mode, value = next(iter(op.exits.items()))
            params = {"hidden_size": op.hidden, "num_layers": 1, "bidirectional": op.dirs == 2,
                      "dropout": 0.0, "output": mode}
            layers.append(Layer(op.node.op_type, params, [op.source], value,
                                [op.node, *op.nodes], op.weights))
    return layers + unrolled_rnns(g)


def _read_op(g: OnnxGraph, node: onnx.NodeProto) -> _Op | None:
    kind = node.op_type
    ins = [*node.input, *[""] * (8 - len(node.input))]
    w, r = g.const(ins[1]), g.const(ins[2])
    b = g.const(ins[3]) if ins[3] else None
    states = [ins[5], ins[6]] if kind == "LSTM" else [ins[5]]
    if (w is None or r is None or (ins[3] and b is None) or ins[4] or ins[7]
            or any(s and (s not in g.fills or g.fills[s].value != 0.0) for s in states)):
        return None
    direction = attr(node, "direction", "forward")
    acts = attr(node, "activations")
    if (direction not in ("forward", "bidirectional") or attr(node, "clip") is not None
            or attr(node, "input_forget", 0) or attr(node, "layout", 0)
            or (kind == "GRU" and attr(node, "linear_before_reset", 0) != 1)
            or (acts is not None and [a.decode() if isinstance(a, bytes) else a for a in acts]
            != _DEFAULT_ACTIVATIONS[kind] * (2 if direction == "bidirectional" else 1))):
        return None
    dirs, hidden = w.shape[0], int(attr(node, "hidden_size", r.shape[-1]))
    gates = _GATES[kind]
    if b is None:
        b = np.zeros((dirs, 2 * gates * hidden), dtype=np.float32)
    weights: dict[str, np.ndarray] = {}
    for d in range(dirs):
        suffix = "_l0_reverse" if d else "_l0"
        weights[f"rnn.weight_ih{suffix}"] = _torch_gates(kind, w[d], hidden)
        weights[f"rnn.weight_hh{suffix}"] = _torch_gates(kind, r[d], hidden)
        weights[f"rnn.bias_ih{suffix}"] = _torch_gates(kind, b[d][: gates * hidden], hidden)
        weights[f"rnn.bias_hh{suffix}"] = _torch_gates(kind, b[d][gates * hidden:], hidden)
    op = _Op(node, dirs, hidden, weights)
    transpose = g.producer.get(node.input[0])
    if (transpose is not None and transpose.op_type == "Transpose"
            and list(attr(transpose, "perm", [])) == [1, 0, 2]
            and g.sole_use(transpose.output[0]) is node):
        op.source = transpose.input[0]
        op.nodes.append(transpose)
    return op


def _torch_gates(kind: str, array: np.ndarray, hidden: int) -> np.ndarray:
    blocks = [array[i * hidden:(i + 1) * hidden] for i in _TORCH_ORDER[kind]]
    return np.ascontiguousarray(np.concatenate(blocks), dtype=np.float32)


def _const_index(g: OnnxGraph, node: onnx.NodeProto) -> int | None:
    index = g.const(node.input[1]) if len(node.input) > 1 else None
    if node.op_type != "Gather" or attr(node, "axis", 0) != 0 or index is None or index.size != 1:
        return None
    return int(index.reshape(()))


def _state_owner(g: OnnxGraph, value: str, index: int,
                 ops: dict[int, _Op]) -> tuple[_Op, int, list[onnx.NodeProto]] | None:
    """Which op and direction ``Y_h``-like ``value[index]`` is (through a layer Concat)."""
    node = g.producer.get(value)
    if node is None:
        return None
    op = ops.get(id(node))
    if op is not None and len(node.output) > 1 and node.output[1] == value:
        return op, index % op.dirs, []
    if node.op_type != "Concat" or attr(node, "axis", 0) != 0:
        return None
    owners = [ops.get(id(g.producer.get(v))) for v in node.input]
    found = [o for o in owners if o is not None]
    if len(found) != len(owners):
        return None
    rows = [(o, d) for o in found for d in range(o.dirs)]
    if not -len(rows) <= index < len(rows):
        return None
    owner, d = rows[index]
    return owner, d, [node]


def _find_last(g: OnnxGraph, op: _Op, ops: dict[int, _Op]) -> None:
    """The final hidden state, batch-first: Gather(Y_h, -1), or two Gathers and a Concat."""
    for gather in g.nodes:
        index = _const_index(g, gather)
        owner = _state_owner(g, gather.input[0], index, ops) if index is not None else None
        if owner is None or owner[0] is not op or owner[1] != 0:
            continue
        if op.dirs == 1:
            op.exits["last"] = gather.output[0]
            op.nodes += [gather, *owner[2]]
            return
        cat = g.sole_use(gather.output[0])
        if cat is None or cat.op_type != "Concat" or list(cat.input)[:1] != [gather.output[0]]:
            continue
        second = g.producer.get(cat.input[1]) if len(cat.input) == 2 else None
        index2 = _const_index(g, second) if second is not None else None
        owner2 = (_state_owner(g, second.input[0], index2, ops)
                  if second is not None and index2 is not None else None)
        if owner2 is not None and owner2[0] is op and owner2[1] == 1 and attr(cat, "axis") in (
                1, -1):
            op.exits["last"] = cat.output[0]
            op.nodes += [gather, second, cat, *owner[2]]  # type: ignore[list-item]
            return


def _find_sequence(g: OnnxGraph, op: _Op, by_y: dict[str, _Op], ops: dict[int, _Op]) -> None:
    """Y (T × dirs × N × H) → Transpose → Reshape (T × N × dirs·H) → Transpose (batch-first),
    or straight into the next stacked op."""
    y = op.node.output[0]
    first = g.sole_data_use(y)
    if first is None or first.op_type != "Transpose" or list(attr(first, "perm", [])) != [
            0, 2, 1, 3]:
        return
    reshape = g.sole_data_use(first.output[0])
    if reshape is None or reshape.op_type != "Reshape":
        return
    nxt = g.sole_use(reshape.output[0])
    if nxt is not None and id(nxt) in ops and nxt.input[0] == reshape.output[0]:
        ops[id(nxt)].source = reshape.output[0]
        op.exits["sequence"] = reshape.output[0]
        op.nodes += [first, reshape]
        return
    if nxt is not None and nxt.op_type == "Transpose" and list(attr(nxt, "perm", [])) == [1, 0, 2]:
        op.exits["sequence"] = nxt.output[0]
        op.nodes += [first, reshape, nxt]
