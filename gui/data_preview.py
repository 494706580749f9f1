"""A data set at a glance: samples, class balance and split sizes (``runtime.data.preview``).

Used in Training > Settings (following the form as it is edited) and as the
Insights dock's Data tab (following the document). Loading runs on a worker
thread; a newer request made meanwhile is loaded when the current one ends, and
a data problem is shown in place of the preview.
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from graph.training import DataSpec
from gui.background import BackgroundJob
from gui.insights.boundary import CLASS_COLOURS
from gui.panels.run_views import plot_widget
from gui.panels.training import COLOURS

if TYPE_CHECKING:
    from runtime.data.preview import DataPreview

GRID_COLUMNS = 8
SHOWN_LINES = 6
Request = tuple[str, str, str]  # the data section as JSON, the task, the base folder


def _load(spec: DataSpec, task: str, base_dir: Path | None) -> DataPreview:
    from runtime.data.preview import preview

    return preview(spec, task, base_dir)


def image_grid(samples: np.ndarray, columns: int = GRID_COLUMNS) -> np.ndarray:
    """N×C×H×W samples as one H×W (grey) or H×W×3 image, tiles a pixel apart, rows of
    ``columns``; each tile scaled to its own range, so faint samples still show."""
    n, channels, height, width = samples.shape
    rows = -(-n // columns)
    colour = channels == 3
    grid = np.zeros((rows * (height + 1), columns * (width + 1), *((3,) if colour else ())),
                    dtype=np.float32)
    for i, sample in enumerate(samples.astype(np.float32)):
        low, high = float(sample.min()), float(sample.max())
        tile = (sample - low) / (high - low) if high > low else sample * 0
        tile = tile.transpose(1, 2, 0) if colour else tile[0]
        r, c = divmod(i, columns)
        grid[r * (height + 1):r * (height + 1) + height,
             c * (width + 1):c * (width + 1) + width] = tile
    return grid


class DataPreviewWidget(QWidget):
    """One data set's preview; ``show_data`` asks for another (loaded off this thread)."""

    def __init__(self) -> None:
        super().__init__()
        self.summary = QLabel("Choose a data set to see some of its samples.")
        self.summary.setWordWrap(True)
        self.summary.setTextFormat(Qt.TextFormat.RichText)
        self.samples_plot = plot_widget("Samples")
        self.image = pg.ImageItem(axisOrder="row-major")
        self.points = pg.ScatterPlotItem(size=5, pen=None)
        self.samples_plot.getPlotItem().addItem(self.image)
        self.samples_plot.getPlotItem().addItem(self.points)
        self.table = QTableWidget()
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.text = QPlainTextEdit()
        self.text.setReadOnly(True)
        self.balance = plot_widget("Class balance (samples per class)")
        self.bars = pg.BarGraphItem(x=[], height=[], width=0.7, brush=COLOURS[0])
        self.balance.getPlotItem().addItem(self.bars)
        self.overlays: list[pg.GraphicsObject] = []  # lines, target dots or image labels
        self.shown: DataPreview | None = None
        self.error = ""
        self.requested: Request | None = None  # the latest asked for
        self._loading: Request | None = None
        self.job = BackgroundJob(self, blocks_close=False)  # it only reads
        self.job.done.connect(self._loaded)
        views = QHBoxLayout()
        for widget, stretch in ((self.samples_plot, 3), (self.table, 3), (self.text, 3),
                                (self.balance, 2)):
            views.addWidget(widget, stretch)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.summary)
        layout.addLayout(views, 1)
        self._show_views(())

    @property
    def loading(self) -> bool:
        return self.job.running

    def show_data(self, spec: DataSpec, task: str, base_dir: Path | None) -> None:
        """Preview ``spec`` for ``task``; nothing is done when it is already on show."""
        request = (spec.model_dump_json(), task, str(base_dir or ""))
        if request == self.requested:
            return
        self.requested = request
        if not self.job.running:
            self._start(request)

    def _start(self, request: Request) -> None:
        spec = DataSpec.model_validate_json(request[0])
        self._loading = request
        self.summary.setText(f"Loading <b>{html.escape(spec.name)}</b>…")
        self.job.start(_load, spec, request[1], Path(request[2]) if request[2] else None,
                       name="data preview")

    def _loaded(self, result: DataPreview | None, error: Exception | None) -> None:
        if self.requested != self._loading and self.requested is not None:
            self._start(self.requested)  # the settings changed meanwhile: this is stale
            return
        if error is not None or result is None:
            from runtime.cli_run import user_errors

            self.shown = None
            known = isinstance(error, user_errors())
            self.error = str(error) if known else f"{type(error).__name__}: {error}"
            self.summary.setText("<span style='color:#c0392b'>Cannot load the data: "
                                 f"{html.escape(self.error)}</span>")
            self._show_views(())
            return
        self.error = ""
        self.shown = result
        self.summary.setText(_summary(result))
        self._draw(result)

    # -- drawing --------------------------------------------------------------------
    def _show_views(self, shown: tuple[QWidget, ...]) -> None:
        for widget in (self.samples_plot, self.table, self.text, self.balance):
            widget.setVisible(widget in shown)

    def _draw(self, data: DataPreview) -> None:
        balance = (self.balance,) if data.class_counts else ()
        if data.class_counts:
            counts = data.class_counts
            self.bars.setOpts(x=np.arange(len(counts)), height=counts)
            axis = self.balance.getPlotItem().getAxis("bottom")
            step = max(1, len(counts) // 12)
            axis.setTicks([[(i, data.class_names[i][:10]) for i in range(0, len(counts), step)]])
        plot = self.samples_plot.getPlotItem()
        self.image.clear()
        self.points.clear()
        for line in self.overlays:
            plot.removeItem(line)
        self.overlays = []
        plot.getViewBox().invertY(data.kind == "image")
        plot.getViewBox().setAspectLocked(data.kind in ("image", "points"))
        if data.kind == "image":
            self._images(data)
        elif data.kind == "points":
            self._points(data)
        elif data.kind == "sequence":
            self._lines(data)
        elif data.kind == "text":
            self.text.setPlainText(data.text)
            self._show_views((self.text, *balance))
            return
        else:
            self._rows(data)
            self._show_views((self.table, *balance))
            return
        plot.autoRange()
        self._show_views((self.samples_plot, *balance))

    def _images(self, data: DataPreview) -> None:
        self.image.setImage(image_grid(data.samples), levels=(0, 1))
        plot = self.samples_plot.getPlotItem()
        height, width = data.samples.shape[2:]
        for i, text in enumerate(data.labels):
            row, column = divmod(i, GRID_COLUMNS)
            label = pg.TextItem(text[:8], color="#f0a030", anchor=(0, 0))
            label.setPos(column * (width + 1), row * (height + 1))
            plot.addItem(label)
            self.overlays.append(label)
        plot.setTitle(f"{len(data.samples)} training samples with their classes",
                      size="9pt")
        plot.hideAxis("left")
        plot.hideAxis("bottom")

    def _points(self, data: DataPreview) -> None:
        plot = self.samples_plot.getPlotItem()
        plot.showAxis("left")
        plot.showAxis("bottom")
        classes = data.point_classes
        # one brush per class, shared: a QBrush per point made drawing 2,000 points take
        # 100-160 ms of the GUI thread (bench_window), shared ones about 10 ms
        # the Decision boundary tab's class colours: eight apart (a ring's eight modes
        # repeated the curves' six), and a class looks the same in both tabs
        palette = [pg.mkBrush(*colour) for colour in CLASS_COLOURS]
        brushes = [palette[int(k) % len(palette)] for k in classes] \
            if classes is not None else palette[0]
        self.points.setData(data.samples[:, 0], data.samples[:, 1], brush=brushes)
        plot.setTitle(f"{len(data.samples)} points, coloured by class", size="9pt")

    def _lines(self, data: DataPreview) -> None:
        plot = self.samples_plot.getPlotItem()
        plot.showAxis("left")
        plot.showAxis("bottom")
        targets = data.targets if data.targets is not None and data.targets.shape[1] == 1 \
            else None
        for k, sample in enumerate(data.samples[:SHOWN_LINES]):
            colour = COLOURS[k % len(COLOURS)]
            self.overlays.append(plot.plot(sample[:, 0], pen=pg.mkPen(colour, width=1.5)))
            if targets is not None:  # what the network is to predict from this window
                self.overlays.append(plot.plot([len(sample)], [float(targets[k, 0])],
                                               pen=None, symbol="o", symbolSize=8,
                                               symbolBrush=colour))
        plot.setTitle(f"{min(SHOWN_LINES, len(data.samples))} sequences (first feature "
                      "over time steps)" + (", each with its target as a dot after it"
                                            if targets is not None else ""), size="9pt")

    def _rows(self, data: DataPreview) -> None:
        flat = data.samples.reshape(len(data.samples), -1)
        columns = min(flat.shape[1], 12)
        headers = [f"x{j}" for j in range(columns)] + ["target"]
        self.table.clear()
        self.table.setColumnCount(len(headers))
        self.table.setHorizontalHeaderLabels(headers)
        self.table.setRowCount(len(flat))
        for i, row in enumerate(flat):
            for j in range(columns):
                self.table.setItem(i, j, QTableWidgetItem(f"{row[j]:.4g}"))
            self.table.setItem(i, columns, QTableWidgetItem(data.labels[i] if data.labels
                                                            else ""))
        self.table.resizeColumnsToContents()


def _summary(data: DataPreview) -> str:
    shape = "×".join(str(d) for d in data.sample_shape)
    splits = " · ".join(f"{name} {size:,}" for name, size in data.split_sizes.items())
    unit = "characters" if data.kind == "text" and data.sample_shape == (1,) else "samples"
    parts = [f"<b>{html.escape(data.name)}</b>: {data.total:,} {unit} of shape {shape}",
             f"splits: {splits}"]
    if data.class_names:
        low, high = min(data.class_counts), max(data.class_counts)
        parts.append(f"{len(data.class_names)} classes ({low:,}–{high:,} samples each)")
    text = " — ".join(parts)
    if data.description:
        text += f"<br><small>{html.escape(data.description)}</small>"
    for note in data.notes:
        text += f"<br><small>{html.escape(note)}</small>"
    return text

