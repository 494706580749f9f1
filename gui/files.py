"""File helpers of the editor: recent files, the blank document, crash recovery.

Reading and writing documents is ``graph.fileformat``'s job; this module only
decides where recovery copies go and remembers which files were open.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QLockFile, QObject, QSettings, QStandardPaths, QTimer

from graph.builder import NetworkBuilder
from graph.document import Document
from graph.fileformat import save_graph
from gui.session import Session

MAX_RECENT = 10
AUTOSAVE_MS = 30_000


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
    base = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.AppDataLocation)
    return Path(base) / "recovery"


@dataclass(frozen=True)
class RecoveryCopy:
    """An autosaved copy left behind by a window that did not close normally."""

    copy: Path
    original: Path | None

    def discard(self) -> None:
        for path in (self.copy, _meta(self.copy), _lock(self.copy)):
            path.unlink(missing_ok=True)


def _meta(copy: Path) -> Path:
    return copy.with_suffix(".json")


def _lock(copy: Path) -> Path:
    return copy.with_suffix(".lock")


def orphaned_copies(folder: Path | None = None) -> list[RecoveryCopy]:
    """Recovery copies whose window is gone (their lock is free or stale)."""
    folder = folder or recovery_folder()
    found = []
    for copy in sorted(folder.glob("recovery-*.loom")):
        lock = QLockFile(str(_lock(copy)))
        if not lock.tryLock(0):
            continue  # another running window still owns it
        lock.unlock()
        original = None
        try:
            meta = json.loads(_meta(copy).read_text(encoding="utf-8"))
            original = Path(meta["path"]) if meta.get("path") else None
        except (OSError, ValueError, KeyError, TypeError):
            original = None
        found.append(RecoveryCopy(copy, original))
    return found


class Autosave(QObject):
    """Every 30 s, writes the session's unsaved changes to a locked recovery copy."""

    def __init__(self, folder: Path | None = None, interval_ms: int = AUTOSAVE_MS) -> None:
        super().__init__()
        self.folder = folder or recovery_folder()
        self.copy = self.folder / f"recovery-{uuid.uuid4().hex[:12]}.loom"
        self.session: Session | None = None
        self._lock: QLockFile | None = None
        self._timer = QTimer(self)
        self._timer.setInterval(interval_ms)
        self._timer.timeout.connect(self.save_now)

    def attach(self, session: Session) -> None:
        self.session = session
        if not self._timer.isActive():
            self._timer.start()

    def save_now(self) -> bool:
        """Write the recovery copy if there are unsaved changes; True when written."""
        session = self.session
        if session is None or not session.dirty:
            self._remove_copy()
            return False
        self.folder.mkdir(parents=True, exist_ok=True)
        if self._lock is None:
            self._lock = QLockFile(str(_lock(self.copy)))
            self._lock.tryLock(0)
        try:
            save_graph(session.doc, self.copy)
            original = str(session.path) if session.path else None
            _meta(self.copy).write_text(json.dumps({"path": original}), encoding="utf-8")
        except OSError as exc:
            session.message.emit(f"Autosave failed: {exc.strerror or exc}")
            return False
        return True

    def stop(self) -> None:
        """A normal close: no copy is left to recover."""
        self._timer.stop()
        self._remove_copy()

    def _remove_copy(self) -> None:
        self.copy.unlink(missing_ok=True)
        _meta(self.copy).unlink(missing_ok=True)
        if self._lock is not None:
            self._lock.unlock()
            self._lock = None
