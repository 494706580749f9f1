"""Writing text with a trained language model from the window, streamed as it is made.

``runtime.generate`` runs on a worker thread and puts each new piece of text on a
queue; a timer on the GUI thread drains it about 30 times a second, so the event
loop never waits on torch and the text grows on screen while the model writes.
Stop is a flag the worker reads between tokens.
"""

from __future__ import annotations

import queue
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, QTimer, Signal

from gui.background import start_worker

POLL_MS = 33
SKIP_UNKNOWN = "tick 'Leave out unknown characters'"  # the panel's way to skip them


@dataclass(frozen=True)
class Request:
    """What to write: the document the weights were trained with, and the sampling."""

    doc: Any  # graph.Document (imported lazily: it is light, the runtime is not)
    weights: Path
    prompt: str
    tokens: int
    temperature: float
    top_k: int | None
    seed: int | None
    skip_unknown: bool = False


class TextWriter(QObject):
    """Runs one generation at a time; ``wrote`` streams its text, ``ended`` says how it
    ended: ("done" | "stopped" | "failed", a message for the user)."""

    prompt_shown = Signal(str)  # the prompt as the tokenizer reads it back
    noted = Signal(str)  # e.g. prompt characters left out
    wrote = Signal(str)
    ended = Signal(str, str)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._discard = False  # drop what the writer still sends (another document is open)
        self._queue: queue.Queue[tuple[str, str]] = queue.Queue()
        self._timer = QTimer(self)
        self._timer.setInterval(POLL_MS)
        self._timer.timeout.connect(self._drain)

    @property
    def running(self) -> bool:
        return self._thread is not None

    def start(self, request: Request) -> None:
        if self.running:
            raise RuntimeError("a generation is already running")
        import runtime.generate  # noqa: F401  imported here, not on the worker thread

        self._stop = threading.Event()
        self._discard = False
        self._queue = queue.Queue()
        self._thread = start_worker(_write, request, self._queue, self._stop, name="generate")
        self._timer.start()

    def stop(self) -> None:
        """Ask the writer to stop after its current token (it then reports "stopped")."""
        self._stop.set()

    def discard(self) -> None:
        """Stop, and show nothing more of this writing (it then reports "stopped")."""
        self._discard = True
        self.stop()

    def _drain(self) -> None:
        pieces: list[str] = []  # what came between messages, shown in one go
        while True:
            try:
                kind, text = self._queue.get_nowait()
            except queue.Empty:
                break
            if self._discard and kind in ("text", "prompt", "note"):
                continue
            if kind == "text":
                pieces.append(text)
                continue
            self._flush(pieces)
            pieces = []
            if kind == "prompt":
                self.prompt_shown.emit(text)
            elif kind == "note":
                self.noted.emit(text)
            else:
                self._finish(kind, text)
                return
        self._flush(pieces)

    def _flush(self, pieces: list[str]) -> None:
        if pieces:
            self.wrote.emit("".join(pieces))

    def _finish(self, status: str, message: str) -> None:
        self._timer.stop()
        thread, self._thread = self._thread, None
        if thread is not None:
            thread.join()  # it has put its last item: it is returning
        self.ended.emit(status, message)


def _write(request: Request, out: queue.Queue[tuple[str, str]], stop: threading.Event) -> None:
    import torch

    from runtime.cli_run import user_errors
    from runtime.generate import generate, load_text_model, prompt_ids

    threads = torch.get_num_threads()
    # One short sequence at a time: a second thread mostly waits, and while a run trains
    # beside it on every core, waiting threads made a small GPT's tokens ~80 times slower.
    torch.set_num_threads(1)
    try:
        model = load_text_model(request.doc, request.weights)
        ids, note = prompt_ids(model.tokenizer, request.prompt, request.skip_unknown,
                               remedy=SKIP_UNKNOWN)
        out.put(("prompt", model.tokenizer.decode(ids)))
        if note:
            out.put(("note", note))
        for piece in generate(model, ids, request.tokens, request.temperature, request.top_k,
                              request.seed):
            out.put(("text", piece))
            if stop.is_set():
                out.put(("stopped", ""))
                return
    except user_errors() as exc:
        out.put(("failed", str(exc)))
        return
    except Exception as exc:  # reported in the panel, never a crash of the window
        out.put(("failed", f"{type(exc).__name__}: {exc}"))
        return
    finally:
        torch.set_num_threads(threads)
    out.put(("done", ""))
