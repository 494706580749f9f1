"""Training > Settings: the document's training section as a form.

Task, data set (with that set's own options), split, normalisation, loss,
epochs, one optimiser and schedule per trained network, early stopping and
device. OK checks the whole section with its own models and applies it as one
undoable step; a value they refuse is named and nothing is lost.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import ValidationError
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QLabel,
    QLineEdit,
    QScrollArea,
    QSplitter,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from graph.commands import SetTraining
from graph.training import (
    DataSpec,
    EarlyStoppingSpec,
    GanSpec,
    LossSpec,
    NetworkTrainingSpec,
    TokenizerSpec,
    TrainingSpec,
)
from gui.data_preview import DataPreviewWidget
from gui.model_form import (
    Field,
    ModelForm,
    bool_field,
    choice_field,
    int_field,
    label,
    text_field,
    with_browse,
)
from gui.session import Session
from runtime.data.dataset import DataError
from runtime.data.registry import DatasetInfo, OptionSpec, get_dataset_info, list_datasets

PREVIEW_MS = 400
GENERAL_SKIP = ("data", "loss", "networks", "early_stopping", "gan", "tokenizer")


class DataForm:
    """The data set (from the registry, for the chosen task) with its options, then the
    split, normalisation and augmentation of ``DataSpec``."""

    def __init__(self, base_dir: Path | None) -> None:
        self.base_dir = base_dir
        self.box = QWidget()
        layout = QVBoxLayout(self.box)
        self.combo = QComboBox()
        self.about = QLabel()
        self.about.setWordWrap(True)
        self.options_box = QGroupBox("Options of this data set")
        self.options_layout = QFormLayout(self.options_box)
        self.options: dict[str, Field] = {}
        self.rest = ModelForm(DataSpec, "Split and preprocessing", skip=("name", "options"))
        top = QFormLayout()
        top.addRow("Data set", self.combo)
        layout.addLayout(top)
        layout.addWidget(self.about)
        layout.addWidget(self.options_box)
        layout.addWidget(self.rest.box)
        layout.addStretch(1)
        self.combo.currentIndexChanged.connect(self._dataset_changed)

    def offer(self, task: str, current: str) -> None:
        """List the data sets that suit ``task`` (and ``current``, whatever it suits)."""
        names = [i.name for i in list_datasets() if task in i.tasks or i.name == current]
        self.combo.blockSignals(True)
        self.combo.clear()
        for name in names:
            self.combo.addItem(get_dataset_info(name).title, name)
        if current and current not in names:  # not registered here: kept, not replaced
            names.append(current)
            self.combo.addItem(f"{current} (unknown here)", current)
        self.combo.setCurrentIndex(names.index(current) if current in names else 0)
        self.combo.blockSignals(False)

    @property
    def name(self) -> str:
        return str(self.combo.currentData())

    @property
    def info(self) -> DatasetInfo | None:
        try:
            return get_dataset_info(self.name)
        except DataError:
            return None

    def put(self, data: dict[str, Any]) -> None:
        self.rest.put(data)
        self._build_options(data.get("options") or {})

    def read(self, data: dict[str, Any]) -> dict[str, Any]:
        out = self.rest.read(data)
        info = self.info
        out["name"] = self.name
        if info is not None:  # an unknown set keeps its options as they were
            # Only values that differ from the defaults are written: files stay short.
            values = {o.name: self.options[o.name].get() for o in info.options}
            out["options"] = {o.name: values[o.name] for o in info.options
                              if values[o.name] != _shown_default(o)}
        return out

    def check(self, options: dict[str, Any]) -> str | None:
        """The data set's own verdict on ``options``: None, or what is wrong."""
        info = self.info
        if info is None:
            return None
        try:
            info.resolve(options, self.base_dir)
        except DataError as exc:
            return f"Data › {exc}"
        return None

    def _dataset_changed(self) -> None:
        self._build_options({})

    def _build_options(self, values: dict[str, Any]) -> None:
        while self.options_layout.rowCount():
            self.options_layout.removeRow(0)
        self.options = {}
        info = self.info
        if info is None:
            self.about.setText(f"'{self.name}' is not a data set this installation knows; "
                               "its options are kept as they are.")
            self.options_box.hide()
            return
        self.about.setText(info.description)
        for opt in info.options:
            field = _option_field(opt, self.base_dir)
            try:
                field.put(values.get(opt.name, opt.default))
            except (TypeError, ValueError):  # a hand-edited file: show the default
                field.put(opt.default)
            self.options[opt.name] = field
            self.options_layout.addRow(label(opt.name), field.widget)
        self.options_box.setVisible(bool(info.options))


def _option_field(opt: OptionSpec, base_dir: Path | None) -> Field:
    tip = opt.description
    if opt.type == "choice":
        return choice_field(opt.choices, tip)
    if opt.type == "bool":
        return bool_field(tip)
    if opt.type == "int":
        return int_field(opt.minimum, opt.maximum, tip)
    if opt.type == "path":
        return _path_field(tip, base_dir)
    return text_field(tip, number=opt.type == "float", listing=opt.type == "list")


def _path_field(tooltip: str, base_dir: Path | None) -> Field:
    text = text_field(tooltip)
    edit = text.widget
    assert isinstance(edit, QLineEdit)

    def pick() -> None:
        start = str(base_dir) if base_dir else ""
        name, _ = QFileDialog.getOpenFileName(edit, "Data file", start)
        if name:
            text.put(name)

    return Field(with_browse(edit, pick), text.get, text.put)


def _shown_default(opt: OptionSpec) -> Any:
    default = opt.default
    if isinstance(default, tuple):
        return list(default)
    if opt.type == "float" and default is not None:
        return float(default)
    return default


class TrainingSettingsDialog(QDialog):
    """Edit the training section; OK applies it as one undoable step."""

    def __init__(self, session: Session, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.setWindowTitle("Training settings")
        self.resize(760, 860)
        training = session.doc.training
        self.original = training.to_data()
        self.general = ModelForm(TrainingSpec, "Run", skip=GENERAL_SKIP)
        self.data = DataForm(session.path.parent if session.path else None)
        self.tokens = ModelForm(TokenizerSpec, "Tokens (text data)")
        self.loss = ModelForm(LossSpec, "Loss")
        self.networks = {name: ModelForm(NetworkTrainingSpec, f"Network '{name}'")
                         for name in training.networks}
        self.stopping = ModelForm(EarlyStoppingSpec, "Early stopping")
        self.gan = ModelForm(GanSpec, "GAN") if training.gan is not None else None
        self.problem = QLabel()
        self.problem.setWordWrap(True)
        self.problem.setStyleSheet("color: #c0392b")
        self.preview = DataPreviewWidget()
        self._preview_timer = QTimer(self)  # the preview follows the form as it is edited
        self._preview_timer.setInterval(PREVIEW_MS)
        self._preview_timer.timeout.connect(self.preview_data)
        self._lay_out()
        self._put(self.original)
        task = self.general.fields["task"].widget
        assert isinstance(task, QComboBox)  # a Literal field
        task.currentTextChanged.connect(self._task_changed)
        self.preview_data()
        self._preview_timer.start()

    def preview_data(self) -> None:
        """Show the data the form names now (a half-typed value waits for the next try)."""
        try:
            edited = self.edited()
            spec = DataSpec.model_validate(edited["data"])
        except (ValidationError, ValueError, TypeError):
            return
        self.preview.show_data(spec, str(edited["task"]), self.data.base_dir)

    def _lay_out(self) -> None:
        tabs = QTabWidget()
        tabs.addTab(_scrolled(self.general.box, self.loss.box, self.stopping.box,
                              *([self.gan.box] if self.gan else [])), "Run")
        data = QSplitter(Qt.Orientation.Vertical)
        data.addWidget(_scrolled(self.data.box, self.tokens.box))
        data.addWidget(self.preview)
        data.setSizes([420, 330])  # the samples need room to be made out
        tabs.addTab(data, "Data")
        tabs.addTab(_scrolled(*(f.box for f in self.networks.values())), "Optimisers")
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                                   | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(tabs, 1)
        layout.addWidget(self.problem)
        layout.addWidget(buttons)

    def _put(self, data: dict[str, Any]) -> None:
        self.general.put(data)
        self.data.offer(data["task"], data["data"]["name"])
        self.data.put(data["data"])
        self.tokens.put(data["tokenizer"])
        self.loss.put(data["loss"])
        for name, form in self.networks.items():
            form.put(data["networks"][name])
        self.stopping.put(data["early_stopping"])
        if self.gan is not None:
            self.gan.put(data["gan"] or {})

    def _task_changed(self, task: str) -> None:
        self.data.offer(task, self.data.name)
        self.data.put(self.data.read(self.original["data"]))

    def edited(self) -> dict[str, Any]:
        data = self.general.read(self.original)
        data["data"] = self.data.read(self.original["data"])
        data["loss"] = self.loss.read(self.original["loss"])
        data["tokenizer"] = self.tokens.read(self.original["tokenizer"])
        data["networks"] = {name: form.read(self.original["networks"][name])
                            for name, form in self.networks.items()}
        data["early_stopping"] = self.stopping.read(self.original["early_stopping"])
        if self.gan is not None:
            data["gan"] = self.gan.read(self.original["gan"] or {})
        if data["task"] == "gan":  # a GAN trains its two networks, each with an optimiser
            data["gan"] = data.get("gan") or GanSpec().model_dump(mode="json")
            for role in ("generator", "discriminator"):
                data["networks"].setdefault(data["gan"][role],
                                            NetworkTrainingSpec().model_dump(mode="json"))
        return data

    def accept(self) -> None:
        edited = self.edited()
        try:
            training = TrainingSpec.model_validate(edited)
        except ValidationError as exc:
            self.problem.setText(_first_problem(exc))
            return  # the dialog stays open with every value as typed
        problem = self.data.check(edited["data"]["options"])
        if problem is not None:
            self.problem.setText(problem)
            return
        if training != self.session.doc.training:
            self.session.push(SetTraining(training))
        super().accept()


def _first_problem(exc: ValidationError) -> str:
    error = exc.errors()[0]
    where = " › ".join(label(str(part)) for part in error["loc"])
    message = error["msg"].removeprefix("Value error, ")
    more = len(exc.errors()) - 1
    return f"{where}: {message}" + (f" (and {more} more)" if more else "")


def _scrolled(*boxes: QWidget) -> QScrollArea:
    inner = QWidget()
    layout = QVBoxLayout(inner)
    for box in boxes:
        layout.addWidget(box)
    layout.addStretch(1)
    area = QScrollArea()
    area.setWidgetResizable(True)
    area.setWidget(inner)
    return area
