"""Editors generated from pydantic models and data-set option specs.

The training section's models (``graph.training``) are the one description of
its fields: their types, bounds, choices and descriptions become the widgets
here, so a field added there appears in the settings dialog by itself.
"""

from __future__ import annotations

import types
from collections.abc import Callable, Iterable
from typing import Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel
from pydantic.fields import FieldInfo
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QWidget,
)

INT_LIMIT = 2**31 - 1


class Field:
    """One editable value: a widget, and how to read and show its value."""

    def __init__(self, widget: QWidget, get: Callable[[], Any],
                 put: Callable[[Any], None]) -> None:
        self.widget = widget
        self.get = get
        self.put = put


def choice_field(choices: Iterable[str], tooltip: str = "") -> Field:
    combo = QComboBox()
    combo.addItems(list(choices))
    combo.setToolTip(tooltip)

    def put(value: Any) -> None:
        if combo.findText(str(value)) < 0:
            combo.addItem(str(value))
        combo.setCurrentText(str(value))

    return Field(combo, combo.currentText, put)


def bool_field(tooltip: str = "") -> Field:
    box = QCheckBox()
    box.setToolTip(tooltip)
    return Field(box, box.isChecked, lambda v: box.setChecked(bool(v)))


def int_field(low: float | None, high: float | None, tooltip: str = "") -> Field:
    if (high is not None and high > INT_LIMIT) or (low is not None and low < -INT_LIMIT):
        return _wide_int_field(tooltip)  # a seed up to 2**32 - 1: more than a QSpinBox holds
    spin = QSpinBox()
    spin.setRange(int(low) if low is not None else -INT_LIMIT,
                  int(high) if high is not None else INT_LIMIT)
    spin.setToolTip(tooltip)
    return Field(spin, spin.value, lambda v: spin.setValue(int(v)))


def _wide_int_field(tooltip: str) -> Field:
    """A whole number as text, for ranges beyond 32 bits; anything else is left for the
    model's checks to name."""
    edit = QLineEdit()
    edit.setToolTip(tooltip)

    def get() -> Any:
        text = edit.text().strip()
        try:
            return int(text)
        except ValueError:
            return text

    return Field(edit, get, lambda v: edit.setText(str(v)))


def text_field(tooltip: str = "", *, number: bool = False, optional: bool = False,
               listing: bool = False) -> Field:
    """A line edit: a number (read as float when it parses, else left for the checks to
    name), free text, or a comma-separated list; empty means None when ``optional``."""
    edit = QLineEdit()
    edit.setToolTip(tooltip)
    if optional:
        edit.setPlaceholderText("off")

    def get() -> Any:
        text = edit.text().strip()
        if optional and not text:
            return None
        if listing:
            return [part.strip() for part in text.split(",") if part.strip()]
        if number:
            try:
                return float(text.replace(",", "."))
            except ValueError:
                return text
        return text

    def put(value: Any) -> None:
        if value is None:
            edit.setText("")
        elif listing and isinstance(value, list | tuple):
            edit.setText(", ".join(str(v) for v in value))
        elif isinstance(value, float):
            edit.setText(repr(value))  # exactly the stored value: OK alone changes nothing
        else:
            edit.setText(str(value))

    return Field(edit, get, put)


def with_browse(field: QLineEdit, browse: Callable[[], None]) -> QWidget:
    """``field`` with a Browse… button beside it that calls ``browse``."""
    row = QWidget()
    layout = QHBoxLayout(row)
    layout.setContentsMargins(0, 0, 0, 0)
    layout.addWidget(field, 1)
    button = QPushButton("Browse…")
    button.clicked.connect(browse)
    layout.addWidget(button)
    return row


def pydantic_field(info: FieldInfo) -> Field | None:
    """The editor of one model field, or None for a field this form leaves alone."""
    annotation, tooltip = info.annotation, info.description or ""
    optional = get_origin(annotation) in (Union, types.UnionType) and \
        type(None) in get_args(annotation)
    if optional:
        annotation = next(a for a in get_args(annotation) if a is not type(None))
    if get_origin(annotation) is Literal:
        return choice_field(str(a) for a in get_args(annotation))
    if annotation is bool:
        return bool_field(tooltip)
    if annotation is int and not optional:
        return int_field(*_int_bounds(info), tooltip)
    if annotation is float:
        return text_field(tooltip, number=True, optional=optional)
    if annotation is str:
        return text_field(tooltip)
    return None


def _int_bounds(info: FieldInfo) -> tuple[int | None, int | None]:
    low = high = None
    for bound in info.metadata:
        if hasattr(bound, "ge"):
            low = int(bound.ge)
        if hasattr(bound, "gt"):
            low = int(bound.gt) + 1
        if hasattr(bound, "le"):
            high = int(bound.le)
        if hasattr(bound, "lt"):
            high = int(bound.lt) - 1
    return low, high


LABELS = {"lr": "Learning rate", "max_lr": "Peak learning rate", "val": "Validation",
          "n_samples": "Samples", "d_steps": "Discriminator steps", "grad_clip": "Gradient clip"}


def label(name: str) -> str:
    return LABELS.get(name) or name.replace("_", " ").capitalize()


class ModelForm:
    """A group of editors for the scalar fields of a pydantic model (nested models get
    their own group inside it); fields without an editor keep their value."""

    def __init__(self, model: type[BaseModel], title: str,
                 skip: Iterable[str] = ()) -> None:
        self.box = QGroupBox(title)
        self.layout = QFormLayout(self.box)
        self.fields: dict[str, Field] = {}
        self.children: dict[str, ModelForm] = {}
        for name, info in model.model_fields.items():
            if name in skip:
                continue
            annotation = info.annotation
            if isinstance(annotation, type) and issubclass(annotation, BaseModel):
                child = ModelForm(annotation, label(name))
                self.children[name] = child
                self.layout.addRow(child.box)
                continue
            field = pydantic_field(info)
            if field is not None:
                self.fields[name] = field
                self.layout.addRow(label(name), field.widget)
        self.applies_to = {n: v for n, v in getattr(model, "applies_to", {}).items()
                           if n in self.fields}
        chooser = self.fields.get("name")
        if self.applies_to and chooser is not None and isinstance(chooser.widget, QComboBox):
            chooser.widget.currentTextChanged.connect(self._show_applicable)
            self._show_applicable(chooser.widget.currentText())

    def _show_applicable(self, chosen: str) -> None:
        """Show only the fields that mean something with the chosen optimiser, loss or
        schedule (their values stay as they are)."""
        for name, values in self.applies_to.items():
            self.layout.setRowVisible(self.fields[name].widget, chosen in values)

    def put(self, data: dict[str, Any]) -> None:
        for name, field in self.fields.items():
            field.put(data.get(name))
        for name, child in self.children.items():
            child.put(data.get(name) or {})

    def read(self, data: dict[str, Any]) -> dict[str, Any]:
        """``data`` with this form's values in place of its fields'."""
        out = dict(data)
        for name, field in self.fields.items():
            out[name] = field.get()
        for name, child in self.children.items():
            out[name] = child.read(out.get(name) or {})
        return out
