"""The undo history: ``History``'s stacks as a list; clicking a row jumps there."""

from __future__ import annotations

from PySide6.QtCore import QSignalBlocker, Qt, QTimer
from PySide6.QtGui import QBrush
from PySide6.QtWidgets import QListWidget, QListWidgetItem

from gui.session import Session


class HistoryPanel(QListWidget):
    """Row 0 is the document as opened; row k is the state after k commands."""

    def __init__(self) -> None:
        super().__init__()
        self.session: Session | None = None
        self.currentRowChanged.connect(self._jump)

    def set_session(self, session: Session) -> None:
        if self.session is not None:
            self.session.changed.disconnect(self.refresh)
        self.session = session
        session.changed.connect(self.refresh)
        self.refresh()

    def refresh(self) -> None:
        if self.session is None:
            return
        history = self.session.history
        done = [cmd.text for cmd in history.undo_stack]
        undone = [cmd.text for cmd in reversed(history.redo_stack)]
        muted = self.palette().placeholderText()
        with QSignalBlocker(self):
            self.clear()
            self.addItem(QListWidgetItem("<opened>"))
            for text in done:
                self.addItem(QListWidgetItem(text))
            for text in undone:
                item = QListWidgetItem(text)
                item.setForeground(QBrush(muted))
                item.setData(Qt.ItemDataRole.ToolTipRole, "Undone: click to redo up to here")
                self.addItem(item)
            self.setCurrentRow(len(done))
        self.scrollToItem(self.currentItem())

    def _jump(self, row: int) -> None:
        # Deferred: the list is rebuilt by the jump, which must not happen inside its signal.
        if self.session is not None and row >= 0:
            session = self.session
            QTimer.singleShot(0, lambda: session.jump_to(row))
