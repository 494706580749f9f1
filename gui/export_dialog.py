"""File > Export trained model: a network with a run's weights as ONNX, torch.export,
safetensors or standalone PyTorch code, via ``runtime.export``.

The export (compile, trace, write, load back and compare with PyTorch) takes
seconds, so it runs on a worker thread on a snapshot of the document; the
dialog polls for the result and shows the export report, or the reason it
failed, in place.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QLineEdit,
    QPlainTextEdit,
    QProgressBar,
    QVBoxLayout,
    QWidget,
)

from graph.fileformat import dumps, loads
from gui.background import BackgroundJob
from gui.model_form import with_browse
from gui.session import Session
from runtime.runs import WEIGHTS, latest_weights

# format id → (what the user picks, file suffix); the ids are runtime.export.FORMATS
FORMATS = {
    "onnx": ("ONNX (.onnx), checked with onnxruntime", ".onnx"),
    "pt2": ("torch.export program (.pt2)", ".pt2"),
    "safetensors": ("safetensors weights (+ the graph beside them)", ".safetensors"),
    "python": ("standalone PyTorch code (.py + weights)", ".py"),
}
WEIGHTS_FILTER = "Trained weights (*.safetensors checkpoint.pt);;All files (*)"


def default_weights(session: Session) -> str:
    """The weights of the window's last run, else the newest that any run of the saved
    file (in the window or with ``layerloom train``) or its import wrote, if any."""
    if session.last_run_dir is not None and (session.last_run_dir / WEIGHTS).is_file():
        return str(session.last_run_dir / WEIGHTS)
    found = latest_weights(session.path) if session.path is not None else None
    return str(found) if found is not None else ""


class ExportModelDialog(QDialog):
    """Pick a network, the trained weights, a format and a file; export; show the report."""

    def __init__(self, session: Session, network: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Export trained model")
        self.session = session
        self.job = BackgroundJob(self)
        self.job.done.connect(self._done)
        self.network = QComboBox()
        self.network.addItems(session.network_order())
        self.network.setCurrentText(network)
        self.weights = QLineEdit(default_weights(session))
        self.weights.setPlaceholderText("model.safetensors or checkpoint.pt of a training run")
        self.format = QComboBox()
        for fmt, (text, _suffix) in FORMATS.items():
            self.format.addItem(text, fmt)
        self.output = QLineEdit(self._suggested_output())
        self.format.currentIndexChanged.connect(self._format_changed)
        self.network.currentIndexChanged.connect(self._format_changed)
        self.report = QPlainTextEdit(readOnly=True)
        self.report.setPlaceholderText("The export is loaded back and compared with PyTorch; "
                                       "the result appears here.")
        self.busy = QProgressBar()
        self.busy.setRange(0, 0)  # indeterminate
        self.busy.hide()
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        self.export_button = self.buttons.addButton(
            "Export", QDialogButtonBox.ButtonRole.ActionRole)
        self.export_button.clicked.connect(self.start)
        self.buttons.rejected.connect(self.reject)
        form = QFormLayout()
        form.addRow("Network", self.network)
        form.addRow("Trained weights", with_browse(self.weights, self._browse_weights))
        form.addRow("Format", self.format)
        form.addRow("Export to", with_browse(self.output, self._browse_output))
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.report)
        layout.addWidget(self.busy)
        layout.addWidget(self.buttons)
        self.resize(640, 360)

    # -- fields ----------------------------------------------------------------------
    @property
    def fmt(self) -> str:
        return str(self.format.currentData())

    def _suggested_output(self) -> str:
        suffix = FORMATS[self.fmt][1]
        base = self.session.path.parent if self.session.path else Path.home()
        stem = self.session.path.stem if self.session.path else "model"
        network = self.network.currentText()
        name = stem if len(self.session.doc.networks) == 1 else f"{stem}_{network}"
        return str(base / f"{name}{suffix}")

    def _format_changed(self) -> None:
        current = Path(self.output.text()) if self.output.text() else None
        if current is None or current.suffix in {s for _, s in FORMATS.values()}:
            self.output.setText(self._suggested_output() if current is None else
                                str(current.with_suffix(FORMATS[self.fmt][1])))

    def _browse_weights(self) -> None:
        name, _ = QFileDialog.getOpenFileName(self, "Trained weights", self.weights.text(),
                                              WEIGHTS_FILTER)
        if name:
            self.weights.setText(name)

    def _browse_output(self) -> None:
        suffix = FORMATS[self.fmt][1]
        name, _ = QFileDialog.getSaveFileName(self, "Export to", self.output.text(),
                                              f"{self.format.currentText()} (*{suffix})")
        if name:
            self.output.setText(name)

    # -- exporting ---------------------------------------------------------------------
    @property
    def running(self) -> bool:
        return self.job.running

    def start(self) -> None:
        """Check the fields, then export on a worker thread."""
        weights, output = self.weights.text().strip(), self.output.text().strip()
        problem = None
        if not weights:
            problem = ("There are no trained weights yet: train the network with "
                       "Training > Train (F5), or choose a model.safetensors (or "
                       "checkpoint.pt) that an earlier run wrote under runs/.")
        elif not Path(weights).is_file():
            problem = f"The weights file {weights} does not exist."
        elif not output:
            problem = "Choose where to export to."
        if problem:
            self.report.setPlainText(problem)
            return
        snapshot = loads(dumps(self.session.doc))  # the worker never sees later edits
        network = self.network.currentText()
        self._set_busy(True)
        self.report.setPlainText(f"Exporting '{network}' as {self.fmt}…")
        self.job.start(_export, snapshot, weights, self.fmt, output, network, name="export")

    def _done(self, text: str | None, error: Exception | None) -> None:
        from runtime.export import ExportError

        self._set_busy(False)
        if isinstance(error, ExportError):
            text = f"Cannot export: {error}"
        elif error is not None:  # shown, not lost: the dialog stays usable
            text = f"Export failed: {type(error).__name__}: {error}"
        self.report.setPlainText(text or "Export failed without a message.")

    def _set_busy(self, busy: bool) -> None:
        self.busy.setVisible(busy)
        self.export_button.setEnabled(not busy)
        for field in (self.network, self.weights, self.format, self.output):
            field.setEnabled(not busy)

    def reject(self) -> None:
        if self.running:  # a half-written export would be left behind: wait for it
            self.report.appendPlainText("Still exporting; close when it has finished.")
            return
        super().reject()


def _export(doc: Any, weights: str, fmt: str, output: str, network: str) -> str:
    from runtime.export import export_model

    return export_model(doc, weights, fmt, output, network).describe()

