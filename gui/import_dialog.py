"""File > Import: a PyTorch module (a class or factory in a .py file) or an ONNX file
becomes a new untitled document, its weights kept for training and export.

Listing a file's modules only parses it. Importing a .py runs it: the dialog says so
before the user presses the button that does it. The import itself (torch, the
user's code, the checks) runs on a worker thread; what went wrong is shown in the
dialog, one line per call the catalog cannot express.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QProgressBar,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from gui.background import BackgroundJob
from gui.model_form import with_browse

if TYPE_CHECKING:
    from graph.importers.result import ImportedModel

Kind = Literal["pytorch", "onnx"]
WARNING = ("Importing runs this file's Python code, as running it with Python would. "
           "Import only files you trust.")


class ImportDialog(QDialog):
    """Choose what to import; Import runs it off the GUI thread; ``imported`` hands over
    the result and the folder its weights were written to."""

    imported = Signal(object, object)  # ImportedModel, Path of its weights folder

    def __init__(self, kind: Kind, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.kind = kind
        self.setWindowTitle("Import PyTorch module" if kind == "pytorch" else "Import ONNX model")
        self.job = BackgroundJob(self)
        self.job.done.connect(self._done)
        self.file = QLineEdit()
        self.file.setPlaceholderText("model.py" if kind == "pytorch" else "model.onnx")
        self.file.editingFinished.connect(self._list_modules)
        self.name = QComboBox(editable=True)
        self.name.setToolTip("The nn.Module class, or a function that returns the model "
                             "(built without arguments)")
        self.shape = QLineEdit()
        self.shape.setPlaceholderText("e.g. 1 28 28")
        self.shape.setToolTip("The shape of one input sample, without the batch")
        self.tokens = QSpinBox(minimum=0, maximum=1 << 20)
        self.tokens.setSpecialValueText("no (real values)")
        self.tokens.setToolTip("For a model that reads token ids: their vocabulary size")
        self.report = QPlainTextEdit(readOnly=True)
        self.busy = QProgressBar()
        self.busy.setRange(0, 0)
        self.busy.hide()
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.import_button = self.buttons.addButton(
            "Import", QDialogButtonBox.ButtonRole.AcceptRole)
        self.import_button.clicked.connect(self.start)
        self.buttons.rejected.connect(self.reject)
        self._lay_out()

    def _lay_out(self) -> None:
        form = QFormLayout()
        form.addRow("File", with_browse(self.file, self._browse))
        if self.kind == "pytorch":
            form.addRow("Class or function", self.name)
            form.addRow("Input shape", self.shape)
            form.addRow("Token ids below", self.tokens)
            self.warning = QLabel(f"⚠ {WARNING}")
            self.warning.setWordWrap(True)
            form.addRow(self.warning)
            self.report.setPlaceholderText("The module is traced, mapped onto Layerloom's "
                                           "layers and checked against its own outputs.")
        else:
            self.report.setPlaceholderText("The ONNX graph's operators are mapped onto "
                                           "Layerloom's layers, its initializers to weights.")
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        if self.kind == "pytorch":  # once the fields are in this window (else Qt refuses)
            # from the file straight to the next field (the Browse… button is for the mouse)
            QWidget.setTabOrder(self.file, self.name)
            QWidget.setTabOrder(self.name, self.shape)
            QWidget.setTabOrder(self.shape, self.tokens)
        layout.addWidget(self.report)
        layout.addWidget(self.busy)
        layout.addWidget(self.buttons)
        self.resize(620, 380)

    # -- fields ----------------------------------------------------------------------
    def _browse(self) -> None:
        pattern = "Python files (*.py)" if self.kind == "pytorch" else "ONNX models (*.onnx)"
        name, _ = QFileDialog.getOpenFileName(self, "Import", self.file.text(), pattern)
        if name:
            self.set_file(name)

    def set_file(self, path: str) -> None:
        self.file.setText(path)
        self._list_modules()

    def _list_modules(self) -> None:
        """Fill the class list from the file's text (never by running it)."""
        if self.kind != "pytorch":
            return
        from runtime.model_source import ModelSourceError, module_classes

        path = Path(self.file.text().strip())
        self.name.clear()
        if not path.is_file():
            return
        try:
            found = module_classes(path)
        except ModelSourceError as exc:
            self.report.setPlainText(str(exc))
            return
        self.name.addItems(found)
        if not found:
            self.report.setPlainText(f"{path.name} defines no nn.Module class; type the name "
                                     "of a function that returns the model.")

    def _shape(self) -> list[int] | None:
        try:
            shape = [int(d) for d in self.shape.text().replace(",", " ").replace("×", " ")
                     .split()]
        except ValueError:
            return None
        return shape if shape and min(shape) >= 1 else None

    # -- importing -------------------------------------------------------------------
    @property
    def running(self) -> bool:
        return self.job.running

    def start(self) -> None:
        """Check the fields, then import on a worker thread."""
        path = Path(self.file.text().strip())
        problem = None
        if not path.is_file():
            problem = f"Choose the {'.py' if self.kind == 'pytorch' else '.onnx'} file to import."
        if self.kind == "pytorch" and problem is None:
            name, shape = self.name.currentText().strip(), self._shape()
            if not name.isidentifier():
                problem = "Choose the class (or factory function) that builds the model."
            elif shape is None:
                problem = "Give the shape of one input sample, e.g. 1 28 28 for an MNIST image."
        if problem:
            self.report.setPlainText(problem)
            return
        self._set_busy(True)
        self.report.setPlainText(f"Importing {path.name}…")
        if self.kind == "pytorch":
            self.job.start(_import_module, path, name, shape, self.tokens.value() or None,
                           name="import")
        else:
            self.job.start(_import_onnx, path, name="import")

    def _done(self, outcome: tuple[ImportedModel, Path] | None,
              error: Exception | None) -> None:
        from graph.importers import ModelImportError
        from runtime.model_source import ModelSourceError

        self._set_busy(False)
        if outcome is not None:
            self.imported.emit(*outcome)
            self.accept()
            return
        if isinstance(error, ModelImportError | ModelSourceError):
            text = f"Cannot import:\n{error}"
        else:
            text = f"Import failed: {type(error).__name__}: {error}"
        self.report.setPlainText(text)

    def _set_busy(self, busy: bool) -> None:
        self.busy.setVisible(busy)
        self.import_button.setEnabled(not busy)
        for field in (self.file, self.name, self.shape, self.tokens):
            field.setEnabled(not busy)

    def reject(self) -> None:
        if self.running:  # the user's code is running: it cannot be stopped half-way
            self.report.appendPlainText("Still importing; close when it has finished.")
            return
        super().reject()


def _import_module(path: Path, name: str, shape: list[int], tokens: int | None
                   ) -> tuple[ImportedModel, Path]:
    from graph.importers import import_module
    from runtime.model_source import example_input, load_python_model

    model = load_python_model(path, name)
    return _kept(import_module(model, example_input(shape, tokens)))


def _import_onnx(path: Path) -> tuple[ImportedModel, Path]:
    from graph.importers import import_onnx

    return _kept(import_onnx(path))


def _kept(result: ImportedModel) -> tuple[ImportedModel, Path]:
    """The result and a folder holding its weights as a run's (the document is untitled,
    so there is no runs/ folder beside it yet)."""
    from runtime.model_source import write_weights

    folder = Path(tempfile.mkdtemp(prefix="layerloom-import-"))
    write_weights(result, folder)
    return result, folder
