"""Compile a network into a ``torch.fx.GraphModule``: one ``call_module`` line per layer.

The walk (``plan_network``) serves both the compiler and the code generator:

* Only the nodes the Output depends on are compiled; a half-built branch that
  leads nowhere does not stop the rest from training.
* Nodes run in topological order, ties broken by node id in natural order
  ("n2" < "n10", i.e. creation order). Ids survive renaming, moving, undo and
  save/load, so none of those reorders the code or the forward's arguments.
* Input and Noise nodes become the forward's arguments, in that same order and
  named after their labels; every layer becomes a submodule whose attribute name
  is its label made into a unique legal Python identifier.

Weights are saved keyed by node id (``state_dict_by_id``), not by attribute
name, so renaming a node never orphans its trained weights. Errors: a network
that does not validate raises ``CompileError`` naming the node; an exception
raised inside a layer at run time is turned into a message naming the node by
``locate_error`` / ``run_with_node_errors``, which cost nothing until it fails.
"""

from __future__ import annotations

import builtins
import keyword
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple

import networkx as nx
import torch
from torch import fx, nn

from graph.catalog import ModuleCall, TensorSpec
from graph.document import Document, Network, Node, natural_key
from graph.shapes import NodeShape, build_module, infer_network, module_call, torch_message
from graph.ties import TIED_TENSOR, tie_problem, ties, unfed_problem

# Attributes set on every compiled module (see ``compile_network``).
INFO_ATTRIBUTES = ("network", "node_ids", "node_titles", "input_ids", "tied_weights")


class CompileError(ValueError):
    """The network cannot be compiled; the message names the node and what is wrong."""

    def __init__(self, message: str, node_id: str | None = None) -> None:
        super().__init__(message)
        self.node_id = node_id


class NodeRuntimeError(RuntimeError):
    """An exception raised inside one layer while the compiled network ran."""

    def __init__(self, title: str, detail: str, node_id: str) -> None:
        super().__init__(f"{title}: {detail}")
        self.title = title  # e.g. "Linear 'fc1'"
        self.detail = detail  # torch's message, first line
        self.node_id = node_id


@dataclass(frozen=True)
class Step:
    """One node of a plan: its Python name and where its inputs come from."""

    node: Node
    name: str  # attribute (layers) or argument (inputs) name, also the value's name
    args: tuple[str, ...]  # value names of its inputs, in the order its layer takes them
    ins: tuple[TensorSpec, ...]
    out: TensorSpec

    @property
    def title(self) -> str:
        return node_title(self.node)

    def call(self) -> ModuleCall:
        """The constructor call of this layer's module."""
        return module_call(self.node.spec, self.node.params, list(self.ins))


@dataclass(frozen=True)
class Plan:
    """What to compile: arguments, layers in run order, and the returned value."""

    network: str
    inputs: tuple[Step, ...]
    layers: tuple[Step, ...]
    result: str  # the value name the Output returns
    output: Node
    out: TensorSpec
    # (layer, Embedding) attribute names: the layer's weight is the Embedding's
    ties: tuple[tuple[str, str], ...] = ()

    def tied_weights(self) -> dict[str, str]:
        """State keys that are another key's tensor: ``{"head.weight": "embed.weight"}``."""
        return {f"{user}.{TIED_TENSOR}": f"{owner}.{TIED_TENSOR}" for user, owner in self.ties}


def node_title(node: Node) -> str:
    """How messages name a node: its layer type and label, e.g. ``Linear 'fc1'``."""
    return f"{node.spec.display_name} '{node.label}'"


# -- names ---------------------------------------------------------------------
def _reserved_names() -> frozenset[str]:
    """Names an attribute or argument must not take: they would shadow something."""
    gm = fx.GraphModule(nn.Module(), fx.Graph())
    taken = set(dir(gm)) | set(vars(gm)) | set(dir(builtins)) | set(keyword.kwlist)
    return frozenset(taken | {"self", "torch", "nn", "math", "fx", *INFO_ATTRIBUTES})


_RESERVED: frozenset[str] = _reserved_names()


def python_name(label: str) -> str:
    """A label as a snake_case identifier stem ("Conv Block" → "conv_block")."""
    text = re.sub(r"(?<=[a-z])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "_", label)
    text = re.sub(r"[^0-9A-Za-z]+", "_", text).strip("_").lower()
    if not text:
        return "layer"
    return f"layer_{text}" if text[0].isdigit() else text


def unique_names(labels: Iterable[str]) -> list[str]:
    """Legal, distinct Python names for ``labels``, in order (like torch.fx's namespace)."""
    used: set[str] = set()
    names: list[str] = []
    for label in labels:
        stem = python_name(label)
        name, k = stem, 0
        while name in used or name in _RESERVED:
            k += 1
            name = f"{stem}_{k}"
        used.add(name)
        names.append(name)
    return names


def class_name_for(network: str) -> str:
    """A network name as a class name ("main" → "Main", "my net-2" → "MyNet2")."""
    parts = [p for p in re.split(r"[^0-9A-Za-z]+", network) if p]
    name = "".join(p[0].upper() + p[1:] for p in parts) or "Network"
    return f"Net{name}" if name[0].isdigit() else name


# -- the walk --------------------------------------------------------------------
def plan_network(
    doc: Document, network: str = "main", shapes: Mapping[str, NodeShape] | None = None
) -> Plan:
    """Check a network and lay out what to compile; raises ``CompileError``.

    ``shapes`` may pass live inference results (``ShapeInference.results[network]``)
    to skip a fresh inference; they must be up to date.
    """
    net = doc.network(network)
    output = _the_output(net)
    needed = nx.ancestors(net.graph, output.id) | {output.id}
    _check_acyclic(net, needed)
    results = shapes if shapes is not None else infer_network(net)

    def checked(node: Node, inputs: list[tuple[str, str]]) -> list[str]:
        """The node's sources, once it is known to compile."""
        _check_node(node, results.get(node.id, NodeShape(None)))
        return [src for _, src in inputs]

    sources_of = net.walk(checked, among=needed)
    nodes = [net.node(i) for i in sources_of if i != output.id]
    inputs = [n for n in nodes if n.spec.role == "input"]
    layers = [n for n in nodes if n.spec.role != "input"]
    named = inputs + layers  # arguments claim their names first
    names = dict(zip([n.id for n in named], unique_names(n.label for n in named), strict=True))

    def step(node: Node) -> Step:
        sources = sources_of[node.id]
        ins = tuple(_known(results[src]) for src in sources)
        args = tuple(names[s] for s in sources)
        return Step(node, names[node.id], args, ins, _known(results[node.id]))

    result = names[sources_of[output.id][0]]
    return Plan(network, tuple(map(step, inputs)), tuple(map(step, layers)), result, output,
                _known(results[output.id]), _plan_ties(net, results, names))


def _plan_ties(net: Network, results: Mapping[str, NodeShape], names: Mapping[str, str]
               ) -> tuple[tuple[str, str], ...]:
    """The compiled layers' ties as attribute names; raises when one cannot be made."""
    found = []
    for tie in ties(net):
        if tie.user not in names:  # the layer is not compiled: its tie does not matter
            continue
        problem = tie_problem(net, tie, results)
        if problem:
            raise CompileError(problem, tie.user)
        if tie.owner not in names:
            raise CompileError(unfed_problem(net, tie), tie.user)
        found.append((names[tie.user], names[tie.owner]))
    return tuple(found)


def _the_output(net: Network) -> Node:
    outputs = [n for n in net.nodes() if n.spec.role == "output"]
    if not outputs:
        raise CompileError(
            f"network '{net.name}' has no Output: add one and wire the last layer into it"
        )
    if len(outputs) > 1:
        names = ", ".join(f"'{n.label}'" for n in sorted(outputs, key=lambda n: natural_key(n.id)))
        raise CompileError(f"network '{net.name}' has {len(outputs)} Outputs ({names}); "
                           "keep exactly one", outputs[1].id)
    return outputs[0]


def _check_acyclic(net: Network, needed: set[str]) -> None:
    sub = net.graph.subgraph(needed)
    if nx.is_directed_acyclic_graph(sub):
        return
    cycle = [u for u, _ in nx.find_cycle(sub)]
    path = " → ".join(f"'{net.node(i).label}'" for i in [*cycle, cycle[0]])
    raise CompileError(f"the wires {path} form a loop; remove one of them", cycle[0])


def _known(shape: NodeShape) -> TensorSpec:
    assert shape.out is not None  # _check_node has made sure
    return shape.out


def _check_node(node: Node, shape: NodeShape) -> None:
    if shape.error:
        raise CompileError(f"{node_title(node)}: {shape.error}", node.id)
    if shape.out is None:  # an upstream node would have raised first: defensive only
        raise CompileError(f"{node_title(node)}: its input shapes are unknown", node.id)


# -- compilation -----------------------------------------------------------------
def compile_network(
    doc: Document, network: str = "main", *, shapes: Mapping[str, NodeShape] | None = None
) -> fx.GraphModule:
    """The network as a ``GraphModule`` made only of placeholders, submodules and an output.

    Each layer is built by ``graph.shapes.build_module`` (so "init" and
    "trainable" apply). The module carries ``network``, ``node_ids`` (attribute →
    node id), ``node_titles`` (attribute → "Linear 'fc1'") and ``input_ids`` (node
    ids of the forward's arguments, in order). ``module.code`` is the forward.
    Raises ``CompileError`` when the network does not validate.
    """
    plan = plan_network(doc, network, shapes)
    modules = {step.name: _build(step) for step in plan.layers}
    for user, owner in plan.ties:  # one Parameter, two layers
        setattr(modules[user], TIED_TENSOR, getattr(modules[owner], TIED_TENSOR))
    graph = fx.Graph()
    values: dict[str, fx.Node] = {}
    for step in plan.inputs:
        values[step.name] = graph.placeholder(step.name, type_expr=torch.Tensor)
    for step in plan.layers:
        args = tuple(values[a] for a in step.args)
        values[step.name] = graph.create_node("call_module", step.name, args, name=step.name)
    graph.output(values[plan.result], type_expr=torch.Tensor)
    gm = fx.GraphModule(modules, graph, class_name=class_name_for(network))
    gm.graph.lint()
    _attach_info(gm, {
        "network": network,
        "node_ids": {s.name: s.node.id for s in plan.layers},
        "node_titles": {s.name: s.title for s in plan.layers},
        "input_ids": tuple(s.node.id for s in plan.inputs),
        "tied_weights": plan.tied_weights(),
    })
    return gm


def _build(step: Step) -> nn.Module:
    try:
        return build_module(step.node, list(step.ins))
    except Exception as exc:  # e.g. out of memory for a huge layer: name the node
        raise CompileError(f"{step.title}: cannot be built: {torch_message(exc)}",
                           step.node.id) from exc


def _attach_info(gm: fx.GraphModule, info: dict[str, Any]) -> None:
    for key, value in info.items():
        setattr(gm, key, value)
    # GraphModule.__deepcopy__ rebuilds the module and restores only what this
    # meta entry lists; pickling keeps plain attributes by itself.
    gm.meta.setdefault("_user_preserved_attributes", {}).update(info)


def compiled_info(module: nn.Module, key: str) -> Any:
    """What ``compile_network`` attached to ``module`` (``node_ids``, ``node_titles``, …)."""
    try:
        return getattr(module, key)
    except AttributeError:
        raise TypeError("expected a module made by graph.compile.compile_network") from None


# -- weights keyed by node id ----------------------------------------------------
def state_dict_by_id(module: nn.Module) -> dict[str, torch.Tensor]:
    """The module's state with keys like ``"n3.weight"``: node id, then the tensor's path.

    A tied weight appears once, under the Embedding that owns it.
    """
    ids: dict[str, str] = compiled_info(module, "node_ids")
    tied = tied_weights(module)
    out: dict[str, torch.Tensor] = {}
    for key, tensor in module.state_dict().items():
        if key in tied:
            continue
        attr, _, rest = key.partition(".")
        out[f"{ids[attr]}.{rest}"] = tensor
    return out


def tied_weights(module: nn.Module) -> dict[str, str]:
    """A compiled module's tied state keys (``{"head.weight": "embed.weight"}``)."""
    tied: dict[str, str] = getattr(module, "tied_weights", {})
    return tied


class WeightsMismatch(ValueError):
    """Saved weights whose sizes do not fit the network's layers."""


class LoadResult(NamedTuple):
    """Keys (node-id form) that the module expected but did not get, and the reverse."""

    missing: list[str]
    unexpected: list[str]


def load_state_dict_by_id(
    module: nn.Module, state: Mapping[str, torch.Tensor], strict: bool = True
) -> LoadResult:
    """Load a state saved by ``state_dict_by_id``, whatever the nodes are called now.

    Keys of nodes the module does not have are ``unexpected``; with ``strict``
    any missing or unexpected key raises ``KeyError`` naming them.
    """
    attrs = {node_id: attr for attr, node_id in compiled_info(module, "node_ids").items()}
    tied = tied_weights(module)
    renamed: dict[str, torch.Tensor] = {}
    unexpected: list[str] = []
    for key, tensor in state.items():
        split = _split_id(key, attrs)
        name = None if split is None else f"{attrs[split[0]]}.{split[1]}"
        if name is None or name in tied:  # a tied weight loads through its Embedding only
            unexpected.append(key)
        else:
            renamed[name] = tensor
    _check_sizes(module, renamed)
    result = module.load_state_dict(renamed, strict=False)
    ids: dict[str, str] = compiled_info(module, "node_ids")
    missing = [_to_id(k, ids) for k in result.missing_keys if k not in tied]
    unexpected += [_to_id(k, ids) for k in result.unexpected_keys]
    if strict and (missing or unexpected):
        raise KeyError(f"weights do not fit: missing {missing}, unexpected {unexpected}")
    return LoadResult(missing, unexpected)


def _check_sizes(module: nn.Module, state: Mapping[str, torch.Tensor]) -> None:
    """Refuse weights of another size, naming the layer (the graph changed since they
    were saved)."""
    titles: dict[str, str] = compiled_info(module, "node_titles")
    for key, mine in module.state_dict().items():  # in layer order, weight before bias
        tensor = state.get(key)
        if tensor is not None and mine.shape != tensor.shape:
            attr, _, rest = key.partition(".")
            raise WeightsMismatch(
                f"{titles.get(attr, attr)} has {rest} of size {_size(mine.shape)} but the "
                f"saved weights hold {_size(tensor.shape)}: the layer changed since they were "
                "saved, or they belong to another graph")


def _size(shape: torch.Size) -> str:
    return "×".join(str(d) for d in shape) or "1"


def _split_id(key: str, attrs: Mapping[str, str]) -> tuple[str, str] | None:
    node_id, _, rest = key.partition(".")
    if node_id in attrs:
        return node_id, rest
    for candidate in attrs:  # an id that itself contains a dot (never made by Layerloom)
        if key.startswith(candidate + "."):
            return candidate, key[len(candidate) + 1 :]
    return None


def _to_id(key: str, ids: Mapping[str, str]) -> str:
    attr, _, rest = key.partition(".")
    return f"{ids.get(attr, attr)}.{rest}"


# -- run-time errors -------------------------------------------------------------
def locate_error(module: nn.Module, exc: BaseException) -> NodeRuntimeError | None:
    """The layer an exception was raised in, as a ``NodeRuntimeError``; None if not in one.

    Reads the traceback after the fact: the outermost frame that runs one of the
    module's direct submodules names the node. Nothing is added to each call.
    """
    titles: dict[str, str] = compiled_info(module, "node_titles")
    ids: dict[str, str] = compiled_info(module, "node_ids")
    children = {id(child): name for name, child in module.named_children()}
    tb = exc.__traceback__
    while tb is not None:
        owner = tb.tb_frame.f_locals.get("self")
        name = children.get(id(owner)) if owner is not None else None
        if name is not None and name in ids:
            return NodeRuntimeError(titles[name], torch_message(exc), ids[name])
        tb = tb.tb_next
    return None


def run_with_node_errors(module: nn.Module, *args: Any) -> Any:
    """Call ``module(*args)``; an exception inside a layer becomes a ``NodeRuntimeError``.

    The ``try`` is free until something raises (Python 3.11's zero-cost exceptions).
    """
    try:
        return module(*args)
    except Exception as exc:
        located = locate_error(module, exc)
        if located is None:
            raise
        raise located from exc


def node_lines(module: fx.GraphModule) -> dict[int, str]:
    """Line numbers (1-based) of ``module.code`` that run a node → that node's id.

    Lets a code view highlight the node a line belongs to, and the reverse. Read from
    fx's own map of generated lines to graph nodes (counted from the ``def`` line), not
    from the text, so no label can confuse it.
    """
    ids: dict[str, str] = compiled_info(module, "node_ids")
    nodes = list(module.graph.nodes)
    code = module.code.splitlines()
    start = next(n for n, line in enumerate(code, start=1) if line.startswith("def forward"))
    lines: dict[int, str] = {}
    for offset, index in module._lineno_map.items():
        node = nodes[index] if index is not None else None
        if node is not None and node.op == "call_module" and node.target in ids:
            lines[start + offset] = ids[str(node.target)]
    return lines

