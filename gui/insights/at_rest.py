"""Computing a view from weights at rest (a finished run's, or fresh ones) on a worker.

The worker gets a snapshot of the document, never the live one, and loads the model
and its data itself (``runtime.inspect.model``); the result arrives on the GUI thread.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from graph.fileformat import dumps, loads
from gui.background import BackgroundJob
from gui.export_dialog import default_weights
from gui.insights import Insight
from gui.session import Session
from gui.training import TrainingController

Work = Callable[[Any], dict[str, Any]]  # the inspected model → a record


def weights_text(weights: str) -> str:
    """How the window names where the weights came from."""
    if not weights:
        return "fresh weights (no trained weights yet)"
    path = Path(weights)
    return f"the trained weights of run {path.parent.name}"


def trains_for(session: Session | None, tasks: tuple[str, ...]) -> bool:
    """Whether ``session`` trains some network for one of ``tasks`` (the views of its
    trained model apply only then)."""
    if session is None:
        return False
    training = session.doc.training
    return training.task in tasks and bool(training.networks)


def _compute(doc_text: str, weights: str, base_dir: Path | None, work: Work) -> dict[str, Any]:
    from runtime.inspect.model import inspect_model

    model = inspect_model(loads(doc_text), weights or None, base_dir)
    return work(model)


class AtRest(QObject):
    """One computation at a time from the session's newest weights; ``done(record,
    message)``: the record, or why there is none (for the user)."""

    done = Signal(object, str)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.job = BackgroundJob(self, blocks_close=False)  # it only reads
        self.job.done.connect(self._finished)
        self.source = ""

    @property
    def running(self) -> bool:
        return self.job.running

    def start(self, session: Session, work: Work) -> None:
        weights = default_weights(session)
        self.source = weights_text(weights)
        base_dir = session.path.parent if session.path is not None else None
        self.job.start(_compute, dumps(session.doc), weights, base_dir, work, name="insight")

    def _finished(self, result: object, error: object) -> None:
        if error is None and isinstance(result, dict):
            self.done.emit(result, "")
            return
        self.done.emit(None, _message(error))


def _message(error: object) -> str:
    from runtime.checkpoint import WeightsError
    from runtime.data import DataError

    if isinstance(error, (WeightsError, DataError, ValueError)):
        return str(error)
    return f"could not compute this view: {type(error).__name__}: {error}"


class AtRestView(Insight):
    """A view of records that come from the run or, on “Show for trained weights”, from
    weights at rest (``work``, with ``computing`` in the status meanwhile). A record is
    shown once the view is seen, by the subclass's ``draw_record``."""

    def __init__(self, controller: TrainingController, work: Work, computing: str) -> None:
        super().__init__(controller)
        self._work = work
        self._computing = computing
        self._incoming: tuple[dict[str, Any], str] | None = None  # a record not yet shown
        self.record: dict[str, Any] | None = None
        self.source = ""  # where the record's weights came from, in words
        self.status = QLabel()
        self.status.setWordWrap(True)
        self.compute_button = QPushButton("Show for trained weights")
        self.at_rest = AtRest(self)
        self.at_rest.done.connect(self._computed)
        self.compute_button.clicked.connect(self.compute)
        controller.state_changed.connect(lambda _s: self._enable())

    def clear(self) -> None:
        self.record = None
        self._incoming = None
        self.source = ""

    def compute(self) -> None:
        if self.session is None or self.at_rest.running:
            return
        self.status.setText(self._computing)
        self.at_rest.start(self.session, self._work)
        self._enable()

    def _computed(self, record: object, message: str) -> None:
        self._enable()
        if isinstance(record, dict):
            self.show_record(record, self.at_rest.source)
        else:
            self.status.setText(f"<b>Not shown:</b> {message}")

    def idle(self) -> bool:
        """Whether weights at rest may be used now: no run, no computation under way."""
        return not self.controller.active and not self.at_rest.running

    def _enable(self) -> None:
        self.compute_button.setEnabled(self.idle())

    def show_record(self, record: dict[str, Any], source: str) -> None:
        """Show ``record`` once the view is seen (the newest of those that waited)."""
        self._incoming = (record, source)
        self.draw_when_seen("record", self._show_incoming)

    def _show_incoming(self) -> None:
        if self._incoming is None:
            return
        (record, source), self._incoming = self._incoming, None
        self.draw_record(record, source)

    def draw_record(self, record: dict[str, Any], source: str) -> None:
        """Draw ``record``, computed from the weights named by ``source``."""
        raise NotImplementedError


def column(owner: QWidget, header: QWidget, controls: tuple[QWidget, ...],
           margin: int) -> QVBoxLayout:
    """``owner``'s layout: ``header`` over a row of ``controls``; the caller adds what
    they control below."""
    row = QHBoxLayout()
    for widget in controls:
        row.addWidget(widget)
    row.addStretch(1)
    layout = QVBoxLayout(owner)
    layout.setContentsMargins(margin, margin, margin, margin)
    layout.addWidget(header)
    layout.addLayout(row)
    return layout
