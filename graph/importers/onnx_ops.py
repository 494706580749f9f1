"""ONNX nodes that map one-to-one (or with a trailing bias add) onto catalog layers.

Each matcher looks at one node and returns the ``Layer`` it becomes, an ``Alias``
when it computes nothing at inference (Dropout, Identity), or a reason why the
catalog cannot express it. Parameter names are the catalog's (graph/layers/*);
weights are numpy arrays keyed by the tensor path inside the compiled layer.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import onnx

from graph.catalog import catalog
from graph.importers.onnx_conv import conv, global_pool, pool, reduce_mean, resize
from graph.importers.onnx_graph import OnnxGraph, attr
from graph.importers.onnx_layer import Alias, Layer, Match, Matcher, per_sample, rank, static
from graph.importers.onnx_projection import take_bias


# -- dense ---------------------------------------------------------------------------
def _gemm(g: OnnxGraph, node: onnx.NodeProto) -> Match:
    b = g.const(node.input[1])
    if g.is_const(node.input[0]) or b is None or b.ndim != 2 or attr(node, "transA", 0):
        return "Gemm needs a constant weight matrix B and a data input A"
    weight = b if attr(node, "transB", 0) else b.T
    weight = weight * attr(node, "alpha", 1.0)
    out_features = weight.shape[0]
    weights = {"weight": weight.astype(np.float32)}
    if len(node.input) > 2 and node.input[2]:
        c = g.const(node.input[2])
        if c is None or c.size not in (1, out_features) or c.ndim > 2:
            return "Gemm's C must be a constant bias vector"
        bias = np.broadcast_to(c.reshape(-1), (out_features,)) * attr(node, "beta", 1.0)
        weights["bias"] = bias.astype(np.float32)
    return Layer("Linear", {"out_features": out_features, "bias": "bias" in weights},
                 [node.input[0]], node.output[0], [node], weights)


def _matmul(g: OnnxGraph, node: onnx.NodeProto) -> Match:
    w = g.const(node.input[1])
    if g.is_const(node.input[0]) or w is None or w.ndim != 2:
        return ("MatMul of two computed tensors has no layer in the catalog "
                "(only inside an attention block)")
    weights = {"weight": np.ascontiguousarray(w.T).astype(np.float32)}
    bias, out, extra = take_bias(g, node.output[0], w.shape[1])
    if bias is not None:
        weights["bias"] = bias
    return Layer("Linear", {"out_features": int(w.shape[1]), "bias": bias is not None},
                 [node.input[0]], out, [node, *extra], weights)


def _batchnorm(g: OnnxGraph, node: onnx.NodeProto) -> Match:
    consts = [g.const(n) for n in node.input[1:5]]
    if any(c is None for c in consts) or (len(node.output) > 1 and any(node.output[1:])):
        return "BatchNormalization needs constant statistics (inference mode)"
    r = rank(g, node.input[0])
    kind = {4: "BatchNorm2d", 2: "BatchNorm1d", 3: "BatchNorm1d"}.get(r or 0)
    if kind is None:
        return f"BatchNormalization of a rank-{r} tensor has no layer in the catalog"
    scale, bias, mean, var = (np.asarray(c, dtype=np.float32) for c in consts)
    momentum = 1.0 - float(attr(node, "momentum", 0.9))
    return Layer(kind, {"eps": float(attr(node, "epsilon", 1e-5)), "momentum": momentum},
                 [node.input[0]], node.output[0], [node],
                 {"weight": scale, "bias": bias, "running_mean": mean, "running_var": var})


def _layernorm(g: OnnxGraph, node: onnx.NodeProto) -> Match:
    r = rank(g, node.input[0])
    axis = attr(node, "axis", -1)
    if r is None or axis % r != r - 1:
        return "LayerNormalization over more than the last dimension has no layer in the catalog"
    scale = g.const(node.input[1])
    bias = g.const(node.input[2]) if len(node.input) > 2 and node.input[2] else None
    if scale is None or (len(node.input) > 2 and node.input[2] and bias is None):
        return "LayerNormalization needs a constant scale and bias"
    width = scale.size
    return Layer("LayerNorm", {"eps": float(attr(node, "epsilon", 1e-5))}, [node.input[0]],
                 node.output[0], [node],
                 {"weight": scale.reshape(width).astype(np.float32),
                  "bias": (bias.reshape(width) if bias is not None
                           else np.zeros(width)).astype(np.float32)})


def _gather(g: OnnxGraph, node: onnx.NodeProto) -> Match:
    table = g.const(node.input[0])
    axis = attr(node, "axis", 0)
    if table is not None and table.ndim == 2 and axis == 0:
        return Layer("Embedding", {"embedding_dim": int(table.shape[1])}, [node.input[1]],
                     node.output[0], [node], {"weight": table.astype(np.float32)})
    index = g.const(node.input[1])
    r = rank(g, node.input[0])
    if index is not None and index.size == 1 and int(index) == 0 and r == 3 and axis % 3 == 1:
        return Layer("SequencePool", {"mode": "first"}, [node.input[0]], node.output[0], [node])
    return "Gather other than an embedding lookup or the first time step has no layer"


# -- activations -----------------------------------------------------------------------
def _plain(type_id: str, **params: Callable[[onnx.NodeProto], Any]) -> Matcher:
    def match(g: OnnxGraph, node: onnx.NodeProto) -> Match:
        values = {k: f(node) for k, f in params.items()}
        return Layer(type_id, values, [node.input[0]], node.output[0], [node])

    return match


def _softmax(type_id: str) -> Matcher:
    def match(g: OnnxGraph, node: onnx.NodeProto) -> Match:
        r = rank(g, node.input[0])
        if r is None:
            return f"{node.op_type} of a tensor of unknown rank"
        axis = attr(node, "axis", -1 if g.opset >= 13 else 1) % r
        if axis == 0 or (g.opset < 13 and axis != r - 1):
            return f"{node.op_type} over the batch has no layer in the catalog"
        return Layer(type_id, {"dim": axis - 1}, [node.input[0]], node.output[0], [node])

    return match


# -- shapes ----------------------------------------------------------------------------
def _reshape(g: OnnxGraph, node: onnx.NodeProto) -> Match:
    src, out = g.shape(node.input[0]), g.shape(node.output[0])
    before = static(src[1:]) if src else None
    target = _kept_batch_target(g, node, before) if out and src and out[0] != src[0] else (
        static(out[1:]) if out and src else None)
    if target is None:
        return (f"{node.op_type} that moves the batch dimension or gives a shape of unknown "
                "size has no layer in the catalog")
    if before == target:
        return Alias(node.output[0], node.input[0], node)
    one_axis = _one_axis(g, node, len(target))
    if one_axis is not None:  # Squeeze / Unsqueeze of one dimension, as the catalog has them
        return Layer(node.op_type, {"dim": one_axis}, [node.input[0]], node.output[0], [node])
    if len(target) == 1 and before is not None and math.prod(before) == target[0]:
        return Layer("Flatten", {}, [node.input[0]], node.output[0], [node])
    return Layer("Reshape", {"shape": list(target)}, [node.input[0]], node.output[0], [node])


def _one_axis(g: OnnxGraph, node: onnx.NodeProto, out_rank: int) -> int | None:
    """The per-sample dim a Squeeze removes or an Unsqueeze inserts, when it is one."""
    if node.op_type not in ("Squeeze", "Unsqueeze") or node.op_type not in catalog():
        return None
    given = g.const(node.input[1]) if len(node.input) > 1 and node.input[1] else None
    axes = [int(a) for a in given.ravel()] if given is not None else list(attr(node, "axes", []))
    rank = out_rank + 1 + (1 if node.op_type == "Squeeze" else 0)  # batched, the larger side
    if len(axes) != 1 or axes[0] % rank == 0:
        return None
    return axes[0] % rank - 1


def _kept_batch_target(g: OnnxGraph, node: onnx.NodeProto,
                       before: tuple[int, ...] | None) -> tuple[int, ...] | None:
    """A Reshape to [-1, d1, d2...] (or [0, ...]) that keeps the batch, read from its
    target where shape inference could not tell the first dimension is the batch."""
    target = g.const(node.input[1]) if node.op_type == "Reshape" else None
    if target is None or before is None or target.ndim != 1 or not len(target):
        return None
    rest = tuple(int(d) for d in target[1:])
    first = int(target[0])
    keeps = first == -1 or (first == 0 and not attr(node, "allowzero", 0))
    if keeps and all(d > 0 for d in rest) and math.prod(rest) == math.prod(before):
        return rest
    return None


def _transpose(g: OnnxGraph, node: onnx.NodeProto) -> Match:
    perm = list(attr(node, "perm", []))
    if not perm or perm[0] != 0:
        return "Transpose that moves the batch dimension has no layer in the catalog"
    return Layer("Permute", {"dims": [p - 1 for p in perm[1:]]}, [node.input[0]],
                 node.output[0], [node])


def _merge(type_id: str) -> Matcher:
    def match(g: OnnxGraph, node: onnx.NodeProto) -> Match:
        data = g.activations(node)
        if len(data) == len(node.input) >= 2:
            shapes = {g.shape(n) for n in data}
            if len(shapes) > 1:
                return f"{node.op_type} of differently shaped tensors (broadcasting) has no layer"
            return Layer(type_id, {}, list(node.input), node.output[0], [node])
        if type_id == "Add" and len(data) == 1:
            return _positional(g, node, data[0])
        if type_id == "Multiply" and len(data) == 1:
            return _scale(g, node, data[0])
        return f"{node.op_type} with a constant has no layer in the catalog"

    return match


def _scale(g: OnnxGraph, node: onnx.NodeProto, data: str) -> Match:
    """x · c (or x / c) with one constant number c."""
    factor = g.const(next(n for n in node.input if n != data))
    if factor is None or factor.size != 1 or (node.op_type == "Div" and node.input[0] != data):
        return f"{node.op_type} by a constant tensor has no layer in the catalog"
    value = float(factor.reshape(()))
    if node.op_type == "Div":
        if value == 0.0:
            return "Div by zero has no layer in the catalog"
        value = 1.0 / value
    return Layer("Scale", {"factor": value}, [data], node.output[0], [node])


def _divide(g: OnnxGraph, node: onnx.NodeProto) -> Match:
    data = g.activations(node)
    if len(data) != 1:
        return "Div of two computed tensors has no layer in the catalog"
    return _scale(g, node, data[0])


def _silu(g: OnnxGraph, node: onnx.NodeProto) -> Match:
    """x · sigmoid(x) is SiLU; any other product of two tensors is a Multiply."""
    for i, j in ((0, 1), (1, 0)):
        sigmoid = g.producer.get(node.input[j])
        if (sigmoid is not None and sigmoid.op_type == "Sigmoid"
                and sigmoid.input[0] == node.input[i] and g.sole_use(node.input[j]) is node):
            return Layer("SiLU", {}, [node.input[i]], node.output[0], [sigmoid, node])
    return _merge("Multiply")(g, node)


def _positional(g: OnnxGraph, node: onnx.NodeProto, data: str) -> Match:
    """x + a constant table shaped like one sample: a positional encoding, the fixed
    sinusoidal one when the table is exactly that, else a learned one."""
    table = g.const(next(n for n in node.input if n != data))
    shape = static(per_sample(g, data))
    if table is None or shape is None or len(shape) != 2 or table.size != math.prod(shape):
        return "Add with a constant has no layer in the catalog"
    if table.shape[-2:] != shape:
        return "Add with a broadcast constant has no layer in the catalog"
    table = table.reshape(1, *shape).astype(np.float32)
    if np.allclose(table, _sinusoidal(*shape), rtol=0.0, atol=1e-5):
        return Layer("PositionalEncoding", {"kind": "sinusoidal"}, [data], node.output[0], [node])
    return Layer("PositionalEncoding", {"kind": "learned"}, [data], node.output[0], [node],
                 {"table": table})


def _sinusoidal(length: int, dim: int) -> np.ndarray:
    """The fixed table of graph.modules.PositionalEncoding."""
    position = np.arange(length, dtype=np.float32)[:, None]
    rate = np.exp(np.arange(0, dim, 2, dtype=np.float32) * np.float32(-math.log(1e4) / dim))
    table = np.zeros((1, length, dim), dtype=np.float32)
    table[0, :, 0::2] = np.sin(position * rate)
    table[0, :, 1::2] = np.cos(position * rate[: dim // 2])
    return table


def _concat(g: OnnxGraph, node: onnx.NodeProto) -> Match:
    r = rank(g, node.output[0])
    if g.activations(node) != list(node.input) or r is None:
        return "Concat with a constant has no layer in the catalog"
    axis = attr(node, "axis", 0) % r
    if axis == 0:
        return "Concat along the batch has no layer in the catalog"
    return Layer("Concat", {"dim": axis - 1}, list(node.input), node.output[0], [node])


def _passthrough(g: OnnxGraph, node: onnx.NodeProto) -> Match:
    if node.op_type == "Cast" and attr(node, "to") != onnx.TensorProto.FLOAT:
        return "Cast to anything but float has no layer in the catalog"
    if node.op_type == "Cast":
        mask = _padding_mask(g, node)
        if mask is not None:
            return mask
    return Alias(node.output[0], node.input[0], node)


def _padding_mask(g: OnnxGraph, cast: onnx.NodeProto) -> Layer | None:
    """float(tokens != padding id), written Cast(Not(Equal(tokens, id)))."""
    negation = g.producer.get(cast.input[0])
    equal = g.producer.get(negation.input[0]) if negation is not None else None
    if negation is None or negation.op_type != "Not" or equal is None or equal.op_type != "Equal":
        return None
    tokens = g.activations(equal)
    pad = g.const(next((n for n in equal.input if n not in tokens), ""))
    if len(tokens) != 1 or pad is None or pad.size != 1 or pad.dtype.kind not in "iu":
        return None
    return Layer("PaddingMask", {"padding_idx": int(pad.reshape(()))}, tokens, cast.output[0],
                 [equal, negation, cast])


MATCHERS: dict[str, Matcher] = {
    "Gemm": _gemm, "MatMul": _matmul,
    "Conv": conv, "ConvTranspose": conv,
    "BatchNormalization": _batchnorm, "LayerNormalization": _layernorm,
    "MaxPool": pool, "AveragePool": pool, "GlobalAveragePool": global_pool,
    "ReduceMean": reduce_mean, "Resize": resize,
    "Relu": _plain("ReLU"), "Sigmoid": _plain("Sigmoid"), "Tanh": _plain("Tanh"),
    "LeakyRelu": _plain("LeakyReLU", negative_slope=lambda n: float(attr(n, "alpha", 0.01))),
    "Elu": _plain("ELU", alpha=lambda n: float(attr(n, "alpha", 1.0))),
    "Gelu": _plain("GELU", approximate=lambda n: attr(n, "approximate", "none")),
    "Softmax": _softmax("Softmax"), "LogSoftmax": _softmax("LogSoftmax"),
    "Flatten": _reshape, "Reshape": _reshape, "Squeeze": _reshape, "Unsqueeze": _reshape,
    "Transpose": _transpose,
    "Add": _merge("Add"), "Mul": _silu, "Div": _divide, "Concat": _concat,
    "Gather": _gather,
    "Dropout": _passthrough, "Identity": _passthrough, "Cast": _passthrough,
}
