"""Projections x·Wᵀ + b in their ONNX spellings (MatMul + Add, Gemm), shared by the
single-op matchers and the attention and recurrent blocks."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import onnx

from graph.importers.onnx_graph import OnnxGraph, attr


def take_bias(g: OnnxGraph, value: str, width: int) -> tuple[np.ndarray | None, str,
                                                               list[onnx.NodeProto]]:
    """A constant vector added right after ``value`` (a projection's bias), if any."""
    user = g.sole_use(value)
    if user is None or user.op_type != "Add":
        return None, value, []
    other = [n for n in user.input if n != value]
    if len(other) != 1 or g.const(other[0]) is None:
        return None, value, []
    bias = g.const(other[0])
    assert bias is not None
    if bias.size != width or any(d != 1 for d in bias.shape[:-1]):
        return None, value, []
    return bias.reshape(width).astype(np.float32), user.output[0], [user]


@dataclass
class Projection:
    """x·Wᵀ + b with a constant W (torch layout, out × in) and bias."""

    node: onnx.NodeProto
    source: str
    weight: np.ndarray
    bias: np.ndarray


def projection(g: OnnxGraph, value: str) -> Projection | None:
    """The projection whose (biased) output is ``value``."""
    node = g.producer.get(value)
    bias: np.ndarray | None = None
    if node is not None and node.op_type == "Add":
        consts = [g.const(n) for n in node.input]
        data = g.activations(node)
        if len(data) != 1 or all(c is None for c in consts):
            return None
        bias = next(c for c in consts if c is not None)
        node = g.producer.get(data[0])
    if node is None or node.op_type not in ("MatMul", "Gemm") or g.is_const(node.input[0]):
        return None
    w = g.const(node.input[1])
    if w is None or w.ndim != 2:
        return None
    if node.op_type == "Gemm":
        if attr(node, "transA", 0) or attr(node, "alpha", 1.0) != 1.0:
            return None
        w = w if attr(node, "transB", 0) else w.T
        if len(node.input) > 2 and node.input[2]:
            c = g.const(node.input[2])
            if c is None or bias is not None:
                return None
            bias = c * attr(node, "beta", 1.0)
    else:
        w = w.T
    out = w.shape[0]
    if bias is None:
        bias = np.zeros(out, dtype=np.float32)
    if bias.size != out:
        return None
    return Projection(node, node.input[0], np.ascontiguousarray(w, dtype=np.float32),
                       bias.reshape(out).astype(np.float32))


def batch_first(g: OnnxGraph, value: str) -> str:
    """The batch-first tensor a projection reads (torch transposes it to time-first)."""
    node = g.producer.get(value)
    if (node is not None and node.op_type == "Transpose"
            and list(attr(node, "perm", [])) == [1, 0, 2]):
        return node.input[0]
    return value
