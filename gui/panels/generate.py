"""The Generate panel: write text with a trained language model, and watch a run learn.

Left, the settings (weights, prompt, length, temperature, top-k, seed); right, the
text as it is written and the samples the current run writes at each epoch's end.
Generation runs in ``gui.generation.TextWriter`` (a worker thread); the weights
default to the window's last run's, and the document they were trained with is
the ``graph.loom`` beside them, as Evaluate does.
"""

from __future__ import annotations

import html
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QDoubleSpinBox,
    QFileDialog,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QSpinBox,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from graph.fileformat import GraphFileError, dumps, load_graph, loads
from gui.export_dialog import default_weights
from gui.generation import Request, TextWriter
from gui.panels.text_samples import PROMPT_COLOUR, TextSamplesView, append, char_format, text_view
from gui.session import Session
from gui.training import TrainingController
from runtime.events import TelemetryEvent, run_event

LANGUAGE_MODEL = "language_model"
MAX_TOKENS = 100_000
NOT_A_LANGUAGE_MODEL = (
    "Generate writes text with a language model, and this document's task is {task}. "
    "To make one: Training > Settings…, set the task to language_model and the data to a "
    "text (Tiny Shakespeare, or a .txt file); give the network an Input of kind 'tokens' "
    "that ends in one score per token; train. The gallery's <i>gpt shakespeare</i> and "
    "<i>lstm shakespeare</i> examples are ready to train.")
NO_WEIGHTS = "Train the network (F5), or choose weights a language-model run wrote."
CONTROL_WIDTH = 420


class GeneratePanel(QWidget):
    """Settings and buttons on the left; the written text and the run's samples on the right."""

    relevant_changed = Signal(bool)  # whether the document is a language model

    def __init__(self, controller: TrainingController) -> None:
        super().__init__()
        self.session: Session | None = None
        self.controller = controller
        self.writer = TextWriter(self)
        self.language_model = False
        self._weights_picked = False  # chosen by hand: a new run does not replace them
        self._note = ""  # about the prompt, kept until the writing ends
        self.hint = QLabel()
        self.hint.setWordWrap(True)
        self.weights = QLineEdit()
        self.weights.setPlaceholderText("model.safetensors of a language-model run")
        self.weights.textEdited.connect(self._picked)
        self.weights.textChanged.connect(self.weights.setToolTip)  # the field shows its end
        self.choose_button = QPushButton("Choose…")
        self.choose_button.clicked.connect(self._choose)
        self.prompt = QPlainTextEdit()
        self.prompt.setPlaceholderText("Text to continue (empty: start from a line break)")
        line = self.prompt.fontMetrics().lineSpacing()
        self.prompt.setMinimumHeight(2 * line + 12)  # a speaker's name and a line break
        self.prompt.setMaximumHeight(3 * line + 12)
        self.prompt.setTabChangesFocus(True)
        self.tokens = _spin(1, MAX_TOKENS, 300, " tokens")
        self.temperature = QDoubleSpinBox()
        self.temperature.setRange(0.0, 100.0)
        self.temperature.setDecimals(2)
        self.temperature.setSingleStep(0.1)
        self.temperature.setValue(0.8)
        self.temperature.setToolTip("Below 1: safer choices; above 1: wilder; 0: always the "
                                    "likeliest token")
        self.top_k = _spin(0, 1 << 20, 0, "", special="off")
        self.top_k.setToolTip("Sample only among the K likeliest tokens")
        self.seed = _spin(-1, 2**31 - 1, -1, "", special="random")
        self.seed.setToolTip("The same seed writes the same text with the same weights")
        self.skip_unknown = QCheckBox("Leave out unknown characters")
        self.skip_unknown.setToolTip("Characters of the prompt the model never saw in training "
                                     "are left out (otherwise the prompt is refused)")
        self.generate_button = QPushButton("Generate")
        self.generate_button.setDefault(True)
        self.stop_button = QPushButton("Stop")
        self.stop_button.setEnabled(False)
        self.status = QLabel()
        self.status.setWordWrap(True)
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.output = text_view("The text appears here as the model writes it.")
        self.samples = TextSamplesView()
        self.generate_button.clicked.connect(self.generate)
        self.stop_button.clicked.connect(self.stop)
        self.writer.prompt_shown.connect(
            lambda text: append(self.output, text, char_format(PROMPT_COLOUR, bold=True)))
        self.writer.noted.connect(self._noted)
        self.writer.wrote.connect(lambda text: append(self.output, text))
        self.writer.ended.connect(self._ended)
        controller.reported.connect(self._on_event)
        controller.weights_saved.connect(self._weights_saved)
        self._layout()
        self._update()

    def _layout(self) -> None:
        grid = QGridLayout()  # two settings a row: the panel shares the dock's few rows
        grid.setContentsMargins(0, 0, 0, 0)
        grid.addWidget(QLabel("Weights"), 0, 0)
        weights = QHBoxLayout()
        weights.addWidget(self.weights, 1)
        weights.addWidget(self.choose_button)
        grid.addLayout(weights, 0, 1, 1, 3)
        grid.addWidget(QLabel("Prompt"), 1, 0, Qt.AlignmentFlag.AlignTop)
        grid.addWidget(self.prompt, 1, 1, 1, 3)
        for row, pairs in ((2, (("Length", self.tokens), ("Temperature", self.temperature))),
                           (3, (("Top-k", self.top_k), ("Seed", self.seed)))):
            for pair, (label, widget) in enumerate(pairs):
                grid.addWidget(QLabel(label), row, 2 * pair)
                grid.addWidget(widget, row, 2 * pair + 1)
        buttons = QHBoxLayout()
        buttons.addWidget(self.generate_button)
        buttons.addWidget(self.stop_button)
        buttons.addWidget(self.skip_unknown, 1)
        controls = QWidget()
        column = QVBoxLayout(controls)
        column.setContentsMargins(0, 0, 0, 0)
        column.addWidget(self.hint)
        column.addLayout(grid)
        column.addLayout(buttons)
        column.addWidget(self.status)
        column.addStretch(1)
        controls.setMaximumWidth(CONTROL_WIDTH)
        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(self.output)
        split.addWidget(self.samples)
        split.setChildrenCollapsible(False)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(6, 4, 6, 4)
        layout.addWidget(controls)
        layout.addWidget(split, 1)
        self.controls = [self.weights, self.choose_button, self.prompt, self.tokens,
                         self.temperature, self.top_k, self.seed, self.skip_unknown]

    # -- the document --------------------------------------------------------------
    def set_session(self, session: Session) -> None:
        """Another document: its weights, and no text of the last one's."""
        if self.session is not None:
            self.session.changed.disconnect(self._update)
        self.writer.discard()  # the last document's text has no place in this one
        self.session = session
        session.changed.connect(self._update)
        self._weights_picked = False
        self.weights.setText(default_weights(session))
        self.output.clear()
        if not self.controller.active:  # a run under way keeps showing until it ends
            self.samples.clear()
        self._say("")
        self._update()

    def _update(self) -> None:
        """Follow the document's task: the controls for a language model, else what to do."""
        task = self.session.doc.training.task if self.session is not None else ""
        relevant = task == LANGUAGE_MODEL
        self.hint.setText("" if relevant else NOT_A_LANGUAGE_MODEL.format(task=task or "none"))
        self.hint.setVisible(not relevant)
        busy = self.writer.running
        for widget in self.controls:
            widget.setEnabled(relevant and not busy)
        self.generate_button.setEnabled(relevant and not busy)
        self.stop_button.setEnabled(busy)
        if relevant != self.language_model:
            self.language_model = relevant
            self.relevant_changed.emit(relevant)

    # -- weights -------------------------------------------------------------------
    def _picked(self, _text: str = "") -> None:
        self._weights_picked = True

    def _choose(self) -> None:
        start = self.weights.text() or (str(self.session.path.parent)
                                        if self.session and self.session.path else "")
        path, _ = QFileDialog.getOpenFileName(self, "Trained weights", start,
                                              "Weights (*.safetensors)")
        if path:
            self.weights.setText(path)
            self._picked()

    def _weights_saved(self, folder: object) -> None:
        if isinstance(folder, Path) and not self._weights_picked:
            self.weights.setText(str(folder / "model.safetensors"))
            if self.language_model and not self.writer.running:
                self._say("The run's weights are ready: Generate writes with them.")

    # -- writing -------------------------------------------------------------------
    def generate(self) -> None:
        """Write with the chosen weights and settings (off the GUI thread)."""
        if self.session is None or self.writer.running or not self.language_model:
            return
        weights = Path(self.weights.text().strip())
        if not self.weights.text().strip() or not weights.is_file():
            shown = _escape(str(weights)) if self.weights.text().strip() else "none given"
            self._say(f"No weights to write with ({shown}). {NO_WEIGHTS}", error=True)
            return
        trained_with = weights.with_name("graph.loom")
        try:
            doc = load_graph(trained_with) if trained_with.is_file() else \
                loads(dumps(self.session.doc))  # a snapshot: the worker never sees edits
        except GraphFileError as exc:
            self._say(f"Cannot read {_escape(str(trained_with))}: {_escape(str(exc))}",
                      error=True)
            return
        top_k, seed = self.top_k.value(), self.seed.value()
        request = Request(doc, weights, self.prompt.toPlainText() or "\n", self.tokens.value(),
                          self.temperature.value(), top_k or None,
                          seed if seed >= 0 else None, self.skip_unknown.isChecked())
        self.output.clear()
        self._note = ""
        self._say("Writing…")
        self.writer.start(request)
        self._update()

    def stop(self) -> None:
        if self.writer.running:
            self.writer.stop()
            self._say("Stopping…")

    def _ended(self, status: str, message: str) -> None:
        self._update()
        if status == "failed":
            self._say(f"Cannot generate: {_escape(message)}", error=True)
        elif status == "stopped":
            self._say("Stopped.")
        else:
            self._say(f"Wrote {len(self.output.toPlainText()):,} characters "
                      f"(prompt included).{self._note}")

    def _noted(self, note: str) -> None:
        self._note = f" Note: {_escape(note)}."
        self._say(f"Writing…{self._note}")

    def _say(self, text: str, error: bool = False) -> None:
        self.status.setText(f"<span style='color:#c0392b'>{text}</span>" if error else text)

    # -- the run's samples -----------------------------------------------------------
    def _on_event(self, telemetry: TelemetryEvent) -> None:
        event = run_event(telemetry)
        if event is None:
            return
        if event["type"] == "started" and event["task"] == LANGUAGE_MODEL:
            self.samples.clear()
            if not self.writer.running:
                self._say("Training: a sample appears on the right at each epoch's end; "
                          "Generate writes with the run's weights once it has finished.")
        elif event["type"] == "text_sample":
            self.samples.add(event)


def _escape(text: str) -> str:
    return html.escape(text, quote=False)  # quotes name the characters: keep them readable


def _spin(low: int, high: int, value: int, suffix: str, special: str = "") -> QSpinBox:
    box = QSpinBox()
    box.setRange(low, high)
    box.setValue(value)
    box.setSuffix(suffix)
    if special:
        box.setSpecialValueText(special)  # shown at the minimum
    return box
