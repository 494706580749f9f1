"""The Evaluate dialog's views of single samples and curves.

``SampleGallery`` shows chosen samples of an evaluated split (images as thumbnails,
anything else as rows of values) with their predicted and true labels;
``CurvesView`` draws the report's ROC and precision-recall curves;
``ScatterView`` puts a regression's predictions against the true values. All of
them draw what ``runtime.evaluate.Evaluation`` computed; none runs the network.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QImage, QPixmap
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from gui.panels.run_views import plot_widget
from gui.panels.training import COLOURS

SHOWN_SAMPLES = 300  # a gallery lists at most this many (the title says how many exist)
THUMB = 56
SHOWN_VALUES = 8  # per row of a non-image sample


def thumbnail(sample: np.ndarray, low: float, high: float) -> QPixmap:
    """A C×H×W image as a pixmap (grey for one channel, colour for three)."""
    scaled = np.clip((sample - low) / max(high - low, 1e-12), 0, 1) * 255
    pixels = scaled.astype(np.uint8)
    if pixels.shape[0] == 3:
        rgb = np.ascontiguousarray(pixels.transpose(1, 2, 0))
        image = QImage(rgb.data, rgb.shape[1], rgb.shape[0], 3 * rgb.shape[1],
                       QImage.Format.Format_RGB888)
    else:
        grey = np.ascontiguousarray(pixels[0])
        image = QImage(grey.data, grey.shape[1], grey.shape[0], grey.shape[1],
                       QImage.Format.Format_Grayscale8)
    return QPixmap.fromImage(image.copy()).scaled(  # copy: the array goes out of scope
        THUMB, THUMB, Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.FastTransformation)


def _values(sample: np.ndarray) -> str:
    flat = sample.reshape(-1)
    shown = ", ".join(f"{v:.3g}" for v in flat[:SHOWN_VALUES])
    return shown + (f", … ({len(flat)} values)" if len(flat) > SHOWN_VALUES else "")


class SampleGallery(QWidget):
    """Samples with their labels: a grid of thumbnails for images, a table otherwise."""

    def __init__(self, hint: str) -> None:
        super().__init__()
        self.title = QLabel(hint)
        self.title.setWordWrap(True)
        self.grid = QListWidget()
        self.grid.setViewMode(QListWidget.ViewMode.IconMode)
        self.grid.setIconSize(QSize(THUMB, THUMB))
        self.grid.setResizeMode(QListWidget.ResizeMode.Adjust)
        self.grid.setMovement(QListWidget.Movement.Static)
        self.grid.setGridSize(QSize(THUMB + 40, THUMB + 40))
        self.table = QTableWidget()
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.shown: list[int] = []  # positions in the split, in the order on show
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.title)
        layout.addWidget(self.grid, 1)
        layout.addWidget(self.table, 1)
        self.grid.hide()
        self.table.hide()

    def show_samples(self, title: str, positions: Sequence[int], inputs: np.ndarray,
                     labels: list[tuple[str, str]]) -> None:
        """``positions`` in the split; ``labels`` (predicted, true) per shown position."""
        total = len(positions)
        self.shown = [int(p) for p in positions[:SHOWN_SAMPLES]]
        more = f" (the first {SHOWN_SAMPLES} shown)" if total > SHOWN_SAMPLES else ""
        self.title.setText(f"{title}: {total} sample{'s' if total != 1 else ''}{more}"
                           if total else f"{title}: no samples")
        images = inputs.ndim == 4 and inputs.shape[1] in (1, 3)
        self.grid.setVisible(images and total > 0)
        self.table.setVisible(not images and total > 0)
        if images:
            self._fill_grid(inputs, labels)
        else:
            self._fill_table(inputs, labels)

    def _fill_grid(self, inputs: np.ndarray, labels: list[tuple[str, str]]) -> None:
        self.grid.clear()
        low, high = float(inputs.min()), float(inputs.max())
        for position, (predicted, true) in zip(self.shown, labels, strict=True):
            item = QListWidgetItem(f"{predicted}\n(true {true})")
            item.setIcon(thumbnail(inputs[position], low, high))
            item.setToolTip(f"sample {position} of the split: predicted {predicted}, "
                            f"true {true}")
            item.setData(Qt.ItemDataRole.UserRole, position)
            self.grid.addItem(item)

    def _fill_table(self, inputs: np.ndarray, labels: list[tuple[str, str]]) -> None:
        self.table.clear()
        self.table.setColumnCount(3)
        self.table.setHorizontalHeaderLabels(["predicted", "true", "input values"])
        self.table.setRowCount(len(self.shown))
        self.table.setVerticalHeaderLabels([str(p) for p in self.shown])
        for row, (position, (predicted, true)) in enumerate(
                zip(self.shown, labels, strict=True)):
            for column, text in enumerate((predicted, true, _values(inputs[position]))):
                self.table.setItem(row, column, QTableWidgetItem(text))
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.resizeColumnsToContents()


class CurvesView(QWidget):
    """ROC and precision-recall curves, one per class (the positive class when binary)."""

    def __init__(self) -> None:
        super().__init__()
        self.roc = plot_widget("ROC: true vs false positive rate")
        self.pr = plot_widget("Precision–recall")
        for widget, (x, y) in ((self.roc, ("false positive rate", "true positive rate")),
                               (self.pr, ("recall", "precision"))):
            plot = widget.getPlotItem()
            plot.setLabel("bottom", x)
            plot.setLabel("left", y)
            plot.setXRange(0, 1, padding=0.02)
            plot.setYRange(0, 1.02, padding=0.02)
            plot.addLegend(offset=(-6, -6), labelTextSize="8pt")
        self.note = QLabel()
        self.note.setWordWrap(True)
        plots = QHBoxLayout()
        plots.addWidget(self.roc)
        plots.addWidget(self.pr)
        layout = QVBoxLayout(self)
        layout.addWidget(self.note)
        layout.addLayout(plots, 1)
        self.drawn: list[str] = []  # the classes on show

    def show_report(self, report: dict[str, Any]) -> None:
        for widget in (self.roc, self.pr):
            plot = widget.getPlotItem()
            plot.clear()
            if plot.legend is not None:
                plot.legend.clear()
        chance = pg.mkPen("#999999", width=1, style=Qt.PenStyle.DashLine)
        self.roc.getPlotItem().plot([0, 1], [0, 1], pen=chance)
        curves = [c for c in report.get("curves", []) if c["auc"] is not None]
        for k, curve in enumerate(curves):
            pen = pg.mkPen(COLOURS[k % len(COLOURS)], width=2)
            self.roc.getPlotItem().plot(curve["fpr"], curve["tpr"], pen=pen,
                                        name=f"{curve['class']} (AUC {curve['auc']:.3f})")
            self.pr.getPlotItem().plot(curve["recall"], curve["precision"], pen=pen,
                                       name=f"{curve['class']} (AP "
                                            f"{curve['average_precision']:.3f})")
        self.drawn = [c["class"] for c in curves]
        several = len(report.get("curves", [])) > 1
        self.note.setText(
            ("One curve per class against all the others (one-vs-rest). " if several else
             f"Class '{self.drawn[0]}' as the positive class. " if self.drawn else "")
            + "A curve hugging the top-left (ROC) or top-right (precision–recall) corner "
              "separates the class well; the dashed diagonal is guessing.")


class ScatterView(QWidget):
    """A regression's predicted values against the true ones, with the line y = x."""

    def __init__(self) -> None:
        super().__init__()
        self.plot = plot_widget("Predicted vs actual (points on the dashed line are exact)")
        item = self.plot.getPlotItem()
        item.setLabel("bottom", "actual value")
        item.setLabel("left", "predicted value")
        self.points = pg.ScatterPlotItem(size=5, pen=None, brush=(59, 125, 216, 140))
        self.line = item.plot([], [], pen=pg.mkPen("#999999", style=Qt.PenStyle.DashLine))
        item.addItem(self.points)
        layout = QVBoxLayout(self)
        layout.addWidget(self.plot)

    def show_values(self, truth: np.ndarray, predicted: np.ndarray) -> None:
        x, y = truth.reshape(-1), predicted.reshape(-1)
        self.points.setData(x, y)
        if len(x):
            low, high = float(min(x.min(), y.min())), float(max(x.max(), y.max()))
            self.line.setData([low, high], [low, high])
