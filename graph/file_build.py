"""The last stage of loading a graph file: the checked file becomes a document.

Layer types are resolved (legacy ids, layer versions, parameter types), then the
document is built through its public API, so every edit rule applies. Wires are made in
topological order, which keeps loading linear in the size of the file, while errors are
still told for the first wire in the file's order that cannot be made.
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING, Any

from graph import migrations
from graph.catalog import LayerSpec, ParamSpec, ParamTypeError, catalog
from graph.document import Document, EditError, Network, input_places
from graph.file_errors import GraphFileError, Location, location_of
from graph.file_errors import show_value as _show

if TYPE_CHECKING:
    from graph.fileformat import LoomEdge, LoomFile, LoomNode


def build(model: LoomFile) -> Document:
    """The document, built only through its public API (so every edit rule applies)."""
    doc = Document()
    for name, net in model.networks.items():
        at: list[str | int] = ["networks", name]
        try:
            doc.add_network(name)
        except EditError as exc:
            raise GraphFileError(str(exc), location_of(at)) from None
        _add_nodes(doc, name, net.nodes, at)
        _add_edges(doc, name, net.edges, at)
    doc.set_training(model.training)
    for key, value in model.ui.items():
        doc.set_ui(key, value)
    return doc


def _add_nodes(doc: Document, network: str, nodes: list[LoomNode], at: Location) -> None:
    ids: dict[str, int] = {}
    labels: dict[str, int] = {}
    for i, node in enumerate(nodes):
        here = [*at, "nodes", i]
        # Checked here, not left to add_node, to point at the field rather than the node.
        if node.id in ids:
            raise GraphFileError(f"the id {_show(node.id)} is already used by "
                                 f"nodes[{ids[node.id]}]", location_of([*here, "id"]))
        if node.label in labels:
            raise GraphFileError(f"the name {_show(node.label)} is already used by "
                                 f"nodes[{labels[node.label]}]", location_of([*here, "label"]))
        ids[node.id], labels[node.label] = i, i
        spec, params = _resolve(node, here)
        try:
            doc.add_node(network, spec.id, params, label=node.label, pos=node.pos,
                         node_id=node.id)
        except EditError as exc:
            where = [*here, "label"] if not node.label.strip() else here
            raise GraphFileError(str(exc), location_of(where)) from None


def _resolve(node: LoomNode, at: Location) -> tuple[LayerSpec, dict[str, Any]]:
    """The node's layer spec (legacy ids mapped) and its params, upgraded and typed."""
    spec = catalog().find(node.type)
    if spec is None:
        raise GraphFileError(f"unknown layer type {_show(node.type)}",
                             location_of([*at, "type"]))
    where = [*at, "version"]
    if node.version > spec.version:
        raise GraphFileError(f"this file uses {spec.id} version {node.version}; this "
                             f"Layerloom knows up to version {spec.version}", location_of(where))
    if node.version < 1:
        raise GraphFileError(f"expected a layer version of at least 1, got {node.version}",
                             location_of(where))
    try:
        params = migrations.upgrade_params(spec.id, node.params, node.version, spec.version)
    except migrations.MigrationError as exc:
        raise GraphFileError(str(exc), location_of(where)) from None
    except Exception as exc:  # a step tripped over malformed params: report, never crash
        raise GraphFileError(f"could not upgrade {spec.id} version {node.version}: {exc!r}",
                             location_of([*at, "params"])) from None
    return spec, {name: _coerce(spec, name, value, at) for name, value in params.items()}


@cache
def _param_specs(type_id: str) -> dict[str, ParamSpec]:
    return {p.name: p for p in catalog().get(type_id).all_params}


def _coerce(spec: LayerSpec, name: str, value: Any, at: Location) -> Any:
    param: ParamSpec | None = _param_specs(spec.id).get(name)
    if param is None:
        known = ", ".join(p.name for p in spec.all_params) or "none"
        raise GraphFileError(f"{spec.display_name} has no parameter {_show(name)} "
                             f"(parameters: {known})", location_of([*at, "params", name]))
    try:
        return param.coerce(value)
    except ParamTypeError as exc:
        raise GraphFileError(str(exc), location_of([*at, "params", name])) from None


def _add_edges(doc: Document, network: str, edges: list[LoomEdge], at: Location) -> None:
    """Wire the network as the file says; the first wire in the file's order that cannot
    be made is the one reported, though the wires are made in another order (below)."""
    stop, problem = _first_refused(doc.network(network), edges, at)
    for j in [*_wiring_order(edges[:stop]), *range(stop, min(stop + 1, len(edges)))]:
        if j == stop and problem is not None:
            raise problem
        edge = edges[j]
        try:
            doc.connect(network, edge.source, edge.target, edge.port)
        except EditError as exc:  # a cycle, an input fed twice, a wire out of the Output
            raise GraphFileError(str(exc), location_of([*at, "edges", j])) from None


def _first_refused(net: Network, edges: list[LoomEdge], at: Location
                   ) -> tuple[int, GraphFileError | None]:
    """The index of the first wire that is wrong whatever came before it (with the error
    to raise, or None where connecting it says why), or ``len(edges)``."""
    fed: set[tuple[str, str]] = set()
    for j, edge in enumerate(edges):
        here = [*at, "edges", j]
        for end in ("source", "target"):
            node_id = getattr(edge, end)
            if node_id not in net:
                return j, GraphFileError(f"there is no node with id {_show(node_id)}",
                                         location_of([*here, end]))
        target = net.node(edge.target)
        if not input_places(target.type, edge.port):
            ports = ", ".join(target.spec.port_keys()) or "none"
            return j, GraphFileError(f"{target.spec.display_name} '{target.label}' has no "
                                     f"input {_show(edge.port)} (inputs: {ports})",
                                     location_of([*here, "port"]))
        if (edge.target, edge.port) in fed or net.node(edge.source).spec.role == "output":
            return j, None
        fed.add((edge.target, edge.port))
    return len(edges), None


def _wiring_order(edges: list[LoomEdge]) -> list[int]:
    """The indices of ``edges`` in the order to wire them: sources in topological order.

    Then no wire's target has outgoing wires yet, so the cycle check of each connect is
    free and loading stays linear. In a file with a cycle, the wires from the first one
    that closes it keep the file's order, so that wire is the one reported.
    """
    rank = _topological_rank(edges)
    if rank is not None:
        return sorted(range(len(edges)), key=lambda j: rank[edges[j].source])
    lo, hi = 0, len(edges) - 1  # the shortest cyclic prefix ends at edges[hi]
    while lo < hi:
        mid = (lo + hi) // 2
        if _topological_rank(edges[:mid + 1]) is None:
            hi = mid
        else:
            lo = mid + 1
    return _wiring_order(edges[:hi]) + list(range(hi, len(edges)))


def _topological_rank(edges: list[LoomEdge]) -> dict[str, int] | None:
    """Each wired node's place in a topological order, or None when the wires form a cycle."""
    after: dict[str, list[str]] = {}
    waiting: dict[str, int] = {}  # how many wires into a node are not yet ranked
    for e in edges:
        after.setdefault(e.source, []).append(e.target)
        waiting.setdefault(e.source, 0)
        waiting[e.target] = waiting.get(e.target, 0) + 1
    ready = [n for n, count in waiting.items() if count == 0]
    rank: dict[str, int] = {}
    while ready:
        node = ready.pop()
        rank[node] = len(rank)
        for succ in after.get(node, ()):
            waiting[succ] -= 1
            if waiting[succ] == 0:
                ready.append(succ)
    return rank if len(rank) == len(waiting) else None
