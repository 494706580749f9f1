"""Import torch off the GUI thread, so the window appears before torch has loaded.

Shape inference, compilation and code generation need torch; everything else
(the document, the catalog, files) does not. ``TorchWarmup`` imports torch in a
worker thread and tells the GUI thread, through a polling timer, once it is ready.
"""

from __future__ import annotations

import importlib
import threading
from collections.abc import Callable

from PySide6.QtCore import QObject, QTimer, Signal


class TorchWarmup(QObject):
    """Loads torch once per process; ``when_ready`` runs callbacks on the GUI thread."""

    ready = Signal()

    def __init__(self) -> None:
        super().__init__()
        self._loaded = threading.Event()
        self._thread: threading.Thread | None = None
        self._ready = False
        self._poll = QTimer(self)
        self._poll.setInterval(30)
        self._poll.timeout.connect(self._check)

    @property
    def is_ready(self) -> bool:
        return self._ready

    def start(self) -> None:
        """Begin importing torch in the background (no-op when already started)."""
        if self._ready or self._thread is not None:
            return
        self._thread = threading.Thread(target=self._load, name="torch-import", daemon=True)
        self._thread.start()
        self._poll.start()

    def load_now(self) -> None:
        """Import torch on this thread (tests, and when a caller cannot wait)."""
        if not self._ready:
            importlib.import_module("torch")
            self._loaded.set()
            self._check()

    def when_ready(self, callback: Callable[[], None], start: bool = True) -> None:
        """Call ``callback`` now if torch is loaded, else once it is (on the GUI thread);
        ``start=False`` leaves starting the import to the caller."""
        if self._ready:
            callback()
        else:
            self.ready.connect(callback)
            if start:
                self.start()

    def _load(self) -> None:
        importlib.import_module("torch")
        _warm_shapes()
        self._loaded.set()

    def _check(self) -> None:
        if self._loaded.is_set() and not self._ready:
            self._ready = True
            self._poll.stop()
            self.ready.emit()


def _warm_shapes() -> None:
    """Infer a scratch network once: torch loads more modules lazily on first use.

    The document is private to this thread, so nothing is shared with the GUI.
    """
    from graph.builder import NetworkBuilder
    from graph.document import Document
    from graph.shapes import infer_network
    from graph.summary import summarize

    doc = Document.new("warmup")
    b = NetworkBuilder(doc, "warmup")
    x = b.add("Input", shape=[1, 8, 8])
    x = b.chain(x, ("Conv2d", {}), ("BatchNorm2d", {}), ("ReLU", {}), ("MaxPool2d", {}),
                ("Flatten", {}), ("Linear", {}), ("Dropout", {}))
    b.add("Output", x)
    infer_network(doc.network("warmup"))
    # The first FLOP count imports torch._dynamo (1.5 s of CPU, 5-12 s on a busy machine):
    # here, not on the GUI thread when the Summary panel first refreshes (at Train).
    summarize(doc, "warmup")


_WARMUP: TorchWarmup | None = None


def warmup() -> TorchWarmup:
    """The process-wide warm-up (created on first use, on the GUI thread)."""
    global _WARMUP
    if _WARMUP is None:
        _WARMUP = TorchWarmup()
    return _WARMUP
