"""Import a PyTorch ``nn.Module`` as an editable network, weights included (torch.fx).

The module is traced symbolically (``fx_trace``), each traced call is mapped onto a
catalog layer (``fx_modules`` for torch.nn modules, ``fx_calls`` for functions,
methods and operators), and the document is built through its ordinary API. The
result is then checked the way a user would: compiled, loaded with the module's
weights and run on the example, every layer's output compared with the original's.
A call the catalog cannot express is named, one message per call, and the import
stops; nothing half-imported is returned.
"""

from __future__ import annotations

import operator
from collections.abc import Iterator
from typing import Any

import torch
from torch import fx, nn

from graph.builder import NetworkBuilder
from graph.catalog import catalog
from graph.compile import CompileError, compile_network, load_state_dict_by_id
from graph.document import Document
from graph.importers.fx_calls import FUNCTION_RULES, METHOD_RULES
from graph.importers.fx_modules import Alias, Mapped, Unsupported, is_leaf, module_rule
from graph.importers.fx_trace import Trace, source_line, trace
from graph.importers.result import ImportedModel, ModelImportError
from graph.layout import estimated_sizes, layered_positions
from graph.shapes import infer_network

NETWORK = "main"
LAYOUT_WRAP = 8  # columns per band: a long network reads in rows, as a page does
TOLERANCE = 1e-4  # relative and absolute: float32 layers computed another way agree to this
TIE_PARAM = "tie_weight_to"  # graph.ties.TIE_PARAM: a Linear's link to the Embedding it shares

_OPERATORS = {operator.add: "+", operator.iadd: "+=", operator.mul: "*", operator.imul: "*=",
              operator.truediv: "/", operator.sub: "-", operator.isub: "-=",
              operator.matmul: "@", operator.neg: "unary -",
              operator.pow: "**", operator.floordiv: "//"}

Mapping = dict[fx.Node, "Mapped | Alias"]


def import_module(model: nn.Module, example_input: torch.Tensor | tuple[torch.Tensor, ...]
                  ) -> ImportedModel:
    """``model`` as a document whose network 'main' computes the same function.

    ``example_input`` is a batch (N × one sample's shape), or a tuple of them for a
    forward with several inputs; its shape fixes the network's Input shapes. Raises
    ``ModelImportError`` naming every call the catalog cannot express.
    """
    inputs = example_input if isinstance(example_input, tuple) else (example_input,)
    was_training = model.training
    model.eval()  # dropout off and running statistics used, so outputs can be compared
    try:
        t = trace(model, inputs, is_leaf)
        mapping = _map_calls(t)
        doc, ids = _build(t, mapping)
        weights, worst = _check(t, mapping, doc, ids, inputs)
    finally:
        model.train(was_training)
    _lay_out(doc)
    notes = [f"The imported network reproduces {type(model).__name__}'s outputs on the "
             f"example (largest difference {worst:.1e})."]
    return ImportedModel(doc, NETWORK, weights, notes)


# -- mapping ---------------------------------------------------------------------
def _map_calls(t: Trace) -> Mapping:
    """Every data node the output needs, mapped; raises naming each that cannot be."""
    mapping: Mapping = {}
    problems: dict[fx.Node, str] = {}
    for node in t.gm.graph.nodes:
        if node in t.data and node.op != "placeholder":
            try:
                mapping[node] = _map_one(t, node)
            except Unsupported as exc:
                problems[node] = str(exc)
    messages = [_message(t, node, problems[node])
                for node in _needed(t, mapping) if node in problems]
    if messages:
        raise ModelImportError("\n".join(messages))
    return mapping


def _map_one(t: Trace, node: fx.Node) -> Mapped | Alias:
    if node.op == "call_module":
        module = t.module(node)
        rule_of_module = module_rule(type(module))
        if rule_of_module is None:
            raise Unsupported("")
        return rule_of_module(t, node, module)
    rules: dict[Any, Any] = FUNCTION_RULES if node.op == "call_function" else METHOD_RULES
    rule = rules.get(node.target)
    if rule is None:
        raise Unsupported("")
    result: Mapped | Alias = rule(t, node)
    return result


def _needed(t: Trace, mapping: Mapping) -> list[fx.Node]:
    """Data nodes the output depends on through mapped inputs, in graph order."""
    output = next(n for n in t.gm.graph.nodes if n.op == "output")
    result = output.args[0]
    if not isinstance(result, fx.Node):
        raise ModelImportError(f"{t.gm.__class__.__name__}.forward returns several values; "
                               "a Layerloom network returns one tensor")
    seen: set[fx.Node] = set()
    stack = [result]
    while stack:
        node = stack.pop()
        if node in seen:
            continue
        seen.add(node)
        found = mapping.get(node)
        if isinstance(found, Mapped):
            stack.extend(found.inputs)
        elif isinstance(found, Alias):
            stack.append(found.source)
        elif node.op != "placeholder":
            stack.extend(t.data_args(node))  # unmapped: go on to name what is above it too
    return [n for n in t.gm.graph.nodes if n in seen]


def _message(t: Trace, node: fx.Node, why: str) -> str:
    line = source_line(node)
    where = f"line {line}: " if line is not None else ""
    if not why:
        return f"{where}{describe(t, node)} has no layer in the catalog"
    return f"{where}{describe(t, node)}: {why}"


def describe(t: Trace, node: fx.Node) -> str:
    """How a traced call reads in the user's code: ``nn.LSTM 'lstm'``, ``torch.einsum``."""
    if node.op == "call_module":
        cls = type(t.module(node))
        prefix = "nn." if getattr(nn, cls.__name__, None) is cls else ""
        return f"{prefix}{cls.__name__} '{node.target}'"
    if node.op == "call_method":
        return f"Tensor.{node.target}()"
    target = node.target
    if target is operator.getitem:
        return "indexing [...]"
    if target in _OPERATORS:
        return f"the operator {_OPERATORS[target]}"
    name = getattr(target, "__name__", str(target))
    module = getattr(target, "__module__", None) or ""
    if module.startswith("torch.nn.functional") or target is getattr(
            torch.nn.functional, name, None):
        return f"F.{name}"
    if module.startswith("torch") or getattr(torch, name, None) is target:
        return f"torch.{name}"
    return f"{module}.{name}" if module else name


# -- building --------------------------------------------------------------------
def _resolve(mapping: Mapping, node: fx.Node) -> fx.Node:
    found = mapping.get(node)
    while isinstance(found, Alias):
        node = found.source
        found = mapping.get(node)
    return node


def _build(t: Trace, mapping: Mapping) -> tuple[Document, dict[fx.Node, str]]:
    doc = Document.new(NETWORK)
    b = NetworkBuilder(doc, NETWORK)
    ids: dict[fx.Node, str] = {}
    needed = set(_needed(t, mapping))
    taken: set[str] = set()
    for node in t.gm.graph.nodes:
        if node not in needed:
            continue
        found = mapping.get(node)
        if node.op == "placeholder":
            ids[node] = b.add("Input", label=_unique(node.name, taken),
                              **_input_params(t, node, mapping))
        elif isinstance(found, Mapped):
            sources = [ids[_resolve(mapping, s)] for s in found.inputs]
            label = found.label or (str(node.target) if node.op == "call_module" else node.name)
            ids[node] = b.add(found.type_id, *sources, label=_unique(label, taken),
                              **found.params)
    output = next(n for n in t.gm.graph.nodes if n.op == "output")
    b.add("Output", ids[_resolve(mapping, output.args[0])], label=_unique("output", taken))
    _tie(doc, mapping, ids)
    return doc, ids


def _tie(doc: Document, mapping: Mapping, ids: dict[fx.Node, str]) -> None:
    """A Linear whose weight is an Embedding's own Parameter (``lm_head.weight =
    wte.weight``) ties to that Embedding, as the catalog's Linear can."""
    if not any(p.name == TIE_PARAM for p in catalog().get("Linear").params):
        return
    owners = {id(m.module.weight): ids[n] for n, m in mapping.items()
              if isinstance(m, Mapped) and isinstance(m.module, nn.Embedding) and n in ids}
    for node, found in mapping.items():
        if isinstance(found, Mapped) and isinstance(found.module, nn.Linear) and node in ids:
            owner = owners.get(id(found.module.weight))
            if owner is not None:
                doc.set_param(NETWORK, ids[node], TIE_PARAM, owner)


def _unique(label: str, taken: set[str]) -> str:
    name, k = label, 1
    while name in taken:
        k += 1
        name = f"{label}_{k}"
    taken.add(name)
    return name


def _input_params(t: Trace, node: fx.Node, mapping: Mapping) -> dict[str, Any]:
    value = t.values[node]
    shape = list(value.shape[1:])
    if value.dtype.is_floating_point:
        return {"shape": shape}
    vocab = [m.module.num_embeddings for m in mapping.values()
             if isinstance(m, Mapped) and isinstance(m.module, nn.Embedding)
             and any(_resolve(mapping, s) is node for s in m.inputs)]
    return {"shape": shape, "kind": "tokens",
            "vocab_size": max(vocab) if vocab else int(value.max()) + 1}


# -- checking --------------------------------------------------------------------
def _check(t: Trace, mapping: Mapping, doc: Document, ids: dict[fx.Node, str],
           inputs: tuple[torch.Tensor, ...]) -> tuple[dict[str, torch.Tensor], float]:
    """Weights by node id, and the largest difference of the output from the original's."""
    by_id = {node_id: node for node, node_id in ids.items()}
    shapes = infer_network(doc.network(NETWORK))
    errors = [_message(t, by_id[i], f"does not fit the catalog's layer here: {s.error}")
              for i, s in shapes.items() if s.error and i in by_id]
    if errors:
        raise ModelImportError("\n".join(errors))
    try:
        gm = compile_network(doc, NETWORK, shapes=shapes).eval()
    except CompileError as exc:
        where = by_id.get(exc.node_id or "")
        raise ModelImportError(_message(t, where, str(exc)) if where else str(exc)) from exc
    weights = dict(_weights(t, mapping, gm, by_id))
    try:
        load_state_dict_by_id(gm, weights, strict=True)
    except (KeyError, ValueError) as exc:
        raise ModelImportError(f"the weights do not fit the imported layers: {exc}") from exc
    references = {i: m.reference for i, n in by_id.items()
                  if isinstance(m := mapping.get(n), Mapped) and m.reference is not None}
    return weights, _compare(t, gm, {**by_id, **references}, inputs)


def _weights(t: Trace, mapping: Mapping, gm: fx.GraphModule, by_id: dict[str, fx.Node]
             ) -> Iterator[tuple[str, torch.Tensor]]:
    node_ids: dict[str, str] = getattr(gm, "node_ids")  # noqa: B009  (set by compile)
    tied: dict[str, str] = getattr(gm, "tied_weights", {})
    for attr, node_id in node_ids.items():
        found = mapping.get(by_id[node_id]) if node_id in by_id else None
        if not isinstance(found, Mapped):
            continue
        for key, tensor in found.weights.items():
            yield f"{node_id}.{key}", tensor
        if found.module is not None:
            prefix = _prefix(getattr(gm, attr), found.module)
            for key, tensor in found.module.state_dict().items():
                if f"{attr}.{prefix}{key}" not in tied:  # held by the Embedding it is tied to
                    yield f"{node_id}.{prefix}{key}", tensor.detach().clone()


def _prefix(built: nn.Module, original: nn.Module) -> str:
    """Where ``original``'s tensors live in the catalog's module (e.g. ``rnn.`` in a
    Recurrent that wraps an LSTM)."""
    keys = set(original.state_dict())
    for name, sub in built.named_modules():
        if isinstance(sub, type(original)) and set(sub.state_dict()) == keys:
            return f"{name}." if name else ""
    return ""  # the sizes check of load_state_dict_by_id names the mismatch


def _compare(t: Trace, gm: fx.GraphModule, by_id: dict[str, fx.Node],
             inputs: tuple[torch.Tensor, ...]) -> float:
    """Run the compiled network; the first layer whose output differs from the traced
    value it stands for (``by_id``) is named."""
    outputs: dict[str, Any] = {}

    class Recorder(fx.Interpreter):
        def run_node(self, n: fx.Node) -> Any:
            outputs[n.name] = result = super().run_node(n)
            return result

    with torch.no_grad():
        final = Recorder(gm).run(*inputs)
    node_ids: dict[str, str] = getattr(gm, "node_ids")  # noqa: B009  (set by compile)
    for attr, node_id in node_ids.items():
        original = t.values[by_id[node_id]]
        if isinstance(original, tuple):
            original = original[0]
        mine = outputs[attr]
        if mine.shape != original.shape or not torch.allclose(
                mine, original, rtol=TOLERANCE, atol=TOLERANCE):
            gap = (mine - original).abs().max().item() if mine.shape == original.shape else None
            how = f"largest difference {gap:.2g}" if gap is not None else \
                f"shape {tuple(mine.shape)} instead of {tuple(original.shape)}"
            raise ModelImportError(_message(
                t, by_id[node_id], f"the catalog's layer computes something else here ({how}); "
                "it uses a setting the catalog's layer does not have"))
    output = next(n for n in t.gm.graph.nodes if n.op == "output")
    return float((final - t.values[output.args[0]]).abs().max().item())


def _lay_out(doc: Document) -> None:
    net = doc.network(NETWORK)
    laid = layered_positions(net, estimated_sizes(net), route_skips=True, wrap=LAYOUT_WRAP)
    for node_id, pos in laid.items():
        doc.move_node(NETWORK, node_id, pos)
