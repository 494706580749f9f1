"""Computing a view from weights at rest (a finished run's, or fresh ones) on a worker.

The worker gets a snapshot of the document, never the live one, and loads the model
and its data itself (``runtime.inspect.model``); the result arrives on the GUI thread.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Signal

from graph.fileformat import dumps, loads
from gui.background import BackgroundJob
from gui.export_dialog import default_weights
from gui.session import Session

Work = Callable[[Any], dict[str, Any]]  # the inspected model → a record


def weights_text(weights: str) -> str:
    """How the window names where the weights came from."""
    if not weights:
        return "fresh weights (no trained weights yet)"
    path = Path(weights)
    return f"the trained weights of run {path.parent.name}"


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
