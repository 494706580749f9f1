"""Looking inside a run: the selected layer's outputs, and generated or reconstructed samples.

Both read the runtime's end-of-epoch probe events (``activations``, ``samples``),
which are small: a 24-bin histogram per layer, a few dozen samples.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtWidgets import QGraphicsItem

from runtime.events import ActivationsEvent, NodeSummary, SamplesEvent

HIST_BRUSH = (59, 125, 216, 160)
GRID_COLUMNS = 8
SHOWN_SAMPLES = 16
POINT_BRUSH = (224, 123, 40, 170)


def plot_widget(title: str) -> pg.PlotWidget:
    widget = pg.PlotWidget(background=None)
    widget.setMinimumHeight(40)  # the dock grows when a run starts
    plot = widget.getPlotItem()
    plot.setTitle(title, size="9pt")
    plot.showGrid(x=True, y=True, alpha=0.2)
    # An axis (its ticks, labels and grid lines across the plot) costs 5-15 ms to paint
    # here, and every new point repaints the plot: kept as a pixmap, it is painted again
    # only when its range or size changes.
    for name in ("left", "bottom", "right", "top"):
        plot.getAxis(name).setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
    return widget


class LayerView:
    """The histogram of one layer's outputs on a fixed probe batch, at the latest epoch."""

    def __init__(self) -> None:
        self.widget = plot_widget("Layer outputs")
        self.plot = self.widget.getPlotItem()
        self.plot.setLabel("bottom", "value")
        self.curve = self.plot.plot(stepMode="center", fillLevel=0, brush=HIST_BRUSH,
                                    pen=pg.mkPen(HIST_BRUSH[:3], width=1))
        self.latest: dict[str, dict[str, NodeSummary]] = {}  # network -> node id -> summary
        self.epoch = 0
        self.selected: tuple[str, str, str] | None = None  # network, node id, title
        self.clear()

    def clear(self) -> None:
        self.latest = {}
        self.epoch = 0
        self._draw()

    def select(self, network: str, node_id: str | None, title: str = "") -> None:
        self.selected = (network, node_id, title) if node_id else None
        self._draw()

    def update(self, event: ActivationsEvent) -> None:
        self.latest = event["networks"]
        self.epoch = event["epoch"]
        self._draw()

    @property
    def shown(self) -> NodeSummary | None:
        """The summary on show: the selected layer's, once a probe has run."""
        if self.selected is None:
            return None
        network, node_id, _title = self.selected
        return self.latest.get(network, {}).get(node_id)

    def _draw(self) -> None:
        summary = self.shown
        if summary is None or not summary.get("hist"):
            self.curve.clear()
            hint = self._hint() if summary is None else \
                f"{self.selected[2] if self.selected else ''}: every output is NaN or Inf"
            self.plot.setTitle(hint, size="9pt")
            return
        lo, hi = summary["range"]
        counts = summary["hist"]
        edges = np.linspace(lo, hi if hi > lo else lo + 1e-6, len(counts) + 1)
        self.curve.setData(edges, counts)
        title = self.selected[2] if self.selected else ""
        dead = f", {summary['dead']:.0%} never > 0" if summary.get("dead") else ""
        bad = ", <span style='color:#c0392b'>contains NaN/Inf</span>" \
            if summary.get("nonfinite") else ""
        self.plot.setTitle(f"{title}, epoch {self.epoch}: mean {summary['mean']:.2g}, "
                           f"std {summary['std']:.2g}{dead}{bad}", size="9pt")

    def _hint(self) -> str:
        if self.selected is None:
            return "Layer outputs: select a layer on the canvas"
        if not self.latest:
            return f"{self.selected[2]}: shown after the first epoch"
        if self.selected[0] not in self.latest:
            return f"{self.selected[2]}: its network is not trained in this run"
        return f"{self.selected[2]}: not in this run (added since, or no output of its own)"


class SamplesView:
    """Generated samples (GAN) or inputs above their reconstructions (autoencoder):
    2-D points as a scatter, images as a grid, other vectors as lines."""

    def __init__(self) -> None:
        self.widget = plot_widget("Samples")
        self.plot = self.widget.getPlotItem()
        self.image = pg.ImageItem(axisOrder="row-major")
        self.scatter = pg.ScatterPlotItem(size=4, pen=None, brush=POINT_BRUSH)
        self.lines: list[pg.PlotDataItem] = []
        self.kind = ""
        self.count = 0  # samples on show

    def clear(self) -> None:
        self.plot.clear()
        self.lines = []
        self.count = 0
        self.plot.setTitle("Samples: shown after the first epoch", size="9pt")

    def update(self, event: SamplesEvent) -> None:
        self.kind = event["kind"]
        shape = [int(n) for n in event["shape"]]
        values = np.asarray(event["values"], dtype=np.float32)
        inputs = np.asarray(event.get("inputs", []), dtype=np.float32)
        self.plot.clear()
        self.lines = []
        what = "generated" if self.kind == "generated" else "inputs (top) and reconstructions"
        self.plot.setTitle(f"Samples · epoch {event['epoch']} · {what}", size="9pt")
        if shape == [2] and self.kind == "generated":
            self._points(values)
        elif len(shape) in (2, 3):
            self._images(values, inputs, shape)
        else:
            self._vectors(values, inputs)

    def _points(self, values: np.ndarray) -> None:
        self.scatter.setData(values[:, 0], values[:, 1])
        self.plot.addItem(self.scatter)
        self.plot.getViewBox().setAspectLocked(True)
        self.plot.getViewBox().invertY(False)
        self.plot.showAxes(True)
        self.count = len(values)

    def _images(self, values: np.ndarray, inputs: np.ndarray, shape: list[int]) -> None:
        height, width = shape[-2], shape[-1]
        channels = shape[0] if len(shape) == 3 else 1
        rows: list[np.ndarray] = []
        if len(inputs):
            rows.append(_tiles(inputs[:GRID_COLUMNS], channels, height, width))
            rows.append(_tiles(values[:GRID_COLUMNS], channels, height, width))
        else:
            shown = values[:SHOWN_SAMPLES]
            for start in range(0, len(shown), GRID_COLUMNS):
                rows.append(_tiles(shown[start:start + GRID_COLUMNS], channels, height, width))
        grid = np.concatenate(rows, axis=0)
        self.image.setImage(grid, autoLevels=True)
        self.plot.addItem(self.image)
        view = self.plot.getViewBox()
        view.setAspectLocked(True)
        view.invertY(True)  # images read top-down
        self.plot.showAxes(False)
        self.count = min(len(values), SHOWN_SAMPLES if not len(inputs) else GRID_COLUMNS)

    def _vectors(self, values: np.ndarray, inputs: np.ndarray) -> None:
        view = self.plot.getViewBox()
        view.setAspectLocked(False)
        view.invertY(False)
        self.plot.showAxes(True)
        for i, row in enumerate(values[:4]):
            if len(inputs):
                self.lines.append(self.plot.plot(inputs[i], pen=pg.mkPen("#7d8594")))
            self.lines.append(self.plot.plot(row, pen=pg.mkPen("#e07b28", width=2)))
        self.count = min(len(values), 4)


def _tiles(rows: np.ndarray, channels: int, height: int, width: int) -> np.ndarray:
    """Samples side by side (one pixel of gap), grey or RGB, as one image row."""
    gap = 1
    tiles = rows.reshape(len(rows), channels, height, width)
    tiles = tiles.transpose(0, 2, 3, 1) if channels == 3 else tiles[:, 0]
    out_shape = (height, GRID_COLUMNS * (width + gap), *tiles.shape[3:])
    tiles = np.nan_to_num(tiles)
    fill = float(tiles.min()) if tiles.size else 0.0
    out = np.full(out_shape, fill, dtype=np.float32)
    for i, tile in enumerate(tiles):
        x = i * (width + gap)
        out[:, x:x + width] = tile
    gap_row = np.full((gap, *out_shape[1:]), fill, dtype=np.float32)
    return np.concatenate([out, gap_row], axis=0)
