"""Recurrent layers in ONNX: the ``LSTM`` / ``GRU`` / ``RNN`` ops, and an RNN unrolled
into one ``Tanh`` step per time step (as torch's exporter writes ``nn.RNN``).

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
from graph.importers.onnx_ops import Layer
from graph.importers.onnx_projection import batch_first, projection

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
    unrolled = _unrolled_rnn(g)
    return layers + unrolled


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


# -- an RNN unrolled into steps --------------------------------------------------------
def _unrolled_rnn(g: OnnxGraph) -> list[Layer]:
    layers = []
    for node in g.nodes:
        if node.op_type == "Tanh":
            layer = _rnn_from_first_step(g, node)
            if layer is not None:
                layers.append(layer)
    return layers


@dataclass
class _Step:
    tanh: onnx.NodeProto
    hidden_in: str
    x_t: str
    weight: np.ndarray
    bias: np.ndarray
    nodes: list[onnx.NodeProto]


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
        return _Step(tanh, matmul.input[0], add.input[1 - i], w.T, b.reshape(-1),
                     [matmul, inner, add, tanh])
    return None


def _time_slice(g: OnnxGraph, value: str) -> tuple[str, int, list[onnx.NodeProto]] | None:
    """x_t = Squeeze(Slice(X, t, t+1, axis 0)): X and t."""
    squeeze = g.producer.get(value)
    sl = g.producer.get(squeeze.input[0]) if squeeze is not None else None
    if squeeze is None or squeeze.op_type != "Squeeze" or sl is None or sl.op_type != "Slice":
        return None
    starts, ends = g.const(sl.input[1]), g.const(sl.input[2])
    axes = g.const(sl.input[3]) if len(sl.input) > 3 and sl.input[3] else np.zeros(1)
    if starts is None or ends is None or axes is None or starts.size != 1 or int(axes[0]) != 0:
        return None
    t = int(starts[0])
    if int(ends[0]) != t + 1:
        return None
    return sl.input[0], t, [sl, squeeze]


def _hidden_source(g: OnnxGraph, value: str) -> tuple[str, list[onnx.NodeProto]]:
    """``value`` with Squeeze / Unsqueeze of the size-1 layer axis stripped off."""
    nodes = []
    node = g.producer.get(value)
    while node is not None and node.op_type in ("Squeeze", "Unsqueeze") and not g.is_const(
            node.output[0]):
        nodes.append(node)
        value = node.input[0]
        node = g.producer.get(value)
    return value, nodes


def _rnn_from_first_step(g: OnnxGraph, tanh: onnx.NodeProto) -> Layer | None:
    step = _step(g, tanh)
    if step is None or (step.hidden_in not in g.fills and not g.is_const(step.hidden_in)):
        return None
    if g.fills.get(step.hidden_in, None) is not None and g.fills[step.hidden_in].value != 0.0:
        return None
    steps, nodes = [step], list(step.nodes)
    while True:
        users = [u for u in g.uses(steps[-1].tanh.output[0]) if u.op_type == "MatMul"]
        after = _tanh_after(g, users[0]) if len(users) == 1 else None
        nxt = _step(g, after) if after is not None else None
        if nxt is None or _hidden_source(g, nxt.hidden_in)[0] != steps[-1].tanh.output[0]:
            break
        steps.append(nxt)
        nodes += nxt.nodes + _hidden_source(g, nxt.hidden_in)[1]
    sliced = [_time_slice(g, s.x_t) for s in steps]
    if any(s is None for s in sliced) or [s[1] for s in sliced] != list(range(len(steps))):  # type: ignore[index]
        return None
    projected = {s[0] for s in sliced}  # type: ignore[index]
    if len(projected) != 1 or any(not np.array_equal(s.weight, steps[0].weight)
                                  or not np.array_equal(s.bias, steps[0].bias) for s in steps):
        return None
    for s in sliced:
        nodes += s[2]  # type: ignore[index]
    proj = projection(g, projected.pop())
    if proj is None:
        return None
    source = batch_first(g, proj.source)
    nodes += [n for n in (g.producer.get(proj.source), proj.node) if n is not None]
    add = g.sole_use(proj.node.output[0])
    if add is not None and add.op_type == "Add":
        nodes.append(add)
    exit_ = _rnn_exit(g, steps)
    if exit_ is None:
        return None
    mode, value, tail = exit_
    hidden = steps[0].weight.shape[0]
    weights = {"rnn.weight_ih_l0": proj.weight, "rnn.bias_ih_l0": proj.bias,
               "rnn.weight_hh_l0": np.ascontiguousarray(steps[0].weight, dtype=np.float32),
               "rnn.bias_hh_l0": steps[0].bias.astype(np.float32)}
    params = {"hidden_size": hidden, "num_layers": 1, "bidirectional": False, "dropout": 0.0,
              "output": mode}
    return Layer("RNN", params, [source], value, nodes + tail, weights)


def _tanh_after(g: OnnxGraph, matmul: onnx.NodeProto) -> onnx.NodeProto | None:
    inner = g.sole_use(matmul.output[0])
    add = g.sole_use(inner.output[0]) if inner is not None else None
    tanh = g.sole_use(add.output[0]) if add is not None else None
    return tanh if tanh is not None and tanh.op_type == "Tanh" else None


def _rnn_exit(g: OnnxGraph, steps: list[_Step]
              ) -> tuple[str, str, list[onnx.NodeProto]] | None:
    last = steps[-1].tanh.output[0]
    cat = next((u for u in g.uses(last) if u.op_type == "Concat"), None)
    outs = [s.tanh.output[0] for s in steps]
    if cat is not None and list(cat.input) == outs and attr(cat, "axis", 0) == 0:
        back = g.sole_use(cat.output[0])
        if back is not None and back.op_type == "Transpose" and list(
                attr(back, "perm", [])) == [1, 0, 2]:
            return "sequence", back.output[0], [cat, back]
        return None
    value, tail, found = last, [], None
    for _ in range(8):  # Squeeze / Unsqueeze / Gather(0) of the size-1 layer axis
        user = g.sole_use(value)
        if user is None or user.op_type not in ("Squeeze", "Unsqueeze", "Gather") or (
                user.op_type == "Gather" and _const_index(g, user) not in (0, -1)):
            break
        tail.append(user)
        value = user.output[0]
        shape = g.shape(value)
        if shape is not None and len(shape) == 2:
            found = ("last", value, list(tail))
    return found
