"""Editors generated from a ``ParamSpec``: one widget class per parameter kind.

Each editor emits ``committed(value)`` with a well-typed value when the user
finishes an edit, and ``invalid(message)`` when the text cannot be read.
``set_value`` shows a value without emitting anything.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from PySide6.QtCore import QSignalBlocker, Signal
from PySide6.QtGui import QValidator
from PySide6.QtWidgets import (
    QAbstractSpinBox,
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QLineEdit,
    QSpinBox,
    QWidget,
)

from graph.catalog import ParamSpec

INT_LIMIT = 2**31 - 1
FLOAT_LIMIT = 1e12


def _state(text: str, kind: type) -> QValidator.State:
    """Any readable number is acceptable text; bounds are checked when it is committed."""
    try:
        kind(text.strip())
    except ValueError:
        return QValidator.State.Intermediate
    return QValidator.State.Acceptable


def _refused(editor: IntEditor | FloatEditor, value: float) -> bool:
    """Refuse a typed value outside the spin box's bounds, saying why."""
    if editor.minimum() <= value <= editor.maximum():
        return False
    low, high = editor.minimum(), editor.maximum()
    problem = editor.spec.problem(value) or (
        # each editor writes its own kind of number
        f"must be between {editor.textFromValue(low)} and "  # type: ignore[arg-type]
        f"{editor.textFromValue(high)}")  # type: ignore[arg-type]
    editor.invalid.emit(f"'{editor.spec.name}' {problem}")
    return True


class IntEditor(QSpinBox):
    committed = Signal(object)
    invalid = Signal(str)

    def __init__(self, spec: ParamSpec) -> None:
        super().__init__()
        low = -INT_LIMIT if spec.minimum is None else int(max(spec.minimum, -INT_LIMIT))
        high = INT_LIMIT if spec.maximum is None else int(min(spec.maximum, INT_LIMIT))
        self.setRange(low, high)
        self.spec = spec
        self.setKeyboardTracking(False)
        self.setAccelerated(True)
        self.valueChanged.connect(self.committed.emit)

    # PySide6 takes a bare State; its stub asks for (State, text, pos)
    def validate(self, text: str, pos: int) -> QValidator.State:  # type: ignore[override]
        if re.fullmatch(r"[-+]?\d*", text.strip()):
            return _state(text, int)
        return QValidator.State.Invalid

    def valueFromText(self, text: str) -> int:
        try:
            value = int(text.strip())
        except ValueError:
            return self.value()
        return self.value() if _refused(self, value) else value

    def set_value(self, value: Any) -> None:
        with QSignalBlocker(self):
            self.setValue(int(value))


class FloatEditor(QDoubleSpinBox):
    """Shows values compactly (``1e-05``, ``0.2``) and steps adaptively."""

    committed = Signal(object)
    invalid = Signal(str)

    def __init__(self, spec: ParamSpec) -> None:
        super().__init__()
        self.setDecimals(10)
        low = -FLOAT_LIMIT if spec.minimum is None else float(spec.minimum)
        high = FLOAT_LIMIT if spec.maximum is None else float(spec.maximum)
        self.setRange(low, high)
        self.spec = spec
        self.setStepType(QAbstractSpinBox.StepType.AdaptiveDecimalStepType)
        self.setKeyboardTracking(False)
        self.valueChanged.connect(self.committed.emit)

    def textFromValue(self, value: float) -> str:
        return f"{value:.8g}"

    def valueFromText(self, text: str) -> float:
        try:
            value = float(text.strip().replace(",", "."))
        except ValueError:
            return self.value()
        return self.value() if _refused(self, value) else value

    # PySide6 takes a bare State; its stub asks for (State, text, pos)
    def validate(self, text: str, pos: int) -> QValidator.State:  # type: ignore[override]
        if re.fullmatch(r"[-+]?(\d*[.,]?\d*)([eE][-+]?\d*)?", text.strip()):
            return _state(text.replace(",", "."), float)
        return QValidator.State.Invalid

    def set_value(self, value: Any) -> None:
        with QSignalBlocker(self):
            self.setValue(float(value))


class BoolEditor(QCheckBox):
    committed = Signal(object)
    invalid = Signal(str)

    def __init__(self, spec: ParamSpec) -> None:
        super().__init__()
        self.toggled.connect(self.committed.emit)

    def set_value(self, value: Any) -> None:
        with QSignalBlocker(self):
            self.setChecked(bool(value))


class ChoiceEditor(QComboBox):
    committed = Signal(object)
    invalid = Signal(str)

    def __init__(self, spec: ParamSpec) -> None:
        super().__init__()
        self.addItems(list(spec.choices))
        self.currentTextChanged.connect(self.committed.emit)

    def set_value(self, value: Any) -> None:
        with QSignalBlocker(self):
            self.setCurrentText(str(value))


def parse_ints(text: str) -> tuple[int, ...]:
    """``"3, 3"`` or ``"[3 3]"`` → ``(3, 3)``; raises ``ValueError`` naming the bad part."""
    text = re.sub(r"(?<=\d)\s*[x×]\s*(?=[-+]?\d)", ",", text.strip().strip("[]()"))
    parts = [p for p in re.split(r"[\s,]+", text) if p]
    if not parts:
        raise ValueError("enter at least one whole number, e.g. 3 or 1, 28, 28")
    values = []
    for part in parts:
        if not re.fullmatch(r"[-+]?\d+", part):
            raise ValueError(f"'{part}' is not a whole number; separate numbers with commas")
        values.append(int(part))
    return tuple(values)


class IntsEditor(QLineEdit):
    """Comma-separated integers (a shape, a kernel size)."""

    committed = Signal(object)
    invalid = Signal(str)

    def __init__(self, spec: ParamSpec) -> None:
        super().__init__()
        self.setPlaceholderText("e.g. 1, 28, 28")
        self._shown = ""
        self.editingFinished.connect(self._finish)

    def set_value(self, value: Any) -> None:
        self._shown = ", ".join(str(v) for v in value)
        with QSignalBlocker(self):
            self.setText(self._shown)

    def _finish(self) -> None:
        if self.text() == self._shown:
            return
        try:
            values = parse_ints(self.text())
        except ValueError as exc:
            self.invalid.emit(str(exc))
            # the field shows what the layer holds; the message keeps what was refused
            with QSignalBlocker(self):
                self.setText(self._shown)
            return
        self.committed.emit(values)


class NodeEditor(QComboBox):
    """One of the network's nodes of the spec's ``node_type``, by name, or none.

    The node's id is what is stored (it survives renames); its name is what is shown.
    """

    committed = Signal(object)
    invalid = Signal(str)

    def __init__(self, spec: ParamSpec, nodes: Sequence[tuple[str, str]] = ()) -> None:
        super().__init__()
        self.spec = spec
        self.set_choices(nodes)
        self.currentIndexChanged.connect(lambda i: self.committed.emit(self.itemData(i)))

    def set_choices(self, nodes: Sequence[tuple[str, str]]) -> None:
        """Offer ``nodes`` ((id, label) pairs), keeping the chosen id."""
        value = self.currentData() if self.count() else ""
        with QSignalBlocker(self):
            self.clear()
            self.addItem("(none)", "")
            for node_id, label in nodes:
                self.addItem(label, node_id)
        self.set_value(value)

    def set_value(self, value: Any) -> None:
        with QSignalBlocker(self):
            index = self.findData(value)
            if index < 0:  # a node that is gone: shown, so the problem it causes is clear
                self.addItem(f"(missing node {value})", value)
                index = self.count() - 1
            self.setCurrentIndex(index)


Editor = IntEditor | FloatEditor | BoolEditor | ChoiceEditor | IntsEditor
EDITORS: dict[str, type[Editor]] = {
    "int": IntEditor, "float": FloatEditor, "bool": BoolEditor, "choice": ChoiceEditor,
    "ints": IntsEditor,
}


def make_editor(spec: ParamSpec, value: Any,
                nodes: Sequence[tuple[str, str]] = ()) -> QWidget:
    """The editor for ``spec``, showing ``value``; ``nodes`` are the (id, label) choices
    of a "node" parameter."""
    editor = NodeEditor(spec, nodes) if spec.kind == "node" else EDITORS[spec.kind](spec)
    editor.set_value(value)
    editor.setToolTip(spec.doc)
    return editor
