"""A plot legend beside the plot instead of over it.

pyqtgraph anchors ``addLegend`` inside the view box, where it hides the curves it
names once there are more than two or three. Here the legend is a cell of the
plot's own grid layout, right of the view box, so the data area shrinks instead.
"""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QSizePolicy

LEGEND_COLUMN = 3  # the plot's grid: 0 left axis, 1 view box, 2 right axis


def legend_beside(plot: pg.PlotItem, text_size: str = "8pt") -> pg.LegendItem:
    """Give ``plot`` a legend right of its data area; curves made with ``name=`` join it."""
    legend = pg.LegendItem(labelTextSize=text_size, verSpacing=-4, horSpacing=4)
    # its own size, at the top: stretched to the plot's height, its rows would spread out
    legend.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)
    plot.layout.addItem(legend, 2, LEGEND_COLUMN)
    plot.layout.setAlignment(legend, Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
    plot.layout.setColumnStretchFactor(LEGEND_COLUMN, 0)
    plot.legend = legend  # where PlotItem.addItem puts named items
    return legend
