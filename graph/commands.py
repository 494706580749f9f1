"""Undoable edits. Each command refers to nodes by id, calls only the Document API,
and keeps just what it needs to revert (never a snapshot of the whole document).

``History`` is the one place commands are applied: it records them, tracks
whether the document differs from its saved state, and tells listeners.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from graph.document import Document, Edge, EditError, Signal
from graph.training import TrainingSpec


class Command(Protocol):
    @property
    def text(self) -> str: ...  # the undo/redo menus' wording

    def apply(self, doc: Document) -> None: ...

    def revert(self, doc: Document) -> None: ...


@dataclass
class AddNode:
    network: str
    type: str
    params: dict[str, Any] = field(default_factory=dict)
    label: str | None = None
    pos: tuple[float, float] = (0.0, 0.0)
    node_id: str | None = None  # fixed on first apply so redo recreates the same node

    @property
    def text(self) -> str:
        return f"Add {self.type}"

    def apply(self, doc: Document) -> None:
        self.node_id = doc.add_node(
            self.network, self.type, self.params, label=self.label, pos=self.pos,
            node_id=self.node_id,
        )
        self.label = doc.network(self.network).node(self.node_id).label

    def revert(self, doc: Document) -> None:
        assert self.node_id is not None
        doc.remove_node(self.network, self.node_id)


@dataclass
class RemoveNodes:
    """Delete nodes and their wires; stores what the file format would write of them."""

    network: str
    node_ids: list[str]
    removed: dict[str, Any] | None = None

    @property
    def text(self) -> str:
        return f"Delete {len(self.node_ids)} node(s)"

    def apply(self, doc: Document) -> None:
        self.removed = doc.network(self.network).to_data(self.node_ids)
        for node_id in self.node_ids:
            doc.remove_node(self.network, node_id)

    def revert(self, doc: Document) -> None:
        assert self.removed is not None
        doc.insert_fragment(self.network, self.removed)


@dataclass
class Paste:
    """Insert a copied fragment with fresh ids and labels (also Duplicate)."""

    network: str
    fragment: dict[str, Any]
    offset: tuple[float, float] = (30.0, 30.0)
    text: str = "Paste"
    added: list[str] = field(default_factory=list)

    def apply(self, doc: Document) -> None:
        if not self.added:
            self.added = doc.insert_fragment(
                self.network, self.fragment, fresh=True, offset=self.offset
            )
            # Redo must recreate exactly these ids and labels.
            self.fragment = doc.network(self.network).to_data(self.added)
            self.fragment["edges"] = [
                e for e in self.fragment["edges"]
                if e["source"] in self.added and e["target"] in self.added
            ]
            self.offset = (0.0, 0.0)
        else:
            doc.insert_fragment(self.network, self.fragment)

    def revert(self, doc: Document) -> None:
        for node_id in self.added:
            doc.remove_node(self.network, node_id)


@dataclass
class Connect:
    network: str
    source: str
    target: str
    port: str
    text: str = "Connect"

    def apply(self, doc: Document) -> None:
        doc.connect(self.network, self.source, self.target, self.port)

    def revert(self, doc: Document) -> None:
        doc.disconnect(self.network, self.source, self.target, self.port)


@dataclass
class Disconnect:
    network: str
    source: str
    target: str
    port: str
    text: str = "Disconnect"

    @classmethod
    def of(cls, network: str, edge: Edge) -> Disconnect:
        return cls(network, edge.source, edge.target, edge.port)

    def apply(self, doc: Document) -> None:
        doc.disconnect(self.network, self.source, self.target, self.port)

    def revert(self, doc: Document) -> None:
        doc.connect(self.network, self.source, self.target, self.port)


@dataclass
class SetParam:
    network: str
    node_id: str
    name: str
    value: Any
    old: Any = None

    @property
    def text(self) -> str:
        return f"Set {self.name}"

    def apply(self, doc: Document) -> None:
        node = doc.network(self.network).node(self.node_id)
        if self.name not in node.params:
            raise EditError(f"{node.spec.display_name} has no parameter '{self.name}'")
        self.old = node.params[self.name]
        doc.set_param(self.network, self.node_id, self.name, self.value)

    def revert(self, doc: Document) -> None:
        doc.set_param(self.network, self.node_id, self.name, self.old)


@dataclass
class Rename:
    network: str
    node_id: str
    label: str
    old: str = ""
    text: str = "Rename"

    def apply(self, doc: Document) -> None:
        self.old = doc.network(self.network).node(self.node_id).label
        doc.set_label(self.network, self.node_id, self.label)

    def revert(self, doc: Document) -> None:
        doc.set_label(self.network, self.node_id, self.old)


@dataclass
class Move:
    """Move nodes; successive moves of the same nodes (one drag) merge into one step."""

    network: str
    positions: dict[str, tuple[float, float]]
    old: dict[str, tuple[float, float]] = field(default_factory=dict)
    text: str = "Move"
    mergeable: bool = True

    def apply(self, doc: Document) -> None:
        net = doc.network(self.network)
        for node_id, pos in self.positions.items():
            self.old.setdefault(node_id, net.node(node_id).pos)
            doc.move_node(self.network, node_id, pos)

    def revert(self, doc: Document) -> None:
        for node_id, pos in self.old.items():
            doc.move_node(self.network, node_id, pos)

    def merge(self, other: object) -> bool:
        if not (isinstance(other, Move) and self.mergeable and other.mergeable):
            return False
        if other.network != self.network or set(other.positions) != set(self.positions):
            return False
        self.positions = dict(other.positions)
        return True


@dataclass
class AddNetwork:
    name: str
    data: dict[str, Any] | None = None  # nodes and edges to start with

    @property
    def text(self) -> str:
        return f"Add network {self.name}"

    def apply(self, doc: Document) -> None:
        doc.add_network(self.name)
        if self.data:
            doc.insert_fragment(self.name, self.data)

    def revert(self, doc: Document) -> None:
        doc.remove_network(self.name)


@dataclass
class RemoveNetwork:
    name: str
    data: dict[str, Any] | None = None
    index: int = 0

    @property
    def text(self) -> str:
        return f"Remove network {self.name}"

    def apply(self, doc: Document) -> None:
        self.index = list(doc.networks).index(self.name)
        self.data = doc.network(self.name).to_data()
        doc.remove_network(self.name)

    def revert(self, doc: Document) -> None:
        assert self.data is not None
        doc.add_network(self.name, self.index)  # back in its place, before its nodes
        doc.insert_fragment(self.name, self.data)


@dataclass
class SetTraining:
    """Replace the training section (build the new one with ``TrainingSpec.replaced``)."""

    training: TrainingSpec
    old: TrainingSpec | None = None
    text: str = "Change training settings"

    def apply(self, doc: Document) -> None:
        self.old = doc.training
        doc.set_training(self.training)

    def revert(self, doc: Document) -> None:
        assert self.old is not None
        doc.set_training(self.old)


@dataclass
class Macro:
    """Several commands as one undo step (applied in order, reverted in reverse)."""

    text: str
    commands: list[Any] = field(default_factory=list)

    def apply(self, doc: Document) -> None:
        done: list[Any] = []
        try:
            for cmd in self.commands:
                cmd.apply(doc)
                done.append(cmd)
        except Exception:
            for cmd in reversed(done):
                cmd.revert(doc)
            raise

    def revert(self, doc: Document) -> None:
        for cmd in reversed(self.commands):
            cmd.revert(doc)


def remove_edges(network: str, edges: list[Edge]) -> Macro:
    return Macro("Disconnect", [Disconnect.of(network, e) for e in edges])


def duplicate(doc: Document, network: str, node_ids: list[str]) -> Paste:
    """A Paste of a copy of ``node_ids`` with the wires among them."""
    return Paste(network, copy_fragment(doc, network, node_ids), text="Duplicate")


def copy_fragment(doc: Document, network: str, node_ids: list[str]) -> dict[str, Any]:
    """What Copy puts on the clipboard: the nodes and the wires between them."""
    data = doc.network(network).to_data(node_ids)
    chosen = set(node_ids)
    data["edges"] = [e for e in data["edges"] if e["source"] in chosen and e["target"] in chosen]
    return data


class History:
    """Applies commands, keeps undo/redo stacks, and tracks the dirty state."""

    def __init__(self, doc: Document) -> None:
        self.doc = doc
        self.undo_stack: list[Any] = []
        self.redo_stack: list[Any] = []
        self._clean: int | None = 0  # undo depth of the saved state; None: unreachable
        self.changed = Signal()  # () after every push, undo, redo, or mark_clean

    def push(self, cmd: Command) -> None:
        """Apply ``cmd`` and record it. A refused edit raises ``EditError`` and changes nothing."""
        depth = len(self.undo_stack)
        cmd.apply(self.doc)
        merged = False
        if self.redo_stack:
            if self._clean is not None and self._clean > depth:
                self._clean = None  # the saved state lay in the discarded redo branch
            self.redo_stack.clear()
        elif depth and self._clean != depth:
            merge = getattr(self.undo_stack[-1], "merge", None)
            merged = bool(merge and merge(cmd))
        if not merged:
            self.undo_stack.append(cmd)
        self.changed.emit()

    def undo(self) -> None:
        if self.undo_stack:
            cmd = self.undo_stack.pop()
            cmd.revert(self.doc)
            self.redo_stack.append(cmd)
            self.changed.emit()

    def redo(self) -> None:
        if self.redo_stack:
            cmd = self.redo_stack.pop()
            cmd.apply(self.doc)
            self.undo_stack.append(cmd)
            self.changed.emit()

    @property
    def can_undo(self) -> bool:
        return bool(self.undo_stack)

    @property
    def can_redo(self) -> bool:
        return bool(self.redo_stack)

    @property
    def dirty(self) -> bool:
        return self._clean != len(self.undo_stack)

    def mark_clean(self) -> None:
        self._clean = len(self.undo_stack)
        self.changed.emit()


def fragment_problem(fragment: dict[str, Any]) -> str | None:
    """Why pasting ``fragment`` (say, from the clipboard) would fail, or None.

    Found by a trial paste into a scratch document, so the answer is exactly what
    ``Paste`` would meet, without touching the user's document or its history.
    """
    try:
        Document.new("scratch").insert_fragment("scratch", fragment, fresh=True)
    except EditError as exc:
        return str(exc)
    return None
