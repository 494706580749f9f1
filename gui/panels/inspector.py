"""The inspector: the selected node's name and parameters, its shapes and its documentation."""

from __future__ import annotations

import html
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QFormLayout,
    QLabel,
    QLineEdit,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from graph.commands import Rename, SetParam
from graph.document import Node
from gui.canvas.node_item import format_count
from gui.panels.param_editors import NodeEditor, make_editor
from gui.session import Session
from gui.theme import problems_html


def _label(text: str = "", *, muted: bool = False, name: str = "") -> QLabel:
    label = QLabel(text)
    label.setWordWrap(True)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    if muted:
        label.setProperty("muted", True)
    if name:
        label.setObjectName(name)
    return label


class InspectorPanel(QScrollArea):
    """Editors generated from the node's ``LayerSpec``; every edit is a command."""

    def __init__(self) -> None:
        super().__init__()
        self.setWidgetResizable(True)
        self.session: Session | None = None
        self.network = ""
        self.node_id: str | None = None
        self.editors: dict[str, QWidget] = {}
        self._form = QFormLayout()
        self.name_edit: QLineEdit | None = None
        self.problem = _label(name="InspectorProblem")
        self.shapes = _label()
        self._show_empty()

    # -- binding ---------------------------------------------------------------
    def set_session(self, session: Session) -> None:
        if self.session is not None:
            ev = self.session.doc.events
            ev.param_changed.disconnect(self._param_changed)
            ev.label_changed.disconnect(self._label_changed)
            ev.node_removed.disconnect(self._node_removed)
            ev.node_added.disconnect(self._nodes_changed)
            self.session.shapes_changed.disconnect(self._shapes_changed)
            self.session.diagnostics_changed.disconnect(self._show_shapes)
        self.session = session
        ev = session.doc.events
        ev.param_changed.connect(self._param_changed)
        ev.label_changed.connect(self._label_changed)
        ev.node_removed.connect(self._node_removed)
        ev.node_added.connect(self._nodes_changed)
        session.shapes_changed.connect(self._shapes_changed)
        session.diagnostics_changed.connect(self._show_shapes)
        self.show_node("", None)

    def show_node(self, network: str, node_id: str | None) -> None:
        """Inspect ``node_id`` of ``network`` (None: nothing selected)."""
        self.network, self.node_id = network, node_id
        if self.session is None or node_id is None:
            self._show_empty()
            return
        self._build(self.session.doc.network(network).node(node_id))

    # -- building the form -----------------------------------------------------
    def _show_empty(self) -> None:
        self.editors, self.name_edit = {}, None
        page = QWidget()
        layout = QVBoxLayout(page)
        description = self.session.doc.ui.get("description") if self.session else None
        if isinstance(description, str) and description.strip():
            layout.addWidget(_label("<b>About this network</b>"))
            text = _label(description.strip(), name="DocumentDescription")
            text.setTextFormat(Qt.TextFormat.PlainText)  # a file's text, never markup
            layout.addWidget(text)
        layout.addWidget(_label("Select one node to see and edit its parameters.", muted=True))
        layout.addStretch()
        self.setWidget(page)

    def _build(self, node: Node) -> None:
        spec = node.spec
        page = QWidget()
        layout = QVBoxLayout(page)
        title = _label(f"<b>{spec.display_name}</b> · {spec.category}")
        layout.addWidget(title)
        layout.addWidget(_label(spec.description, muted=True))
        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self.name_edit = QLineEdit(node.label)
        self.name_edit.editingFinished.connect(self._rename)
        form.addRow("name", self.name_edit)
        self.editors = {}
        for p in spec.all_params:
            editor = make_editor(p, node.params[p.name], self._choices(p.node_type))
            editor.committed.connect(  # type: ignore[attr-defined]
                lambda value, name=p.name: self._commit(name, value))
            editor.invalid.connect(self._refused)  # type: ignore[attr-defined]
            row_label = QLabel(p.name)
            row_label.setToolTip(p.doc)
            form.addRow(row_label, editor)
            if p.torch_default:
                form.addRow("", _label(f"PyTorch's default: {p.torch_default}", muted=True))
            self.editors[p.name] = editor
        layout.addLayout(form)
        self._form = form
        self._show_applicable()
        self.problem = _label(name="InspectorProblem")
        self.problem.hide()
        layout.addWidget(self.problem)
        self.shapes = _label()
        layout.addWidget(self.shapes)
        if spec.doc:
            layout.addWidget(_label(spec.doc, muted=True))
        if spec.torch_note:
            layout.addWidget(_label(f"Unlike torch.nn: {spec.torch_note}.", muted=True))
        layout.addStretch()
        self.setWidget(page)
        self._show_shapes()

    def _show_shapes(self) -> None:
        if self.session is None or self.node_id is None:
            return
        session, net = self.session, self.session.doc.network(self.network)
        if not session.shapes_ready:
            self.shapes.setText("Shapes appear once PyTorch has loaded…")
            return
        rows = []
        for port, src in net.inputs_of(self.node_id):
            out = session.shape(self.network, src).out
            rows.append(f"in <b>{port}</b>: {out.describe() if out else '?'}")
        shape = session.shape(self.network, self.node_id)
        rows.append(f"out: <b>{shape.out.describe() if shape.out else '?'}</b>")
        if shape.params:
            frozen = shape.params - shape.trainable
            extra = f", {format_count(frozen)} frozen" if frozen else ""
            rows.append(f"{format_count(shape.params)} parameters{extra}")
        elif shape.pending and net.node(self.node_id).spec.has_weights:
            rows.append("parameters: counted once PyTorch has loaded…")
        self.shapes.setText("<br>".join(rows))
        problems = session.node_problems(self.network, self.node_id)
        self._show_problem(problems_html(problems))

    def _show_problem(self, text: str) -> None:
        self.problem.setTextFormat(Qt.TextFormat.RichText)
        self.problem.setText(text)
        self.problem.setVisible(bool(text))

    # -- edits -----------------------------------------------------------------
    def _commit(self, name: str, value: Any) -> None:
        if self.session is None or self.node_id is None:
            return
        node = self.session.doc.network(self.network).node(self.node_id)
        spec = node.spec.param(name)
        if node.params[name] == (tuple(value) if spec.kind == "ints" else value):
            return
        problem = spec.problem(value)
        if problem:
            self._refused(f"'{name}' {problem}")
            self._param_changed(self.network, self.node_id, name)
            return
        if not self.session.push(SetParam(self.network, self.node_id, name, value)):
            self._param_changed(self.network, self.node_id, name)

    def _refused(self, message: str) -> None:
        self._show_problem(html.escape(f"Not changed: {message}"))
        if self.session is not None:
            self.session.message.emit(f"Not changed: {message}")

    def _rename(self) -> None:
        if self.session is None or self.node_id is None or self.name_edit is None:
            return
        node = self.session.doc.network(self.network).node(self.node_id)
        text = self.name_edit.text().strip()
        if text == node.label:
            return
        if not self.session.push(Rename(self.network, self.node_id, text)):
            self.name_edit.setText(node.label)

    # -- document events -------------------------------------------------------
    def _param_changed(self, network: str, node_id: str, name: str) -> None:
        if (network, node_id) == (self.network, self.node_id) and name in self.editors:
            assert self.session is not None
            value = self.session.doc.network(network).node(node_id).params[name]
            self.editors[name].set_value(value)  # type: ignore[attr-defined]
            self._show_applicable()

    def _show_applicable(self) -> None:
        """Hide the fields that mean nothing with the others' values (init_std unless the
        init is 'normal'); their values stay as they are."""
        if self.session is None or self.node_id is None:
            return
        node = self.session.doc.network(self.network).node(self.node_id)
        for p in node.spec.all_params:
            if p.applies_when is not None and p.name in self.editors:
                self._form.setRowVisible(self.editors[p.name], p.applies(node.params))

    def _label_changed(self, network: str, node_id: str) -> None:
        if (network, node_id) == (self.network, self.node_id) and self.name_edit is not None:
            assert self.session is not None
            self.name_edit.setText(self.session.doc.network(network).node(node_id).label)
        self._nodes_changed(network, node_id)

    def _node_removed(self, network: str, node_id: str) -> None:
        if (network, node_id) == (self.network, self.node_id):
            self.show_node("", None)
        self._nodes_changed(network, node_id)

    def _nodes_changed(self, network: str, _node_id: str) -> None:
        """Another node came, went or was renamed: choices of nodes list it as it is now."""
        if network != self.network or self.node_id is None:
            return
        for editor in self.editors.values():
            if isinstance(editor, NodeEditor):
                editor.set_choices(self._choices(editor.spec.node_type))

    def _choices(self, node_type: str) -> list[tuple[str, str]]:
        """(id, label) of the inspected network's nodes of ``node_type``, in id order."""
        if not node_type or self.session is None:
            return []
        net = self.session.doc.network(self.network)
        return [(n.id, n.label) for n in net.nodes() if n.type == node_type]

    def _shapes_changed(self, network: str, ids: set[str]) -> None:
        if network == self.network and self.node_id is not None:
            self._show_shapes()
