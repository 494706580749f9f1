"""The document: named networks (networkx DiGraphs), a training section and UI state.

``Document`` is the only code that mutates a network. Each mutator checks its
arguments, raises ``EditError`` with a message for the user when the edit is
refused, and emits one precise event. Commands (``graph.commands``) call these
mutators; so do code that builds a document and the file loader.
"""

from __future__ import annotations

import heapq
import math
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from functools import cache, lru_cache
from typing import Any, NamedTuple, TypeVar

import networkx as nx

from graph.catalog import LayerSpec, ParamTypeError, catalog
from graph.limits import MAX_NAME_CHARS
from graph.training import TrainingSpec


class EditError(ValueError):
    """An edit was refused; the message says why in the user's terms."""


class Signal:
    """A minimal event: callables connected to it are called on ``emit``."""

    def __init__(self) -> None:
        self._slots: list[Callable[..., None]] = []

    def connect(self, slot: Callable[..., None]) -> None:
        self._slots.append(slot)

    def disconnect(self, slot: Callable[..., None]) -> None:
        self._slots.remove(slot)

    def emit(self, *args: Any) -> None:
        for slot in list(self._slots):
            slot(*args)


@lru_cache(maxsize=1 << 16)
def natural_key(text: str) -> tuple[Any, ...]:
    """Sort key that orders "n2" before "n10" (strings at even, ints at odd places).

    Cached: every topological order and every save sorts all node ids by it."""
    return tuple(int(t) if i % 2 else t for i, t in enumerate(_DIGITS.split(text)))


_DIGITS = re.compile(r"(\d+)")
R = TypeVar("R")  # what a walk's per-node function gives


@lru_cache(maxsize=4096)
def input_places(type_id: str, key: str) -> tuple[tuple[int, int], ...]:
    """(rank of the port, index within a variadic port) of each input that ``key`` names.

    Cached: validation and shape inference ask for every wire, and matching a variadic
    port's name is a regular expression."""
    ports = catalog().get(type_id).inputs
    return tuple((rank, port.index(key)) for rank, port in enumerate(ports) if port.matches(key))


@cache
def _defaults(type_id: str) -> dict[str, Any]:
    """A layer type's default parameters, worked out once (a file adds thousands of nodes).
    Callers copy it; its values are immutable (tuples for lists)."""
    return catalog().get(type_id).defaults()


class Edge(NamedTuple):
    source: str
    target: str
    port: str


@dataclass
class Node:
    id: str
    type: str
    params: dict[str, Any]
    label: str
    pos: tuple[float, float] = (0.0, 0.0)

    @property
    def spec(self) -> LayerSpec:
        return catalog().get(self.type)

    def to_data(self) -> dict[str, Any]:
        spec = self.spec
        params = {p.name: p.to_json(self.params[p.name]) for p in spec.all_params}
        return {
            "id": self.id,
            "type": spec.id,
            "version": spec.version,
            "label": self.label,
            "params": params,
            "pos": [float(self.pos[0]), float(self.pos[1])],
        }


class Network:
    """One network: nodes keyed by id in a DiGraph; edge data ``ports`` lists target ports."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.graph: nx.DiGraph = nx.DiGraph()
        self.labels: dict[str, str] = {}  # label -> node id, kept by Document
        # (target id, port) -> source id, kept by Document: a Concat fed by thousands of
        # wires finds what feeds one of its inputs without a scan of them all.
        self.feeds: dict[tuple[str, str], str] = {}
        self.id_counter = 0  # ids are not reused within a session: weights are keyed by id

    def __contains__(self, node_id: object) -> bool:
        return node_id in self.graph

    def __len__(self) -> int:
        return len(self.graph)

    def node(self, node_id: str) -> Node:
        try:
            node: Node = self.graph.nodes[node_id]["node"]
        except KeyError:
            raise EditError(f"network '{self.name}' has no node {node_id!r}") from None
        return node

    def nodes(self) -> Iterator[Node]:
        for _, data in self.graph.nodes(data="node"):
            yield data

    def edges(self) -> list[Edge]:
        return [
            Edge(u, v, port) for u, v, ports in self.graph.edges(data="ports") for port in ports
        ]

    def in_edges(self, node_id: str) -> list[Edge]:
        return [
            Edge(u, node_id, port)
            for u, _, ports in self.graph.in_edges(node_id, data="ports")
            for port in ports
        ]

    def out_edges(self, node_id: str) -> list[Edge]:
        return [
            Edge(node_id, v, port)
            for _, v, ports in self.graph.out_edges(node_id, data="ports")
            for port in ports
        ]

    def inputs_of(self, node_id: str) -> list[tuple[str, str]]:
        """(port, source id) pairs of a node, in the order its layer takes them."""
        type_id = self.node(node_id).type
        order: list[tuple[int, int, str, str]] = []
        for source, data in self.graph.pred[node_id].items():
            for key in data["ports"]:
                order += [(rank, i, key, source) for rank, i in input_places(type_id, key)]
        return [(port, src) for _, _, port, src in sorted(order)]

    def topological_order(self, among: Iterable[str] | None = None) -> list[str]:
        """Node ids so that every wire runs forward, ties broken by id in natural order
        ("n2" < "n10": creation order, which renaming, moving, undo and save/load keep).

        The one order of a network: shapes, validation, the summary and the compiler all
        walk it. ``among`` restricts it to those nodes (closed under their inputs, it is
        the same order with the others left out). Wires forming a loop, which validation
        reports, leave no such order: then the ids come in natural order.
        """
        graph = self.graph if among is None else self.graph.subgraph(among)
        # Kahn's algorithm with a heap of ready ids; networkx's lexicographical sort
        # does the same at several times the cost, and validation walks it per edit.
        waiting = dict(graph.in_degree())
        ready = [(natural_key(n), n) for n, d in waiting.items() if d == 0]
        heapq.heapify(ready)
        order: list[str] = []
        while ready:
            node_id = heapq.heappop(ready)[1]
            order.append(node_id)
            for after in graph.successors(node_id):
                waiting[after] -= 1
                if waiting[after] == 0:
                    heapq.heappush(ready, (natural_key(after), after))
        if len(order) < len(waiting):  # a loop: no order exists
            return sorted(graph, key=natural_key)
        return order

    def walk(self, visit: Callable[[Node, list[tuple[str, str]]], R],
             among: Iterable[str] | None = None) -> dict[str, R]:
        """``visit(node, inputs)`` for each node in the topological order, ``inputs``
        being the node's (port, source id) pairs (as ``inputs_of``); returns what it
        gave, keyed by node id in that order.

        The one walk over a network: shape inference, the summary, validation and the
        compiler each pass their own per-node function. ``among`` as in
        ``topological_order``.
        """
        return {node_id: visit(self.node(node_id), self.inputs_of(node_id))
                for node_id in self.topological_order(among)}

    def by_label(self, label: str) -> Node | None:
        node_id = self.labels.get(label)
        return None if node_id is None else self.node(node_id)

    def source_of(self, node_id: str, port: str) -> str | None:
        return self.feeds.get((node_id, port))

    def to_data(self, ids: Iterable[str] | None = None) -> dict[str, Any]:
        """Nodes and edges as the file format writes them; with ``ids``, that subset
        plus every edge touching it (what a delete must restore). Sorted by id, so
        the data does not depend on the order of past edits."""
        chosen = set(self.graph) if ids is None else set(ids)
        nodes = [self.node(i).to_data() for i in sorted(chosen, key=natural_key)]
        edges = [
            {"source": e.source, "target": e.target, "port": e.port}
            for e in sorted(self.edges(), key=lambda e: [natural_key(k) for k in e])
            if e.source in chosen or e.target in chosen
        ]
        return {"nodes": nodes, "edges": edges}


@dataclass
class DocumentEvents:
    """What changed, precisely; views and shape inference subscribe to these."""

    network_added: Signal = field(default_factory=Signal)  # (name)
    network_removed: Signal = field(default_factory=Signal)  # (name)
    node_added: Signal = field(default_factory=Signal)  # (network, node_id)
    node_removed: Signal = field(default_factory=Signal)  # (network, node_id)
    param_changed: Signal = field(default_factory=Signal)  # (network, node_id, name)
    label_changed: Signal = field(default_factory=Signal)  # (network, node_id)
    node_moved: Signal = field(default_factory=Signal)  # (network, node_id)
    edge_added: Signal = field(default_factory=Signal)  # (network, Edge)
    edge_removed: Signal = field(default_factory=Signal)  # (network, Edge)
    training_changed: Signal = field(default_factory=Signal)  # ()
    ui_changed: Signal = field(default_factory=Signal)  # (key)


def _position(pos: tuple[float, float]) -> tuple[float, float]:
    x, y = float(pos[0]), float(pos[1])
    if not (math.isfinite(x) and math.isfinite(y)):
        raise EditError(f"a node cannot be placed at ({x}, {y})")
    return (x, y)


_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_ \-]{0,63}")


class Document:
    """A Layerloom graph document. Create with ``Document()`` or ``Document.new()``."""

    def __init__(self) -> None:
        self.networks: dict[str, Network] = {}
        self.training = TrainingSpec()
        self.ui: dict[str, Any] = {}
        self.events = DocumentEvents()

    @classmethod
    def new(cls, network: str = "main") -> Document:
        doc = cls()
        doc.add_network(network)
        return doc

    # -- queries -------------------------------------------------------------
    def network(self, name: str) -> Network:
        try:
            return self.networks[name]
        except KeyError:
            raise EditError(f"the document has no network named '{name}'") from None

    def to_data(self) -> dict[str, Any]:
        """The document as plain data (what the file format writes, minus the header)."""
        return {
            "networks": {name: net.to_data() for name, net in self.networks.items()},
            "training": self.training.to_data(),
            "ui": dict(self.ui),
        }

    # -- networks ------------------------------------------------------------
    def add_network(self, name: str, index: int | None = None) -> Network:
        """A new empty network, last or at position ``index`` (tabs follow this order)."""
        if not _NAME.fullmatch(name):
            raise EditError(
                f"'{name}' is not a usable network name: start with a letter and use "
                "letters, digits, spaces, '-' or '_'"
            )
        if name in self.networks:
            raise EditError(f"a network named '{name}' already exists")
        net = Network(name)
        items = list(self.networks.items())
        items.insert(len(items) if index is None else index, (name, net))
        self.networks = dict(items)
        self.events.network_added.emit(name)
        return net

    def remove_network(self, name: str) -> None:
        net = self.network(name)
        for node_id in list(net.graph):
            self.remove_node(name, node_id)
        del self.networks[name]
        self.events.network_removed.emit(name)

    # -- nodes ---------------------------------------------------------------
    def add_node(
        self,
        network: str,
        type_id: str,
        params: dict[str, Any] | None = None,
        *,
        label: str | None = None,
        pos: tuple[float, float] = (0.0, 0.0),
        node_id: str | None = None,
    ) -> str:
        """Add a node; unset parameters take their defaults. Returns the node's id."""
        net = self.network(network)
        spec = catalog().find(type_id)
        if spec is None:
            raise EditError(f"there is no layer type '{type_id}'")
        values = dict(_defaults(spec.id))
        for name, value in (params or {}).items():
            values[name] = self._coerce(spec, name, value)
        node_id = node_id or self._fresh_id(net)
        if node_id in net:
            raise EditError(f"node id {node_id!r} is already used in '{network}'")
        label = label if label is not None else self._fresh_label(net, spec)
        self._check_label(net, label, None)
        node = Node(node_id, spec.id, values, label, _position(pos))
        net.graph.add_node(node_id, node=node)
        net.labels[label] = node_id
        self.events.node_added.emit(network, node_id)
        return node_id

    def remove_node(self, network: str, node_id: str) -> None:
        net = self.network(network)
        net.node(node_id)
        for e in net.in_edges(node_id) + net.out_edges(node_id):
            self.disconnect(network, *e)
        del net.labels[net.node(node_id).label]
        net.graph.remove_node(node_id)
        self.events.node_removed.emit(network, node_id)

    def set_param(self, network: str, node_id: str, name: str, value: Any) -> None:
        node = self.network(network).node(node_id)
        node.params[name] = self._coerce(node.spec, name, value)
        self.events.param_changed.emit(network, node_id, name)

    def set_label(self, network: str, node_id: str, label: str) -> None:
        net = self.network(network)
        node = net.node(node_id)
        self._check_label(net, label, node_id)
        del net.labels[node.label]
        net.labels[label] = node_id
        node.label = label
        self.events.label_changed.emit(network, node_id)

    def move_node(self, network: str, node_id: str, pos: tuple[float, float]) -> None:
        self.network(network).node(node_id).pos = _position(pos)
        self.events.node_moved.emit(network, node_id)

    # -- edges ---------------------------------------------------------------
    def connect(self, network: str, source: str, target: str, port: str) -> Edge:
        net = self.network(network)
        src, dst = net.node(source), net.node(target)
        if src.spec.role == "output":
            raise EditError(f"'{src.label}' is the network's Output: nothing can follow it")
        if not input_places(dst.type, port):
            ports = ", ".join(dst.spec.port_keys()) or "none"
            raise EditError(f"{dst.spec.display_name} '{dst.label}' has no input '{port}' "
                            f"(inputs: {ports})")
        # A new wire closes a cycle only if its target already reaches its source; a
        # target with no outgoing wires (every one, as files are loaded) cannot.
        if source == target or (net.graph.out_degree(target) > 0
                                and nx.has_path(net.graph, target, source)):
            raise EditError(f"connecting '{src.label}' to '{dst.label}' would create a cycle")
        occupant = net.source_of(target, port)
        if occupant is not None:
            raise EditError(f"input '{port}' of '{dst.label}' is already fed by "
                            f"'{net.node(occupant).label}'; disconnect it first")
        if net.graph.has_edge(source, target):
            ports = net.graph.edges[source, target]["ports"]
            net.graph.edges[source, target]["ports"] = tuple(sorted((*ports, port)))
        else:
            net.graph.add_edge(source, target, ports=(port,))
        net.feeds[target, port] = source
        edge = Edge(source, target, port)
        self.events.edge_added.emit(network, edge)
        return edge

    def disconnect(self, network: str, source: str, target: str, port: str) -> None:
        net = self.network(network)
        if not net.graph.has_edge(source, target) or port not in (
            ports := net.graph.edges[source, target]["ports"]
        ):
            raise EditError(f"there is no wire from {source!r} to {target!r}.{port}")
        del net.feeds[target, port]
        rest = tuple(p for p in ports if p != port)
        if rest:
            net.graph.edges[source, target]["ports"] = rest
        else:
            net.graph.remove_edge(source, target)
        self.events.edge_removed.emit(network, Edge(source, target, port))

    # -- training and UI -----------------------------------------------------
    def set_training(self, training: TrainingSpec) -> None:
        self.training = training
        self.events.training_changed.emit()

    def set_ui(self, key: str, value: Any) -> None:
        if value is None:
            self.ui.pop(key, None)
        else:
            self.ui[key] = value
        self.events.ui_changed.emit(key)

    # -- fragments (paste, undo of delete) -----------------------------------
    def insert_fragment(
        self, network: str, fragment: dict[str, Any], *, fresh: bool = False,
        offset: tuple[float, float] = (0.0, 0.0),
    ) -> list[str]:
        """Add the nodes and edges of ``fragment`` (as ``Network.to_data`` writes it).

        With ``fresh``, nodes get new ids and labels (paste); otherwise they keep
        theirs (undo of a delete). Edges to nodes outside the fragment are kept
        only when those nodes exist. Returns the ids of the added nodes.
        """
        net = self.network(network)
        ids: dict[str, str] = {}
        wired: list[Edge] = []
        try:
            for data in fragment["nodes"]:
                label = data["label"]
                if fresh and net.by_label(label) is not None:
                    label = self._fresh_label(net, catalog().get(data["type"]), stem=label)
                x, y = data.get("pos", (0.0, 0.0))
                ids[data["id"]] = self.add_node(
                    network, data["type"], data.get("params", {}), label=label,
                    pos=(x + offset[0], y + offset[1]),
                    node_id=None if fresh else data["id"],
                )
            if fresh:
                self._relink(network, ids)
            for e in fragment["edges"]:
                source, target = ids.get(e["source"]), ids.get(e["target"])
                if fresh and (source is None or target is None):
                    continue
                source, target = source or e["source"], target or e["target"]
                if source in net and target in net:
                    wired.append(self.connect(network, source, target, e["port"]))
        except (EditError, KeyError, TypeError, ValueError, IndexError) as exc:
            # All or nothing: a bad fragment (a damaged clipboard) leaves no trace.
            for edge in reversed(wired):
                self.disconnect(network, *edge)
            for node_id in reversed(list(ids.values())):
                self.remove_node(network, node_id)
            if isinstance(exc, EditError):
                raise
            raise EditError(f"the copied nodes are damaged and cannot be inserted ({exc})") \
                from None
        return list(ids.values())

    # -- helpers -------------------------------------------------------------
    def _relink(self, network: str, ids: dict[str, str]) -> None:
        """Pasted nodes that name a node pasted with them (a tied weight) name its copy."""
        net = self.network(network)
        for new in ids.values():
            node = net.node(new)
            for p in node.spec.all_params:
                if p.kind == "node" and node.params[p.name] in ids:
                    self.set_param(network, new, p.name, ids[node.params[p.name]])

    @staticmethod
    def _coerce(spec: LayerSpec, name: str, value: Any) -> Any:
        try:
            return spec.param(name).coerce(value)
        except KeyError as exc:
            raise EditError(exc.args[0]) from None
        except ParamTypeError as exc:
            raise EditError(f"{spec.display_name} parameter '{name}': {exc}") from None

    @staticmethod
    def _check_label(net: Network, label: str, node_id: str | None) -> None:
        if not label.strip():
            raise EditError("a node's name cannot be empty")
        if len(label) > MAX_NAME_CHARS:
            raise EditError(f"a node's name can have at most {MAX_NAME_CHARS} characters, "
                            f"this one has {len(label)}")
        other = net.by_label(label)
        if other is not None and other.id != node_id:
            raise EditError(f"another node in '{net.name}' is already called '{label}'")

    @staticmethod
    def _fresh_id(net: Network) -> str:
        k = net.id_counter + 1
        while f"n{k}" in net.graph:
            k += 1
        net.id_counter = k
        return f"n{k}"

    @staticmethod
    def _fresh_label(net: Network, spec: LayerSpec, stem: str | None = None) -> str:
        base = re.sub(r"\d+$", "", stem)[:MAX_NAME_CHARS - 8] if stem else spec.id.lower()
        base = base or spec.id.lower()
        k = 1
        while f"{base}{k}" in net.labels:
            k += 1
        return f"{base}{k}"
