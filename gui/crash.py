"""Unexpected errors in the window: the documents first, then the log, then a dialog.

PySide6 hands an exception raised in a slot to ``sys.excepthook``, and Python hands an
uncaught one of a worker thread to ``threading.excepthook``; ``CrashReporter`` takes
both. The open documents are saved to their recovery copies before anything else can
go wrong, the traceback is appended to ``crash.log`` in the user's data folder, and a
short dialog says what happened and where the details are. The window keeps running.
"""

from __future__ import annotations

import os
import platform
import sys
import threading
import traceback
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from types import TracebackType

from PySide6 import __version__ as pyside_version
from PySide6.QtCore import QObject, QThread, QUrl, Signal
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import QApplication, QWidget

from graph.fileformat import APP_VERSION
from gui.crash_dialog import CrashDialog
from gui.files import data_folder
from gui.main_window import MainWindow

LOG_NAME = "crash.log"
MAX_LOG_BYTES = 512 * 1024  # then the log moves to crash.log.1: two logs at most
MAX_ENTRY_CHARS = 32_000  # a traceback that quotes a huge value is cut
MAX_LOGGED = 50  # per run: an error in a paint handler would repeat on every frame

ExcInfo = tuple[type[BaseException], BaseException, TracebackType | None]


def keep_documents() -> list[str]:
    """Save every window's unsaved changes to its recovery copy; one line per document."""
    lines = []
    for widget in QApplication.topLevelWidgets():
        if not isinstance(widget, MainWindow) or widget.session is None:
            continue
        name = widget.session.display_name
        if not widget.session.dirty:
            lines.append(f"{name}: no unsaved changes")
        elif widget.autosave is None:
            lines.append(f"{name}: unsaved changes (autosave is off)")
        else:
            try:
                kept = widget.autosave.save_now()
            except Exception as exc:  # the document itself may be what broke
                lines.append(f"{name}: the recovery copy failed ({type(exc).__name__}: {exc})")
                continue
            lines.append(f"{name}: your unsaved changes are kept in a recovery copy" if kept
                         else f"{name}: the recovery copy failed (see the status bar)")
    return lines


class CrashReporter(QObject):
    """Installs itself as the process's exception hooks; one dialog at a time."""

    _from_thread = Signal(object)  # ExcInfo raised on another thread

    def __init__(self, folder: Path | None = None,
                 keep: Callable[[], list[str]] = keep_documents) -> None:
        super().__init__()
        self.folder = folder or data_folder()
        self.log = self.folder / LOG_NAME
        self.keep = keep
        self.dialog: CrashDialog | None = None
        self.logged = 0
        self._from_thread.connect(self._report_info)

    def install(self) -> None:
        sys.excepthook = self.excepthook
        threading.excepthook = self._thread_excepthook

    def excepthook(self, kind: type[BaseException], value: BaseException,
                   tb: TracebackType | None) -> None:
        if issubclass(kind, KeyboardInterrupt):
            sys.__excepthook__(kind, value, tb)
            return
        app = QApplication.instance()
        if app is not None and QThread.currentThread() is not app.thread():
            self._from_thread.emit((kind, value, tb))  # queued to the GUI thread
            return
        self.report(kind, value, tb)

    def _thread_excepthook(self, args: threading.ExceptHookArgs) -> None:
        if args.exc_value is None or issubclass(args.exc_type, SystemExit):
            return
        self._from_thread.emit((args.exc_type, args.exc_value, args.exc_traceback))

    def _report_info(self, info: ExcInfo) -> None:
        self.report(*info)

    def report(self, kind: type[BaseException], value: BaseException,
               tb: TracebackType | None) -> None:
        """Keep the documents, log the traceback and show (or update) the dialog."""
        details = "".join(traceback.format_exception(kind, value, tb))
        if self.dialog is not None:
            # A repeat (a timer's or a paint handler's error comes again and again):
            # logged and counted; the documents were kept at the first.
            self._write_log(details, ["kept at the error the open dialog shows"])
            self.dialog.add_repeat()
            return
        try:
            kept = self.keep()
        except Exception as exc:
            kept = [f"saving recovery copies failed ({type(exc).__name__}: {exc})"]
        log_error = self._write_log(details, kept)
        if QThread.currentThread().loopLevel() == 0:
            # Before the window runs (or after): no dialog would be seen.
            sys.__excepthook__(kind, value, tb)
            print(f"layerloom: the details are in {self.log}", file=sys.stderr)
            return
        short = traceback.format_exception_only(kind, value)[-1].strip()
        self.dialog = CrashDialog(_parent(), short, kept, self.log, log_error,
                                  f"{details}\n" + "\n".join(kept))
        self.dialog.open_folder.connect(self.open_folder)
        self.dialog.finished.connect(self._dialog_closed)
        self.dialog.open()

    def _dialog_closed(self) -> None:
        self.dialog = None  # it deletes itself; the next error opens a new one

    def open_folder(self) -> None:
        QDesktopServices.openUrl(QUrl.fromLocalFile(str(self.folder)))

    def _write_log(self, details: str, kept: list[str]) -> str | None:
        """Append one entry; the error that stopped it, or None."""
        self.logged += 1
        if self.logged > MAX_LOGGED:
            return f"more than {MAX_LOGGED} errors in this run: the rest are not logged"
        if len(details) > MAX_ENTRY_CHARS:
            details = details[: MAX_ENTRY_CHARS // 2] + "\n[…]\n" + details[-MAX_ENTRY_CHARS // 2:]
        entry = "\n".join([
            f"==== {datetime.now().isoformat(sep=' ', timespec='seconds')} · Layerloom "
            f"{APP_VERSION} · Python {platform.python_version()} · PySide6 {pyside_version}"
            f" · {platform.platform()}",
            *(f"document: {line}" for line in kept),
            details.rstrip(), "", ""])
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            if self.log.exists() and self.log.stat().st_size + len(entry) > MAX_LOG_BYTES:
                os.replace(self.log, self.log.with_name(LOG_NAME + ".1"))
            with self.log.open("a", encoding="utf-8") as f:
                f.write(entry)
        except OSError as exc:
            return f"could not write {self.log}: {exc.strerror or exc}"
        return None


def _parent() -> QWidget | None:
    app = QApplication.instance()
    window = app.activeWindow() if isinstance(app, QApplication) else None
    if window is None and isinstance(app, QApplication):
        window = next((w for w in app.topLevelWidgets()
                       if isinstance(w, MainWindow) and w.isVisible()), None)
    return window
