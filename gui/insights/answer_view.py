"""Try it's two result views: the network's answer, and the input's path through it."""

from __future__ import annotations

import html
from typing import TYPE_CHECKING

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QImage, QPixmap
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QStackedWidget,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from gui.panels.run_views import plot_widget

if TYPE_CHECKING:
    from graph.document import Document
    from runtime.inspect.tryit import Answer

BAR = (59, 125, 216)
BEST = (224, 123, 40)
PICTURE = 112


def image_pixmap(raw: np.ndarray, high: float, size: int) -> QPixmap:
    """A C×H×W sample in the data's units (0..high) as a grey or colour picture, each
    pixel a visible square."""
    values = np.clip(np.asarray(raw, dtype=np.float32) / max(high, 1e-12), 0.0, 1.0)
    pixels = np.ascontiguousarray((values * 255).astype(np.uint8))
    channels, height, width = pixels.shape
    if channels == 3:
        rgb = np.ascontiguousarray(pixels.transpose(1, 2, 0))
        image = QImage(rgb.data, width, height, 3 * width, QImage.Format.Format_RGB888)
    else:
        grey = np.ascontiguousarray(pixels[0])
        image = QImage(grey.data, width, height, width, QImage.Format.Format_Grayscale8)
    scale = max(1, size // max(height, width))
    return QPixmap.fromImage(image.copy()).scaled(
        width * scale, height * scale, Qt.AspectRatioMode.KeepAspectRatio,
        Qt.TransformationMode.FastTransformation)


class AnswerView(QStackedWidget):
    """Class probabilities as bars; values as text; a reconstruction or sample as a picture."""

    def __init__(self) -> None:
        super().__init__()
        self.bars_widget = plot_widget("Class probabilities")
        self.bars_plot = self.bars_widget.getPlotItem()
        self.bars_plot.setYRange(0, 1, padding=0.02)
        self.bars_plot.setMouseEnabled(x=False, y=False)
        self.bars_plot.setLabel("left", "probability")
        self.text = QLabel()
        self.text.setWordWrap(True)
        self.text.setAlignment(Qt.AlignmentFlag.AlignCenter)
        pictures = QWidget()
        self.before, self.after = QLabel(), QLabel()
        self.before_title, self.after_title = QLabel(), QLabel()
        row = QHBoxLayout()
        for title, picture in ((self.before_title, self.before),
                               (self.after_title, self.after)):
            column = QVBoxLayout()
            column.addWidget(title)
            column.addWidget(picture)
            column.addStretch(1)
            row.addLayout(column)
        row.addStretch(1)
        self.code = QLabel()  # an autoencoder's code, in numbers
        self.code.setWordWrap(True)
        outer = QVBoxLayout(pictures)
        outer.addLayout(row)
        outer.addWidget(self.code)
        outer.addStretch(1)
        for widget in (self.text, self.bars_widget, pictures):
            self.addWidget(widget)
        self.probabilities: list[float] = []
        self.show_answer(None)

    def show_answer(self, answer: Answer | None, raw: np.ndarray | None = None,
                    high: float = 255.0) -> None:
        self.probabilities = list(answer.probabilities) if answer is not None else []
        if answer is None:
            self.text.setText("Give the network an input (on the left) to see its answer here.")
            self.setCurrentIndex(0)
        elif answer.kind == "classes":
            self._bars(answer)
        elif answer.kind == "image" and answer.image is not None:
            self._pictures(answer, raw, high)
        elif answer.kind == "positions":
            shown = " · ".join(f"<b>{html.escape(name, quote=False)}</b> ({p:.0%})"
                               for name, p in answer.positions[:40])
            more = " …" if len(answer.positions) > 40 else ""
            given = ""
            if raw is not None and raw.ndim == 1:
                given = "Input: " + " ".join(f"{v:g}" for v in raw[:40]) + "<br>"
            self.text.setText(f"{given}The network's class for each position (how sure):"
                              f"<br>{shown}{more}")
            self.setCurrentIndex(0)
        elif answer.kind == "points":
            shown = ", ".join(f"{v:.4g}" for v in answer.values)
            self.text.setText(f"The generator's sample: the point <b>({shown})</b>")
            self.setCurrentIndex(0)
        else:
            shown = ", ".join(f"{v:.4g}" for v in answer.values[:12])
            more = f" … ({len(answer.values)} values)" if len(answer.values) > 12 else ""
            self.text.setText(f"The network's output: <b>{shown}</b>{more}")
            self.setCurrentIndex(0)

    def _bars(self, answer: Answer) -> None:
        probs = np.asarray(answer.probabilities)
        self.bars_plot.clear()
        colours = [BEST if i == answer.best else BAR for i in range(len(probs))]
        self.bars_plot.addItem(pg.BarGraphItem(x=np.arange(len(probs)), height=probs,
                                               width=0.7, brushes=colours, pen=None))
        names = answer.class_names
        self.bars_plot.getAxis("bottom").setTicks([list(enumerate(names))])
        best = answer.best
        sure = f"{probs[best]:.1%}" if probs[best] > 0.995 else f"{probs[best]:.0%}"
        said = html.escape(names[best], quote=False)
        self.bars_plot.setTitle(f"The network says <b>'{said}'</b> ({sure} sure)", size="10pt")
        self.setCurrentIndex(1)

    def _pictures(self, answer: Answer, raw: np.ndarray | None, high: float) -> None:
        assert answer.image is not None
        if raw is not None and raw.ndim == 3:
            self.before.setPixmap(image_pixmap(raw, high, PICTURE))
            self.before_title.setText("input")
        else:
            self.before.clear()
            self.before_title.setText("")
        self.after.setPixmap(image_pixmap(answer.image, high, PICTURE))
        self.after_title.setText("reconstruction" if raw is not None else "generated sample")
        code = ""
        if answer.code is not None:
            title, values = answer.code
            shown = ", ".join(f"{v:.3g}" for v in values)
            code = (f"The encoder squeezed the input into {html.escape(title, quote=False)}: "
                    f"<b>({shown})</b>; the decoder rebuilt the picture from these "
                    f"{len(values)} numbers alone.")
        self.code.setText(code)
        self.setCurrentIndex(2)


class PathList(QTreeWidget):
    """Every node's output for the input, in the order the network ran them; a click
    selects that node on the canvas."""

    node_chosen = Signal(str)

    def __init__(self) -> None:
        super().__init__()
        self.setHeaderLabels(["path through the network", "output", "mean", "std"])
        self.setToolTip("Every layer's output for this input, in the order the network runs "
                        "them; click one to select it on the canvas")
        self.setRootIsDecorated(False)
        self.setAlternatingRowColors(True)
        self.itemClicked.connect(self._clicked)
        self.resizeColumnToContents(0)  # the header whole before the first input

    def show_path(self, answer: Answer | None, doc: Document | None) -> None:
        self.clear()
        if answer is None or doc is None:
            return
        network = doc.network(answer.network) if answer.network in doc.networks else None
        for node_id, record in answer.path.items():
            title = node_id
            if network is not None and node_id in network.graph:
                node = network.node(node_id)
                title = f"{node.type} '{node.label}'"
            shape = "×".join(str(d) for d in record["shape"]) or "1"
            item = QTreeWidgetItem([title, shape, f"{record['mean']:.3g}",
                                    f"{record['std']:.3g}"])
            item.setData(0, Qt.ItemDataRole.UserRole, node_id)
            if record["nonfinite"]:
                item.setToolTip(0, "this output holds NaN or infinite values")
            self.addTopLevelItem(item)
        for column in range(4):
            self.resizeColumnToContents(column)

    def _clicked(self, item: QTreeWidgetItem, _column: int) -> None:
        self.node_chosen.emit(str(item.data(0, Qt.ItemDataRole.UserRole)))
