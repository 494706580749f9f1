"""The window's views of a network learning: one tab each in the Insights dock.

Every view is an ``Insight``: a widget that draws records computed by
``runtime.inspect`` (streamed by a run as telemetry events, or computed on a worker
thread from a run's weights). Views never run torch on the GUI thread, and draw
only what is seen: a hidden view keeps its newest record and draws it when shown.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtGui import QShowEvent
from PySide6.QtWidgets import QWidget

from gui.session import Session
from gui.training import TrainingController


class Insight(QWidget):
    """One tab of the Insights dock. Subclasses override what they need."""

    title = ""
    node_named = Signal(str, str)  # (network, node id): select that node on the canvas

    def __init__(self, controller: TrainingController) -> None:
        super().__init__()
        self.controller = controller
        self.session: Session | None = None
        self._waiting: dict[str, Callable[[], None]] = {}  # drawings not yet made, by kind
        controller.drained.connect(self.draw_waiting)

    def draw_when_seen(self, kind: str, draw: Callable[[], None]) -> None:
        """Call ``draw`` (which draws the view's newest ``kind`` of record) now, or
        once it is worth it: a hidden view draws when shown; while the run's events
        are being handed on, at the end of that turn, so of several records of one
        kind arriving together only the last is drawn."""
        if self.isVisible() and not self.controller.draining:
            self._waiting.pop(kind, None)
            draw()
        else:
            self._waiting[kind] = draw

    def draw_waiting(self) -> None:
        """Make the drawings that waited, if the view is seen."""
        if self.isVisible() and self._waiting:
            waiting, self._waiting = self._waiting, {}
            for draw in waiting.values():
                draw()

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        self.draw_waiting()

    def set_session(self, session: Session) -> None:
        """A document was opened (or made): forget the previous one's records."""
        self.session = session
        self.clear()

    def applies(self) -> bool:
        """Whether this view has anything to show for the open document (else its tab
        is hidden)."""
        return True

    def on_event(self, event: dict[str, Any]) -> None:
        """Every telemetry event of the window's run, in order."""

    def on_selection(self, network: str, node_id: str | None) -> None:
        """The canvas selection changed (one node, or none)."""

    def clear(self) -> None:
        """Drop what is shown (a new run starts, or another document opens)."""


def insight_classes() -> list[type[Insight]]:
    """The tabs of the Insights dock, in order.

    The order is a learner's: one training step, the data, what the model predicts,
    how it learns (gradients, health), what its layers learn, then trying it.
    """
    from gui.insights.attention import AttentionView
    from gui.insights.boundary import BoundaryInsight
    from gui.insights.data import DataInsight
    from gui.insights.embedding import EmbeddingView
    from gui.insights.features import FeaturesView
    from gui.insights.gradients import GradientsInsight
    from gui.insights.health import HealthInsight
    from gui.insights.step import StepView
    from gui.insights.tryit import TryItView

    found: list[type[Insight]] = [StepView, DataInsight, BoundaryInsight, GradientsInsight,
                                  HealthInsight, FeaturesView, AttentionView, EmbeddingView,
                                  TryItView]
    return found
