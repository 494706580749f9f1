"""Shape inference, live and incremental.

Every layer is built as a real torch module on the ``meta`` device (no memory),
which counts its parameters and, for layers without a shape rule, runs on meta
tensors, so shapes are exactly what torch produces. Before torch has loaded
(the editor imports it in the background) inference can run on shape rules
alone: results are then ``pending`` — no parameter counts yet, and no shape for
a layer without a rule — and ``allow_torch()`` completes them.
``ShapeInference`` follows a document's events and, on ``update()``, re-infers
only the nodes downstream of what changed, stopping where an output is unchanged.
"""

from __future__ import annotations

import heapq
import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from graph.catalog import LayerSpec, ModuleCall, TensorSpec, catalog
from graph.document import Document, Edge, Network, Node, Signal

if TYPE_CHECKING:
    from torch import nn

_PROBE_BATCH = 2  # any batch > 1 works (BatchNorm needs two samples per channel)


@dataclass(frozen=True)
class NodeShape:
    """What inference learned about one node."""

    out: TensorSpec | None  # None: unknown (missing input, error here or upstream)
    error: str | None = None  # a message about this node, in the user's terms
    params: int = 0  # parameter count (all)
    trainable: int = 0  # of which trainable
    pending: bool = False  # inferred without torch: parameters not counted yet


def input_problem(spec: LayerSpec, node: Node, inputs: list[tuple[str, str]]) -> str | None:
    """Why a node's wiring is incomplete, or None."""
    connected = [port for port, _ in inputs]
    for port in spec.inputs:
        if port.variadic:
            count = sum(1 for key in connected if port.matches(key))
            if count < port.min_count:
                return f"needs at least {port.min_count} inputs on '{port.name}', has {count}"
        elif not port.optional and port.name not in connected:
            return f"input '{port.name}' is not connected"
    return None


def param_problem(spec: LayerSpec, params: dict[str, Any]) -> str | None:
    for p in spec.all_params:
        message = p.problem(params[p.name])
        if message:
            return f"parameter '{p.name}' {message}"
    return None


def module_call(spec: LayerSpec, params: dict[str, Any], ins: list[TensorSpec]) -> ModuleCall:
    assert spec.build is not None, spec.id
    return spec.build(params, ins)


def infer_node(spec: LayerSpec, params: dict[str, Any], ins: list[TensorSpec],
               use_torch: bool = True) -> NodeShape:
    """Infer one node from its parameters and input specs (all known); without torch,
    from the layer's shape rule only (a ``pending`` result)."""
    if spec.role == "input":
        return _input_shape(spec, params)
    if spec.role == "output":
        return NodeShape(ins[0])
    infer = _infer_layer if use_torch else _infer_by_rule
    return infer(spec.id, _freeze(params), tuple(ins))


def _freeze(params: dict[str, Any]) -> tuple[tuple[str, Any], ...]:
    return tuple(sorted(params.items()))


def _input_shape(spec: LayerSpec, params: dict[str, Any]) -> NodeShape:
    problem = param_problem(spec, params)
    if problem:
        return NodeShape(None, problem)
    if spec.id == "Noise":
        return NodeShape(TensorSpec((params["size"],)))
    if params["kind"] == "tokens":
        return NodeShape(TensorSpec(tuple(params["shape"]), "long", params["vocab_size"]))
    return NodeShape(TensorSpec(tuple(params["shape"])))


def _layer_problem(spec: LayerSpec, params: dict[str, Any],
                   ins: tuple[TensorSpec, ...]) -> str | None:
    """What is wrong with a layer's parameters or inputs, before any shape is worked out."""
    return param_problem(spec, params) or (spec.check(params, list(ins)) if spec.check else None)


@lru_cache(maxsize=8192)
def _infer_layer(
    type_id: str, frozen: tuple[tuple[str, Any], ...], ins: tuple[TensorSpec, ...]
) -> NodeShape:
    import torch

    spec = catalog().get(type_id)
    params = dict(frozen)
    problem = _layer_problem(spec, params, ins)
    if problem:
        return NodeShape(None, problem)
    try:
        with torch.device("meta"):
            module = module_call(spec, params, list(ins)).build()
            if spec.shape is not None:
                out_spec = TensorSpec(spec.shape(params, list(ins)))
            else:
                module.eval()
                out = module(*[meta_input(t) for t in ins])
                if not isinstance(out, torch.Tensor) or out.shape[0] != _PROBE_BATCH:
                    return NodeShape(None, "does not keep the batch dimension")
                out_spec = TensorSpec(tuple(out.shape[1:]),
                                      "long" if out.dtype == torch.long else "float")
    except Exception as exc:  # torch's own refusal, translated below
        return NodeShape(None, f"cannot process {_shapes_text(ins)}: {torch_message(exc)}")
    total = sum(p.numel() for p in module.parameters())
    return NodeShape(out_spec, params=total,
                     trainable=total if params.get("trainable", True) else 0)


@lru_cache(maxsize=8192)
def _infer_by_rule(
    type_id: str, frozen: tuple[tuple[str, Any], ...], ins: tuple[TensorSpec, ...]
) -> NodeShape:
    spec = catalog().get(type_id)
    params = dict(frozen)
    problem = _layer_problem(spec, params, ins)
    if problem:
        return NodeShape(None, problem)
    if spec.shape is None:
        return NodeShape(None, pending=True)
    try:
        out = TensorSpec(spec.shape(params, list(ins)))
    except Exception as exc:  # the rule's refusal, worded like torch's below
        return NodeShape(None, f"cannot process {_shapes_text(ins)}: {torch_message(exc)}")
    return NodeShape(out, pending=True)


def meta_input(t: TensorSpec) -> Any:
    import torch

    dtype = torch.long if t.dtype == "long" else torch.float32
    return torch.zeros((_PROBE_BATCH, *t.shape), dtype=dtype, device="meta")


def _shapes_text(ins: Iterable[TensorSpec]) -> str:
    return ", ".join(t.describe() for t in ins)


def torch_message(exc: BaseException) -> str:
    """The first line of a torch error, without internal noise."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return re.sub(r"\s+", " ", text)[:200]


def init_arguments(params: dict[str, Any]) -> tuple[str, float, float, float]:
    """``init_weights``'s arguments from a layer's parameters: scheme, mean, std, bound."""
    return (params["init"], params["init_mean"], params["init_std"], params["init_bound"])


def build_module(node: Node, ins: list[TensorSpec]) -> nn.Module:
    """The real (CPU) module for a node, initialised and frozen as its parameters say."""
    from graph.modules import init_weights

    spec = node.spec
    module: nn.Module = module_call(spec, node.params, ins).build()
    if spec.has_weights:
        init_weights(module, *init_arguments(node.params))
        if not node.params["trainable"]:
            module.requires_grad_(False)
    return module


class ShapeInference:
    """Live shapes for a document; call ``update()`` after edits (cheap when nothing changed).

    With ``use_torch=False`` torch is never imported: results come from shape rules
    and are ``pending`` until ``allow_torch()``.
    """

    def __init__(self, doc: Document, use_torch: bool = True) -> None:
        self.doc = doc
        self.use_torch = use_torch
        self.results: dict[str, dict[str, NodeShape]] = {}
        self._dirty: dict[str, set[str]] = {}
        self._order: dict[str, dict[str, int]] = {}  # topological rank, per network
        self.reinferred = 0  # how many nodes the last update() re-inferred
        self.changed = Signal()  # (network, set of node ids whose result changed)
        ev = doc.events
        ev.network_added.connect(self._network_added)
        ev.network_removed.connect(self._network_removed)
        ev.node_added.connect(self._node_added)
        ev.node_removed.connect(self._node_removed)
        ev.param_changed.connect(lambda net, node_id, _name: self._mark(net, node_id))
        ev.edge_added.connect(self._edge_changed)
        ev.edge_removed.connect(self._edge_changed)
        for name, net in doc.networks.items():
            self._network_added(name)
            self._dirty[name].update(net.graph)

    # -- queries -------------------------------------------------------------
    def shape(self, network: str, node_id: str) -> NodeShape:
        return self.results.get(network, {}).get(node_id, NodeShape(None))

    def edge_spec(self, network: str, edge: Edge) -> TensorSpec | None:
        return self.shape(network, edge.source).out

    def input_specs(self, network: str, node_id: str) -> list[TensorSpec | None]:
        net = self.doc.network(network)
        return [self.shape(network, src).out for _, src in net.inputs_of(node_id)]

    @property
    def complete(self) -> bool:
        """Whether every result is final (no pending ones can remain or arise)."""
        return self.use_torch

    def totals(self, network: str) -> tuple[int, int]:
        """(all parameters, trainable parameters) of a network."""
        shapes = self.results.get(network, {}).values()
        return sum(s.params for s in shapes), sum(s.trainable for s in shapes)

    def allow_torch(self) -> None:
        """Torch has loaded: the next ``update()`` completes the pending results."""
        if self.use_torch:
            return
        self.use_torch = True
        for name, results in self.results.items():
            self._dirty[name].update(n for n, r in results.items() if r.pending)

    # -- event handlers ------------------------------------------------------
    def _network_added(self, name: str) -> None:
        self.results[name] = {}
        self._dirty[name] = set()
        self._order.pop(name, None)

    def _network_removed(self, name: str) -> None:
        for table in (self.results, self._dirty, self._order):
            table.pop(name, None)

    def _node_added(self, network: str, node_id: str) -> None:
        self._order.pop(network, None)
        self._mark(network, node_id)

    def _node_removed(self, network: str, node_id: str) -> None:
        self._order.pop(network, None)
        self.results[network].pop(node_id, None)
        self._dirty[network].discard(node_id)

    def _edge_changed(self, network: str, edge: Edge) -> None:
        self._order.pop(network, None)
        self._mark(network, edge.target)

    def _mark(self, network: str, node_id: str) -> None:
        self._dirty.setdefault(network, set()).add(node_id)

    # -- inference -----------------------------------------------------------
    def update(self) -> dict[str, set[str]]:
        """Re-infer what changed; returns, per network, the nodes whose result changed."""
        self.reinferred = 0
        changed: dict[str, set[str]] = {}
        for name, dirty in self._dirty.items():
            if dirty:
                changed[name] = self._update_network(self.doc.network(name), dirty)
                dirty.clear()
        for name, ids in changed.items():
            if ids:
                self.changed.emit(name, ids)
        return changed

    def _topological_rank(self, net: Network) -> dict[str, int]:
        order = self._order.get(net.name)
        if order is None:
            order = {node_id: i for i, node_id in enumerate(net.topological_order())}
            self._order[net.name] = order
        return order

    def _update_network(self, net: Network, dirty: set[str]) -> set[str]:
        results = self.results[net.name]
        if dirty.issuperset(net.graph):  # all of it (a network just opened): one walk
            return self._infer_all(net, results)
        rank = self._topological_rank(net)
        queue = [(rank[n], n) for n in dirty if n in net]
        heapq.heapify(queue)
        seen: set[str] = set()
        changed: set[str] = set()
        while queue:
            _, node_id = heapq.heappop(queue)
            if node_id in seen:
                continue
            seen.add(node_id)
            new = self._infer(net, net.node(node_id), net.inputs_of(node_id))
            self.reinferred += 1
            if results.get(node_id) != new:
                changed.add(node_id)
                old_out = results[node_id].out if node_id in results else None
                results[node_id] = new
                if new.out != old_out:
                    for succ in net.graph.successors(node_id):
                        heapq.heappush(queue, (rank[succ], succ))
        return changed

    def _infer_all(self, net: Network, results: dict[str, NodeShape]) -> set[str]:
        changed: set[str] = set()

        def infer(node: Node, inputs: list[tuple[str, str]]) -> NodeShape:
            new = self._infer(net, node, inputs)
            self.reinferred += 1
            if results.get(node.id) != new:
                changed.add(node.id)
                results[node.id] = new  # what the nodes after it read
            return new

        net.walk(infer)
        return changed

    def _infer(self, net: Network, node: Node, inputs: list[tuple[str, str]]) -> NodeShape:
        spec = node.spec
        problem = input_problem(spec, node, inputs)
        if problem:
            return NodeShape(None, problem)
        results = self.results[net.name]
        ins = [results[src].out if src in results else None for _, src in inputs]
        known = [t for t in ins if t is not None]
        if len(known) != len(ins):  # upstream is unknown: its own node reports why
            waiting = any(results[src].pending for _, src in inputs if src in results)
            return NodeShape(None, pending=waiting)
        return infer_node(spec, node.params, known, self.use_torch)


def infer_network(net: Network) -> dict[str, NodeShape]:
    """One-shot inference of a whole network."""
    doc = Document()
    doc.networks[net.name] = net
    shapes = ShapeInference(doc)
    shapes.update()
    return shapes.results[net.name]
