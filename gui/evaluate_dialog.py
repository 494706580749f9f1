"""Training > Evaluate: a trained network's report on a split, as tables.

``runtime.evaluate.evaluate_document`` (the same report ``layerloom evaluate``
prints) runs on a worker thread. It evaluates the document the weights were
trained with (the ``graph.loom`` every run writes beside them), so a split or
data setting changed since cannot quietly evaluate on other samples.
Classification shows per-class precision, recall, F1 and ROC/PR areas, the
confusion matrix (a click on a cell lists that cell's samples), the ROC and
precision-recall curves and the misclassified samples; regression shows its
predictions against the true values; every task shows its metrics.
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from graph.fileformat import GraphFileError, dumps, load_graph, loads
from gui.background import BackgroundJob
from gui.evaluate_views import SHOWN_SAMPLES, CurvesView, SampleGallery, ScatterView
from gui.export_dialog import default_weights
from gui.panels.training import format_metric
from gui.session import Session

if TYPE_CHECKING:
    from runtime.evaluate import Evaluation

HEAT = QColor("#3b7dd8")


class EvaluateDialog(QDialog):
    """Pick the weights and a split; Evaluate shows the metrics, per class where it can."""

    def __init__(self, session: Session, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.setWindowTitle("Evaluate trained network")
        self.weights = QLineEdit(default_weights(session))
        self.weights.setPlaceholderText("model.safetensors of a training run")
        self.split = QComboBox()
        self.split.addItems(["test", "val", "train"])
        self.evaluate_button = QPushButton("Evaluate")
        self.evaluate_button.setDefault(True)
        self.summary = QLabel("Evaluate runs the trained network on a split of the data.")
        self.summary.setWordWrap(True)
        self.summary.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.per_class = _table()
        self.confusion = _table()
        self.confusion_title = QLabel("Confusion matrix (rows: true class, columns: "
                                      "predicted). Click a cell to see its samples.")
        self.confusion_title.setWordWrap(True)
        self.cell_samples = SampleGallery("Click a cell of the matrix to see those samples.")
        self.curves = CurvesView()
        self.misclassified = SampleGallery("")
        self.scatter = ScatterView()
        self.tabs = QTabWidget()
        self.confusion.cellClicked.connect(self.show_cell)
        self.report: dict[str, Any] | None = None
        self.evaluation: Evaluation | None = None
        self.source = ""
        self.job = BackgroundJob(self)
        self.job.done.connect(self._done)
        form = QFormLayout()
        form.addRow("Trained weights", self.weights)
        form.addRow("Split", self.split)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.addButton(self.evaluate_button, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.rejected.connect(self.reject)
        self.evaluate_button.clicked.connect(self.start)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.summary)
        layout.addWidget(self._lay_out_tabs(), 1)
        layout.addStretch(0)  # the room the tabs leave when none applies (an autoencoder)
        layout.addWidget(buttons)
        self._show_tabs(None)
        self.resize(860, 760)

    def _lay_out_tabs(self) -> QTabWidget:
        matrix = QWidget()
        column = QVBoxLayout(matrix)
        column.setContentsMargins(0, 0, 0, 0)
        column.addWidget(self.confusion_title)
        column.addWidget(self.confusion, 1)
        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(matrix)
        split.addWidget(self.cell_samples)
        split.setSizes([300, 300])  # the cell's samples as much room as the matrix
        for widget, title in ((self.per_class, "Per class"), (split, "Confusion matrix"),
                              (self.curves, "ROC / precision–recall"),
                              (self.misclassified, "Misclassified"),
                              (self.scatter, "Predicted vs actual")):
            self.tabs.addTab(widget, title)
        return self.tabs

    def start(self) -> None:
        weights = self.weights.text().strip()
        if not weights or not Path(weights).is_file():
            self.summary.setText("Choose the weights a training run wrote (model.safetensors): "
                                 + ("none given" if not weights else f"{weights} does not exist"))
            return
        base = self.session.path.parent if self.session.path else None
        trained_with = Path(weights).with_name("graph.loom")
        try:
            doc = load_graph(trained_with) if trained_with.is_file() else \
                loads(dumps(self.session.doc))  # a snapshot: the worker never sees edits
        except GraphFileError as exc:
            self.summary.setText(f"Cannot read {trained_with}: {exc}")
            return
        self.source = "the run's own graph.loom" if trained_with.is_file() else \
            "the current document (no graph.loom beside the weights)"
        self.evaluate_button.setEnabled(False)
        self.summary.setText(f"Evaluating on the {self.split.currentText()} split…")
        self.job.start(_evaluate, doc, weights, self.split.currentText(), base,
                       name="evaluate")

    def _done(self, result: Evaluation | None, error: Exception | None) -> None:
        from runtime.cli_run import user_errors

        self.evaluate_button.setEnabled(True)
        report = result.report if result is not None else None
        if error is not None or report is None:
            self.report = self.evaluation = None
            self._show_tabs(None)
            known = isinstance(error, user_errors())
            self.summary.setText(f"Cannot evaluate: {error}" if known else
                                 f"Evaluation failed: {type(error).__name__}: {error}")
            return
        self.report, self.evaluation = report, result
        self.summary.setText(_summary(report) + f"<br><i>Settings from {self.source}.</i>")
        if "per_class" in report:
            self._fill_classes(report)
            self.curves.show_report(report)
            self.cell_samples.show_samples("Click a cell of the matrix", [], np.zeros((0, 1)),
                                           [])
            wrong = result.misclassified() if result is not None else np.zeros(0, dtype=int)
            self._show_in(self.misclassified, "Misclassified (predicted, then true class)",
                          wrong)
        elif result is not None and result.truth is not None and result.predicted is not None:
            self.scatter.show_values(result.truth, result.predicted)
        self._show_tabs(result)

    def show_cell(self, true_class: int, predicted_class: int) -> None:
        """List the samples of one confusion-matrix cell."""
        if self.evaluation is None or self.report is None:
            return
        names = self.report["class_names"]
        members = self.evaluation.members(true_class, predicted_class)
        self._show_in(self.cell_samples, f"True {names[true_class]}, predicted "
                      f"{names[predicted_class]}", members)

    def _show_in(self, gallery: SampleGallery, title: str, positions: Any) -> None:
        result, report = self.evaluation, self.report
        if result is None or report is None or result.inputs is None \
                or result.truth is None or result.predicted is None:
            return
        names = report["class_names"]
        shown = list(positions)[:SHOWN_SAMPLES]
        labels = [(names[int(result.predicted[p])], names[int(result.truth[p])])
                  for p in shown]
        gallery.show_samples(title, list(positions), result.inputs, labels)

    def _fill_classes(self, report: dict[str, Any]) -> None:
        rows = report["per_class"]
        self.per_class.setColumnCount(6)
        self.per_class.setHorizontalHeaderLabels(["precision", "recall", "F1", "support",
                                                  "ROC AUC", "avg precision"])
        self.per_class.setRowCount(len(rows))
        self.per_class.setVerticalHeaderLabels([r["class"] for r in rows])
        for i, row in enumerate(rows):
            for j, key in enumerate(("precision", "recall", "f1")):
                self.per_class.setItem(i, j, _cell(f"{row[key]:.3f}"))
            self.per_class.setItem(i, 3, _cell(str(row["support"])))
            for j, key in ((4, "auc"), (5, "average_precision")):
                value = row.get(key)
                cell = _cell("–" if value is None else f"{value:.3f}")
                if value is None:
                    cell.setToolTip("Not defined here: the split has no sample of this class, "
                                    "or (two classes) it is the negative class of the "
                                    "binary curve")
                self.per_class.setItem(i, j, cell)
        matrix, names = report["confusion"], report["class_names"]
        self.confusion.setRowCount(len(matrix))
        self.confusion.setColumnCount(len(matrix))
        self.confusion.setHorizontalHeaderLabels(names)
        self.confusion.setVerticalHeaderLabels(names)
        for i, counts in enumerate(matrix):
            total = max(sum(counts), 1)
            for j, count in enumerate(counts):
                cell = _cell(str(count))
                share = count / total  # of the true class: the diagonal is its recall
                if count:
                    shade = QColor(HEAT)
                    shade.setAlphaF(0.15 + 0.7 * share)
                    cell.setBackground(shade)
                cell.setToolTip(f"true {names[i]}, predicted {names[j]}: {count} "
                                f"({share:.0%} of {names[i]})")
                self.confusion.setItem(i, j, cell)

    def _show_tabs(self, result: Evaluation | None) -> None:
        """The tabs that apply to the report on show (none before one)."""
        report = result.report if result is not None else {}
        classes = "per_class" in report
        per_sample = classes and result is not None and result.truth is not None \
            and result.truth.ndim == 1  # not one class per time step
        values = report.get("task") == "regression" and result is not None \
            and result.truth is not None
        shown = (classes, per_sample, classes and bool(report.get("curves")), per_sample,
                 values)
        for index, visible in enumerate(shown):
            self.tabs.setTabVisible(index, visible)
        self.tabs.setVisible(any(shown))

    def reject(self) -> None:
        if self.job.running:
            self.summary.setText("Still evaluating; close when it has finished.")
            return
        super().reject()


def _evaluate(doc: Any, weights: str, split: str, base: Path | None) -> Evaluation:
    from runtime.evaluate import evaluate_samples

    return evaluate_samples(doc, weights, split, base)


def _summary(report: dict[str, Any]) -> str:
    lines = [f"<b>{report['task']}</b> on the {report['split']} split "
             f"({report['samples']:,} samples)"]
    for key, value in report.items():
        if key in ("task", "split", "samples") or isinstance(value, list | dict):
            continue
        shown = format_metric(key, value) if isinstance(value, float) else \
            html.escape(str(value))
        lines.append(f"{key.replace('_', ' ')}: <b>{shown}</b>")
    return "<br>".join(lines)


def _table() -> QTableWidget:
    table = QTableWidget()
    table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
    table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
    table.verticalHeader().setDefaultSectionSize(22)  # ten classes fit without scrolling
    return table


def _cell(text: str) -> QTableWidgetItem:
    item = QTableWidgetItem(text)
    item.setTextAlignment(Qt.AlignmentFlag.AlignCenter)
    return item
