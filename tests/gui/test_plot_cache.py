"""The run's plots keep their axes as pixmaps: a new point does not paint them again."""

from __future__ import annotations

from PySide6.QtWidgets import QGraphicsItem

from gui.panels.run_views import plot_widget


def test_the_axes_of_a_run_plot_are_cached(qtbot):
    widget = plot_widget("Loss")
    qtbot.addWidget(widget)
    plot = widget.getPlotItem()
    # ticks, labels and the grid across the plot took 5-15 ms a paint, on every new point
    assert {plot.getAxis(name).cacheMode() for name in ("left", "bottom", "right", "top")} \
        == {QGraphicsItem.CacheMode.DeviceCoordinateCache}
