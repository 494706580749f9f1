"""The dialog an unexpected error shows: what happened, what was kept, where the log is."""

from __future__ import annotations

import html
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QApplication,
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QStyle,
    QVBoxLayout,
    QWidget,
)

MAX_SHORT = 240  # characters of the error's one line shown in the dialog


class CrashDialog(QDialog):
    """Window-modal and non-blocking; the buttons copy the details or open the log's
    folder without closing it."""

    open_folder = Signal()

    def __init__(self, parent: QWidget | None, short: str, kept: list[str], log: Path,
                 log_error: str | None, details: str) -> None:
        super().__init__(parent)
        self.setWindowTitle("Unexpected error — Layerloom")
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.details = details
        self.repeats = 0
        icon = QLabel()
        icon.setPixmap(self.style().standardIcon(
            QStyle.StandardPixmap.SP_MessageBoxCritical).pixmap(48, 48))
        icon.setAlignment(Qt.AlignmentFlag.AlignTop)
        kept_items = "".join(f"<li>{html.escape(line)}</li>" for line in kept)
        self.message = _label(
            "<b>Layerloom ran into an unexpected error.</b><br>What it was doing did not "
            "finish; the window keeps running."
            + (f"<ul style='margin-left: -20px'>{kept_items}</ul>" if kept_items else "<br>")
            + "If something looks wrong, save under a new name and restart Layerloom.")
        if len(short) > MAX_SHORT:
            short = short[: MAX_SHORT - 1] + "…"
        self.error = _label(f"<code>{html.escape(short)}</code>")
        where = (html.escape(log_error) if log_error else
                 f"The details are in <code>{html.escape(str(log))}</code>.")
        self.log_line = _label(where)
        self.repeat_line = _label("")
        self.repeat_line.hide()
        text = QVBoxLayout()
        for label in (self.message, self.error, self.log_line, self.repeat_line):
            text.addWidget(label)
        top = QHBoxLayout()
        top.addWidget(icon)
        top.addLayout(text, 1)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        self.open_button = QPushButton("Open log folder")
        self.copy_button = QPushButton("Copy details")
        for button in (self.open_button, self.copy_button):
            button.setAutoDefault(False)  # Enter closes the dialog
            buttons.addButton(button, QDialogButtonBox.ButtonRole.ActionRole)
        close = buttons.button(QDialogButtonBox.StandardButton.Close)
        close.setDefault(True)
        close.setFocus()
        self.open_button.clicked.connect(self.open_folder.emit)
        self.copy_button.clicked.connect(self.copy_details)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(buttons)
        self.setMinimumWidth(520)

    def copy_details(self) -> None:
        QApplication.clipboard().setText(self.details)
        self.copy_button.setText("Copied")

    def add_repeat(self) -> None:
        """Another error arrived while this dialog was open: counted, not stacked."""
        self.repeats += 1
        self.repeat_line.setText(f"{self.repeats} more error(s) since; each is in the log.")
        self.repeat_line.show()


def _label(text: str) -> QLabel:
    label = QLabel(text)
    label.setWordWrap(True)
    label.setTextFormat(Qt.TextFormat.RichText)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    return label
