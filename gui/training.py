"""Training from the window: one background run at a time, its events as Qt signals.

The run is ``runtime.runner.Runner`` (a spawned process), so the event loop never
waits on torch: a timer drains the run's events about 30 times a second and hands
them on, for a few milliseconds a turn at most: a burst (an epoch's records arrive
together) is spread over the next turns, in order, so the window keeps answering.
The run trains a snapshot of the document taken when it starts; editing on
meanwhile changes nothing in it.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, QTimer, Signal

from gui.session import Session
from runtime.events import run_event
from runtime.runs import claim_run_folder

if TYPE_CHECKING:
    from runtime.runner import Runner

LOADING = "PyTorch is still loading"
BUSY = "a run is already under way: stop it first"
# An event waits for the next poll before it is drawn: 16 ms keeps new data on the plots
# well inside 50 ms of being sent; a poll that finds nothing costs a pipe check.
POLL_MS = 16
DRAIN_BUDGET_S = 0.008  # events handed on per turn until this is spent; the rest wait a turn


class TrainingController(QObject):
    """Starts, pauses and stops the run and relays what it reports."""

    reported = Signal(object)  # every TelemetryEvent (runtime.events), as the runtime sent it
    state_changed = Signal(str)  # "idle", "running", "paused" or "stopping"
    drained = Signal()  # a turn's events were handed on: views draw what they kept
    weights_saved = Signal(object)  # the folder of a run that ended with its weights written

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.runner: Runner | None = None
        self.state = "idle"
        self.out_dir: Path | None = None
        self.overrides: dict[str, Any] = {}  # extra RunOptions (tests shorten epochs)
        self._timer = QTimer(self)
        self._timer.setInterval(POLL_MS)
        self._timer.timeout.connect(self._drain)
        self._checkpointed = False  # whether this run has written a checkpoint yet
        self.draining = False  # handing on a turn's events (views wait for ``drained``)
        self.budget_s = DRAIN_BUDGET_S

    @property
    def active(self) -> bool:
        return self.state != "idle"

    def start(self, session: Session, **options: Any) -> str | None:
        """Start training ``session``'s document; the reason it cannot, if it cannot.
        ``options`` are more ``RunOptions`` (continuing a run: ``resume``, ``epochs``)."""
        if self.active:
            return BUSY
        if not session.shapes_complete:  # validation needs torch, still loading
            return LOADING
        session.validate_now()
        if self.state != "idle":  # validating let a queued start run first
            return BUSY
        errors = [d for d in session.diagnostics if d.is_error]
        if errors:
            first = errors[0].message
            more = f" (and {len(errors) - 1} more, listed in Problems)" if len(errors) > 1 else ""
            return f"cannot train while the document has errors: {first}{more}"
        # Imported here: the runtime brings torch, which the window loads in the background.
        from runtime.run_options import RunOptions
        from runtime.runner import Runner

        self.out_dir = claim_run_folder(session.path)
        base_dir = session.path.parent if session.path is not None else None
        run_options = RunOptions(out_dir=self.out_dir, base_dir=base_dir,
                                 init_weights=session.init_weights,
                                 **{**self.overrides, **options})
        runner = Runner(session.doc, run_options)
        try:
            runner.start()
        except (OSError, RuntimeError) as exc:  # no process could be started
            return f"the training process could not start: {exc}"
        self.runner = runner
        if session.path is None:  # a temporary folder: it moves beside the file on saving
            session.unsaved_runs.append(self.out_dir)
        self._checkpointed = False
        self._set_state("running")
        self._timer.start()
        return None

    def pause(self) -> None:
        if self.runner is not None and self.state == "running":
            self.runner.pause()
            self._set_state("paused")

    def resume(self) -> None:
        if self.runner is not None and self.state == "paused":
            self.runner.resume()
            self._set_state("running")

    def toggle_pause(self) -> None:
        if self.state == "paused":
            self.resume()
        else:
            self.pause()

    def stop(self) -> None:
        """Ask the run to stop after its current step (it then saves and reports); asked
        again while it is stopping, end it at once."""
        if self.runner is None:
            return
        if self.state in ("running", "paused"):
            self.runner.stop()
            self._set_state("stopping")
        elif self.state == "stopping":
            self._abandon("stopped by force before it could save its weights")

    def shutdown(self) -> None:
        """End any run now (the window is closing)."""
        if self.runner is not None:
            self._abandon("ended when the window closed")

    def _abandon(self, why: str) -> None:
        runner = self.runner
        assert runner is not None
        if not runner.running and runner.ended is None:
            self._drain(everything=True)  # it ended by itself: its last events say how
            if self.runner is None:
                return
        kept = f"; the last checkpoint is in {self.out_dir}" if self._checkpointed else ""
        self.reported.emit(runner.abandon(f"training {why}{kept}"))
        self._finish()

    def _drain(self, everything: bool = False) -> None:
        """Hand on the run's events in order until ``budget_s`` is spent (or all that
        have arrived); those left stay queued in the runner for the next turn."""
        runner = self.runner
        if runner is None:
            return
        deadline = None if everything else time.perf_counter() + self.budget_s
        self.draining = True
        try:
            while deadline is None or time.perf_counter() < deadline:
                polled = runner.poll(1)  # one, or one and the crash its death implies
                if not polled:
                    break
                for telemetry in polled:
                    self._hand_on(telemetry)
        finally:
            self.draining = False
            self.drained.emit()
        # the terminal event is the run's last: once polled, it has been handed on
        if runner.ended is not None and self.runner is runner:
            self._finish()

    def _hand_on(self, telemetry: Any) -> None:
        event = run_event(telemetry)
        if event is not None and event["type"] == "checkpoint":
            self._checkpointed = True
        self.reported.emit(telemetry)
        if event is not None and event["type"] == "finished" and event["epochs_done"] > 0:
            self.weights_saved.emit(self.out_dir)  # a run stopped at once trained nothing

    def _finish(self) -> None:
        self._timer.stop()
        self.runner = None
        self._set_state("idle")

    def _set_state(self, state: str) -> None:
        if state != self.state:
            self.state = state
            self.state_changed.emit(state)
