"""The Step tab: one training step walked through on the canvas, with torch's numbers.

Pick a training sample (or a batch) and press Step: the step is computed off the GUI
thread (``runtime.inspect.step``) from the weights at rest (the last run's, or fresh
ones before any training), or, while a run is paused, by the training process on its
live networks. Next stage / Play then walk the canvas through forward, loss, backward
and update (``gui.canvas.step_overlay``). A step outside a run changes no weights
unless the user keeps it: Keep writes them as a new run folder, Undo keep removes it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QTimer
from PySide6.QtGui import QHideEvent, QShowEvent
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from graph.fileformat import dumps
from gui.background import BackgroundJob
from gui.canvas import step_overlay
from gui.canvas.scene import GraphScene
from gui.insights import Insight
from gui.insights.step_jobs import keep_work, message, prepare_work, structure, undo_work
from gui.insights.step_text import stage_text, weights_text
from gui.session import Session
from gui.training import TrainingController

if TYPE_CHECKING:
    from gui.main_window import MainWindow

SPEEDS = {"slow": 900, "normal": 450, "fast": 150}  # ms per node while playing
MAX_BATCH = 256


class StepView(Insight):
    """Sample picker, Step / Keep / Undo keep, and the stage controls."""

    title = "Step"

    def __init__(self, controller: TrainingController) -> None:
        super().__init__(controller)
        # the canvas of a network (default: the main window's canvas tabs)
        self.scene_for: Callable[[str], GraphScene | None] = self._window_scene
        self.model: Any = None  # runtime.inspect.model.InspectedModel, at rest
        self.weights = ""  # the file self.model's weights came from ("": fresh)
        self.labels: list[str] = []
        self.record: dict[str, Any] | None = None
        self.states: Any = None  # the stepped weights (outside a run), to keep or not
        self.kept: tuple[Path, Path | None, Any] | None = None  # folder, old run dir, states
        self.frame = -1
        self._scene: GraphScene | None = None
        self._asked = 0  # the id of the request a paused run is answering (0: none)
        self._sent = 0
        self.source = ""  # where the shown step's weights came from, in words
        self._structure = ""  # the document without positions (a move keeps the step)
        self._framed: set[str] = set()  # stages the canvas was framed for
        self._job_kind = ""
        self._job_session: Session | None = None  # the document the running job is for
        self.job = BackgroundJob(self)
        self.job.done.connect(self._done)
        self.timer = QTimer(self)
        self.timer.timeout.connect(self._tick)
        self._build()

    def _build(self) -> None:
        self.sample = QSpinBox()
        self.sample.setRange(0, 999_999)
        self.sample.setToolTip("Which training sample to step with (its target is shown)")
        self.sample.valueChanged.connect(self._show_label)
        self.label = QLabel("")
        self.batch = QSpinBox()
        self.batch.setRange(1, MAX_BATCH)
        self.batch.setToolTip("How many samples the step averages its loss over (from the "
                              "chosen one on); the canvas shows the first")
        self.step_button = QPushButton("Step")
        self.step_button.setToolTip("Compute one training step with torch on this sample")
        self.step_button.clicked.connect(self.step)
        self.keep_button = QPushButton("Keep")
        self.keep_button.setToolTip("Make the stepped weights the document's weights: "
                                    "they are saved as a new run")
        self.keep_button.clicked.connect(self.keep)
        self.undo_button = QPushButton("Undo keep")
        self.undo_button.setToolTip("Return to the weights before the kept step")
        self.undo_button.clicked.connect(self.undo_keep)
        self.next_button = QPushButton("Next stage ▶")
        self.next_button.clicked.connect(self.next_stage)
        self.play_button = QPushButton("Play")
        self.play_button.setCheckable(True)
        self.play_button.toggled.connect(self._play)
        self.speed = QComboBox()
        self.speed.addItems(list(SPEEDS))
        self.speed.setCurrentText("normal")
        self.speed.setToolTip("How fast Play lights up the nodes")
        self.stage = QLabel("")
        self.explain = QLabel("Pick a sample and press Step.")
        self.explain.setWordWrap(True)
        top = QHBoxLayout()
        widget: QWidget
        for widget in (QLabel("Sample"), self.sample, self.label, QLabel("Batch"), self.batch,
                       self.step_button, self.keep_button, self.undo_button):
            top.addWidget(widget)
        top.addStretch(1)
        stages = QHBoxLayout()
        for widget in (self.next_button, self.play_button, QLabel("Speed"), self.speed,
                       self.stage):
            stages.addWidget(widget)
        stages.addStretch(1)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addLayout(stages)
        layout.addWidget(self.explain)
        layout.addStretch(1)
        self._update_buttons()

    # -- the document and the run ----------------------------------------------------
    def set_session(self, session: Session) -> None:
        if self.session is not None:
            with contextlib.suppress(RuntimeError, TypeError):  # the old one already gone
                self.session.changed.disconnect(self._document_edited)
        super().set_session(session)
        session.changed.connect(self._document_edited)
        self.model, self.labels, self.kept = None, [], None
        self._structure = structure(session)
        self._update_buttons()

    def _document_edited(self) -> None:
        shape = structure(self.session)
        if shape == self._structure:  # nodes moved: the cards follow them
            if self.record is not None and self.frame >= 0 and self.isVisible():
                self._draw()
            return
        self._structure = shape
        if self.record is not None:
            self.clear()
            self.explain.setText("The network changed: press Step to walk a step of it.")
        self.model = None  # compiled from the document as it was

    def on_event(self, event: dict[str, Any]) -> None:
        kind = event.get("type")
        if kind == "step_walk" and event.get("id") == self._asked and self._asked:
            self._asked = 0
            if "error" in event:
                self._failed(str(event["error"]))
            else:
                self._show(event["record"], None, "the paused run's live weights")
        elif kind in ("finished", "failed", "crashed"):
            self.model = None  # new weights arrive with the run's end
            if self.record is None:
                self.explain.setText("Pick a sample and press Step.")
        self._update_buttons()

    def clear(self) -> None:
        self.timer.stop()
        self.play_button.setChecked(False)
        if self._scene is not None:
            step_overlay.clear(self._scene)
        self._scene, self.record, self.states, self.frame = None, None, None, -1
        self.stage.setText("")
        self._update_buttons()

    # -- actions ---------------------------------------------------------------------
    def _window_scene(self, network: str) -> GraphScene | None:
        from gui.canvas.tabs import CanvasTabs

        tabs = getattr(self.window(), "tabs", None)
        canvas = tabs.show_network(network) if isinstance(tabs, CanvasTabs) else None
        scene = canvas.scene() if canvas is not None else None
        return scene if isinstance(scene, GraphScene) else None

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        self.prepare()  # the picker's labels, however the tab was reached
        if self.record is not None and self.frame >= 0:
            self._draw()  # the stage it was at, in the canvas's colours of now

    def hideEvent(self, event: QHideEvent) -> None:
        super().hideEvent(event)
        # the canvas overlay belongs to this tab while it shows; the step and its stage
        # are kept for when it shows again
        self.timer.stop()
        self.play_button.setChecked(False)
        if self._scene is not None:
            step_overlay.clear(self._scene)

    def prepare(self) -> None:
        """Load the data's labels for the picker (the tab was opened)."""
        if self.model is None and not self.job.running and self.session is not None \
                and not self.controller.active:
            self._start("prepare", None)

    def step(self) -> None:
        if self.session is None or self.job.running or self._asked:
            return
        index, batch = self.sample.value(), self.batch.value()
        if self.controller.state == "paused" and self.controller.runner is not None:
            from runtime.inspect.step_request import step_request

            self._sent += 1
            self._asked = self._sent
            self.controller.runner.request(step_request(index, batch, self._asked))
            self.explain.setText("Asking the paused run to walk a step on its live weights…")
        elif self.controller.active:
            self._failed("a run is under way: pause it (F6) to step on its live weights, "
                         "or step once it has ended")
            return
        else:
            self._start("step", (index, batch))
        self._update_buttons()

    def _start(self, kind: str, walk: tuple[int, int] | None) -> None:
        from gui.export_dialog import default_weights

        assert self.session is not None
        weights = default_weights(self.session) if self.model is None else self.weights
        self.weights = weights
        base_dir = self.session.path.parent if self.session.path is not None else None
        self._job_kind, self._job_session = kind, self.session
        if kind == "step":
            self.explain.setText("Computing the step with torch…")
        self.job.blocks_close = False  # it only reads: closing may cut it short
        self.job.start(prepare_work, dumps(self.session.doc), weights, base_dir, self.model, walk,
                       name="step view")
        self._update_buttons()

    def keep(self) -> None:
        if self.states is None or self.model is None or self.session is None \
                or self.job.running:
            return
        self._job_kind, self._job_session = "keep", self.session
        self.job.blocks_close = True  # it writes a run folder: closing waits for it
        self.job.start(keep_work, self.model, self.states, self.session.path, name="keep step")
        self._update_buttons()

    def undo_keep(self) -> None:
        if self.kept is None or self.model is None or self.session is None \
                or self.job.running:
            return
        folder, _old_dir, previous = self.kept
        self._job_kind, self._job_session = "undo", self.session
        self.job.blocks_close = True  # it deletes a run folder: closing waits for it
        self.job.start(undo_work, self.model, previous, folder, self.session.path, name="undo keep")
        self._update_buttons()

    def _done(self, result: object, error: object) -> None:
        kind, self._job_kind = self._job_kind, ""
        session, self._job_session = self._job_session, None
        if session is not self.session and kind in ("prepare", "step"):
            self._update_buttons()  # another document opened meanwhile: not its step
            return
        if error is not None:
            self._failed(message(error, kind))
        elif kind in ("prepare", "step") and isinstance(result, tuple):
            self.model, self.labels, walked = result
            self.sample.setMaximum(max(0, len(self.model.data.train_x) - 1))
            self._show_label()
            if walked is not None:
                self._show(walked.record, walked.states, weights_text(self.weights))
        elif kind == "keep" and isinstance(result, tuple) and session is not None:
            folder, previous = result
            old_dir, session.last_run_dir = session.last_run_dir, folder
            if session is not self.session:  # kept for a document no longer shown
                self._update_buttons()
                return
            self.kept = (folder, old_dir, previous)
            self.weights, self.states = str(folder / "model.safetensors"), None
            self.explain.setText(f"Kept: the stepped weights are now the document's weights, "
                                 f"saved as run {folder.name}. Undo keep returns to the "
                                 "weights before.")
        elif kind == "undo" and self.kept is not None and session is not None:
            folder, old_dir, _previous = self.kept
            session.last_run_dir, self.kept = old_dir, None
            from gui.export_dialog import default_weights

            self.weights = default_weights(session)
            self.explain.setText(f"Undone: run {folder.name} was removed; the weights are "
                                 "those before the kept step again.")
        self._update_buttons()

    def _failed(self, message: str) -> None:
        self.explain.setText(f"No step: {message}")
        self._update_buttons()

    # -- walking the stages ------------------------------------------------------------
    def _show(self, record: dict[str, Any], states: Any, source: str) -> None:
        self.clear()
        network = str(record["network"])
        scene = self.scene_for(network)
        if scene is None:
            self._failed(f"network '{network}' has no canvas tab to draw on")
            return
        self._scene, self.record, self.states = scene, record, states
        self._framed = set()
        self.source = source
        self.explain.setText(f"Step computed from {source} on sample {record['index']}"
                             f"{' (' + record['label'] + ')' if record['label'] else ''}. "
                             "Press Next stage, or Play."
                             + ("" if states is not None else " The run keeps its own weights: "
                                "Keep applies to steps taken outside a run."))
        self._update_buttons()

    @property
    def frames(self) -> list[tuple[str, int | None]]:
        if self.record is None:
            return []
        n = len(self.record["order"])
        walk: list[tuple[str, int | None]] = [("forward", k) for k in range(1, n + 1)]
        walk.append(("loss", None))
        walk += [("backward", k) for k in range(1, n + 1)]
        walk.append(("update", None))
        return walk

    def next_stage(self) -> None:
        """Show the whole of the next stage."""
        frames = self.frames
        if not frames:
            return
        now = frames[self.frame][0] if self.frame >= 0 else ""
        following = [i for i, (stage, _) in enumerate(frames) if stage != now and i > self.frame]
        if not following:
            return
        target = frames[following[0]][0]
        self.frame = max(i for i, (stage, _) in enumerate(frames) if stage == target)
        self._draw()

    def _play(self, on: bool) -> None:
        if on and self.record is not None:
            if self.frame >= len(self.frames) - 1:
                self.frame = -1
            self.timer.start(SPEEDS[self.speed.currentText()])
        else:
            self.timer.stop()
            self.play_button.setChecked(False)

    def _tick(self) -> None:
        self.timer.setInterval(SPEEDS[self.speed.currentText()])
        if self.record is None or self.frame >= len(self.frames) - 1:
            self._play(False)
            return
        self.frame += 1
        self._draw()

    def _draw(self) -> None:
        if self.record is None or self._scene is None:
            return
        stage, upto = self.frames[self.frame]
        step_overlay.show_step(self._scene, self.record, stage, upto)
        if stage in ("forward", "loss") and stage not in self._framed:
            self._framed.add(stage)  # the first cards, then the loss card beside Output
            step_overlay.frame(self._scene)
        self.stage.setText(stage_text(self.record, stage, upto))
        self.explain.setText(stage_text(self.record, stage, upto, long=True)
                             + ("" if stage != "update" or self.states is None else
                                " Keep makes these the weights (saved as a new run); "
                                "Step again discards them."))
        self._update_buttons()

    # -- state of the controls ----------------------------------------------------------
    def _show_label(self) -> None:
        index = self.sample.value()
        text = self.labels[index] if index < len(self.labels) else ""
        self.label.setText(f"target: {text}" if text else "")

    def _update_buttons(self) -> None:
        busy = self.job.running or bool(self._asked)
        running = self.controller.state in ("running", "stopping")
        self.step_button.setEnabled(self.session is not None and not busy and not running)
        self.step_button.setToolTip("Pause the run (F6) to step on its live weights"
                                    if running else "Compute one training step with torch "
                                    "on this sample")
        if running and self.record is None and not busy:
            self.explain.setText("A run is under way: pause it (F6) to walk a step on its "
                                 "live weights, or step once it has ended.")
        self.keep_button.setEnabled(self.states is not None and self.frame >= 0 and not busy)
        self.undo_button.setEnabled(self.kept is not None and not busy)
        has = self.record is not None
        self.next_button.setEnabled(has and self.frame < len(self.frames) - 1)
        self.play_button.setEnabled(has)


def open_step_view(window: MainWindow) -> StepView:
    """Show the Step tab of ``window``'s Insights dock."""
    view = next(v for v in window.insights.views if isinstance(v, StepView))
    window.insights_dock.show()
    window.insights_dock.raise_()
    window.insights.setCurrentWidget(view)
    view.prepare()
    return view
