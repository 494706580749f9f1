"""The Insights dock: its tabs' order, its height in the bottom area, tabs that scroll."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDockWidget

from graph.fileformat import load_graph
from gui.insights.boundary import BoundaryInsight
from gui.insights.tryit import TryItView
from gui.main_window import BOTTOM_HEIGHT, TRAINING_HEIGHT
from gui.session import Session

EXAMPLES = Path(__file__).parents[2] / "resources" / "examples"
TAB_BAR = 40  # the bottom docks' tab bar takes its share of the area's height
LEARNING_ORDER = ["Step", "Data", "Decision boundary", "Gradients", "Health", "Features",
                  "Attention", "Embedding", "Try it"]


def test_the_tabs_follow_a_learners_order(window):
    insights = window.insights
    assert [insights.tabText(i) for i in range(insights.count())] == LEARNING_ORDER
    assert [view.title for view in insights.views] == LEARNING_ORDER


def test_raised_the_dock_gets_room_for_plots(window, qtbot):
    window.set_session(Session(load_graph(EXAMPLES / "mlp_moons.loom")))
    dock = window.insights_dock
    assert dock.height() < TRAINING_HEIGHT - TAB_BAR  # the short bottom area at first
    dock.raise_()
    qtbot.waitUntil(lambda: dock.height() >= TRAINING_HEIGHT - TAB_BAR)
    assert dock.height() <= TRAINING_HEIGHT
    assert window.current_view().height() > 0.5 * window.height()


def test_a_tab_fits_the_dock_and_scrolls_only_below_its_minimum(window, qtbot):
    window.set_session(Session(load_graph(EXAMPLES / "mlp_moons.loom")))
    dock, insights = window.insights_dock, window.insights
    dock.raise_()
    qtbot.waitUntil(lambda: dock.height() >= TRAINING_HEIGHT - TAB_BAR)
    boundary = insights.view(BoundaryInsight)
    insights.setCurrentWidget(boundary)
    assert insights.currentWidget() is boundary
    page = insights.widget(insights.indexOf(boundary))
    # Its wrapping labels ask for more height than the dock has; its plot shrinks to fit.
    qtbot.waitUntil(lambda: not page.verticalScrollBar().isVisible())
    assert boundary.size() == page.viewport().size() == page.size()
    assert boundary.heightForWidth(boundary.width()) > boundary.height()

    tryit = insights.view(TryItView)
    insights.setCurrentWidget(tryit)
    page = insights.widget(insights.indexOf(tryit))
    qtbot.wait(50)  # the tab may grow the dock when shown
    window.resizeDocks([dock], [BOTTOM_HEIGHT], Qt.Orientation.Vertical)  # the user's choice
    qtbot.waitUntil(lambda: dock.height() <= BOTTOM_HEIGHT)
    least = tryit.minimumSizeHint().height()
    assert least > page.viewport().height()  # more than the dock has: it scrolls
    qtbot.waitUntil(lambda: page.verticalScrollBar().isVisible())
    assert tryit.height() == least


def test_the_views_show_only_while_the_dock_is_on_screen(window, qtbot):
    insights = window.insights
    view = insights.currentWidget()
    assert not view.isVisible()  # tabbed behind Problems: nothing loads for nothing
    window.insights_dock.raise_()
    qtbot.waitUntil(view.isVisible)
    window.findChild(QDockWidget, "ProblemsDock").raise_()
    qtbot.waitUntil(lambda: not view.isVisible())


def test_train_keeps_the_insights_a_learner_is_watching(window, qtbot):
    window.set_session(Session(load_graph(EXAMPLES / "mlp_moons.loom")))
    insights = window.insights
    insights.setCurrentWidget(insights.view(BoundaryInsight))
    window.insights_dock.raise_()
    view = insights.currentWidget()
    qtbot.waitUntil(view.isVisible)
    window.training.overrides = {"max_steps_per_epoch": 2, "epochs": 1}
    window.window_actions.train.trigger()
    assert window.training.state != "idle"
    qtbot.wait(100)  # the dock area would have placed a raised Training dock by now
    assert view.isVisible()  # the boundary learning, not the Training dock over it
    qtbot.waitUntil(lambda: window.training.state == "idle", timeout=120_000)
