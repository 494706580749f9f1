"""Background runs: training in a spawned process that streams telemetry events.

The child is started with the ``spawn`` method (CUDA does not survive ``fork``,
and forking a process that runs a Qt event loop can deadlock). A crash, an
out-of-memory kill or a ``kill()`` of the child never takes the caller down: the
caller learns what happened from ``poll()``. The child runs at a lower priority
and, on few cores, leaves one core to the caller so its window stays responsive.
"""

from __future__ import annotations

import contextlib
import functools
import multiprocessing as mp
import os
import queue
import signal
import traceback
from dataclasses import replace
from typing import Any

from graph.document import Document
from graph.fileformat import dumps, loads
from runtime.events import CrashedEvent, EndEvent, FailedEvent, TelemetryEvent, end_event
from runtime.run_options import RunOptions


def default_threads() -> int:
    """Training threads: all cores but one for the caller (at least one)."""
    return max(1, (os.cpu_count() or 2) - 1)


def _child_main(doc_text: str, options: RunOptions, events: Any, stop: Any, pause: Any,
                requests: Any = None) -> None:
    """Entry point of the training process (must be importable for ``spawn``)."""
    from runtime.control import RunControl
    from runtime.inspect.step_request import answer
    from runtime.trainer import Trainer, TrainingFailed

    with contextlib.suppress(AttributeError, OSError):  # no nice() here, or not allowed
        os.nice(5)
    try:
        doc = loads(doc_text)
        control = RunControl(stop, pause, requests)
        trainer = Trainer(doc, options, events.put, control)
        control.answer = functools.partial(answer, trainer)
        trainer.run()
    except TrainingFailed as exc:
        events.put(FailedEvent(type="failed", message=str(exc), node=exc.node_id,
                               network=exc.network))
    except Exception as exc:
        events.put(FailedEvent(type="failed", message=f"{type(exc).__name__}: {exc}",
                               node=None, network=None, traceback=traceback.format_exc()))
    finally:
        events.close()
        events.join_thread()


class Runner:
    """Train a document in the background; drain its events with ``poll()``."""

    def __init__(self, doc: Document, options: RunOptions | None = None) -> None:
        options = options or RunOptions()
        if options.threads is None:
            options = replace(options, threads=default_threads())
        self.options = options
        self._doc_text = dumps(doc)  # documents cross the process boundary as data
        self._ctx = mp.get_context("spawn")
        self._events: Any = self._ctx.Queue()
        self._stop = self._ctx.Event()
        self._pause = self._ctx.Event()
        self._requests: Any = self._ctx.Queue()  # the window's questions to a paused run
        self._process: Any = None
        self._abandoned = False
        self.ended: EndEvent | None = None  # the terminal event, once seen

    def start(self) -> None:
        self._process = self._ctx.Process(
            target=_child_main, name="layerloom-trainer", daemon=True,
            args=(self._doc_text, self.options, self._events, self._stop, self._pause,
                  self._requests),
        )
        self._process.start()

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.is_alive() and self.ended is None

    def pause(self) -> None:
        self._pause.set()

    def resume(self) -> None:
        self._pause.clear()

    def request(self, request: dict[str, Any]) -> None:
        """Ask the paused run something (``runtime.inspect.step_request``); the answer
        comes as an event. Asked while running, it is answered at the next pause."""
        self._requests.put(request)

    def stop(self) -> None:
        """Ask the trainer to stop after the current step (it then saves and reports)."""
        self._stop.set()
        self._pause.clear()

    def kill(self) -> None:
        """End the training process at once (its last checkpoint stays on disk)."""
        if self._process is not None and self._process.is_alive():
            self._process.kill()

    def abandon(self, message: str) -> EndEvent:
        """Kill the process and end the run with ``message``, reading nothing more from it:
        a child killed halfway through sending an event leaves a partial message that
        would block the next read for good."""
        self.kill()
        if self._process is not None:
            self._process.join(timeout=5)
        if self.ended is None:
            self.ended = CrashedEvent(type="crashed", exitcode=None, message=message)
        self._abandoned = True
        return self.ended

    def poll(self, limit: int = 1000) -> list[TelemetryEvent]:
        """Events that have arrived (never blocks); a dead child yields a 'crashed' event."""
        out: list[TelemetryEvent] = []
        if self._abandoned:
            return out
        while len(out) < limit:
            try:
                event = self._events.get_nowait()
            except queue.Empty:
                break
            except (EOFError, OSError):  # the child died mid-message
                break
            out.append(event)
            ended = end_event(event)
            if ended is not None:
                self.ended = ended
        if self.ended is None and self._process is not None and not self._process.is_alive() \
                and self._events.empty():
            self.ended = self._crashed_event()
            out.append(self.ended)
        return out

    def _crashed_event(self) -> CrashedEvent:
        code = self._process.exitcode
        if code is not None and code < 0:
            name = signal.Signals(-code).name if -code in signal.Signals._value2member_map_ \
                else str(-code)
            how = f"was killed by signal {name}"
            if name == "SIGKILL":
                how += " (killed by the user, or by the system when memory ran out)"
        else:
            how = f"exited with code {code}"
        message = f"the training process {how} before finishing"
        if self.options.out_dir:
            message += f"; the last checkpoint is in {self.options.out_dir}"
        return CrashedEvent(type="crashed", exitcode=code, message=message)

    def wait(self, timeout: float | None = None) -> list[TelemetryEvent]:
        """Block until the run ends (or ``timeout``); returns every event seen meanwhile."""
        import time

        deadline = None if timeout is None else time.monotonic() + timeout
        events: list[TelemetryEvent] = []
        while self.ended is None:
            events += self.poll()
            if deadline is not None and time.monotonic() > deadline:
                break
            if self.ended is None:
                time.sleep(0.02)
        if self._process is not None:
            self._process.join(timeout=5)
        return events
