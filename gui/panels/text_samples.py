"""Text views for language models: streamed text, and a run's samples epoch by epoch.

Each epoch of a language-model run ends with a sample written from the same prompt
with the same seed (``runtime.lm_samples``), so reading down the list shows the
model learn: first noise, then words, then lines that look like verse.
"""

from __future__ import annotations

from PySide6.QtGui import QColor, QFont, QFontDatabase, QTextCharFormat, QTextCursor
from PySide6.QtWidgets import QLabel, QPlainTextEdit, QSizePolicy, QVBoxLayout, QWidget

from runtime.events import TextSampleEvent

PROMPT_COLOUR = QColor("#3b7dd8")
HEADER_COLOUR = QColor("#7d8594")
MIN_WIDTH = 360  # a line of verse, unwrapped


def text_view(placeholder: str) -> QPlainTextEdit:
    """A read-only, monospaced view (plays and code keep their columns)."""
    view = QPlainTextEdit()
    view.setReadOnly(True)
    view.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
    view.setPlaceholderText(placeholder)
    view.setMinimumHeight(40)
    view.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
    return view


def char_format(colour: QColor | None = None, bold: bool = False) -> QTextCharFormat:
    fmt = QTextCharFormat()
    if colour is not None:
        fmt.setForeground(colour)
    if bold:
        fmt.setFontWeight(QFont.Weight.Bold)
    return fmt


def append(view: QPlainTextEdit, text: str, fmt: QTextCharFormat | None = None) -> None:
    """Add ``text`` at the end and keep the end in sight (unless the user scrolled up)."""
    bar = view.verticalScrollBar()
    following = bar.value() >= bar.maximum() - 2
    cursor = QTextCursor(view.document())
    cursor.movePosition(QTextCursor.MoveOperation.End)
    cursor.insertText(text, fmt or QTextCharFormat())
    if following:
        bar.setValue(bar.maximum())


class TextSamplesView(QWidget):
    """The run's ``text_sample`` events, newest last, each under its epoch."""

    def __init__(self, title: str = "Samples during training") -> None:
        super().__init__()
        self.title = QLabel(title)
        self.title.setWordWrap(True)  # the panel beside the training curves is narrow
        self.view = text_view("A language model's run writes a sample here at the end of "
                              "each epoch: the same prompt and seed each time, so only what "
                              "the model has learnt changes.")
        self.view.setToolTip("The same prompt and seed at each epoch's end; a sample ending "
                             "in … was cut short to keep training fast")
        self.samples: list[TextSampleEvent] = []
        self.setMinimumWidth(MIN_WIDTH)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addWidget(self.title)
        layout.addWidget(self.view, 1)

    def add(self, event: TextSampleEvent) -> None:
        self.samples.append(event)
        self.title.setText(f"Samples during training (temperature {event['temperature']:g}, "
                           f"seed {event['seed']})")
        first = len(self.samples) == 1
        append(self.view, ("" if first else "\n\n") + f"— epoch {event['epoch']} —\n",
               char_format(HEADER_COLOUR))
        append(self.view, event["prompt"], char_format(PROMPT_COLOUR, bold=True))
        append(self.view, event["text"])
        if event.get("cut_short"):
            append(self.view, "…", char_format(HEADER_COLOUR))

    def clear(self) -> None:
        self.samples = []
        self.view.clear()
        self.title.setText("Samples during training")
