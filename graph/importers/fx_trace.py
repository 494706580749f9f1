"""Trace a module with torch.fx and record what every traced value was on an example.

The tracer stops at the torch.nn modules the catalog has a layer for (they become
one ``call_module`` node each) and expands ``nn.TransformerEncoder`` into its layers.
Every traced value is also computed on the example as tracing goes, so a tensor's
size is a number (the import fixes the input's shape): masks built from a length,
loops over a size and ``x.view(x.size(0), -1)`` trace as they run.
Running the trace once on the example input gives each node's concrete value: shapes
for the mapping, constants (a mask, zero initial states, a position table) read as
values rather than traced as layers, and the reference outputs the import is checked
against.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import fx, nn

from graph.importers.result import ModelImportError

# Calls that read a tensor's shape, type or device, not its values: what they return
# is fixed for a given input shape, so it is a constant of the graph, not data.
_SHAPE_METHODS = frozenset({"size", "dim"})
_SHAPE_ATTRIBUTES = frozenset({"shape", "device", "dtype", "ndim"})


_UNKNOWN = object()
_HERE = os.path.dirname(os.path.abspath(__file__))  # the importer's own frames are not the user's


class ValueProxy(fx.Proxy):
    """A traced value that also knows what it is on the example, when that could be
    worked out: its sizes are then plain numbers, so ``torch.ones(t, t)`` with
    ``t = x.size(1)``, or a loop over a size, traces as it runs (the import fixes the
    input's shape anyway)."""

    value: Any = _UNKNOWN

    def size(self, dim: int | None = None) -> Any:
        if isinstance(self.value, torch.Tensor):
            return self.value.size() if dim is None else self.value.size(dim)
        return self.tracer.create_proxy("call_method", "size",
                                        (self,) if dim is None else (self, dim), {})

    def dim(self) -> Any:
        if isinstance(self.value, torch.Tensor):
            return self.value.dim()
        return self.tracer.create_proxy("call_method", "dim", (self,), {})

    def __getattr__(self, name: str) -> Any:
        if name in _SHAPE_ATTRIBUTES and isinstance(self.value, torch.Tensor):
            return getattr(self.value, name)
        return super().__getattr__(name)


class ImportTracer(fx.Tracer):
    """Symbolic tracing that keeps the modules ``is_leaf`` accepts whole and unrolls
    TransformerEncoder; each traced value is also computed on the example."""

    proxy_buffer_attributes = True  # a registered mask sliced in forward stays traceable
    record_stack_traces = True  # for "line 42: ..." messages

    def __init__(self, is_leaf: Callable[[nn.Module], bool],
                 inputs: tuple[torch.Tensor, ...] = ()) -> None:
        super().__init__()
        self.is_leaf = is_leaf
        self.inputs = list(inputs)
        self._evaluating = False

    def proxy(self, node: fx.Node) -> fx.Proxy:
        return ValueProxy(node, self)

    def create_proxy(self, kind: str, target: Any, args: tuple[Any, ...],
                     kwargs: dict[str, Any], name: str | None = None,
                     type_expr: Any = None, proxy_factory_fn: Any = None) -> Any:
        made = super().create_proxy(kind, target, args, kwargs, name, type_expr,
                                    proxy_factory_fn)
        if isinstance(made, ValueProxy):
            made.value = self._evaluate(kind, target, args, kwargs)
        return made

    def _evaluate(self, kind: str, target: Any, args: tuple[Any, ...],
                  kwargs: dict[str, Any]) -> Any:
        if kind == "placeholder":
            return self.inputs.pop(0) if self.inputs else _UNKNOWN
        real = fx.node.map_aggregate((args, kwargs), _real)
        if _has_unknown(real):
            return _UNKNOWN
        a, kw = real
        self._evaluating = True  # module calls and attributes below run for real
        try:
            with torch.no_grad():
                if kind == "call_function":
                    return target(*a, **kw)
                if kind == "call_method":
                    return getattr(a[0], target)(*a[1:], **kw)
                if kind == "call_module":
                    return self.root.get_submodule(target)(*a, **kw)
                if kind == "get_attr":
                    return _attribute(self.root, target)
        except Exception:  # left symbolic: the recorded run finds the value later
            return _UNKNOWN
        finally:
            self._evaluating = False
        return _UNKNOWN

    def getattr(self, attr: str, attr_val: Any, parameter_proxy_cache: dict[str, Any]) -> Any:
        if self._evaluating:
            return attr_val
        return super().getattr(attr, attr_val, parameter_proxy_cache)

    def is_leaf_module(self, m: nn.Module, module_qualified_name: str) -> bool:
        return self.is_leaf(m) or super().is_leaf_module(m, module_qualified_name)

    def call_module(self, m: nn.Module, forward: Any, args: tuple[Any, ...],
                    kwargs: dict[str, Any]) -> Any:
        if self._evaluating:
            return forward(*args, **kwargs)
        if isinstance(m, nn.TransformerEncoder):
            return self._encoder(m, args, kwargs)
        return super().call_module(m, forward, args, kwargs)

    def _encoder(self, m: nn.TransformerEncoder, args: tuple[Any, ...],
                 kwargs: dict[str, Any]) -> Any:
        # TransformerEncoder.forward only runs its layers in turn (its fast path gives
        # the same values) and cannot be traced itself: call each layer as a leaf.
        names = ("src", "mask", "src_key_padding_mask", "is_causal")
        given = {**dict(zip(names, args, strict=False)), **kwargs}
        layer_kwargs = {"src_mask": given.get("mask"),
                        "src_key_padding_mask": given.get("src_key_padding_mask"),
                        "is_causal": given.get("is_causal")}
        out = given["src"]
        for layer in m.layers:
            out = self.call_module(layer, layer.forward, (out,), dict(layer_kwargs))
        if m.norm is not None:
            out = self.call_module(m.norm, m.norm.forward, (out,), {})
        return out


def _real(v: Any) -> Any:
    return v.value if isinstance(v, ValueProxy) else v


def _has_unknown(arg: Any) -> bool:
    found: list[bool] = []
    fx.node.map_aggregate(arg, lambda v: found.append(True) if v is _UNKNOWN else None)
    return bool(found)


def _attribute(root: nn.Module, target: str) -> Any:
    value: Any = root
    for atom in target.split("."):
        value = getattr(value, atom)
    return value


@dataclass
class Trace:
    """A traced module, the value of every node on the example, and which nodes are data."""

    gm: fx.GraphModule
    values: dict[fx.Node, Any]
    data: set[fx.Node] = field(default_factory=set)

    @property
    def batch(self) -> int:
        first = next(n for n in self.gm.graph.nodes if n.op == "placeholder")
        return int(self.values[first].shape[0])

    def value(self, arg: Any) -> Any:
        """``arg`` with every node replaced by its value on the example."""
        return fx.node.map_arg(arg, lambda n: self.values[n])

    def is_data(self, arg: Any) -> bool:
        return isinstance(arg, fx.Node) and arg in self.data

    def data_args(self, node: fx.Node) -> list[fx.Node]:
        """The node's inputs that carry data, in argument order."""
        found: list[fx.Node] = []
        fx.node.map_arg((node.args, node.kwargs),
                        lambda n: found.append(n) if n in self.data else None)
        return list(dict.fromkeys(found))

    def sample_shape(self, node: fx.Node) -> tuple[int, ...]:
        return tuple(self.values[node].shape[1:])

    def module(self, node: fx.Node) -> nn.Module:
        return self.gm.get_submodule(str(node.target))


def trace(model: nn.Module, inputs: tuple[torch.Tensor, ...],
          is_leaf: Callable[[nn.Module], bool]) -> Trace:
    """Trace ``model`` and run the trace on ``inputs``; raises ``ModelImportError``."""
    name = type(model).__name__
    try:
        # copies: a value computed while tracing may be changed in place (x += 1)
        graph = ImportTracer(is_leaf, tuple(x.clone() for x in inputs)).trace(model)
    except Exception as exc:  # fx raises anything the user's forward raises on a proxy
        raise ModelImportError(
            f"torch.fx cannot trace {name}.forward{_where(exc)}: {_first_line(exc)}. "
            "Tracing needs a forward whose control flow does not depend on the values in "
            "its tensors (sizes are fine)") from exc
    gm = fx.GraphModule(model, graph, class_name=name)
    placeholders = [n for n in graph.nodes if n.op == "placeholder"]
    if len(placeholders) != len(inputs):
        raise ModelImportError(f"{name}.forward takes {len(placeholders)} input(s) but "
                               f"{len(inputs)} example input(s) were given")
    values = _record(gm, inputs, name)
    return Trace(gm, values, _data_nodes(graph.nodes))


def _record(gm: fx.GraphModule, inputs: tuple[torch.Tensor, ...], name: str
            ) -> dict[fx.Node, Any]:
    values: dict[fx.Node, Any] = {}

    class Recorder(fx.Interpreter):
        def run_node(self, n: fx.Node) -> Any:
            result = super().run_node(n)
            # a copy: an in-place call later on (ReLU(inplace=True)) must not change it
            values[n] = fx.node.map_aggregate(
                result, lambda v: v.clone() if isinstance(v, torch.Tensor) else v)
            return result

    try:
        with torch.no_grad():
            Recorder(gm).run(*(x.clone() for x in inputs))
    except Exception as exc:
        raise ModelImportError(f"{name} fails on the example input: {_first_line(exc)}") from exc
    return values


def _data_nodes(nodes: Iterable[fx.Node]) -> set[fx.Node]:
    """Nodes whose values depend on the input's values (not only on its shape)."""
    data: set[fx.Node] = set()
    for node in nodes:
        if node.op == "placeholder":
            data.add(node)
        elif node.op in ("call_function", "call_method", "call_module") and not _reads_shape(node):
            uses: list[fx.Node] = []
            fx.node.map_arg((node.args, node.kwargs), uses.append)
            if any(u in data for u in uses):
                data.add(node)
    return data


def _reads_shape(node: fx.Node) -> bool:
    if node.op == "call_method":
        return node.target in _SHAPE_METHODS
    if node.target is getattr:
        return node.args[1] in _SHAPE_ATTRIBUTES
    return node.target is len


def source_line(node: fx.Node) -> int | None:
    """The line of the user's code that made ``node``, from fx's recorded stack trace."""
    frames = re.findall(r'File "([^"]*)", line (\d+)', node.stack_trace or "")
    users = [int(line) for path, line in frames
             if f"{os.sep}torch{os.sep}" not in path and not path.startswith(_HERE)]
    return users[-1] if users else None


def _where(exc: BaseException) -> str:
    tb = exc.__traceback__
    line = None
    while tb is not None:  # the innermost frame outside torch is the user's line
        if "/torch/" not in tb.tb_frame.f_code.co_filename:
            line = tb.tb_lineno
        tb = tb.tb_next
    return f" (line {line})" if line is not None else ""


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__
