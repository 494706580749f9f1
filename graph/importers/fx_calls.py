"""Functional calls, tensor methods and operators → catalog layers.

Per-sample dims: the catalog counts dims within one sample, so a call's batched
``dim=1`` becomes 0 here (``per_sample_dim``). Arguments are read by position or
keyword as torch documents them.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F
from torch import fx, nn

from graph.catalog import catalog
from graph.importers.fx_modules import (
    Alias,
    Mapped,
    Unsupported,
    checked,
    final_state_read,
    per_sample_dim,
)
from graph.importers.fx_modules import reshape as reshape_rule
from graph.importers.fx_trace import Trace

CallRule = Callable[[Trace, fx.Node], "Mapped | Alias"]


def arg(node: fx.Node, index: int, name: str, default: Any = None) -> Any:
    """An argument given by position ``index`` or keyword ``name``."""
    if len(node.args) > index:
        return node.args[index]
    return node.kwargs.get(name, default)


def _params(type_id: str, values: dict[str, Any]) -> dict[str, Any]:
    spec = catalog().get(type_id)
    return {name: checked(spec.param(name), value) for name, value in values.items()}


def _first(t: Trace, node: fx.Node) -> fx.Node:
    return t.data_args(node)[0]


def _plain(type_id: str, **params: tuple[int, str, Any]) -> CallRule:
    """A one-input layer whose parameters are arguments: name → (position, keyword, default)."""
    def rule(t: Trace, node: fx.Node) -> Mapped:
        values = {p: t.value(arg(node, i, kw, d)) for p, (i, kw, d) in params.items()}
        return Mapped(type_id, _params(type_id, values), [_first(t, node)])

    return rule


def _softmax(type_id: str) -> CallRule:
    def rule(t: Trace, node: fx.Node) -> Mapped:
        source = _first(t, node)
        dim = per_sample_dim(t.value(arg(node, 1, "dim")), len(t.values[source].shape))
        return Mapped(type_id, _params(type_id, {"dim": dim}), [source])

    return rule


def _pool(type_id: str) -> CallRule:
    def rule(t: Trace, node: fx.Node) -> Mapped:
        kernel, stride, padding = (t.value(arg(node, i, n)) for i, n in
                                   enumerate(("kernel_size", "stride", "padding"), start=1))
        if t.value(arg(node, 4, "dilation", 1)) not in (1, (1, 1)) or \
                t.value(node.kwargs.get("ceil_mode", False)):
            raise Unsupported("it uses dilation or ceil_mode, which the catalog's pooling lacks")
        values = {"kernel_size": _square(kernel), "stride": _square(stride or kernel),
                  "padding": _square(padding or 0)}
        return Mapped(type_id, _params(type_id, values), [_first(t, node)])

    return rule


def _square(value: Any) -> Any:
    if isinstance(value, tuple | list):
        if len(set(value)) != 1:
            raise Unsupported(f"its window {tuple(value)} is not square")
        return value[0]
    return value


def _adaptive_pool(t: Trace, node: fx.Node) -> Mapped:
    size = _square(t.value(arg(node, 1, "output_size")))
    return Mapped("AdaptiveAvgPool2d", _params("AdaptiveAvgPool2d", {"output_size": size}),
                  [_first(t, node)])


def _linear(t: Trace, node: fx.Node) -> Mapped:
    """``F.linear(x, self.weight, self.bias)``: a Linear holding those tensors."""
    weight, bias = arg(node, 1, "weight"), arg(node, 2, "bias")
    if t.is_data(weight) or t.is_data(bias):
        raise Unsupported("its weight is computed from the input; a Linear's is learned")
    w, b = t.value(weight), t.value(bias)
    weights = {"weight": w.detach().clone()}
    if b is not None:
        weights["bias"] = b.detach().clone()
    params = _params("Linear", {"out_features": int(w.shape[0]), "bias": b is not None})
    return Mapped("Linear", params, [_first(t, node)], weights=weights)


def _dropout(t: Trace, node: fx.Node) -> Mapped:
    p = t.value(arg(node, 1, "p", 0.5))
    return Mapped("Dropout", _params("Dropout", {"p": p}), [_first(t, node)])


def _flatten(t: Trace, node: fx.Node) -> Mapped:
    start, end = t.value(arg(node, 1, "start_dim", 0)), t.value(arg(node, 2, "end_dim", -1))
    if start == 1 and end == -1:
        return Mapped("Flatten", {}, [_first(t, node)])
    return reshape_rule(t, node)


def _reshape(t: Trace, node: fx.Node) -> Mapped:
    return reshape_rule(t, node)


def _permute(t: Trace, node: fx.Node) -> Mapped:
    source = _first(t, node)
    rank = len(t.values[source].shape)
    if node.op == "call_method":
        dims = t.value(list(node.args[1:]))
        dims = list(dims[0]) if len(dims) == 1 and isinstance(dims[0], tuple | list) else dims
    else:
        dims = list(t.value(arg(node, 1, "dims")))
    dims = [d % rank for d in dims]
    if dims[0] != 0:
        raise Unsupported("it moves the batch dimension, which no layer does")
    return Mapped("Permute", _params("Permute", {"dims": [d - 1 for d in dims[1:]]}), [source])


def _transpose(t: Trace, node: fx.Node) -> Mapped:
    source = _first(t, node)
    rank = len(t.values[source].shape)
    a, b = (t.value(arg(node, i, n)) % rank for i, n in ((1, "dim0"), (2, "dim1")))
    if 0 in (a, b):
        raise Unsupported("it moves the batch dimension, which no layer does")
    dims = list(range(1, rank))
    dims[a - 1], dims[b - 1] = dims[b - 1], dims[a - 1]
    return Mapped("Permute", _params("Permute", {"dims": [d - 1 for d in dims]}), [source])


def _cat(t: Trace, node: fx.Node) -> Mapped:
    tensors = list(arg(node, 0, "tensors"))
    if not all(t.is_data(x) for x in tensors):
        raise Unsupported("it joins a constant tensor to the data; the catalog's Concat joins "
                          "layer outputs only")
    dim = per_sample_dim(t.value(arg(node, 1, "dim", 0)), len(t.values[tensors[0]].shape))
    return Mapped("Concat", _params("Concat", {"dim": dim}), tensors)


def _mean(t: Trace, node: fx.Node) -> Mapped:
    source = _first(t, node)
    dim = t.value(arg(node, 1, "dim"))
    dim = dim[0] if isinstance(dim, tuple | list) and len(dim) == 1 else dim
    if len(t.values[source].shape) == 3 and dim in (1, -2) and \
            not t.value(arg(node, 2, "keepdim", False)):
        return Mapped("SequencePool", {"mode": "mean"}, [source])
    raise Unsupported("only the mean over the time steps of a sequence (N×T×D, dim=1) has a "
                      "layer (SequencePool)")


def _operands(node: fx.Node) -> tuple[Any, Any]:
    return node.args[0], node.args[1]


def _add(t: Trace, node: fx.Node) -> Mapped:
    left, right = _operands(node)
    if t.is_data(left) and t.is_data(right):
        return Mapped("Add", {}, [left, right])
    data, other = (left, right) if t.is_data(left) else (right, left)
    table = t.value(other)
    shape = t.sample_shape(data)
    if isinstance(table, torch.Tensor) and len(shape) == 2 and table.dim() in (2, 3) \
            and tuple(table.shape[-2:]) == shape and table.numel() == shape[0] * shape[1]:
        table = table.detach().reshape(1, *shape)
        label = _owner(other)
        if not _from_parameters(t, other) and _is_sinusoidal(table):
            return Mapped("PositionalEncoding", {"kind": "sinusoidal"}, [data], label=label)
        return Mapped("PositionalEncoding", {"kind": "learned"}, [data],
                      weights={"table": table.clone()}, label=label)
    raise Unsupported("it adds a constant; only a learned position table (T×D) added to a "
                      "sequence has a layer (PositionalEncoding, learned)")


def _owner(arg: Any) -> str | None:
    """The attribute a constant comes from (``pos_embed`` in ``self.pos_embed[:, :t]``)."""
    while isinstance(arg, fx.Node):
        if arg.op in ("get_attr", "call_module"):
            return str(arg.target)
        arg = arg.args[0] if arg.args else None
    return None


def _from_parameters(t: Trace, arg: Any) -> bool:
    """Whether a constant is computed from the module's parameters (so it is learned)."""
    params = dict(t.gm.named_parameters())
    stack = [arg] if isinstance(arg, fx.Node) else []
    while stack:
        node = stack.pop()
        if node.op == "get_attr" and node.target in params:
            return True
        if node.op == "call_module" and any(True for _ in t.module(node).parameters()):
            return True
        fx.node.map_arg((node.args, node.kwargs), stack.append)
    return False


def _is_sinusoidal(table: torch.Tensor) -> bool:
    """Whether a fixed table holds the sine/cosine codes of the catalog's PositionalEncoding."""
    from graph.modules import PositionalEncoding

    codes = PositionalEncoding(table.shape[1], table.shape[2]).table
    return bool(torch.allclose(table.float().cpu(), codes, atol=1e-6))


def _mul(t: Trace, node: fx.Node) -> Mapped:
    left, right = _operands(node)
    if t.is_data(left) and t.is_data(right):
        return Mapped("Multiply", {}, [left, right])
    data, other = (left, right) if t.is_data(left) else (right, left)
    return _scale(data, t.value(other))


def _div(t: Trace, node: fx.Node) -> Mapped:
    left, right = _operands(node)
    if not t.is_data(left) or t.is_data(right):
        raise Unsupported("it divides by a tensor; only division by a number has a layer")
    factor: Any = t.value(right)
    if not isinstance(factor, int | float) or isinstance(factor, bool) or factor == 0:
        raise Unsupported("it divides by something other than a non-zero number")
    return _scale(left, 1.0 / factor)


def _scale(data: fx.Node, factor: Any) -> Mapped:
    if isinstance(factor, torch.Tensor) and factor.numel() == 1:
        factor = factor.item()
    if not isinstance(factor, int | float) or isinstance(factor, bool):
        raise Unsupported("it multiplies by something other than a number; only a number "
                          "has a layer (Scale)")
    return Mapped("Scale", _params("Scale", {"factor": float(factor)}), [data])


def _getitem(t: Trace, node: fx.Node) -> Mapped | Alias:
    source: Any = node.args[0]
    index: Any = node.args[1]
    recurrent = _final_state_of(t, node)
    if recurrent is not None:  # h_n[-1]: the recurrent layer's 'last' output
        return Alias(recurrent)
    if isinstance(t.values[source], tuple) and index == 0:  # out, _ = lstm(x); attn(...)[0]
        return Alias(source)
    if isinstance(t.values[source], tuple):
        raise Unsupported(f"it reads output {index} of a layer; the catalog's layer gives its "
                          "first output only")
    whole = slice(None)
    index = t.value(index)
    key = index if isinstance(index, tuple) else (index,)
    key = key[:-1] if len(key) == 3 and key[2] == whole else key
    if len(t.values[source].shape) == 3 and len(key) == 2 and key[0] == whole \
            and key[1] in (0, -1):
        mode = "first" if key[1] == 0 else "last"
        return Mapped("SequencePool", {"mode": mode}, [source])
    raise Unsupported("only the first or last step of a sequence (x[:, 0], x[:, -1]) has a "
                      "layer (SequencePool)")


def _final_state_of(t: Trace, node: fx.Node) -> fx.Node | None:
    """The recurrent call whose final state ``node`` reads as its 'last' output."""
    chain: Any = node
    while isinstance(chain, fx.Node) and chain.target is operator.getitem:
        chain = chain.args[0]
    if not isinstance(chain, fx.Node) or chain.op != "call_module":
        return None
    module = t.module(chain)
    if isinstance(module, nn.RNNBase) and final_state_read(chain, module) is node:
        return chain
    return None


def _unchanged(t: Trace, node: fx.Node) -> Alias:
    """``x.contiguous()``, ``x.float()`` on floats, ``x.to(device)``: the same values."""
    source = _first(t, node)
    before, after = t.values[source], t.values[node]
    if not isinstance(after, torch.Tensor) or after.dtype != before.dtype \
            or after.shape != before.shape:
        raise Unsupported("it changes the values' type, which no layer does")
    return Alias(source)


def _activation(type_id: str) -> CallRule:
    return _plain(type_id)


FUNCTION_RULES: dict[Any, CallRule] = {
    F.relu: _activation("ReLU"), torch.relu: _activation("ReLU"),
    torch.sigmoid: _activation("Sigmoid"), F.sigmoid: _activation("Sigmoid"),
    torch.tanh: _activation("Tanh"), F.tanh: _activation("Tanh"),
    F.silu: _activation("SiLU"),
    F.gelu: _plain("GELU", approximate=(1, "approximate", "none")),
    F.leaky_relu: _plain("LeakyReLU", negative_slope=(1, "negative_slope", 0.01)),
    F.elu: _plain("ELU", alpha=(1, "alpha", 1.0)),
    F.softmax: _softmax("Softmax"), torch.softmax: _softmax("Softmax"),
    F.log_softmax: _softmax("LogSoftmax"), torch.log_softmax: _softmax("LogSoftmax"),
    F.dropout: _dropout, F.linear: _linear,
    F.max_pool1d: _pool("MaxPool1d"), F.max_pool2d: _pool("MaxPool2d"),
    F.avg_pool2d: _pool("AvgPool2d"), F.adaptive_avg_pool2d: _adaptive_pool,
    torch.flatten: _flatten, torch.reshape: _reshape,
    torch.squeeze: _reshape, torch.unsqueeze: _reshape,
    torch.permute: _permute, torch.transpose: _transpose,
    torch.cat: _cat, torch.concat: _cat, torch.mean: _mean,
    operator.add: _add, operator.iadd: _add, torch.add: _add,
    operator.mul: _mul, operator.imul: _mul, torch.mul: _mul,
    operator.truediv: _div,
    operator.getitem: _getitem,
}

METHOD_RULES: dict[str, CallRule] = {
    "relu": _activation("ReLU"), "sigmoid": _activation("Sigmoid"),
    "tanh": _activation("Tanh"),
    "softmax": _softmax("Softmax"), "log_softmax": _softmax("LogSoftmax"),
    "view": _reshape, "reshape": _reshape, "flatten": _flatten,
    "permute": _permute, "transpose": _transpose, "mean": _mean,
    "add": _add, "mul": _mul,
    "squeeze": _reshape, "unsqueeze": _reshape,
    **dict.fromkeys(("contiguous", "clone", "detach", "float", "to", "type_as"), _unchanged),
}
