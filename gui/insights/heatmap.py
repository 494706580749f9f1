"""Heat-maps with a colour bar, and mosaics of small images, for the Insights tabs."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pyqtgraph as pg
from PySide6.QtWidgets import QLabel, QSizePolicy, QVBoxLayout, QWidget

DIVERGING = "CET-D1"  # blue below zero, white at zero, red above: weights
SEQUENTIAL = "viridis"  # activations and attention weights


def mosaic(tiles: np.ndarray, columns: int | None = None) -> np.ndarray:
    """Tiles (n×h×w, or n×h×w×3) in a grid with one-pixel NaN gaps (drawn see-through)."""
    n, h, w = tiles.shape[:3]
    columns = columns or max(1, math.ceil(math.sqrt(n)))
    rows = max(1, math.ceil(n / columns))
    out = np.full((rows * (h + 1) - 1, columns * (w + 1) - 1, *tiles.shape[3:]), np.nan,
                  dtype=np.float32)
    for i, tile in enumerate(tiles):
        r, c = divmod(i, columns)
        out[r * (h + 1):r * (h + 1) + h, c * (w + 1):c * (w + 1) + w] = tile
    return out


def tile_origin(index: int, shape: tuple[int, int], columns: int) -> tuple[int, int]:
    """Top-left pixel (x, y) of tile ``index`` in a ``mosaic`` of ``columns``."""
    r, c = divmod(index, columns)
    return c * (shape[1] + 1), r * (shape[0] + 1)


class HeatMap:
    """One image (a matrix or a mosaic) with a title, optional axis labels and ticks,
    and a colour bar that says what the colours mean; ``widget`` goes in a layout."""

    def __init__(self, title: str, bar_label: str, cmap: str = SEQUENTIAL,
                 with_bar: bool = True) -> None:
        self.with_bar = with_bar
        # The title is a wrapping QLabel: a long pyqtgraph title would widen the scene
        # beyond the widget and push the colour bar out of sight.
        self.caption = QLabel(title)
        self.caption.setWordWrap(True)
        self.view = pg.GraphicsLayoutWidget()
        self.view.setBackground(None)
        self.view.setMinimumSize(140, 100)
        self.view.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.widget = QWidget()
        column = QVBoxLayout(self.widget)
        column.setContentsMargins(0, 0, 0, 0)
        column.addWidget(self.caption)
        column.addWidget(self.view, 1)
        self.plot = self.view.addPlot()
        self.plot.setMenuEnabled(False)
        self.plot.setMouseEnabled(x=False, y=False)
        self.plot.hideButtons()
        view = self.plot.getViewBox()
        view.setAspectLocked(True)
        view.invertY(True)  # row 0 on top, as images and matrices are read
        self.image = pg.ImageItem(axisOrder="row-major")
        self.plot.addItem(self.image)
        self.cmap = pg.colormap.get(cmap)
        self.bar = pg.ColorBarItem(values=(0.0, 1.0), colorMap=self.cmap, label=bar_label,
                                   interactive=False, width=12)
        self.bar.setImageItem(self.image, insert_in=self.plot)
        self.bar.axis.enableAutoSIPrefix(False)  # weights of 0.3, not "300 (×0.001)"
        self.labels: list[pg.TextItem] = []
        self.show_axes(False)

    def set_title(self, text: str) -> None:
        self.caption.setText(text)

    @property
    def title(self) -> str:
        return self.caption.text()

    def show_axes(self, shown: bool, left: str = "", bottom: str = "") -> None:
        for side, text in (("left", left), ("bottom", bottom)):
            self.plot.showAxis(side, shown)
            if shown:
                self.plot.setLabel(side, text)

    def set_ticks(self, left: Sequence[str], bottom: Sequence[str]) -> None:
        """One label per row and per column, at the middle of each cell."""
        for side, names, most in (("left", left, 16), ("bottom", bottom, 32)):
            step = max(1, math.ceil(len(names) / most))  # keep long sequences readable
            ticks = [(i + 0.5, str(name)) for i, name in enumerate(names) if i % step == 0]
            self.plot.getAxis(side).setTicks([ticks, []])

    def set_matrix(self, values: np.ndarray, levels: tuple[float, float],
                   bar_label: str | None = None) -> None:
        """Show ``values`` (h×w, or h×w×3 for colour) on a fixed scale ``levels``."""
        self.clear_labels()
        self.image.setImage(values, levels=levels, autoLevels=False)
        rgb = values.ndim == 3
        if rgb:  # colours as they are: the bar's lookup table would recolour each channel
            self.image.setLookupTable(None)
        else:
            self.bar.setLevels(levels)  # and the image's levels with it
            self.image.setColorMap(self.cmap)
        self.bar.setVisible(self.with_bar and not rgb)
        if bar_label is not None:
            self.bar.getAxis("left").setLabel(bar_label)  # where ColorBarItem puts its label
        self.plot.getViewBox().autoRange(padding=0.02)

    def clear_image(self) -> None:
        self.clear_labels()
        self.image.clear()
        self.bar.setVisible(False)  # a scale with nothing on it explains nothing

    def label(self, text: str, x: float, y: float) -> None:
        """A small caption over the image, its top-left corner at pixel (x, y)."""
        item = pg.TextItem(text, anchor=(0, 0), color="#ffffff", fill=(0, 0, 0, 150))
        item.setPos(x, y)
        font = item.textItem.font()
        font.setPointSizeF(7.0)
        item.setFont(font)
        self.plot.addItem(item)
        self.labels.append(item)

    def annotate(self, values: np.ndarray, limit: int = 10) -> None:
        """Each cell's value written in it, for matrices small enough to read."""
        if values.ndim != 2 or max(values.shape) > limit:
            return
        for (row, col), value in np.ndenumerate(values):
            item = pg.TextItem(f"{value:.2f}", anchor=(0.5, 0.5), color="#ffffff",
                               fill=(0, 0, 0, 90))
            item.setPos(col + 0.5, row + 0.5)
            self.plot.addItem(item)
            self.labels.append(item)

    def clear_labels(self) -> None:
        for item in self.labels:
            self.plot.removeItem(item)
        self.labels = []


def symmetric_levels(values: np.ndarray) -> tuple[float, float]:
    """(-m, m) with m the largest magnitude: zero stays at the scale's middle."""
    finite = values[np.isfinite(values)]
    m = float(np.abs(finite).max()) if finite.size else 1.0
    return (-m, m) if m > 0 else (-1.0, 1.0)


def value_levels(values: np.ndarray) -> tuple[float, float]:
    finite = values[np.isfinite(values)]
    if not finite.size:
        return 0.0, 1.0
    lo, hi = float(finite.min()), float(finite.max())
    return (lo, hi) if hi > lo else (lo, lo + 1e-6)

