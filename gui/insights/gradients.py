"""The Gradients tab: each weighted layer's gradient norm and the learning rate, live.

Both come with the run's step events (a few a second). Gradient norms span many
orders of magnitude, so their axis is logarithmic: a layer whose curve sinks far
below the others barely learns (vanishing gradients); one that shoots up explodes.
"""

from __future__ import annotations

import math
from typing import Any

import pyqtgraph as pg
from PySide6.QtWidgets import QGraphicsItem, QVBoxLayout

from gui.insights import Insight
from gui.insights.boundary import class_colour
from gui.panels.legend import legend_beside
from gui.panels.run_views import plot_widget
from gui.training import TrainingController

FLOOR = 1e-12  # a zero gradient, drawn at the bottom of a log axis
LR_COLOURS = ("#3b7dd8", "#e07b28", "#2f9e6e")
BETWEEN = (2, 5)  # labelled between decades where they fit
UNLABELLED = (3, 4, 6, 7, 8, 9)


def _inside(values: list[float], low: float, high: float) -> list[float]:
    return [v for v in values if low <= v <= high]


class DecadeAxis(pg.AxisItem):  # type: ignore[misc]  # pyqtgraph ships no types
    """A log axis labelled at powers of ten, then at 2× and 5× where they fit.

    pyqtgraph's own log axis, over less than about two decades, labels every 2…9
    and they pile up on the short axis of a dock.
    """

    def logTickValues(self, low: float, high: float, size: float,
                      standard: list[tuple[float, list[float]]]
                      ) -> list[tuple[float | None, list[float]]]:
        # whole-decade levels as pyqtgraph spaces them for the axis length (every 2nd
        # or 5th decade when there are many), else each decade in range
        levels: list[tuple[float | None, list[float]]] = [
            (spacing, list(values)) for spacing, values in standard if spacing >= 1.0]
        if levels and min(s for s, _v in levels if s is not None) > 1.0:
            return levels
        first, last = math.floor(low), math.ceil(high)
        if not levels:
            levels = [(1.0, [float(v) for v in range(first, last + 1) if low <= v <= high])]
        between = _inside([d + math.log10(m) for d in range(first, last) for m in BETWEEN],
                          low, high)
        rest = _inside([d + math.log10(m) for d in range(first, last) for m in UNLABELLED],
                       low, high)
        if not levels[0][1] and not between:  # less than a factor of two: label all
            return [(None, rest)]
        return [*levels, (None, between), (None, rest)]


class GradientsInsight(Insight):
    """Gradient norm per weighted node (log scale) above the learning rate per network."""

    title = "Gradients"

    def __init__(self, controller: TrainingController) -> None:
        super().__init__(controller)
        self.norms_widget = plot_widget("Gradient norm per layer")
        self.norms = self.norms_widget.getPlotItem()
        axis = DecadeAxis(orientation="left")
        self.norms.setAxisItems({"left": axis})
        axis.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)  # as plot_widget's
        self.norms.showGrid(x=True, y=True, alpha=0.2)  # the new axis draws its grid too
        self.norms.setLogMode(x=False, y=True)
        axis.setStyle(maxTextLevel=1)  # decades, then 2× and 5×, never 3, 4, 6…9
        legend_beside(self.norms)
        self.lr_widget = plot_widget("Learning rate")
        self.lr = self.lr_widget.getPlotItem()
        self.lr.setLabel("bottom", "epoch")
        legend_beside(self.lr)
        self.lr.setXLink(self.norms)  # its "epoch" label serves both
        for plot in (self.norms, self.lr):
            plot.getAxis("bottom").enableAutoSIPrefix(False)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 2, 4, 2)
        layout.addWidget(self.norms_widget, 3)
        layout.addWidget(self.lr_widget, 2)
        self.series: dict[tuple[str, str], tuple[list[float], list[float]]] = {}
        self.curves: dict[tuple[str, str], pg.PlotDataItem] = {}
        self.lr_series: dict[str, tuple[list[float], list[float]]] = {}
        self.lr_curves: dict[str, pg.PlotDataItem] = {}

    def clear(self) -> None:
        for plot in (self.norms, self.lr):
            plot.clear()
            plot.legend.clear()
        self.series.clear()
        self.curves.clear()
        self.lr_series.clear()
        self.lr_curves.clear()

    def on_event(self, event: dict[str, Any]) -> None:
        if event.get("type") != "step":
            return
        at = event["epoch"] - 1 + event["step"] / event["steps"]
        several = len(event.get("grad_norms") or {}) > 1
        for network, per_node in (event.get("grad_norms") or {}).items():
            for node_id, norm in per_node.items():
                if isinstance(norm, float) and math.isfinite(norm):
                    self._add((network, node_id), at, max(norm, FLOOR), several)
        for network, rate in (event.get("lr") or {}).items():
            self._add_lr(network, at, float(rate), several)
        self.draw_when_seen("curves", self._draw)

    def _draw(self) -> None:
        """Every curve from its series (the step events a drain brought, at once)."""
        for key, curve in self.curves.items():
            curve.setData(*self.series[key], skipFiniteCheck=True)  # kept finite on adding
        for network, curve in self.lr_curves.items():
            curve.setData(*self.lr_series[network])

    def _add(self, key: tuple[str, str], at: float, norm: float, several: bool) -> None:
        xs, ys = self.series.setdefault(key, ([], []))
        xs.append(at)
        ys.append(norm)
        curve = self.curves.get(key)
        if curve is None:
            # the Decision boundary's class colours: distinct hues, the same in both themes
            colour = class_colour(len(self.curves))
            curve = self.norms.plot(name=self._name(key, several),
                                    pen=pg.mkPen(colour, width=1.5))
            curve.setCurveClickable(True, width=6)
            curve.setDownsampling(auto=True, method="peak")  # hours of events stay cheap
            curve.setClipToView(True)
            curve.sigClicked.connect(lambda _item, _ev=None, key=key: self.node_named.emit(*key))
            self.curves[key] = curve

    def _add_lr(self, network: str, at: float, rate: float, several: bool) -> None:
        xs, ys = self.lr_series.setdefault(network, ([], []))
        xs.append(at)
        ys.append(rate)
        curve = self.lr_curves.get(network)
        if curve is None:
            colour = LR_COLOURS[len(self.lr_curves) % len(LR_COLOURS)]
            curve = self.lr.plot(name=network if several else "learning rate",
                                 pen=pg.mkPen(colour, width=2))
            self.lr_curves[network] = curve

    def _name(self, key: tuple[str, str], several: bool) -> str:
        network, node_id = key
        label = node_id
        doc = self.session.doc if self.session is not None else None
        if doc is not None and network in doc.networks and node_id in doc.network(network).graph:
            label = doc.network(network).node(node_id).label
        return f"{network}: {label}" if several else label
