"""Multi-op ONNX subgraphs that exporters expand one catalog layer into.

* Attention: torch's exporters write ``nn.MultiheadAttention`` as an input
  projection, head-splitting reshapes, a scaled ``MatMul → Softmax → MatMul`` and
  an output projection. Found from its Softmax, walked back to the projections
  and forward to where the result is batch-first again, and checked to be
  closed: nothing inside is read from outside.
* Recurrent layers: the ONNX ``LSTM`` / ``GRU`` / ``RNN`` ops with the transposes
  around them (``onnx_recurrent``), and an ``RNN`` unrolled step by step.
* LayerNorm and GELU written out in elementary ops (``onnx_decomposed``).

A candidate that does not fit exactly is left alone; its nodes are then refused
one by one by the single-op matchers.
"""

from __future__ import annotations

import math

import numpy as np
import onnx

from graph.importers.onnx_decomposed import decomposed_layers
from graph.importers.onnx_graph import OnnxGraph, attr
from graph.importers.onnx_layer import Layer
from graph.importers.onnx_projection import Projection, batch_first, projection
from graph.importers.onnx_recurrent import recurrent_layers

# Ops that only rearrange values: allowed on the way from a projection to q, k or v.
_MOVES = {"Reshape", "Transpose", "Squeeze", "Unsqueeze", "Identity", "Cast", "Flatten"}
# Every op an attention block may hold (the rest compute reshape targets from sizes).
_ATTENTION_OPS = _MOVES | {"Gather", "Split", "Slice", "Shape", "Concat", "MatMul", "Gemm",
                           "Add", "Mul", "Div", "Softmax"}


def find_blocks(g: OnnxGraph) -> list[Layer]:
    """Every attention and recurrent block in ``g`` (disjoint)."""
    blocks: list[Layer] = []
    for node in g.nodes:
        if node.op_type == "Softmax":
            block = _attention(g, node)
            if block is not None:
                blocks.append(block)
    blocks = _joined(g, blocks)
    blocks.extend(recurrent_layers(g))
    blocks.extend(decomposed_layers(g))
    return blocks


def _joined(g: OnnxGraph, blocks: list[Layer]) -> list[Layer]:
    """Attention blocks that pass a time-first tensor straight on (the exporter dropped the
    transposes between them) are kept only in pairs: such a value must come out of one
    block and go only into others."""
    while True:
        made = {b.output for b in blocks}
        read: dict[str, set[int]] = {}
        for b in blocks:
            for entry in b.inputs:
                read.setdefault(entry, set()).update(id(n) for n in b.nodes)
        kept = [b for b in blocks if _joins(g, b, made, read)]
        if len(kept) == len(blocks):
            return blocks
        blocks = kept


def _joins(g: OnnxGraph, block: Layer, made: set[str], read: dict[str, set[int]]) -> bool:
    """Whether the block's time-first inputs come from blocks and its time-first output
    goes only into blocks (``read``: value → the nodes of the blocks reading it)."""
    if any(g.time_first(e) and e not in made for e in block.inputs):
        return False
    out = block.output
    if not g.time_first(out):
        return True
    readers = read.get(out, set())
    return out not in g.output_names and all(
        id(u) in readers or g.reads_size_only(u) for u in g.uses(out))


def _back(g: OnnxGraph, value: str) -> tuple[Projection, float, int | None] | None:
    """From a q, k or v tensor back through layout ops to its projection.

    Returns the projection, the product of the constant factors met on the way,
    and which slice of a packed q|k|v projection the path took (a Gather index).
    """
    scale, index = 1.0, None
    for _ in range(64):
        proj = projection(g, value)
        if proj is not None:
            return proj, scale, index
        node = g.producer.get(value)
        if node is None or (g.is_const(node.input[0]) and node.op_type != "Mul"):
            return None
        if node.op_type in ("Mul", "Div"):
            data = g.activations(node)
            factor = g.const(next((n for n in node.input if n not in data), ""))
            if (len(data) != 1 or factor is None or factor.size != 1
                    or (node.op_type == "Div" and node.input[0] != data[0])):
                return None
            f = float(factor.reshape(()))
            scale = scale * f if node.op_type == "Mul" else scale / f
            value = data[0]
            continue
        if node.op_type in ("Gather", "Split"):
            if index is not None:  # a second pick would be a slice of a slice
                return None
            idx = g.const(node.input[1]) if node.op_type == "Gather" else np.array(
                list(node.output).index(value))
            if idx is None or idx.size != 1:
                return None
            index = int(idx.reshape(()))
        elif node.op_type not in _MOVES:
            return None
        value = node.input[0]
    return None


def _causal(g: OnnxGraph, softmax: onnx.NodeProto) -> tuple[str, bool] | None:
    """The scores MatMul's output, and whether a causal mask is added to it."""
    node = g.producer.get(softmax.input[0])
    if node is None or node.op_type != "Add":
        return softmax.input[0], False
    data = g.activations(node)
    mask = g.const(next((n for n in node.input if n not in data), ""))
    if len(data) != 1 or mask is None:
        return None
    side = int(mask.shape[-1]) if mask.ndim >= 2 else 0
    if side == 0 or mask.size != side * side:
        return None
    m = mask.reshape(side, side)
    upper = np.triu(np.ones_like(m, dtype=bool), 1)
    if np.all(m[~upper] == 0) and np.all(m[upper] < -1e4):
        return data[0], True
    return None


def _attention(g: OnnxGraph, softmax: onnx.NodeProto) -> Layer | None:
    found = _causal(g, softmax)
    r = g.shape(softmax.input[0])
    if found is None or r is None or attr(softmax, "axis", -1) % len(r) != len(r) - 1:
        return None
    scores, causal = found
    qk = g.producer.get(scores)
    av = g.sole_use(softmax.output[0])
    if (qk is None or qk.op_type != "MatMul" or len(g.activations(qk)) != 2 or av is None
            or av.op_type != "MatMul" or av.input[0] != softmax.output[0]):
        return None
    paths = [_back(g, qk.input[0]), _back(g, qk.input[1]), _back(g, av.input[1])]
    if any(p is None for p in paths):
        return None
    (q, q_scale, q_i), (k, k_scale, k_i), (v, v_scale, v_i) = paths  # type: ignore[misc]
    weights = _in_projection(q, k, v, (q_i, k_i, v_i))
    if weights is None or abs(v_scale - 1.0) > 1e-6:
        return None
    heads = _heads(q_scale * k_scale, q.weight.shape[1], g.shape(scores))
    exit_ = _exit(g, av.output[0], batch_first(g, q.source))
    if heads is None or exit_ is None:
        return None
    out_proj, out = exit_
    entries = [batch_first(g, q.source)]
    if batch_first(g, k.source) != entries[0]:
        entries.append(batch_first(g, k.source))
    nodes = _closed_region(g, entries, out)
    if nodes is None:
        return None
    weights.update({"attn.out_proj.weight": out_proj.weight, "attn.out_proj.bias": out_proj.bias})
    return Layer("MultiheadAttention", {"num_heads": heads, "dropout": 0.0, "causal": causal},
                 entries, out, nodes, weights)


def _in_projection(q: Projection, k: Projection, v: Projection,
                   indices: tuple[int | None, ...]) -> dict[str, np.ndarray] | None:
    """nn.MultiheadAttention's input-projection weights from the projections q, k and v
    come from: one packed q|k|v, q alone and a packed k|v, or three of their own."""
    width = q.weight.shape[1]  # the query's width, which every projection maps to
    roles = [q, k, v]
    parts: list[tuple[np.ndarray, np.ndarray]] = []
    for role, (proj, index) in enumerate(zip(roles, indices, strict=True)):
        sharing = [r for r in range(3) if roles[r].node is proj.node]
        if proj.weight.shape[0] != width * len(sharing):
            return None
        expected = sharing.index(role)  # q before k before v within one packed projection
        if (index if index is not None else 0) % len(sharing) != expected or (
                len(sharing) > 1 and index is None):
            return None
        rows = slice(expected * width, (expected + 1) * width)
        parts.append((proj.weight[rows], proj.bias[rows]))
    if k.source != v.source or parts[1][0].shape != parts[2][0].shape:
        return None
    bias = np.concatenate([b for _, b in parts])
    if parts[1][0].shape[1] == width:
        return {"attn.in_proj_weight": np.concatenate([w for w, _ in parts]),
                "attn.in_proj_bias": bias}
    return {"attn.q_proj_weight": parts[0][0], "attn.k_proj_weight": parts[1][0],
            "attn.v_proj_weight": parts[2][0], "attn.in_proj_bias": bias}


def _heads(scale: float, width: int, scores_shape: tuple[int | str, ...] | None) -> int | None:
    """The head count: the scores were scaled by 1/√(width / heads)."""
    if scale <= 0:
        return None
    head_dim = round(1.0 / scale**2)
    if head_dim < 1 or width % head_dim or abs(scale * math.sqrt(head_dim) - 1.0) > 1e-4:
        return None
    heads = width // head_dim
    if scores_shape is not None and len(scores_shape) == 4 and isinstance(scores_shape[1], int):
        return heads if scores_shape[1] == heads else None
    return heads


def _exit(g: OnnxGraph, value: str, entry: str) -> tuple[Projection, str] | None:
    """Forward from the attention output to the output projection and back to batch-first
    (or, straight into the next attention, time-first: see ``_joined``)."""
    shape = g.shape(entry)
    if shape is None or len(shape) != 3:
        return None
    swapped = (shape[1], shape[0], shape[2])
    target, time_target = (swapped, shape) if g.time_first(entry) else (shape, swapped)
    proj: Projection | None = None
    for _ in range(64):
        user = g.sole_data_use(value)
        if proj is not None and g.shape(value) == target:
            return proj, value
        if user is None or user.op_type not in ("MatMul", "Gemm", "Reshape", "Transpose",
                                                "Identity"):
            return (proj, value) if proj is not None and g.shape(value) == time_target else None
        if proj is None and user.op_type in ("MatMul", "Gemm"):
            out = user.output[0]
            after = g.sole_use(out)
            if after is not None and after.op_type == "Add":
                out = after.output[0]
            proj = projection(g, out)
            if proj is None or proj.node is not user:
                return None
            value = out
        elif user.op_type in ("Reshape", "Transpose", "Identity"):
            value = user.output[0]
        else:  # the next attention's projection reads the time-first value
            return (proj, value) if proj is not None and g.shape(value) == time_target else None
    return None


def _closed_region(g: OnnxGraph, entries: list[str], out: str) -> list[onnx.NodeProto] | None:
    """The nodes computing ``out`` from ``entries``, when nothing else reads inside them."""
    region: dict[int, onnx.NodeProto] = {}
    stack = [out]
    seen: set[str] = set()
    while stack:
        value = stack.pop()
        # sizes (a reshape's target from the batch size) may be shared between blocks
        if value in seen or value in entries or g.is_const(value) or value in g.sizes:
            continue
        seen.add(value)
        node = g.producer.get(value)
        if node is None or node.op_type not in _ATTENTION_OPS:
            return None
        region[id(node)] = node
        if node.op_type != "Shape":  # reads only the size, e.g. the batch size
            stack.extend(n for n in node.input if n)
    for node in region.values():
        for value in node.output:
            if value == out or not value:
                continue
            if value in g.output_names or any(id(u) not in region and not g.reads_size_only(u)
                                              for u in g.uses(value)):
                return None
    return sorted(region.values(), key=lambda n: g.position[id(n)])
