"""What the ONNX matchers produce: catalog layers made of ONNX nodes, pass-throughs, and
the shape helpers they share."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import onnx

from graph.importers.onnx_graph import OnnxGraph, Shape


@dataclass
class Layer:
    """One catalog node made from one or more ONNX nodes."""

    type_id: str
    params: dict[str, Any]
    inputs: list[str]  # ONNX value names, in the layer's port order
    output: str  # the ONNX value the layer computes
    nodes: list[onnx.NodeProto]  # the ONNX nodes it replaces
    weights: dict[str, np.ndarray] = field(default_factory=dict)


@dataclass
class Alias:
    """A node that passes its input through unchanged at inference."""

    output: str
    source: str
    node: onnx.NodeProto


Match = Layer | Alias | str  # a str says why the node has no catalog layer
Matcher = Callable[[OnnxGraph, onnx.NodeProto], Match]


def per_sample(g: OnnxGraph, name: str) -> Shape | None:
    shape = g.shape(name)
    return None if shape is None or not shape else shape[1:]


def rank(g: OnnxGraph, name: str) -> int | None:
    shape = g.shape(name)
    return None if shape is None else len(shape)


def static(shape: Shape | None) -> tuple[int, ...] | None:
    if shape is None or not all(isinstance(d, int) for d in shape):
        return None
    return tuple(int(d) for d in shape)
