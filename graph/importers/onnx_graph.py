"""A read-only view of an ONNX graph for the importer: who makes and who reads each
value, every value's shape, and the values that are constants.

Constants are the initializers, ``Constant`` nodes and whatever a small numpy
evaluator can compute from them (the exporters leave weight transposes, gate
reordering and reshape targets as such side computations). A tensor filled with
one number whose shape depends on the batch (an RNN's zero initial state) is a
"fill": its value is known, its shape is not.
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import onnx
from onnx import numpy_helper

# A dimension of an inferred shape: a size, or the name of a symbolic one ("batch").
Dim = int | str
Shape = tuple[Dim, ...]


@dataclass(frozen=True)
class Fill:
    """A tensor of unknown (batch-dependent) shape whose every element is ``value``."""

    value: float


def attr(node: onnx.NodeProto, name: str, default: Any = None) -> Any:
    """The value of attribute ``name`` of ``node`` (strings decoded), or ``default``."""
    for a in node.attribute:
        if a.name == name:
            value = onnx.helper.get_attribute_value(a)
            if isinstance(value, bytes):
                return value.decode()
            if isinstance(value, onnx.TensorProto):
                return numpy_helper.to_array(value)
            return value
    return default


class OnnxGraph:
    """The main graph of a model, indexed for pattern matching."""

    def __init__(self, model: onnx.ModelProto) -> None:
        graph = model.graph
        self.opset = next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")),
                          1)
        self.nodes: list[onnx.NodeProto] = list(graph.node)
        self.position = {id(node): i for i, node in enumerate(self.nodes)}
        self.producer: dict[str, onnx.NodeProto] = {}
        self.consumers: dict[str, list[onnx.NodeProto]] = {}
        for node in self.nodes:
            for out in node.output:
                if out:
                    self.producer[out] = node
            for name in node.input:
                if name:
                    self.consumers.setdefault(name, []).append(node)
        self.consts: dict[str, np.ndarray] = {
            t.name: numpy_helper.to_array(t) for t in graph.initializer}
        init_names = set(self.consts)
        self.initializer_names = frozenset(init_names)
        self.inputs = [v for v in graph.input if v.name not in init_names]
        self.outputs = list(graph.output)
        self.output_names = {v.name for v in graph.output}
        self.fills: dict[str, Fill] = {}
        # values computed from tensor sizes only (Shape and arithmetic on its result)
        self.sizes: set[str] = set()
        # size vectors known in part (None: a symbolic size such as the batch)
        self.partial: dict[str, list[int | None]] = {}
        self.shapes = _inferred_shapes(model)
        self.dtypes = _inferred_dtypes(model)
        self._fold_constants()

    # -- queries ---------------------------------------------------------------------
    def const(self, name: str) -> np.ndarray | None:
        return self.consts.get(name)

    def is_const(self, name: str) -> bool:
        return name in self.consts or name in self.fills

    def shape(self, name: str) -> Shape | None:
        return self.shapes.get(name)

    def uses(self, name: str) -> list[onnx.NodeProto]:
        return self.consumers.get(name, [])

    def sole_use(self, name: str) -> onnx.NodeProto | None:
        """The one node reading ``name``, when exactly one does and it is no graph output."""
        users = self.uses(name)
        if len(users) == 1 and name not in self.output_names:
            return users[0]
        return None

    def activations(self, node: onnx.NodeProto) -> list[str]:
        """The node's inputs that are computed from the graph inputs (not constants)."""
        return [n for n in node.input if n and not self.is_const(n)]

    def is_constant_node(self, node: onnx.NodeProto) -> bool:
        return all(o in self.consts or o in self.fills for o in node.output if o)

    def module_path(self, node: onnx.NodeProto) -> tuple[str, ...]:
        """The torch module a node came from, as torch's exporter records it:
        ("encoder", "self_attn") for a node of ``encoder.self_attn``; () when unknown."""
        for prop in node.metadata_props:
            if prop.key == "pkg.torch.onnx.name_scopes":
                try:
                    scopes = ast.literal_eval(prop.value)
                except (ValueError, SyntaxError):
                    return ()
                if isinstance(scopes, list) and len(scopes) >= 3 and scopes[-2]:
                    return tuple(str(scopes[-2]).split("."))
        return ()

    def time_first(self, name: str) -> bool:
        """Whether ``name`` is laid out time-first (T × N × ...), as torch's attention and
        recurrent layers work inside, rather than batch-first."""
        shape = self.shapes.get(name)
        batch = self.shapes.get(self.inputs[0].name, (None,))[:1] if self.inputs else ()
        return (shape is not None and len(shape) >= 3 and bool(batch)
                and isinstance(batch[0], str) and shape[1] == batch[0] and shape[0] != batch[0])

    def reads_size_only(self, node: onnx.NodeProto) -> bool:
        """Whether ``node`` only feeds size computations (e.g. a reshape's target)."""
        return node.op_type == "Shape" or all(
            o in self.sizes or self.is_const(o) for o in node.output if o)

    def sole_data_use(self, name: str) -> onnx.NodeProto | None:
        """Like ``sole_use``, ignoring ``Shape`` nodes (they read only the size)."""
        users = [u for u in self.uses(name) if not self.reads_size_only(u)]
        if len(users) == 1 and name not in self.output_names:
            return users[0]
        return None

    def walk_back(self, name: str) -> Iterator[onnx.NodeProto]:
        """Producers of ``name`` and, transitively, of their first input."""
        node = self.producer.get(name)
        while node is not None:
            yield node
            node = self.producer.get(node.input[0]) if node.input else None

    # -- constant folding ------------------------------------------------------------
    def _fold_constants(self) -> None:
        for node in self.nodes:
            if node.op_type == "Constant":
                value = _constant_value(node)
                if value is not None:
                    self.consts[node.output[0]] = value
                continue
            ins = [n for n in node.input if n]
            fill = self._fill_made_by(node)
            if fill is not None:
                self._add_fill(node.output[0], fill)
                continue
            if node.op_type == "Shape" or (ins and any(n in self.sizes for n in ins) and all(
                    self.is_const(n) or n in self.sizes for n in ins)):
                self.sizes.update(o for o in node.output if o)
                if self._fold_sizes(node):
                    continue
            if not ins or not all(self.is_const(n) for n in ins):
                continue
            if any(n in self.fills for n in ins):
                self._fold_fill(node)
                continue
            fold = _FOLDERS.get(node.op_type)
            if fold is None:
                continue
            try:
                values = fold(node, [self.consts[n] if n else None for n in node.input])
            except (ValueError, IndexError, TypeError):
                continue  # left unfolded; the matchers then see an unsupported op
            for out, value in zip(node.output, values, strict=False):
                self.consts[out] = value

    def _fold_sizes(self, node: onnx.NodeProto) -> bool:
        """Size arithmetic on the parts of shapes that inference knows: the length of a
        sequence fixed by ``fix_sequence_length`` becomes a constant, the batch stays
        symbolic. True when the output became a constant."""
        value = _known_sizes(node, [self.partial.get(n) if n in self.sizes else self._ints(n)
                                    for n in node.input], self.shapes)
        if value is None:
            return False
        out = node.output[0]
        if all(isinstance(d, int) for d in value):
            index = self.consts.get(node.input[1]) if len(node.input) > 1 else None
            scalar = node.op_type == "Squeeze" or (node.op_type == "Gather" and index is not None
                                                   and index.ndim == 0)
            known = np.asarray(value, dtype=np.int64)
            self.consts[out] = known.reshape(()) if scalar and known.size == 1 else known
            self.sizes.discard(out)
            return True
        self.partial[out] = value
        return False

    def _ints(self, name: str) -> list[int | None] | None:
        value = self.consts.get(name)
        if value is None or value.ndim > 1 or value.dtype.kind not in "iu":
            return None
        return [int(v) for v in value.ravel()]

    def _fill_made_by(self, node: onnx.NodeProto) -> Fill | None:
        """Expand(scalar, shape) and ConstantOfShape(shape): one value, maybe batch-sized."""
        if node.op_type == "Expand" and node.input and not self.is_const(node.input[1]):
            value = self._scalar(node.input[0])
            return None if value is None else Fill(value)
        if node.op_type == "ConstantOfShape" and not self.is_const(node.input[0]):
            tensor = attr(node, "value")
            return Fill(float(tensor.reshape(-1)[0]) if tensor is not None else 0.0)
        return None

    def _add_fill(self, name: str, fill: Fill) -> None:
        """A fill whose shape inference knows (no batch in it) becomes a plain constant."""
        shape = self.shapes.get(name)
        sizes = tuple(d for d in shape or () if isinstance(d, int))
        if shape is not None and len(sizes) == len(shape):
            self.consts[name] = np.full(sizes, fill.value, dtype=np.float32)
        else:
            self.fills[name] = fill

    def _scalar(self, name: str) -> float | None:
        value = self.consts.get(name)
        if value is not None and value.size == 1:
            return float(value.reshape(()))
        return None

    def _fold_fill(self, node: onnx.NodeProto) -> None:
        """Shape-only ops keep a fill a fill (slicing zeros gives zeros)."""
        if node.input[0] in self.fills and node.op_type in (
                "Slice", "Squeeze", "Unsqueeze", "Reshape", "Transpose", "Expand", "Identity",
                "Cast", "Gather"):
            self._add_fill(node.output[0], self.fills[node.input[0]])


def _known_sizes(node: onnx.NodeProto, ins: list[list[int | None] | None],
                 shapes: dict[str, Shape]) -> list[int | None] | None:
    """The 1-D size vector ``node`` makes from shapes and size vectors known in part;
    None where the op is not one of the few exporters use on sizes."""
    op = node.op_type
    if op == "Shape":
        shape = shapes.get(node.input[0])
        if shape is None:
            return None
        dims = [d if isinstance(d, int) else None for d in shape]
        start, end = attr(node, "start", 0), attr(node, "end", len(dims))
        return dims[start:end]
    if not ins or ins[0] is None:
        return None
    if op == "Concat" and all(i is not None for i in ins):
        return [d for part in ins if part is not None for d in part]
    if op in ("Squeeze", "Identity") and len(ins[0]) <= 1:
        return list(ins[0])
    bounds = ins[1:]
    if op == "Gather" and bounds and bounds[0] is not None and attr(node, "axis", 0) == 0:
        picks = bounds[0]
        if any(i is None or not -len(ins[0]) <= i < len(ins[0]) for i in picks):
            return None
        return [ins[0][i] for i in picks if i is not None]  # a scalar index: one size
    if op == "Slice" and len(bounds) >= 2 and all(
            b is not None and len(b) == 1 and b[0] is not None for b in bounds[:2]):
        step = bounds[3][0] if len(bounds) > 3 and bounds[3] else 1
        axes = bounds[2] if len(bounds) > 2 else None
        if axes not in (None, [0]) or step is None:
            return None
        return ins[0][bounds[0][0]:bounds[1][0]:step]  # type: ignore[index]
    return None


def _constant_value(node: onnx.NodeProto) -> np.ndarray | None:
    for key in ("value", "value_float", "value_int", "value_floats", "value_ints"):
        value = attr(node, key)
        if value is not None:
            return np.asarray(value)
    return None


def _inferred_shapes(model: onnx.ModelProto) -> dict[str, Shape]:
    try:
        inferred = onnx.shape_inference.infer_shapes(model, data_prop=True)
    except Exception:  # inference is a help, not a requirement: shapes may stay unknown
        inferred = model
    graph = inferred.graph
    shapes: dict[str, Shape] = {}
    for info in [*graph.input, *graph.value_info, *graph.output]:
        ttype = info.type.tensor_type
        if ttype.HasField("shape"):
            shapes[info.name] = tuple(d.dim_param if d.dim_param or not d.HasField("dim_value")
                                      else d.dim_value for d in ttype.shape.dim)
    return shapes


def _inferred_dtypes(model: onnx.ModelProto) -> dict[str, int]:
    return {v.name: v.type.tensor_type.elem_type for v in model.graph.input}


# -- numpy evaluation of the ops exporters leave around constants ------------------------
Folder = Callable[[onnx.NodeProto, list[Any]], list[np.ndarray]]


def _axes(node: onnx.NodeProto, ins: list[Any], index: int) -> list[int]:
    if len(ins) > index and ins[index] is not None:
        return [int(a) for a in ins[index].ravel()]
    return list(attr(node, "axes", []))


def _slice(node: onnx.NodeProto, ins: list[Any]) -> list[np.ndarray]:
    data, starts, ends = ins[0], ins[1], ins[2]
    axes = ins[3] if len(ins) > 3 and ins[3] is not None else np.arange(len(starts))
    steps = ins[4] if len(ins) > 4 and ins[4] is not None else np.ones(len(starts), dtype=int)
    index = [slice(None)] * data.ndim
    for s, e, a, st in zip(starts, ends, axes, steps, strict=True):
        index[int(a)] = slice(int(s), int(e), int(st))
    return [data[tuple(index)]]


def _unsqueeze(node: onnx.NodeProto, ins: list[Any]) -> list[np.ndarray]:
    out = ins[0]
    rank = out.ndim + len(_axes(node, ins, 1))
    for a in sorted(a % rank for a in _axes(node, ins, 1)):
        out = np.expand_dims(out, a)
    return [out]


def _squeeze(node: onnx.NodeProto, ins: list[Any]) -> list[np.ndarray]:
    axes = _axes(node, ins, 1)
    return [np.squeeze(ins[0], axis=tuple(axes)) if axes else np.squeeze(ins[0])]


def _reshape(node: onnx.NodeProto, ins: list[Any]) -> list[np.ndarray]:
    target = [int(d) for d in ins[1]]
    if not attr(node, "allowzero", 0):
        target = [ins[0].shape[i] if d == 0 else d for i, d in enumerate(target)]
    return [ins[0].reshape(target)]


def _cast(node: onnx.NodeProto, ins: list[Any]) -> list[np.ndarray]:
    dtype = onnx.helper.tensor_dtype_to_np_dtype(attr(node, "to"))
    return [ins[0].astype(dtype)]


def _split(node: onnx.NodeProto, ins: list[Any]) -> list[np.ndarray]:
    axis = attr(node, "axis", 0)
    sizes = ins[1] if len(ins) > 1 and ins[1] is not None else attr(node, "split")
    if sizes is None:
        return list(np.split(ins[0], len(node.output), axis=axis))
    return list(np.split(ins[0], np.cumsum(sizes)[:-1], axis=axis))


def _trilu(node: onnx.NodeProto, ins: list[Any]) -> list[np.ndarray]:
    k = int(ins[1]) if len(ins) > 1 and ins[1] is not None else 0
    return [np.triu(ins[0], k) if attr(node, "upper", 1) else np.tril(ins[0], k)]


_FOLDERS: dict[str, Folder] = {
    "Identity": lambda n, i: [i[0]],
    "Cast": _cast,
    "Transpose": lambda n, i: [np.transpose(i[0], attr(n, "perm"))],
    "Reshape": _reshape,
    "Slice": _slice,
    "Concat": lambda n, i: [np.concatenate(i, axis=attr(n, "axis"))],
    "Unsqueeze": _unsqueeze,
    "Squeeze": _squeeze,
    "Split": _split,
    "Gather": lambda n, i: [np.take(i[0], i[1], axis=attr(n, "axis", 0))],
    "Add": lambda n, i: [i[0] + i[1]],
    "Sub": lambda n, i: [i[0] - i[1]],
    "Mul": lambda n, i: [i[0] * i[1]],
    "Div": lambda n, i: [i[0] / i[1]],
    "Neg": lambda n, i: [-i[0]],
    "Sqrt": lambda n, i: [np.sqrt(i[0])],
    "Equal": lambda n, i: [np.equal(i[0], i[1])],
    "Where": lambda n, i: [np.asarray(np.where(i[0], i[1], i[2]))],
    "Trilu": _trilu,
    "Expand": lambda n, i: [i[0] * np.ones(tuple(int(d) for d in i[1]), dtype=i[0].dtype)],
    "ConstantOfShape": lambda n, i: [np.full(tuple(int(d) for d in i[0]), (
        attr(n, "value") if attr(n, "value") is not None else np.zeros(1, np.float32)
    ).reshape(-1)[0])],
}
