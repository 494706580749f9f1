"""File commands of the main window: new, open, save, export, and the unsaved-changes prompt."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from PySide6.QtWidgets import QFileDialog, QMessageBox

from graph.fileformat import GraphFileError, load_graph
from gui.files import RecoveryCopy, blank_document, write_atomically
from gui.session import Session
from gui.warmup import warmup
from runtime.runs import adopt_runs, runs_root

if TYPE_CHECKING:
    from graph.importers.result import ImportedModel
    from gui.export_dialog import ExportModelDialog
    from gui.import_dialog import ImportDialog
    from gui.window_host import WindowHost

FILTER = "Layerloom graphs (*.loom)"


class DocumentActions:
    """Opens and saves the window's document, asking before unsaved changes are lost."""

    def __init__(self, window: WindowHost) -> None:
        self.window = window
        self.export_dialog: ExportModelDialog | None = None
        self.import_dialog: ImportDialog | None = None

    @property
    def session(self) -> Session:
        assert self.window.session is not None
        return self.window.session

    # -- new and open ------------------------------------------------------------
    def new_blank(self) -> None:
        if self.confirm_discard():
            session = Session(blank_document())
            session.starter = True  # its Input and Output follow the data set once it is read
            self.window.set_session(session)

    def new_from(self, example: Path) -> None:
        """A new untitled document copied from an example file."""
        if not self.confirm_discard():
            return
        session = self._load(example)
        if session is not None:
            session.path = None
            session.example = example  # named after it, saved wherever the user chooses
            self.window.set_session(session)

    def open_dialog(self) -> None:
        if not self.confirm_discard():
            return
        start = str(self.session.path.parent) if self.session.path else ""
        name, _ = QFileDialog.getOpenFileName(self.window.as_widget(), "Open graph", start, FILTER)
        if name:
            self.open_path(name, confirmed=True)

    def open_path(self, path: str | Path, *, confirmed: bool = False) -> bool:
        """Open ``path`` in this window (after the unsaved-changes prompt)."""
        if not confirmed and not self.confirm_discard():
            return False
        session = self._load(Path(path))
        if session is None:
            self.window.recent.remove(str(path))
            return False
        self.window.recent.add(Path(path))
        self.window.set_session(session)
        return True

    def recover(self, found: RecoveryCopy) -> bool:
        """Open an autosaved copy as unsaved changes to its original file."""
        session = self._load(found.copy)
        if session is None:
            return False
        session.path = found.original
        session.recovered = True
        self.window.set_session(session)
        autosave = self.window.autosave
        # The old copy goes only once this window's own copy holds the changes (written
        # when the session was attached): a second crash must not lose them either.
        if autosave is None or autosave.copy.exists():
            found.discard()
        return True

    def _load(self, path: Path) -> Session | None:
        try:
            doc = load_graph(path)
        except GraphFileError as exc:
            QMessageBox.warning(self.window.as_widget(), "Cannot open file", f"{path.name}:\n{exc}")
            return None
        return Session(doc, path.resolve())

    # -- save ------------------------------------------------------------------
    def save(self) -> bool:
        if self.session.path is None:
            return self.save_as()
        return self._write(self.session.path)

    def save_as(self) -> bool:
        start = str(self.session.path or Path.home() / self.session.display_name)
        name, _ = QFileDialog.getSaveFileName(self.window.as_widget(), "Save graph as", start,
                                              FILTER)
        if not name:
            return False
        path = Path(name)
        if path.suffix.lower() != ".loom":
            path = path.with_name(path.name + ".loom")
        return self._write(path)

    def _write(self, path: Path) -> bool:
        try:
            self.session.save(path)
        except (OSError, GraphFileError) as exc:
            QMessageBox.warning(self.window.as_widget(), "Cannot save file", f"{path}:\n{exc}")
            return False
        self.window.recent.add(path)
        self.window.show_message(f"Saved {path}", 5000)
        self._keep_imported_weights(path)
        self.adopt_runs(self.session)
        return True

    def adopt_runs(self, session: Session) -> None:
        """Runs made before the document's first save live in temporary folders: once it
        has a file, move them beside it (runs/<name>/), where the Runs panel, Evaluate,
        Export and the command line find them, and say so. A run still writing moves
        when it ends."""
        training = self.window.training
        writing = training.out_dir if training.active else None
        waiting = [f for f in session.unsaved_runs if f != writing]
        if session.path is None or not waiting:
            return
        try:
            moved = adopt_runs(waiting, session.path)
        except OSError as exc:
            QMessageBox.warning(self.window.as_widget(), "Runs not moved",
                                f"Runs made before saving stay in {waiting[0].parent}:\n{exc}")
            return
        if session.last_run_dir in moved:
            session.last_run_dir = moved[session.last_run_dir]
        session.unsaved_runs = [f for f in session.unsaved_runs if f == writing]
        if not moved:
            return
        told = f"{len(moved)} run(s) made before saving moved beside the file, to " \
               f"{runs_root(session.path)}"
        self.window.show_message(told, 10000)
        if session is self.window.session:
            self.window.show_runs_note(told)

    def _keep_imported_weights(self, path: Path) -> None:
        """Saving an imported model puts its weights where a run of the file writes
        (runs/<name>/), where Export, Evaluate and the command line find them next time;
        weights a run already wrote there are left alone."""
        session = self.session
        source = session.init_weights
        target = runs_root(path)
        if source is None or source.parent == target or (target / source.name).exists():
            return
        try:
            target.mkdir(parents=True, exist_ok=True)
            for name in (source.name, "graph.loom"):
                shutil.copy2(source.parent / name, target / name)
        except OSError as exc:
            QMessageBox.warning(self.window.as_widget(), "Imported weights not copied",
                                f"The imported weights stay in {source.parent}:\n{exc}")
            return
        if session.last_run_dir == source.parent:
            session.last_run_dir = target
        session.init_weights = target / source.name

    def confirm_discard(self) -> bool:
        """True when the current document may be replaced or closed."""
        window = self.window
        if window.session is None or not window.session.dirty:
            return True
        buttons = (QMessageBox.StandardButton.Save | QMessageBox.StandardButton.Discard
                   | QMessageBox.StandardButton.Cancel)
        answer = QMessageBox.question(
            window.as_widget(), "Unsaved changes",
            f"Save the changes to {window.session.display_name} first?", buttons,
            QMessageBox.StandardButton.Save)
        if answer == QMessageBox.StandardButton.Save:
            return self.save()
        return answer == QMessageBox.StandardButton.Discard

    # -- export ----------------------------------------------------------------
    def export_code(self) -> None:
        """Write the current network as a standalone PyTorch file."""
        network = self.window.current_network()
        warmup().load_now()
        from graph.codegen import generate_code  # these two import torch
        from graph.compile import CompileError

        try:
            code = generate_code(self.session.doc, network)
        except CompileError as exc:
            QMessageBox.warning(self.window.as_widget(), "Cannot export code", str(exc))
            return
        base = self.session.path.with_suffix("") if self.session.path else Path.home() / network
        start = f"{base}_{network}.py" if self.session.path else f"{base}.py"
        name, _ = QFileDialog.getSaveFileName(self.window.as_widget(), "Export PyTorch code", start,
                                              "Python files (*.py)")
        if not name:
            return
        try:
            write_atomically(Path(name), code)
        except OSError as exc:
            QMessageBox.warning(self.window.as_widget(), "Cannot export code", f"{name}:\n{exc}")
            return
        self.window.show_message(f"Exported {name}", 5000)

    def import_model(self, kind: Literal["pytorch", "onnx"]) -> None:
        """File > Import: a PyTorch module or an ONNX file as a new untitled document."""
        if not self.confirm_discard():
            return
        from gui.import_dialog import ImportDialog

        dialog = ImportDialog(kind, self.window.as_widget())
        self.import_dialog = dialog  # kept for tests; the dialog deletes itself when closed
        dialog.imported.connect(self._open_imported)
        dialog.finished.connect(dialog.deleteLater)
        dialog.open()

    def _open_imported(self, result: ImportedModel, folder: Path) -> None:
        session = Session(result.document)
        session.last_run_dir = folder  # Export and Evaluate offer the imported weights
        session.init_weights = folder / "model.safetensors"
        session.imported = True
        self.window.set_session(session)
        self.window.show_message(" ".join(result.notes), 10000)

    def export_model(self) -> None:
        """Open the dialog that exports the current network with trained weights."""
        from gui.export_dialog import ExportModelDialog

        dialog = ExportModelDialog(self.session, self.window.current_network(),
                                   self.window.as_widget())
        self.export_dialog = dialog  # kept for tests; the dialog deletes itself when closed
        dialog.finished.connect(dialog.deleteLater)
        dialog.open()
