"""Training > Evaluate: a trained network's report on a split, as tables.

``runtime.evaluate.evaluate_document`` (the same report ``layerloom evaluate``
prints) runs on a worker thread. It evaluates the document the weights were
trained with (the ``graph.loom`` every run writes beside them), so a split or
data setting changed since cannot quietly evaluate on other samples.
Classification shows per-class precision, recall and F1 and the confusion
matrix; every task shows its metrics.
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

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
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from graph.fileformat import GraphFileError, dumps, load_graph, loads
from gui.background import BackgroundJob
from gui.export_dialog import default_weights
from gui.panels.training import format_metric
from gui.session import Session

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
        self.confusion_title = QLabel("Confusion matrix (rows: true class, columns: predicted)")
        self.report: dict[str, Any] | None = None
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
        layout.addWidget(self.per_class, 1)
        layout.addWidget(self.confusion_title)
        layout.addWidget(self.confusion, 1)
        layout.addWidget(buttons)
        self._show_tables(False)
        self.resize(620, 720)

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

    def _done(self, report: dict[str, Any] | None, error: Exception | None) -> None:
        from runtime.cli_run import user_errors

        self.evaluate_button.setEnabled(True)
        if error is not None or report is None:
            self.report = None
            self._show_tables(False)
            known = isinstance(error, user_errors())
            self.summary.setText(f"Cannot evaluate: {error}" if known else
                                 f"Evaluation failed: {type(error).__name__}: {error}")
            return
        self.report = report
        self.summary.setText(_summary(report) + f"<br><i>Settings from {self.source}.</i>")
        if "per_class" in report:
            self._fill_classes(report)
        self._show_tables("per_class" in report)

    def _fill_classes(self, report: dict[str, Any]) -> None:
        rows = report["per_class"]
        self.per_class.setColumnCount(4)
        self.per_class.setHorizontalHeaderLabels(["precision", "recall", "F1", "support"])
        self.per_class.setRowCount(len(rows))
        self.per_class.setVerticalHeaderLabels([r["class"] for r in rows])
        for i, row in enumerate(rows):
            for j, key in enumerate(("precision", "recall", "f1")):
                self.per_class.setItem(i, j, _cell(f"{row[key]:.3f}"))
            self.per_class.setItem(i, 3, _cell(str(row["support"])))
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

    def _show_tables(self, shown: bool) -> None:
        for widget in (self.per_class, self.confusion, self.confusion_title):
            widget.setVisible(shown)

    def reject(self) -> None:
        if self.job.running:
            self.summary.setText("Still evaluating; close when it has finished.")
            return
        super().reject()


def _evaluate(doc: Any, weights: str, split: str, base: Path | None) -> dict[str, Any]:
    from runtime.evaluate import evaluate_document

    return evaluate_document(doc, weights, split, base)


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
