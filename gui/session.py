"""The editing controller: gestures become commands, history changes become refreshes.

A ``Session`` owns one open document with its ``History`` (the single source
of truth for undo), its live ``ShapeInference`` and its diagnostics. Widgets
call ``push``; a refused edit (``EditError``) becomes a status-bar message,
never a dialog. After every history change shapes are brought up to date at
once (cheap and incremental) and validation runs after a short pause.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject, QTimer, Signal

from graph.commands import Command, History, Move
from graph.document import Document, EditError
from graph.fileformat import save_graph
from graph.shapes import NodeShape, ShapeInference
from graph.starter import fit_to_data
from graph.validate import Diagnostic
from gui.data_check import DataCheck
from gui.warmup import warmup

VALIDATE_DELAY_MS = 150


def network_order(doc: Document) -> list[str]:
    """The order networks are shown in: the document's, but a GAN's generator then its
    discriminator first (the file may list them either way)."""
    names = list(doc.networks)
    gan = doc.training.gan if doc.training.task == "gan" else None
    if gan is None:
        return names
    first = [n for n in (gan.generator, gan.discriminator) if n in doc.networks]
    return first + [n for n in names if n not in first]


class Session(QObject):
    """One open document: its history, shapes, diagnostics and file path."""

    message = Signal(str)  # something for the status bar
    changed = Signal()  # after every push, undo, redo or save
    shapes_changed = Signal(str, object)  # network, set of node ids whose shape changed
    diagnostics_changed = Signal()
    path_changed = Signal()

    def __init__(self, doc: Document, path: Path | None = None) -> None:
        super().__init__()
        self.doc = doc
        self.path = path
        self.history = History(doc)
        self.shapes = ShapeInference(doc, use_torch=warmup().is_ready)
        self.shapes_ready = False
        self._shapes_started = False
        self._closed = False
        self.recovered = False  # opened from a recovery copy: unsaved until saved
        self.last_run_dir: Path | None = None  # where the window's last training run wrote
        self.unsaved_runs: list[Path] = []  # runs made before the first save (temporary)
        self.init_weights: Path | None = None  # an imported model's: training starts from them
        self.imported = False  # a model just imported: unsaved until saved
        self.example: Path | None = None  # the gallery file an unsaved document came from
        self.starter = False  # a new blank network: fitted to its data once the data is known
        self.edit_lock: str | None = None  # why edits wait (the document is training)
        self.diagnostics: list[Diagnostic] = []
        self._by_node: dict[tuple[str, str], list[Diagnostic]] = {}
        self._validate_timer = QTimer(self)
        self._validate_timer.setSingleShot(True)
        self._validate_timer.setInterval(VALIDATE_DELAY_MS)
        self._validate_timer.timeout.connect(self.validate_now)
        self.data_check = DataCheck(self)  # the Output against the data, off this thread
        self.data_check.ready.connect(self._data_checked)
        self.history.changed.connect(self._history_changed)
        self.shapes.changed.connect(self.shapes_changed.emit)

    def start_shapes(self, load_torch: bool = True) -> None:
        """Show shapes now from the layers' shape rules, and complete them (parameter
        counts, layers without a rule, validation) once torch has loaded; once.
        ``load_torch=False``: the caller starts the import when it suits it."""
        if self._shapes_started:
            return
        self._shapes_started = True
        self.update_shapes()
        warmup().when_ready(self._torch_loaded, start=load_torch)

    @property
    def shapes_complete(self) -> bool:
        """Whether shapes are final and validated results can follow (torch has loaded)."""
        return self.shapes_ready and self.shapes.complete

    def close(self) -> None:
        """The window has moved on to another document: stop pending work."""
        self._closed = True
        self._validate_timer.stop()
        self.data_check.stop()

    def network_order(self) -> list[str]:
        return network_order(self.doc)

    # -- editing ---------------------------------------------------------------
    def push(self, cmd: Command) -> bool:
        """Apply ``cmd`` through the history; a refused edit is reported, not raised."""
        if self.edit_lock is not None and not isinstance(cmd, Move):  # moving changes no weight
            self.message.emit(self.edit_lock)
            return False
        try:
            self.history.push(cmd)
        except EditError as exc:
            self.message.emit(str(exc))
            return False
        return True

    def undo(self) -> None:
        if self.edit_lock is not None:
            self.message.emit(self.edit_lock)
        elif self.history.can_undo:
            self.message.emit(f"Undo {self.history.undo_stack[-1].text}")
            self.history.undo()

    def redo(self) -> None:
        if self.edit_lock is not None:
            self.message.emit(self.edit_lock)
        elif self.history.can_redo:
            self.message.emit(f"Redo {self.history.redo_stack[-1].text}")
            self.history.redo()

    def jump_to(self, depth: int) -> None:
        """Undo or redo until ``depth`` commands are applied."""
        if self.edit_lock is not None:
            self.message.emit(self.edit_lock)
            self.changed.emit()  # views that moved ahead of the refusal show the truth again
            return
        while len(self.history.undo_stack) > depth and self.history.can_undo:
            self.history.undo()
        while len(self.history.undo_stack) < depth and self.history.can_redo:
            self.history.redo()

    # -- files -----------------------------------------------------------------
    @property
    def dirty(self) -> bool:
        return self.recovered or self.imported or self.history.dirty

    @property
    def display_name(self) -> str:
        if self.path is not None:
            return self.path.name
        return self.example.name if self.example is not None else "untitled.loom"

    def save(self, path: Path) -> None:
        """Write the document to ``path`` (raises ``GraphFileError`` or ``OSError``)."""
        save_graph(self.doc, path)
        if path != self.path:
            self.path = path
            self.path_changed.emit()
        self.recovered = self.imported = False
        self.history.mark_clean()

    # -- shapes and diagnostics ------------------------------------------------
    def update_shapes(self) -> None:
        if self._closed:
            return
        self.shapes_ready = True
        self.shapes.update()
        if self.shapes.complete:
            self._validate_timer.start()  # shapes are shown first; validation a moment later

    def _torch_loaded(self) -> None:
        self.shapes.allow_torch()
        self.update_shapes()

    def shape(self, network: str, node_id: str) -> NodeShape:
        return self.shapes.shape(network, node_id)

    def node_diagnostics(self, network: str, node_id: str) -> list[Diagnostic]:
        return self._by_node.get((network, node_id), [])

    def node_problems(self, network: str, node_id: str) -> list[tuple[str, str]]:
        """(severity, message) for a node: its diagnostics, or, until validation has
        something to say about it, its shape error (shown at once after an edit)."""
        found = self.node_diagnostics(network, node_id)
        if found:
            return [(d.severity, d.message) for d in found]
        error = self.shape(network, node_id).error
        return [("error", error)] if error else []

    def diagnosed_nodes(self, network: str) -> set[str]:
        """The nodes of ``network`` that have diagnostics."""
        return {node for net, node in self._by_node if net == network}

    def validate_now(self) -> None:
        self._validate_timer.stop()
        if not self.shapes_complete:
            return
        base_dir = self.path.parent if self.path else None
        self.diagnostics = self.data_check.validate(self.doc, self.shapes, base_dir)
        self._by_node = {}
        for d in self.diagnostics:
            if d.node is not None:
                self._by_node.setdefault((d.network, d.node), []).append(d)
        self.diagnostics_changed.emit()

    def _data_checked(self) -> None:
        if self._closed:
            return
        if self.starter and not self.history.undo_stack:
            self.starter = False
            if self.fit_to_data(self.network_order()[0]) is None:
                self.history.mark_clean()  # a new document, as its data wants it: not an edit
        self.validate_now()

    def fit_to_data(self, network: str) -> str | None:
        """Fit ``network``'s Input to the data's samples and its last Linear to the task's
        outputs (one undo step); why not, if it cannot."""
        base_dir = self.path.parent if self.path else None
        facts, problems = self.data_check.lookup(self.doc.training, base_dir)
        if problems:
            return f"the data set cannot be read: {problems[0].message}"
        if facts is None:
            return "the data set is still being read; try again in a moment"
        command = fit_to_data(self.doc, network, self.doc.training, facts)
        if command is None:
            return f"network '{network}' already fits the data set '{facts.name}'"
        return None if self.push(command) else "the network could not be changed"

    def _history_changed(self) -> None:
        if self.shapes_ready:
            self.update_shapes()
        self.changed.emit()
