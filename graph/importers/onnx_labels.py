"""Names for imported layers, from what the ONNX file remembers of the model.

torch's exporter records each node's module path ("encoder_1.norm1"); weights keep
their parameter names ("conv1.weight"); older exporters name nodes by path
("/fc1/Gemm"). A Layerloom export's module names are its node labels, so they come
back as they were.
"""

from __future__ import annotations

import re

from graph.importers.onnx_graph import OnnxGraph
from graph.importers.onnx_layer import Layer

Path = tuple[str, ...]


def labels_for(g: OnnxGraph, layers: list[Layer]) -> dict[int, str]:
    """A readable name per layer (by ``id``), not yet made unique: the shortest module
    path that tells it apart ("fc1", "encoder_1.norm1", "encoder_1.add"), else the ONNX
    node's path, else a weight's name, else the layer type."""
    recorded = {id(layer): _recorded_path(g, layer) for layer in layers}
    paths = {id(layer): _path(g, layer, recorded) for layer in layers}
    tops: dict[str, int] = {}
    full: dict[Path, int] = {}
    for path in paths.values():
        if path:
            tops[path[0]] = tops.get(path[0], 0) + 1
        full[path] = full.get(path, 0) + 1
    labels = {}
    for layer in layers:
        path = paths[id(layer)]
        if not path:
            labels[id(layer)] = _plain_label(g, layer)
        elif tops[path[0]] == 1:
            labels[id(layer)] = path[0]
        elif full[path] == 1 or len(layer.nodes) > 2:
            labels[id(layer)] = ".".join(path)
        else:  # e.g. the residual Add inside an encoder layer
            labels[id(layer)] = ".".join(path) + "." + layer.nodes[0].op_type.lower()
    return labels


def unique(taken: dict[str, str], label: str) -> str:
    """``label``, or ``label_2``, ``label_3``… when a node already has it."""
    label = label.strip() or "layer"
    if label not in taken:
        return label
    k = 2
    while f"{label}_{k}" in taken:
        k += 1
    return f"{label}_{k}"


def _path(g: OnnxGraph, layer: Layer, recorded: dict[int, Path]) -> Path:
    """A weight's own name beats a fused node's module (a conv with its batch norm folded
    in is recorded as the norm), unless that name is another layer's module (a weight
    tied to a later layer is stored under that layer's name)."""
    own = _weight_name(g, layer) if len(layer.nodes) <= 2 else None
    if own:
        path = tuple(own.split("."))
        if not any(p == path for i, p in recorded.items() if i != id(layer)):
            return path
    return recorded[id(layer)]


def _recorded_path(g: OnnxGraph, layer: Layer) -> Path:
    """The module path all of the layer's nodes share."""
    paths = [p for p in (g.module_path(n) for n in layer.nodes) if p]
    if not paths:
        return ()
    common = paths[0]
    for path in paths[1:]:
        k = 0
        while k < min(len(common), len(path)) and common[k] == path[k]:
            k += 1
        common = common[:k]
    return common


def _weight_name(g: OnnxGraph, layer: Layer) -> str | None:
    for node in layer.nodes:  # a weight read by one node only (exporters share equal ones)
        for name in node.input:
            if (g.const(name) is not None and "." in name and not name.startswith("val_")
                    and len(g.uses(name)) == 1 and name in g.initializer_names):
                return name.rsplit(".", 1)[0]
    return None


def _plain_label(g: OnnxGraph, layer: Layer) -> str:
    for node in layer.nodes:
        parts = [p for p in node.name.split("/") if p]
        if node.name.startswith("/") and len(parts) > 1:
            return ".".join(parts[:-1])
    return _weight_name(g, layer) or re.sub(r"(?<!^)(?=[A-Z])", "_", layer.type_id).lower()
