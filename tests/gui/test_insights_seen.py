"""Insights draw only what is seen: a hidden tab keeps its newest records and draws them
when shown; records arriving together in one drain are drawn once, at its end."""

from __future__ import annotations

from typing import Any

from gui.insights.data import DataInsight
from gui.insights.gradients import GradientsInsight
from tests.gui.insights_tabs import show_tab


def step(n: int) -> dict[str, Any]:
    return {"type": "step", "epoch": 1, "step": n, "steps": 4, "loss": 1.0,
            "lr": {"main": 0.1}, "grad_norms": {"main": {"a": 1.0 / n}}}


def points(view: GradientsInsight) -> int:
    xs = view.curves[("main", "a")].xData
    return 0 if xs is None else len(xs)


def count_draws(item: Any) -> list[int]:
    """A list that grows by one at each ``setData`` on ``item`` (which still draws)."""
    drawn: list[int] = []
    original = item.setData
    item.setData = lambda *a, **k: (drawn.append(1), original(*a, **k))
    return drawn


def test_a_hidden_tab_draws_nothing_until_shown_then_its_newest_data(window, qtbot):
    view = window.insights.view(GradientsInsight)
    show_tab(window, DataInsight)  # another tab
    qtbot.waitUntil(lambda: not view.isVisible())
    for n in (1, 2, 3):
        view.on_event(step(n))
    assert points(view) == 0  # nothing drawn behind another tab
    window.insights.setCurrentWidget(view)
    qtbot.waitUntil(view.isVisible)
    assert points(view) == 3 and list(view.curves[("main", "a")].yData) == [1.0, 0.5, 1 / 3]


def test_records_of_one_drain_are_drawn_once_at_its_end(window, qtbot):
    view = show_tab(window, GradientsInsight)
    qtbot.waitUntil(view.isVisible)
    view.on_event(step(1))
    curve = view.curves[("main", "a")]
    drawn = count_draws(curve)
    window.training.draining = True  # as inside TrainingController._drain
    for n in (2, 3, 4):
        view.on_event(step(n))
    assert drawn == [] and points(view) == 1
    window.training.draining = False
    window.training.drained.emit()
    assert drawn == [1] and points(view) == 4


def epoch(n: int) -> dict[str, Any]:
    return {"type": "epoch", "epoch": n, "time_s": 1.0, "samples_per_s": 1e4,
            "lr": {"main": 0.01}, "train_loss": 1.0 / n, "val_loss": 1.1 / n,
            "val_accuracy": 0.5 + n / 100}


def test_the_training_curves_wait_while_hidden_and_draw_once_a_drain(window, qtbot):
    panel = window.training_panel
    window.insights_dock.show()
    window.insights_dock.raise_()  # tabbed over the Training dock: the panel is hidden
    qtbot.waitUntil(lambda: not panel.on_screen)
    for n in (1, 2):
        panel.on_event(epoch(n))
    item = panel.loss.items["train_loss"]
    assert panel.loss.data["train_loss"] == ([1, 2], [1.0, 0.5])  # kept
    assert item.xData is None  # not drawn
    window.training_dock.raise_()
    qtbot.waitUntil(lambda: panel.on_screen)
    assert list(item.xData) == [1, 2] and list(panel.metrics.items["val_accuracy"].yData) \
        == [0.51, 0.52]

    drawn = count_draws(item)
    window.training.draining = True  # as inside TrainingController._drain
    for n in (3, 4, 5):
        panel.on_event(epoch(n))
    assert drawn == [] and len(item.xData) == 2
    window.training.draining = False
    window.training.drained.emit()
    assert drawn == [1] and list(item.xData) == [1, 2, 3, 4, 5]
