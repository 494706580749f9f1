"""Import an ONNX file as an editable Layerloom network with its weights.

    result = import_onnx("model.onnx")
    module = compile_network(result.document, result.network)
    load_state_dict_by_id(module, result.weights)

The file is read with the ``onnx`` package and checked; nothing in it runs. Every
ONNX node the output depends on must map onto catalog layers: single ops through
``onnx_ops``, exporters' multi-op expansions (attention, recurrent layers) through
``onnx_blocks``. Anything else is refused, one line per node. The ONNX graph's
first dimension is the batch: each Input takes the rest as its per-sample shape.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import onnx
import onnx.inliner

from graph.builder import NetworkBuilder
from graph.document import Document
from graph.importers.onnx_blocks import find_blocks
from graph.importers.onnx_graph import OnnxGraph
from graph.importers.onnx_labels import labels_for, unique
from graph.importers.onnx_layer import Alias, Layer, Match, static
from graph.importers.onnx_length import fix_sequence_length, recorded_length
from graph.importers.onnx_ops import MATCHERS
from graph.importers.result import ImportedModel, ModelImportError
from graph.layout import estimated_sizes, layered_positions

if TYPE_CHECKING:
    import torch

# Larger files are refused before they are read (weights live inside the file).
MAX_FILE_BYTES = 1 << 30
NETWORK = "main"
COLUMN_GAP, ROW_GAP = 220.0, 120.0  # first positions: columns by depth (then laid out)
# ops whose inputs after the first are sizes or indices, not data
_SHAPED = {"Reshape", "Expand", "Slice", "Squeeze", "Unsqueeze", "Tile", "Pad", "Resize",
           "Upsample", "Gather", "ConstantOfShape", "TopK", "Range"}
_INT_TYPES = {onnx.TensorProto.INT64, onnx.TensorProto.INT32, onnx.TensorProto.INT16,
              onnx.TensorProto.INT8, onnx.TensorProto.UINT8}


def import_onnx(path: str | os.PathLike[str]) -> ImportedModel:
    """Read the ONNX model at ``path`` into a new document (network "main").

    Returns the document, the network's name, the weights keyed by node id (as
    ``graph.compile.load_state_dict_by_id`` takes them) and notes for the user.
    Raises ``ModelImportError`` naming the file, and every node that has no layer.
    """
    file = Path(path)
    model = read_model(file)
    try:
        fixed = fix_sequence_length(model)
        result = _Importer(file, OnnxGraph(fixed)).run()
        if fixed is not model:
            result.notes.append(f"the sequence length (any length up to "
                                f"{recorded_length(model)} in the file) is the Input's length; "
                                "the network runs on shorter sequences too")
        return result
    except ModelImportError:
        raise
    except Exception as exc:  # a malformed graph the checker let through: name the file
        raise ModelImportError(f"{file}: cannot import this ONNX model ({_first_line(exc)})"
                               ) from exc


def read_model(file: Path) -> onnx.ModelProto:
    """The checked model in ``file``, its local functions inlined; no external data."""
    try:
        size = file.stat().st_size
    except OSError as exc:
        raise ModelImportError(f"{file}: cannot read the file ({exc.strerror})") from None
    if size > MAX_FILE_BYTES:
        raise ModelImportError(f"{file} is {size / 2**20:.0f} MiB; ONNX files over "
                               f"{MAX_FILE_BYTES >> 20} MiB are not imported")
    try:
        model = onnx.load(str(file), load_external_data=False)
        if any(t.data_location == onnx.TensorProto.EXTERNAL for t in model.graph.initializer):
            raise ModelImportError(f"{file} keeps its weights in separate files; save the "
                                   "model with its weights inside and import that")
        onnx.checker.check_model(model)
        if model.functions:
            model = onnx.inliner.inline_local_functions(model)
    except ModelImportError:
        raise
    except Exception as exc:  # protobuf decode errors, checker failures, ...
        raise ModelImportError(f"{file} is not a valid ONNX model ({_first_line(exc)})"
                               ) from None
    return model


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:300] if text else type(exc).__name__


class _Importer:
    def __init__(self, file: Path, g: OnnxGraph) -> None:
        self.file = file
        self.g = g
        self.matches: dict[str, Match] = {}  # by output value
        self.node_of_match: dict[str, onnx.NodeProto] = {}
        self.owner: dict[int, Layer] = {}  # ONNX node → the layer it became part of
        self.notes: list[str] = []

    def run(self) -> ImportedModel:
        if len(self.g.outputs) != 1:
            names = ", ".join(f"'{o.name}'" for o in self.g.outputs)
            raise ModelImportError(f"{self.file} has {len(self.g.outputs)} outputs ({names}); "
                                   "a Layerloom network returns exactly one")
        self._match_all()
        order, problems = self._resolve(self.g.outputs[0].name)
        if problems:
            raise ModelImportError(
                f"{self.file} cannot be imported: {len(problems)} node(s) have no layer in "
                "the catalog:\n" + "\n".join(problems))
        doc = Document.new(NETWORK)
        weights = _Builder(self, doc).build(order)
        return ImportedModel(doc, NETWORK, weights, self.notes)

    # -- matching ----------------------------------------------------------------------
    def _match_all(self) -> None:
        blocks = find_blocks(self.g)
        taken: set[int] = set()
        for block in blocks:
            taken.update(id(n) for n in block.nodes)
            self.owner.update((id(n), block) for n in block.nodes)
            self.matches[block.output] = block
            self.node_of_match[block.output] = block.nodes[0]
        for node in self.g.nodes:
            if id(node) in taken or node.op_type == "Constant" or self.g.is_constant_node(node):
                continue
            matcher = MATCHERS.get(node.op_type)
            match: Match = (matcher(self.g, node) if matcher and node.domain in ("", "ai.onnx")
                            else f"op {node.op_type} has no layer in the catalog")
            if isinstance(match, Layer):
                taken.update(id(n) for n in match.nodes)
                self.owner.update((id(n), match) for n in match.nodes)
            outs = [match.output] if isinstance(match, Layer | Alias) else list(node.output)
            for out in outs:
                self.matches.setdefault(out, match)
                self.node_of_match.setdefault(out, node)

    def _resolve(self, output: str) -> tuple[list[Layer | str], list[str]]:
        """Layers (and graph-input names) the output needs, inputs before users."""
        order: list[Layer | str] = []
        problems: dict[str, int] = {}  # message → where its node is in the graph
        done: set[str] = set()
        stack: list[tuple[str, bool]] = [(output, False)]
        while stack:
            value, expanded = stack.pop()
            if value in done:
                continue
            match = self.matches.get(value)
            if expanded or match is None:
                done.add(value)
                if isinstance(match, Layer):
                    order.append(match)
                elif match is None:
                    problems.update(dict.fromkeys(self._leaf(value, order), len(self.g.nodes)))
                continue
            stack.append((value, True))
            if isinstance(match, Layer):
                stack.extend((v, False) for v in reversed(match.inputs))
            elif isinstance(match, Alias):
                stack.append((match.source, False))
                if match.node.op_type == "Dropout":
                    self.notes.append(f"Dropout '{match.node.name or value}' was left out: it "
                                      "changes nothing at inference; add a Dropout layer to "
                                      "train with it")
            else:
                node = self.node_of_match[value]
                problems[f"node '{node.name or node.output[0]}': {match}"] = self.g.position[
                    id(node)]
                data = node.input[:1] if node.op_type in _SHAPED else node.input
                stack.extend((v, False) for v in data if v and not self.g.is_const(v))
        return order, sorted(problems, key=lambda text: problems[text])

    def _leaf(self, value: str, order: list[Layer | str]) -> list[str]:
        if any(i.name == value for i in self.g.inputs):
            order.append(value)
            return []
        if self.g.is_const(value):
            return [f"value '{value}': the output is a constant, with no layer to compute it"]
        node = self.g.producer.get(value)
        if node is None:
            return [f"value '{value}' is made by no node of the graph"]
        owner = self.owner.get(id(node))
        part = f"the {owner.type_id} it was read as" if owner else "its layer"
        return [f"node '{node.name or value}': its output '{value}' is also used outside "
                f"{part}, which the catalog cannot express"]

    def source(self, value: str) -> str:
        """The value an alias chain (Dropout, Identity) starts from."""
        match = self.matches.get(value)
        while isinstance(match, Alias):
            value = match.source
            match = self.matches.get(value)
        return value


class _Builder:
    """Adds the resolved layers to the document, in order, with labels and positions."""

    def __init__(self, importer: _Importer, doc: Document) -> None:
        self.imp = importer
        self.g = importer.g
        self.doc = doc
        self.builder = NetworkBuilder(doc, NETWORK)
        self.tables: list[tuple[np.ndarray, str]] = []  # embedding tables and their node ids
        self.ids: dict[str, str] = {}  # ONNX value → node id
        self.depth: dict[str, int] = {}
        self.rows: dict[int, int] = {}

    def build(self, order: list[Layer | str]) -> dict[str, torch.Tensor]:
        import torch

        weights: dict[str, torch.Tensor] = {}
        labels = labels_for(self.g, [item for item in order if isinstance(item, Layer)])
        for item in order:
            if isinstance(item, str):
                self._input(item, order)
                continue
            params, own = self._tied(item)
            node_id = self._add(item.type_id, params, [self.imp.source(v) for v in item.inputs],
                                labels[id(item)], item.output)
            if item.type_id == "Embedding":
                self.tables.append((item.weights["weight"], node_id))
            for key, array in own.items():
                weights[f"{node_id}.{key}"] = torch.from_numpy(np.array(array, copy=True))
        result = self.imp.source(self.g.outputs[0].name)
        self._add("Output", {}, [result], "output", "")
        net = self.doc.network(NETWORK)
        for node_id, pos in layered_positions(net, estimated_sizes(net), route_skips=True).items():
            self.doc.move_node(NETWORK, node_id, pos)
        return _complete(self.doc, weights, self.imp.file)

    def _tied(self, layer: Layer) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        """A Linear whose weight is exactly an Embedding's table shares it (a language
        model's output layer): its parameters and the weights it keeps of its own."""
        weight = layer.weights.get("weight") if layer.type_id == "Linear" else None
        source = next((node_id for table, node_id in self.tables if weight is not None
                       and table.shape == weight.shape and np.array_equal(table, weight)), None)
        if source is None:
            return layer.params, layer.weights
        embedding = self.doc.network(NETWORK).node(source).label
        self.imp.notes.append(f"the output layer shares the weight of Embedding '{embedding}' "
                              "(the file holds the same numbers for both)")
        return ({**layer.params, "tie_weight_to": source},
                {k: v for k, v in layer.weights.items() if k != "weight"})

    def _input(self, name: str, order: list[Layer | str]) -> None:
        shape = self.g.shape(name)
        per_sample = static(shape[1:]) if shape else None
        if not per_sample:
            raise ModelImportError(
                f"{self.imp.file}: input '{name}' has shape {list(shape or [])}; Layerloom needs "
                "a batch dimension first and fixed sizes after it")
        params: dict[str, Any] = {"shape": list(per_sample)}
        if shape and isinstance(shape[0], int):
            self.imp.notes.append(f"input '{name}' has a fixed batch of {shape[0]} in the file; "
                                  "the imported network takes batches of any size")
        if self.g.dtypes.get(name) in _INT_TYPES:
            tables = [layer.weights["weight"].shape[0] for layer in order
                      if isinstance(layer, Layer) and layer.type_id == "Embedding"
                      and self.imp.source(layer.inputs[0]) == name]
            params["kind"] = "tokens"
            if tables:  # else the file does not say how many ids there are
                params["vocab_size"] = int(max(tables))
        self._add("Input", params, [], name, name)

    def _add(self, type_id: str, params: dict[str, Any], inputs: list[str], label: str,
             output: str) -> str:
        depth = 1 + max((self.depth[v] for v in inputs), default=-1)
        row = self.rows.get(depth, 0)
        self.rows[depth] = row + 1
        node_id = self.builder.add(type_id, *(self.ids[v] for v in inputs),
                                   label=unique(self.doc.network(NETWORK).labels, label),
                                   pos=(depth * COLUMN_GAP, row * ROW_GAP), **params)
        if output:
            self.ids[output] = node_id
            self.depth[output] = depth
        return node_id


def _complete(doc: Document, weights: dict[str, torch.Tensor], file: Path
              ) -> dict[str, torch.Tensor]:
    """Check that the network compiles and takes the weights; add buffers ONNX lacks."""
    from graph.compile import CompileError, compile_network, load_state_dict_by_id, state_dict_by_id

    try:
        module = compile_network(doc, NETWORK)
    except CompileError as exc:
        raise ModelImportError(f"{file}: the imported network does not work: {exc}") from None
    expected = state_dict_by_id(module)
    for key, tensor in expected.items():
        if key not in weights and key.endswith("num_batches_tracked"):
            weights[key] = tensor.clone()
    try:
        load_state_dict_by_id(module, weights)
    except (KeyError, ValueError) as exc:
        raise ModelImportError(f"{file}: the weights do not fit the imported network: {exc}"
                               ) from None
    return weights
