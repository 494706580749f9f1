"""At start-up, offer the unsaved changes a killed or crashed window left behind.

A recovery copy is only deleted when the user chooses Discard, or once its changes are
open in this window and kept in this window's own copy.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtWidgets import QMessageBox, QWidget

from gui.files import RecoveryCopy, orphaned_copies
from gui.main_window import APP_NAME

if TYPE_CHECKING:
    from gui.main_window import MainWindow


def offer_recovery(window: MainWindow, folder: Path | None = None) -> None:
    """Ask about each orphaned copy, newest first, until one is recovered."""
    for found in orphaned_copies(folder):
        box = recovery_question(window, found)
        box.exec()
        role = box.buttonRole(box.clickedButton())
        if role == QMessageBox.ButtonRole.AcceptRole:
            if window.documents.confirm_discard() and window.documents.recover(found):
                return
        elif role == QMessageBox.ButtonRole.DestructiveRole:
            found.discard()


def recovery_question(parent: QWidget, found: RecoveryCopy) -> QMessageBox:
    """The question for one copy: Recover (the accept role) or Discard (destructive);
    without an escape button the dialog cannot be closed without choosing."""
    name = found.original.name if found.original else "an untitled document"
    box = QMessageBox(QMessageBox.Icon.Question, "Recover unsaved changes?",
                      f"{APP_NAME} closed unexpectedly; recover the unsaved changes to "
                      f"{name} (saved {_when(found.saved_at)})?", parent=parent)
    where = f" to {found.original}" if found.original else ""
    box.setInformativeText(
        f"Recover opens them as unsaved changes; save them{where} to keep them. "
        "Discard deletes the recovery copy.")
    recover = box.addButton("Recover", QMessageBox.ButtonRole.AcceptRole)
    box.addButton("Discard", QMessageBox.ButtonRole.DestructiveRole)
    box.setDefaultButton(recover)
    return box


def _when(moment: datetime) -> str:
    if moment.date() == datetime.now().date():
        return moment.strftime("%H:%M")
    return f"{moment.day} {moment.strftime('%b %H:%M')}"
