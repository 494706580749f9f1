"""Network commands of the main window: add a network, remove one (both undoable)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtWidgets import QInputDialog, QMessageBox

from graph.builder import NetworkBuilder
from graph.commands import AddNetwork, RemoveNetwork
from graph.document import Document

if TYPE_CHECKING:
    from gui.window_host import WindowHost


def starter_network(name: str) -> dict[str, object]:
    """What a new network starts with: an Input wired to an Output (as a fragment)."""
    scratch = Document.new(name)
    b = NetworkBuilder(scratch, name)
    b.add("Output", b.add("Input", pos=(0.0, 0.0)), pos=(320.0, 0.0))
    return scratch.network(name).to_data()


def free_name(doc: Document, stem: str = "network") -> str:
    """``network2``, ``network3``, … whichever the document does not use yet."""
    n = len(doc.networks) + 1
    while f"{stem}{n}" in doc.networks:
        n += 1
    return f"{stem}{n}"


class NetworkActions:
    """Asks for a name or a confirmation, then pushes ``AddNetwork`` / ``RemoveNetwork``."""

    def __init__(self, window: WindowHost) -> None:
        self.window = window

    def add(self, name: str | None = None) -> bool:
        """Add a network named ``name`` (asked for when None) and show its tab."""
        session = self.window.session
        if session is None:
            return False
        if name is None:
            name, ok = QInputDialog.getText(self.window.as_widget(), "Add network",
                                            "Name of the new network:",
                                            text=free_name(session.doc))
            if not ok:
                return False
        name = name.strip()
        if not session.push(AddNetwork(name, starter_network(name))):
            return False
        view = self.window.show_network(name)
        if view is not None:
            view.frame_all()
        return True

    def remove(self, name: str | None = None, *, confirmed: bool = False) -> bool:
        """Remove ``name`` (the current network by default) after a confirmation."""
        session = self.window.session
        if session is None:
            return False
        name = name or self.window.current_network()
        if len(session.doc.networks) <= 1:
            session.message.emit("A document needs at least one network")
            return False
        if not confirmed and not self.confirm_remove(name):
            return False
        return session.push(RemoveNetwork(name))

    def confirm_remove(self, name: str) -> bool:
        """Ask before removing ``name`` (undo brings it back, but say so)."""
        assert self.window.session is not None
        count = len(self.window.session.doc.network(name))
        answer = QMessageBox.question(
            self.window.as_widget(), "Remove network",
            f"Remove the network '{name}' and its {count} node(s)? Undo brings it back.")
        return answer == QMessageBox.StandardButton.Yes
