"""File helpers of the editor: recent files, the blank document, crash recovery.

Reading and writing documents is ``graph.fileformat``'s job; this module only
decides where recovery copies go and remembers which files were open.
"""

from __future__ import annotations

import json
import os
import time
import uuid
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from PySide6.QtCore import QLockFile, QObject, QSettings, QStandardPaths, QTimer

from graph.builder import NetworkBuilder
from graph.document import Document
from graph.fileformat import save_graph
from gui.session import Session

MAX_RECENT = 10
AUTOSAVE_DELAY_MS = 1_000  # after the last edit: a drag or a burst of typing saves once
AUTOSAVE_SHARE = 0.05  # the delay grows so that saving a large graph takes at most 5 %
AUTOSAVE_MS = 30_000  # at the latest, while edits keep coming


def blank_document() -> Document:
    """A new document: one network with an Input wired to an Output."""
    doc = Document.new("main")
    b = NetworkBuilder(doc, "main")
    b.add("Output", b.add("Input", pos=(0.0, 0.0)), pos=(320.0, 0.0))
    return doc


class RecentFiles:
    """The most recently opened or saved files, newest first, kept in ``QSettings``."""

    KEY = "recent_files"

    def __init__(self, settings: QSettings) -> None:
        self.settings = settings

    def paths(self) -> list[str]:
        value = self.settings.value(self.KEY, [])
        items = [value] if isinstance(value, str) else value if isinstance(value, list) else []
        return [str(p) for p in items if p]

    def add(self, path: Path) -> None:
        text = str(path.resolve())
        self._store([text, *[p for p in self.paths() if p != text]])

    def remove(self, path: str) -> None:
        self._store([p for p in self.paths() if p != path])

    def _store(self, paths: list[str]) -> None:
        self.settings.setValue(self.KEY, paths[:MAX_RECENT])


def recovery_folder() -> Path:
    return data_folder() / "recovery"


def data_folder() -> Path:
    """The user's data folder for Layerloom (recovery copies, the crash log)."""
    base = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.AppDataLocation)
    return Path(base)


@dataclass(frozen=True)
class RecoveryCopy:
    """An autosaved copy left behind by a window that did not close normally."""

    copy: Path
    original: Path | None
    saved_at: datetime

    def discard(self) -> None:
        for path in (self.copy, _meta(self.copy), _lock(self.copy)):
            path.unlink(missing_ok=True)


def _meta(copy: Path) -> Path:
    return copy.with_suffix(".json")


def _lock(copy: Path) -> Path:
    return copy.with_suffix(".lock")


def _owner_gone(copy: Path) -> bool:
    """True when no running window holds ``copy``'s lock (its window closed or was killed)."""
    lock = QLockFile(str(_lock(copy)))
    # Stale only when its process is gone, never by age: a window open for hours still
    # owns its copy.
    lock.setStaleLockTime(0)
    if not lock.tryLock(0):
        return False
    lock.unlock()
    return True


def orphaned_copies(folder: Path | None = None) -> list[RecoveryCopy]:
    """Recovery copies whose window is gone (their lock is free or stale), newest first."""
    folder = folder or recovery_folder()
    found = []
    for copy in folder.glob("recovery-*.loom"):
        if not _owner_gone(copy):
            continue  # another running window still owns it
        try:
            saved_at = datetime.fromtimestamp(copy.stat().st_mtime)
        except OSError:
            continue  # gone meanwhile (another window discarded it)
        try:
            meta = json.loads(_meta(copy).read_text(encoding="utf-8"))
            original = Path(meta["path"]) if meta.get("path") else None
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            original = None
        found.append(RecoveryCopy(copy, original, saved_at))
    return sorted(found, key=lambda f: f.saved_at, reverse=True)


class Autosave(QObject):
    """Keeps the session's unsaved changes in a locked recovery copy: a second after
    the last edit (longer for a graph that takes long to save), at the latest every
    30 s, and at once when a document is attached."""

    def __init__(self, folder: Path | None = None, interval_ms: int = AUTOSAVE_MS,
                 delay_ms: int = AUTOSAVE_DELAY_MS) -> None:
        super().__init__()
        self.folder = folder or recovery_folder()
        self.copy = self.folder / f"recovery-{uuid.uuid4().hex[:12]}.loom"
        self.session: Session | None = None
        self._lock: QLockFile | None = None
        self._timer = QTimer(self)
        self._timer.setInterval(interval_ms)
        self._timer.timeout.connect(self.save_now)
        self._delay_ms = delay_ms
        self._soon = QTimer(self)
        self._soon.setSingleShot(True)
        self._soon.setInterval(delay_ms)
        self._soon.timeout.connect(self.save_now)

    def attach(self, session: Session) -> None:
        """Follow ``session`` from now on; the copy is brought up to date at once (a
        recovered document is kept, a replaced one's stale copy goes)."""
        if self.session is not None:
            self.session.changed.disconnect(self._soon.start)
        self.session = session
        session.changed.connect(self._soon.start)
        if not self._timer.isActive():
            self._timer.start()
        self.save_now()

    @property
    def delay_ms(self) -> int:
        """How long after an edit the copy is written now."""
        return self._soon.interval()

    def save_now(self) -> bool:
        """Write the recovery copy if there are unsaved changes; True when written."""
        self._soon.stop()
        session = self.session
        if session is None or not session.dirty:
            self._remove_copy()
            return False
        self.folder.mkdir(parents=True, exist_ok=True)
        if self._lock is None:
            self._lock = QLockFile(str(_lock(self.copy)))
            self._lock.tryLock(0)
        started = time.perf_counter()
        try:
            # The original's path first: a copy is never found without it.
            original = str(session.path) if session.path else None
            write_atomically(_meta(self.copy), json.dumps({"path": original}))
            save_graph(session.doc, self.copy)
        except OSError as exc:
            session.message.emit(f"Autosave failed: {exc.strerror or exc}")
            return False
        took_ms = (time.perf_counter() - started) * 1000
        self._soon.setInterval(min(self._timer.interval(),
                                   max(self._delay_ms, round(took_ms / AUTOSAVE_SHARE))))
        return True

    def stop(self) -> None:
        """A normal close: no copy is left to recover."""
        self._timer.stop()
        self._soon.stop()
        self._remove_copy()

    def _remove_copy(self) -> None:
        self.copy.unlink(missing_ok=True)
        _meta(self.copy).unlink(missing_ok=True)
        if self._lock is not None:
            self._lock.unlock()
            self._lock = None


def write_atomically(path: Path, text: str) -> None:
    """Write ``text`` so that a crash leaves the old file or the new one, never half."""
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
    except OSError:
        tmp.unlink(missing_ok=True)
        raise
