"""ONNX convolution, pooling and resizing ops as the catalog's square-windowed layers."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import onnx

from graph.importers.onnx_graph import OnnxGraph, attr
from graph.importers.onnx_layer import Layer, Match, per_sample, rank, static


def _uniform(node: onnx.NodeProto, name: str, count: int, default: int) -> int | None:
    values = list(attr(node, name, [default] * count))
    return values[0] if values and len(set(values)) == 1 else None


def _window(node: onnx.NodeProto, spatial: int,
            kernel_shape: tuple[int, ...] = ()) -> dict[str, int] | str:
    """kernel, stride, padding and dilation when the same along every axis."""
    if attr(node, "auto_pad", "NOTSET") not in ("NOTSET", "VALID"):
        return f"{node.op_type} with auto_pad {attr(node, 'auto_pad')} has no layer"
    kernels = list(attr(node, "kernel_shape", kernel_shape))
    kernel = kernels[0] if kernels and len(set(kernels)) == 1 else None
    values = {"kernel_size": kernel, "stride": _uniform(node, "strides", spatial, 1),
              "padding": _uniform(node, "pads", 2 * spatial, 0),
              "dilation": _uniform(node, "dilations", spatial, 1)}
    bad = [k for k, v in values.items() if v is None]
    if bad:
        return (f"{node.op_type} with a different {bad[0].replace('_', ' ')} per axis has no "
                "layer in the catalog (its layers are square)")
    return {k: int(v) for k, v in values.items() if v is not None}


def conv(g: OnnxGraph, node: onnx.NodeProto) -> Match:
    w = g.const(node.input[1])
    if w is None or g.is_const(node.input[0]):
        return f"{node.op_type} needs a constant weight"
    if attr(node, "group", 1) != 1:
        return f"{node.op_type} with groups has no layer in the catalog"
    transpose = node.op_type == "ConvTranspose"
    kinds = {("Conv", 3): "Conv1d", ("Conv", 4): "Conv2d", ("ConvTranspose", 4): "ConvTranspose2d"}
    kind = kinds.get((node.op_type, w.ndim))
    if kind is None:
        return f"{node.op_type} with a {w.ndim - 2}-d kernel has no layer in the catalog"
    window = _window(node, w.ndim - 2, tuple(int(k) for k in w.shape[2:]))
    if isinstance(window, str):
        return window
    out_channels = int(w.shape[1] if transpose else w.shape[0])
    params: dict[str, Any] = {"out_channels": out_channels, **window}
    if transpose:
        if attr(node, "output_shape") is not None:
            return "ConvTranspose with output_shape has no layer in the catalog"
        padding = _uniform(node, "output_padding", 2, 0)
        if padding is None:
            return "ConvTranspose with a different output padding per axis has no layer"
        params["output_padding"] = padding
    weights = {"weight": w.astype(np.float32)}
    if len(node.input) > 2 and node.input[2]:
        b = g.const(node.input[2])
        if b is None:
            return f"{node.op_type} needs a constant bias"
        weights["bias"] = b.astype(np.float32)
    params["bias"] = "bias" in weights
    return Layer(kind, params, [node.input[0]], node.output[0], [node], weights)


def pool(g: OnnxGraph, node: onnx.NodeProto) -> Match:
    r = rank(g, node.input[0])
    kinds = {("MaxPool", 3): "MaxPool1d", ("MaxPool", 4): "MaxPool2d",
             ("AveragePool", 4): "AvgPool2d"}
    kind = kinds.get((node.op_type, r or 0))
    if kind is None:
        return f"{node.op_type} over a rank-{r} tensor has no layer in the catalog"
    if attr(node, "ceil_mode", 0) or (len(node.output) > 1 and node.output[1]):
        return f"{node.op_type} with ceil_mode or indices has no layer in the catalog"
    window = _window(node, (r or 2) - 2)
    if isinstance(window, str):
        return window
    if window.pop("dilation") != 1:
        return f"{node.op_type} with dilation has no layer in the catalog"
    if kind == "AvgPool2d" and window["padding"] and not attr(node, "count_include_pad", 0):
        return "AveragePool that leaves padding out of the average has no layer in the catalog"
    return Layer(kind, window, [node.input[0]], node.output[0], [node])


def global_pool(g: OnnxGraph, node: onnx.NodeProto) -> Match:
    if rank(g, node.input[0]) != 4:
        return "GlobalAveragePool of anything but images has no layer in the catalog"
    return Layer("AdaptiveAvgPool2d", {"output_size": 1}, [node.input[0]], node.output[0], [node])


def reduce_mean(g: OnnxGraph, node: onnx.NodeProto) -> Match:
    r = rank(g, node.input[0]) or 0
    axes_in = g.const(node.input[1]) if len(node.input) > 1 and node.input[1] else None
    axes = sorted(int(a) % r for a in (axes_in.ravel() if axes_in is not None
                                       else attr(node, "axes", []))) if r else []
    keep = attr(node, "keepdims", 1)
    if r == 4 and axes == [2, 3] and keep:
        return Layer("AdaptiveAvgPool2d", {"output_size": 1}, [node.input[0]], node.output[0],
                     [node])
    if r == 3 and axes == [1] and not keep:
        return Layer("SequencePool", {"mode": "mean"}, [node.input[0]], node.output[0], [node])
    return "ReduceMean other than over time or over an image has no layer in the catalog"


def resize(g: OnnxGraph, node: onnx.NodeProto) -> Match:
    """Resize of images by one factor: nearest as torch does it (floor), or bilinear."""
    src, out = static(per_sample(g, node.input[0])), static(per_sample(g, node.output[0]))
    scales = g.const(node.input[2]) if len(node.input) > 2 and node.input[2] else None
    if src is None or out is None or len(src) != 3:
        return "Resize of anything but images of known size has no layer in the catalog"
    factors = ({float(f) for f in scales.ravel()[2:]} if scales is not None and scales.size == 4
               else {o / i for o, i in zip(out[1:], src[1:], strict=True)})
    factor = factors.pop() if len(factors) == 1 else None
    mode, where = attr(node, "mode", "nearest"), attr(node, "coordinate_transformation_mode",
                                                      "half_pixel")
    torch_like = {("nearest", "asymmetric"): attr(node, "nearest_mode", "round_prefer_floor")
                  == "floor", ("linear", "half_pixel"): True, ("linear", "pytorch_half_pixel"):
                  True}.get((mode, where), False)
    if factor is None or factor < 1 or not torch_like or attr(node, "antialias", 0):
        return ("Resize other than by one factor, nearest (floor) or bilinear, has no layer "
                "in the catalog")
    if out[1:] != tuple(math.floor(i * factor) for i in src[1:]):
        return "Resize to a size its factor does not give has no layer in the catalog"
    return Layer("Upsample", {"scale_factor": factor,
                              "mode": "nearest" if mode == "nearest" else "bilinear"},
                 [node.input[0]], node.output[0], [node])
