"""The data set's facts for the Problems panel, found on a worker thread.

Validation checks the Output against the data's targets and the run against
memory, which needs the data set described (a file read, a set generated:
sometimes seconds). ``DataCheck`` does that off the GUI thread, once per data
section, and says ``ready`` when the facts for the current section are known;
until then validation simply runs without them.
"""

from __future__ import annotations

import json
from pathlib import Path

from PySide6.QtCore import QObject, Signal

from graph.datafit import DataFacts
from graph.document import Document
from graph.shapes import ShapeInference
from graph.training import TrainingSpec
from graph.validate import TRAINING, Diagnostic, validate
from gui.background import BackgroundJob

Key = tuple[str, str | None]


def _key(training: TrainingSpec, base_dir: Path | None) -> Key:
    section = {"data": training.data.model_dump(mode="json"), "task": training.task}
    return json.dumps(section, sort_keys=True), str(base_dir) if base_dir else None


def _describe(training: TrainingSpec, base_dir: Path | None) -> DataFacts:
    from runtime.preflight import describe_data

    return describe_data(training, base_dir)


class DataCheck(QObject):
    """Facts of one document's data set, kept for the data section they describe."""

    ready = Signal()

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._job = BackgroundJob(self)
        self._job.done.connect(self._done)
        self._known: tuple[Key, DataFacts | None, str | None] | None = None
        self._running: Key | None = None
        self._wanted: tuple[Key, TrainingSpec, Path | None] | None = None

    def lookup(self, training: TrainingSpec, base_dir: Path | None
               ) -> tuple[DataFacts | None, list[Diagnostic]]:
        """The facts (None until known) and a warning when the data cannot be loaded;
        starts describing the data when this section has not been described yet."""
        key = _key(training, base_dir)
        if self._known is not None and self._known[0] == key:
            _, facts, problem = self._known
            notes = [] if problem is None else [Diagnostic(
                TRAINING, None, "warning",
                f"the data cannot be checked against the network: {problem}")]
            return facts, notes
        self._wanted = (key, training, base_dir)
        self._start()
        return None, []

    def _start(self) -> None:
        if self._job.running or self._wanted is None or self._wanted[0] == self._running:
            return
        key, training, base_dir = self._wanted
        self._running = key
        self._job.start(_describe, training, base_dir, name="data-check")

    def _done(self, facts: DataFacts | None, error: BaseException | None) -> None:
        from runtime.data import DataError

        key, self._running = self._running, None
        if error is not None and not isinstance(error, DataError):
            problem: str | None = f"unexpected {type(error).__name__}: {error}"
        else:
            problem = str(error) if error is not None else None
        if key is not None:
            self._known = (key, facts, problem)
        if self._wanted is not None and self._wanted[0] != key:
            self._start()  # the section changed while this one was being described
        else:
            self._wanted = None
            self.ready.emit()


    def validate(self, doc: Document, shapes: ShapeInference, base_dir: Path | None
                 ) -> list[Diagnostic]:
        """``validate`` with the data's facts once known, and the memory check for runs on
        the CPU (asking a GPU would start CUDA in the window's process; the trainer checks
        the GPU before it starts)."""
        from runtime.preflight import check_memory_diagnostics

        facts, notes = self.lookup(doc.training, base_dir)
        found = validate(doc, shapes, data=facts) + notes
        if not any(d.is_error for d in found):
            found += check_memory_diagnostics(doc, shapes, facts, gpu=False)
        return found
