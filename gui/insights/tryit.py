"""The Try it tab: give the network an input of your own and see its answer.

Draw a digit, open or drop an image file, type feature values, pick a sample of the
data, or (a GAN) choose a noise seed. The answer (class probabilities as bars, the
values, the reconstruction or the generated sample) comes with the input's path
through the network: every node's output for it. All torch work runs on a worker
thread (``runtime.inspect.tryit``); the inputs go through the preprocessing stored
with the weights, exactly as in training.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QDragEnterEvent, QDropEvent, QHideEvent, QShowEvent
from PySide6.QtWidgets import (
    QCheckBox,
    QDockWidget,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMainWindow,
    QPushButton,
    QScrollArea,
    QSpinBox,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from graph.document import Document
from graph.fileformat import GraphFileError, dumps, load_graph, loads
from gui.background import BackgroundJob
from gui.insights import Insight
from gui.insights.answer_view import AnswerView, PathList
from gui.insights.at_rest import trains_for, weights_text
from gui.insights.drawing import DrawingCanvas
from gui.training import TrainingController

if TYPE_CHECKING:
    from gui.canvas.scene import GraphScene
    from gui.canvas.tabs import CanvasTabs
    from gui.insights.dock import InsightsPanel
    from runtime.inspect.tryit import Answer, TryModel

TASKS = ("classification", "regression", "autoencoder", "gan")
BUTTON_WIDTH = 140
ROOM = 360  # the panel's height the drawing canvas needs, with its labels and buttons
IMAGE_FILTER = "Images (*.png *.jpg *.jpeg *.bmp *.gif *.tif *.tiff *.webp);;All files (*)"
Outcome = tuple[np.ndarray | None, "Answer", str]  # the raw input, the answer, a note


# -- on the worker thread ----------------------------------------------------------------
def _load(doc: Document, weights: str | None, base: Path | None) -> TryModel:
    from runtime.inspect.tryit import load_try_model

    return load_try_model(doc, weights, base)


def _drawing(model: TryModel, ink: np.ndarray) -> Outcome:
    from runtime.inspect.tryit import answer, drawn_image

    raw = drawn_image(ink, model)
    return raw, answer(model, raw), ""


def _values(model: TryModel, texts: list[str]) -> Outcome:
    from runtime.inspect.tryit import answer, typed_values

    raw = typed_values(texts, model.feature_names())
    return raw, answer(model, raw), ""


def _file(model: TryModel, path: str) -> Outcome:
    from runtime.inspect.tryit import answer, file_sample

    raw, note = file_sample(model, path)
    return raw, answer(model, raw), note


def _sample(model: TryModel, index: int) -> Outcome:
    from runtime.inspect.tryit import answer, data_sample

    raw, split, label = data_sample(model, index)
    note = f"sample {index} of the {split} split" + (f", labelled '{label}'" if label else "")
    return raw, answer(model, raw), note


def _seed(model: TryModel, seed: int) -> Outcome:
    from runtime.inspect.tryit import generated

    return None, generated(model, seed), f"noise vector drawn with seed {seed}"


class TryItView(Insight):
    """One input of the user's own, the network's answer, and the path it took."""

    title = "Try it"

    def __init__(self, controller: TrainingController) -> None:
        super().__init__(controller)
        self.setAcceptDrops(True)
        self.source = QLabel()
        self.source.setWordWrap(True)
        self.message = QLabel()
        self.message.setWordWrap(True)
        self.canvas = DrawingCanvas()
        self.clear_button = QPushButton("Clear")
        self.open_button = QPushButton("Open image…")
        self.seen = QLabel()  # what the network sees: the drawing at the data's size
        self.seen.setToolTip("The input as the network gets it, at the data set's own size")
        self.fields: list[QLineEdit] = []
        self.form = QFormLayout()
        self.try_button = QPushButton("Try these values")
        self.sample_index = QSpinBox()
        self.sample_index.setRange(0, 9999)
        self.sample_index.setPrefix("sample ")
        self.sample_button = QPushButton("Use this sample")
        self.sample_button.setToolTip("Try a sample of the data set the network did not "
                                      "train on (the test split)")
        self.seed = QSpinBox()
        self.seed.setRange(0, 2**31 - 1)
        self.seed.setPrefix("seed ")
        self.generate_button = QPushButton("Generate")
        self.answer_view = AnswerView()
        self.path = PathList()
        self.on_canvas = QCheckBox("Show the path on the canvas too")
        self.on_canvas.setChecked(True)
        self.on_canvas.setToolTip("Each layer's output for this input, drawn on its node")
        self.scene_for: Callable[[str], GraphScene | None] | None = None  # the window's
        self.pages = QStackedWidget()
        self.pages.addWidget(self._image_page())
        self.pages.addWidget(self._values_page())
        self.pages.addWidget(self._noise_page())
        self.pages.addWidget(QLabel("Pick a sample of the data below."))
        self._layout()
        self.job = BackgroundJob(self, blocks_close=False)  # it only reads
        self.job.done.connect(self._done)
        self.model: TryModel | None = None
        self.weights: str | None = None
        self.stale = True
        self.pending: tuple[Callable[..., Any], Any] | None = None  # the newest input
        self.reload_wanted = False  # weights changed while a job ran
        self.generation = 0  # bumped per document: a late job's result is then dropped
        self.job_generation = 0
        self.raw: np.ndarray | None = None  # the last input tried, in the data's units
        self.answer: Answer | None = None
        self._scene: GraphScene | None = None  # where the path is drawn now
        self.canvas.drawn.connect(self.try_drawing)
        self.clear_button.clicked.connect(self._clear_drawing)
        self.open_button.clicked.connect(self._open_image)
        self.try_button.clicked.connect(self.try_values)
        self.sample_button.clicked.connect(lambda: self._try(_sample, self.sample_index.value()))
        self.generate_button.clicked.connect(lambda: self._try(_seed, self.seed.value()))
        self.path.node_chosen.connect(self._node_chosen)
        self.on_canvas.toggled.connect(self._draw_on_canvas)
        controller.weights_saved.connect(self._weights_saved)

    def _image_page(self) -> QWidget:
        page = QWidget()
        buttons = QVBoxLayout()
        for widget in (self.clear_button, self.open_button, QLabel("The network sees:"),
                       self.seen):
            buttons.addWidget(widget)
        buttons.addStretch(1)
        drawing = QVBoxLayout()
        drawing.addWidget(QLabel("Draw a digit with the mouse:"))
        drawing.addWidget(self.canvas)
        for button in (self.clear_button, self.open_button):
            button.setMaximumWidth(BUTTON_WIDTH)
        row = QHBoxLayout(page)
        row.setContentsMargins(0, 0, 0, 0)
        row.addLayout(drawing)
        row.addLayout(buttons)
        row.addStretch(1)
        return page

    def _values_page(self) -> QWidget:
        fields = QWidget()
        fields.setLayout(self.form)
        scroll = QScrollArea()  # a sequence has more fields than the dock is tall
        scroll.setWidgetResizable(True)
        scroll.setWidget(fields)
        page = QWidget()
        column = QVBoxLayout(page)
        column.setContentsMargins(0, 0, 0, 0)
        column.addWidget(scroll, 1)
        column.addWidget(self.try_button)
        self.try_button.setMaximumWidth(BUTTON_WIDTH + 40)
        return page

    def _noise_page(self) -> QWidget:
        page = QWidget()
        column = QVBoxLayout(page)
        column.setContentsMargins(0, 0, 0, 0)
        column.addWidget(QLabel("A generator turns a vector of random numbers into a sample; "
                                "each seed gives another vector."))
        column.addWidget(self.seed)
        column.addWidget(self.generate_button)
        column.addStretch(1)
        return page

    def _layout(self) -> None:
        inputs = QVBoxLayout()
        inputs.addWidget(self.pages)
        samples = QHBoxLayout()
        samples.addWidget(self.sample_index)
        samples.addWidget(self.sample_button)
        samples.addStretch(1)
        inputs.addLayout(samples)
        inputs.addWidget(self.message)
        inputs.addStretch(1)
        path = QVBoxLayout()
        path.addWidget(self.on_canvas)
        path.addWidget(self.path, 1)
        row = QHBoxLayout()
        row.addLayout(inputs)
        row.addWidget(self.answer_view, 1)
        row.addLayout(path, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 2, 4, 2)
        layout.addWidget(self.source)
        layout.addLayout(row, 1)

    # -- what applies ---------------------------------------------------------------
    def applies(self) -> bool:
        return trains_for(self.session, TASKS)

    def clear(self) -> None:
        self.generation += 1
        self.model = None
        self.stale = True
        self.pending = None
        self.reload_wanted = False
        self.raw = self.answer = None
        self._clear_canvas()
        self.answer_view.show_answer(None)
        self.path.show_path(None, None)
        self.message.setText("")
        if self.isVisible():
            self.load()

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        if self.stale:
            self.load()
        self._draw_on_canvas()
        QTimer.singleShot(0, self._make_room)

    def _make_room(self) -> None:
        """Grow a docked Insights panel that is too short for the drawing canvas."""
        dock = self.parentWidget()
        while dock is not None and not isinstance(dock, QDockWidget):
            dock = dock.parentWidget()
        window = dock.parentWidget() if dock is not None else None
        if isinstance(dock, QDockWidget) and isinstance(window, QMainWindow) \
                and not dock.isFloating() and dock.height() < ROOM and self.isVisible():
            window.resizeDocks([dock], [ROOM], Qt.Orientation.Vertical)

    def hideEvent(self, event: QHideEvent) -> None:
        super().hideEvent(event)
        self._clear_canvas()  # the canvas overlay belongs to this tab while it shows

    def _weights_saved(self, _folder: object) -> None:
        self.stale = True
        if self.isVisible():
            self.load()

    # -- the model ------------------------------------------------------------------
    def load(self) -> None:
        """Load the last run's weights (fresh ones before any run) on a worker thread."""
        if self.session is None or not self.applies():
            return
        if self.job.running:
            self.reload_wanted = True
            return
        from gui.export_dialog import default_weights

        self.stale = False
        self.model = None
        weights = default_weights(self.session) or None
        doc = loads(dumps(self.session.doc))  # a snapshot: the worker never sees edits
        beside = Path(weights).with_name("graph.loom") if weights else None
        if beside is not None and beside.is_file():
            with contextlib.suppress(GraphFileError):  # else the snapshot: loading says why
                doc = load_graph(beside)  # the graph the weights were trained with
        self.weights = weights
        self.source.setText("Loading the network…")
        base = self.session.path.parent if self.session.path is not None else None
        self.job_generation = self.generation
        self.job.start(_load, doc, weights, base, name="try-it")

    def _loaded(self, model: TryModel) -> None:
        self.model = model
        if model.fresh:
            self.source.setText("<b>Fresh, untrained weights</b>: the answers are guesses "
                                "until the network is trained (Training &gt; Train).")
        else:
            self.source.setText(f"From {weights_text(self.weights or '')}.")
        kind = model.input_kind()
        self.pages.setCurrentIndex({"image": 0, "values": 1, "noise": 2}.get(kind, 3))
        for widget in (self.sample_index, self.sample_button):
            widget.setVisible(kind != "noise")
        if kind == "values":
            self._fill_form(model)
        elif kind == "image":
            shape = model.pre.sample_shape
            self.canvas.setToolTip(f"Draw with the mouse; the drawing is made {shape[2]}×"
                                   f"{shape[1]} pixels like the {model.pre.dataset or 'data'} "
                                   "images")

    def _fill_form(self, model: TryModel) -> None:
        while self.form.rowCount():
            self.form.removeRow(0)
        self.fields = []
        for name in model.feature_names():
            field = QLineEdit()
            field.setPlaceholderText("a number")
            field.returnPressed.connect(self.try_values)
            self.form.addRow(name, field)
            self.fields.append(field)

    # -- tries ----------------------------------------------------------------------
    def try_drawing(self) -> None:
        if not self.canvas.is_blank():
            self._try(_drawing, self.canvas.ink())

    def try_values(self) -> None:
        self._try(_values, [field.text() for field in self.fields])

    def try_file(self, path: str) -> None:
        self._try(_file, path)

    def _clear_drawing(self) -> None:
        self.canvas.clear()
        self.seen.clear()

    def _open_image(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open an image", "", IMAGE_FILTER)
        if path:
            self.try_file(path)

    def _try(self, work: Callable[..., Outcome], argument: Any) -> None:
        if self.model is None or self.job.running:
            self.pending = (work, argument)  # the newest input wins
            if self.model is None and not self.job.running:
                self.load()
            return
        self.message.setText("")
        self.job_generation = self.generation
        self.job.start(work, self.model, argument, name="try-it")

    def _done(self, result: Any, error: BaseException | None) -> None:
        from runtime.inspect.tryit import TryModel

        if self.job_generation != self.generation:
            pass  # another document opened meanwhile
        elif error is not None:
            from runtime.cli_run import user_errors

            known = isinstance(error, user_errors())
            text = str(error) if known else f"{type(error).__name__}: {error}"
            if self.model is None:  # the network could not be loaded: inputs wait in vain
                self.pending = None
                text = f"The network cannot be loaded: {text}"
            target = self.message if self.model is not None else self.source
            target.setText(f"<span style='color:#c0392b'>{text}</span>")
        elif isinstance(result, TryModel):
            self._loaded(result)
        elif result is not None:
            self._show(*result)
        if self.reload_wanted:
            self.reload_wanted = False
            self.load()  # the pending input then waits for the new model
        elif self.pending is not None:
            pending, self.pending = self.pending, None
            self._try(*pending)

    def _show(self, raw: np.ndarray | None, answer: Answer, note: str) -> None:
        assert self.model is not None
        self.raw, self.answer = raw, answer
        high = float((self.model.pre.extra or {}).get("value_range", [0, 255])[1])
        if raw is not None and raw.ndim == 3:
            from gui.insights.answer_view import image_pixmap

            self.seen.setPixmap(image_pixmap(raw, high, 96))
        self.answer_view.show_answer(answer, raw, high)
        self.message.setText(note)
        if raw is not None and raw.size == len(self.fields) and self.pages.currentIndex() == 1:
            for field, value in zip(self.fields, raw.reshape(-1), strict=True):
                field.setText(f"{float(value):.6g}")  # a sample's values, to change and try
        doc = self.model.inspected.doc
        self.path.show_path(answer, doc)
        self._draw_on_canvas()

    def _draw_on_canvas(self) -> None:
        """The input's path drawn on the canvas (each node's output card), or removed."""
        self._clear_canvas()
        answer = self.answer
        if not (self.on_canvas.isChecked() and self.isVisible()) or answer is None \
                or self.scene_for is None:
            return
        scene = self.scene_for(answer.network)
        if scene is not None:
            from gui.canvas import step_overlay

            step_overlay.show_forward(scene, answer.path)
            self._scene = scene

    def _clear_canvas(self) -> None:
        scene, self._scene = self._scene, None
        if scene is not None:
            from gui.canvas import step_overlay

            step_overlay.clear(scene)

    def _node_chosen(self, node_id: str) -> None:
        if self.model is not None:
            self.node_named.emit(self.model.network, node_id)

    # -- files dropped on the tab -----------------------------------------------------
    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:
        urls = [u for u in event.mimeData().urls() if u.isLocalFile()]
        if urls:
            event.acceptProposedAction()
            self.try_file(urls[0].toLocalFile())



def connect_canvas(panel: InsightsPanel, tabs: CanvasTabs) -> None:
    """Let ``panel``'s Try it tab draw the input's path on the canvas of ``tabs``."""
    from gui.canvas.scene import GraphScene

    view = panel.view(TryItView)
    assert isinstance(view, TryItView)

    def scene_for(network: str) -> GraphScene | None:
        canvas = tabs.show_network(network)
        scene = canvas.scene() if canvas is not None else None
        return scene if isinstance(scene, GraphScene) else None

    view.scene_for = scene_for
