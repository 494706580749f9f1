"""The Gradients tab as read in a real window: its log axis labels and its curve colours."""

from __future__ import annotations

import math
from itertools import pairwise

from PySide6.QtGui import QImage, QPainter

from gui.insights.boundary import class_colour
from gui.insights.gradients import GradientsInsight
from tests.gui.insights_tabs import show_tab


def shown(window, qtbot) -> GradientsInsight:
    view = show_tab(window, GradientsInsight)
    qtbot.waitUntil(view.isVisible)
    return view


def test_the_log_axis_labels_decades_and_never_piles_them_up(window, qtbot):
    view = shown(window, qtbot)
    view.norms_widget.setFixedHeight(160)  # short, as in the docked window
    for step, norms in enumerate(({"a": 0.6, "b": 0.4}, {"a": 0.3, "b": 0.02}), start=1):
        view.on_event({"type": "step", "epoch": 1, "step": step, "steps": 2, "lr": {},
                       "grad_norms": {"main": norms}})
    qtbot.wait(50)  # the plot lays itself out
    axis = view.norms.getAxis("left")
    image = QImage(10, 10, QImage.Format.Format_ARGB32)
    painter = QPainter(image)
    try:
        _axis, _ticks, texts = axis.generateDrawSpecs(painter)
    finally:
        painter.end()
    labels = [float(text) for _rect, _flags, text in texts]
    assert 0.1 in labels  # the decade the curves cross
    for value in labels:  # 1, 2 or 5 times a power of ten: nothing like 0.3 or 0.07
        mantissa = round(value / 10 ** math.floor(math.log10(value) + 1e-9), 6)
        assert mantissa in (1, 2, 5), labels
    rects = sorted((rect for rect, _flags, _text in texts), key=lambda r: r.top())
    for upper, lower in pairwise(rects):
        assert upper.bottom() <= lower.top() + 1, labels  # no two labels overlap


def test_the_layers_take_the_decision_boundarys_class_colours(window, qtbot):
    # the old nine-hue wheel gave fc1, fc2 and scores dark red, olive and yellow-green
    view = shown(window, qtbot)
    view.on_event({"type": "step", "epoch": 1, "step": 1, "steps": 2, "lr": {},
                   "grad_norms": {"main": {f"n{i}": 0.1 * (i + 1) for i in range(9)}}})
    colours = [curve.opts["pen"].color().getRgb()[:3] for curve in view.curves.values()]
    assert colours == [class_colour(i) for i in range(9)]
    assert len(set(colours)) == 8  # eight distinct, then round again
