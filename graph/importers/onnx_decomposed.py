"""LayerNorm and GELU written out in elementary ops, as exporters for older opsets do.

* LayerNorm: ``(x - mean(x)) / sqrt(mean((x - mean(x))²) + eps) · w + b`` over the
  last dimension (ReduceMean, Sub, Pow, ReduceMean, Add, Sqrt, Div, Mul, Add).
* GELU: ``x · 0.5 · (1 + erf(x / √2))`` in any order of its multiplications.

Each is matched exactly from its distinctive node (the Sub of a mean, the Erf);
anything else is left to be refused node by node.
"""

from __future__ import annotations

import math

import numpy as np
import onnx

from graph.importers.onnx_graph import OnnxGraph, attr
from graph.importers.onnx_layer import Layer


def decomposed_layers(g: OnnxGraph) -> list[Layer]:
    layers = []
    for node in g.nodes:
        layer = (_layer_norm(g, node) if node.op_type == "Sub"
                 else _gelu(g, node) if node.op_type == "Erf" else None)
        if layer is not None:
            layers.append(layer)
    return layers


def _scalar(g: OnnxGraph, node: onnx.NodeProto, data: str) -> float | None:
    """The constant number ``node`` combines ``data`` with."""
    others = [n for n in node.input if n != data]
    value = g.const(others[0]) if len(others) == 1 else None
    return float(value.reshape(())) if value is not None and value.size == 1 else None


def _user(g: OnnxGraph, value: str, op: str) -> onnx.NodeProto | None:
    node = g.sole_use(value)
    return node if node is not None and node.op_type == op else None


def _mean_over_last(g: OnnxGraph, node: onnx.NodeProto | None, data: str) -> bool:
    if node is None or node.op_type != "ReduceMean" or node.input[0] != data:
        return False
    shape = g.shape(data)
    axes_in = g.const(node.input[1]) if len(node.input) > 1 and node.input[1] else None
    axes = list(axes_in.ravel()) if axes_in is not None else list(attr(node, "axes", []))
    return (shape is not None and len(axes) == 1 and int(axes[0]) % len(shape) == len(shape) - 1
            and attr(node, "keepdims", 1) == 1)


def _layer_norm(g: OnnxGraph, sub: onnx.NodeProto) -> Layer | None:
    x = sub.input[0]
    mean = g.producer.get(sub.input[1])
    if not _mean_over_last(g, mean, x) or mean is None:
        return None
    d = sub.output[0]
    users = {u.op_type: u for u in g.uses(d)}
    power, div = users.get("Pow"), users.get("Div")
    if len(g.uses(d)) != 2 or power is None or div is None or _scalar(g, power, d) != 2.0:
        return None
    var = _user(g, power.output[0], "ReduceMean")
    add = _user(g, var.output[0], "Add") if var is not None else None
    sqrt = _user(g, add.output[0], "Sqrt") if add is not None else None
    if (var is None or add is None or sqrt is None
            or not _mean_over_last(g, var, power.output[0])
            or list(div.input) != [d, sqrt.output[0]]
            or _user(g, sqrt.output[0], "Div") is not div):
        return None
    eps = _scalar(g, add, var.output[0])
    width = (g.shape(x) or (None,))[-1]
    if eps is None or not isinstance(width, int):
        return None
    nodes = [mean, sub, power, var, add, sqrt, div]
    out, weight, bias = div.output[0], np.ones(width, np.float32), np.zeros(width, np.float32)
    for op, target in (("Mul", weight), ("Add", bias)):
        step = _user(g, out, op)
        const = g.const(next((n for n in step.input if n != out), "")) if step else None
        if step is None or const is None or const.size != width:
            continue
        target[:] = const.reshape(width)
        nodes.append(step)
        out = step.output[0]
    return Layer("LayerNorm", {"eps": eps}, [x], out, nodes, {"weight": weight, "bias": bias})


def _gelu(g: OnnxGraph, erf: onnx.NodeProto) -> Layer | None:
    """erf(x/√2) → +1 → ·x → ·0.5, the 0.5 possibly applied to x first."""
    scaled = g.producer.get(erf.input[0])
    if scaled is None or scaled.op_type not in ("Div", "Mul"):
        return None
    x = next((n for n in scaled.input if not g.is_const(n)), "")
    factor = _scalar(g, scaled, x)
    if factor is None or not math.isclose(
            factor if scaled.op_type == "Div" else 1.0 / factor, math.sqrt(2.0), rel_tol=1e-4):
        return None
    one = _user(g, erf.output[0], "Add")
    if one is None or _scalar(g, one, erf.output[0]) != 1.0:
        return None
    nodes = [scaled, erf, one]
    value, half, times_x = one.output[0], False, False
    for _ in range(2):  # ·x and ·0.5, in either order (or x·0.5 computed beforehand)
        step = _user(g, value, "Mul")
        if step is None:
            return None
        other = next((n for n in step.input if n != value), "")
        if other == x and not times_x:
            times_x = True
        elif _scalar(g, step, value) == 0.5 and not half:
            half = True
        else:
            pre = g.producer.get(other)
            if pre is None or pre.op_type != "Mul" or x not in pre.input or times_x or half or (
                    _scalar(g, pre, x) != 0.5):
                return None
            nodes.append(pre)
            half = times_x = True
        nodes.append(step)
        value = step.output[0]
        if half and times_x:
            return Layer("GELU", {"approximate": "none"}, [x], value, nodes)
    return None
