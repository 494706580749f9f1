"""The data set's facts for the Problems panel, found on a worker thread.

Validation checks the Output against the data's targets and the run against
memory, which needs the data set described (a file read, a set generated:
sometimes seconds). ``DataCheck`` does that off the GUI thread, once per data
section, and says ``ready`` when the facts for the current section are known;
until then validation simply runs without them.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path

from PySide6.QtCore import QObject, QTimer, Signal

from graph.datafit import DataFacts
from graph.document import Document
from graph.shapes import ShapeInference
from graph.training import TrainingSpec
from graph.validate import Diagnostic, validate
from gui.background import start_worker

Key = tuple[str, str | None]
POLL_MS = 50


def _key(training: TrainingSpec, base_dir: Path | None) -> Key:
    section = {"data": training.data.model_dump(mode="json"), "task": training.task}
    return json.dumps(section, sort_keys=True), str(base_dir) if base_dir else None


def _describe(training: TrainingSpec, base_dir: Path | None) -> DataFacts:
    from runtime.preflight import describe_data

    return describe_data(training, base_dir)


class _Work:
    """One description of the data on a daemon thread (a window closed meanwhile does not
    wait for it)."""

    def __init__(self, key: Key, training: TrainingSpec, base_dir: Path | None) -> None:
        self.key = key
        self.facts: DataFacts | None = None
        self.problem: Diagnostic | None = None
        self.finished = threading.Event()
        start_worker(self._run, training, base_dir, name="data-check")

    def _run(self, training: TrainingSpec, base_dir: Path | None) -> None:
        from runtime.preflight import data_problem

        try:
            self.facts = _describe(training, base_dir)
        except Exception as exc:  # a bug reading the data is said too: never raised here
            self.problem = data_problem(exc)
        finally:
            self.finished.set()


class DataCheck(QObject):
    """Facts of one document's data set, kept for the data section they describe."""

    ready = Signal()

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._known: tuple[Key, DataFacts | None, Diagnostic | None] | None = None
        self._work: _Work | None = None
        self._wanted: tuple[Key, TrainingSpec, Path | None] | None = None
        self._poll = QTimer(self)
        self._poll.setInterval(POLL_MS)
        self._poll.timeout.connect(self._check)

    def lookup(self, training: TrainingSpec, base_dir: Path | None
               ) -> tuple[DataFacts | None, list[Diagnostic]]:
        """The facts (None until known) and what stopped describing the data, if anything;
        starts describing the data when this section has not been described yet."""
        key = _key(training, base_dir)
        if self._known is not None and self._known[0] == key:
            _, facts, problem = self._known
            return facts, [] if problem is None else [problem]
        self._wanted = (key, training, base_dir)
        self._start()
        return None, []

    def stop(self) -> None:
        """Forget pending work (the document is closing)."""
        self._poll.stop()
        self._work = self._wanted = None

    def _start(self) -> None:
        if self._work is not None or self._wanted is None:
            return
        self._work = _Work(*self._wanted)
        self._poll.start()

    def _check(self) -> None:
        work = self._work
        if work is None or not work.finished.is_set():
            return
        self._work = None
        self._poll.stop()
        self._known = (work.key, work.facts, work.problem)
        if self._wanted is not None and self._wanted[0] != work.key:
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
