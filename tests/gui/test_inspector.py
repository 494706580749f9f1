"""The inspector's generated editors: every edit a command, bad input refused with a reason."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QCheckBox, QComboBox, QDoubleSpinBox, QLabel, QLineEdit, QSpinBox

from gui.panels.param_editors import parse_ints


def inspect(window, gestures, label: str):
    node = gestures.node_id(window, label)
    window.current_view().graph_scene.select_nodes([node])
    assert window.inspector.node_id == node
    return node, window.inspector.editors


def test_editors_follow_the_param_kinds_and_bounds(window, gestures):
    _, editors = inspect(window, gestures, "conv")
    assert isinstance(editors["out_channels"], QSpinBox)
    assert editors["out_channels"].minimum() == 1
    assert editors["out_channels"].value() == 4
    assert isinstance(editors["bias"], QCheckBox)
    assert isinstance(editors["init"], QComboBox)
    _, editors = inspect(window, gestures, "image")
    assert isinstance(editors["shape"], QLineEdit)
    assert editors["shape"].text() == "1, 8, 8"


def test_a_spin_box_edit_is_a_command_that_undo_reverts(window, gestures):
    conv, editors = inspect(window, gestures, "conv")
    session = window.session
    editors["out_channels"].setValue(12)
    assert session.doc.network("main").node(conv).params["out_channels"] == 12
    assert session.history.undo_stack[-1].text == "Set out_channels"
    fc = gestures.node_id(window, "fc")
    assert session.shape("main", fc).params == 12 * 64 * 10 + 10  # shapes follow at once

    window.window_actions.undo.trigger()
    assert session.doc.network("main").node(conv).params["out_channels"] == 4
    assert editors["out_channels"].value() == 4  # the editor follows the document
    window.window_actions.redo.trigger()
    assert editors["out_channels"].value() == 12


def test_typing_into_a_spin_box_commits_on_enter(window, gestures, qtbot):
    conv, editors = inspect(window, gestures, "conv")
    box = editors["out_channels"]
    box.lineEdit().selectAll()
    qtbot.keyClicks(box.lineEdit(), "32")
    qtbot.keyClick(box.lineEdit(), Qt.Key.Key_Return)
    assert window.session.doc.network("main").node(conv).params["out_channels"] == 32


def test_an_out_of_bounds_value_is_refused_with_the_reason(window, gestures, qtbot):
    conv, editors = inspect(window, gestures, "conv")
    box = editors["out_channels"]
    depth = len(window.session.history.undo_stack)
    box.lineEdit().selectAll()
    qtbot.keyClicks(box.lineEdit(), "0")
    qtbot.keyClick(box.lineEdit(), Qt.Key.Key_Return)
    assert window.session.doc.network("main").node(conv).params["out_channels"] == 4
    assert len(window.session.history.undo_stack) == depth
    assert "must be at least 1" in window.statusBar().currentMessage()
    assert "must be at least 1" in window.inspector.problem.text()


def test_a_float_editor_reads_small_numbers(window, gestures):
    window.current_view().add_layer("Dropout")
    node = window.current_view().graph_scene.selected_node_ids()[0]
    editors = window.inspector.editors
    assert isinstance(editors["p"], QDoubleSpinBox)
    editors["p"].setValue(0.25)
    assert window.session.doc.network("main").node(node).params["p"] == 0.25


def test_the_ints_editor_parses_lists_and_explains_bad_text(window, gestures, qtbot):
    image, editors = inspect(window, gestures, "image")
    edit = editors["shape"]
    edit.selectAll()
    qtbot.keyClicks(edit, "1, 28, x")
    qtbot.keyClick(edit, Qt.Key.Key_Return)
    assert window.session.doc.network("main").node(image).params["shape"] == (1, 8, 8)
    assert "'x' is not a whole number" in window.statusBar().currentMessage()
    assert edit.text() == "1, 8, 8"  # the field shows what the layer still holds

    edit.selectAll()
    qtbot.keyClicks(edit, "1, 16, 16")
    qtbot.keyClick(edit, Qt.Key.Key_Return)
    assert window.session.doc.network("main").node(image).params["shape"] == (1, 16, 16)
    conv = gestures.node_id(window, "conv")
    assert window.session.shape("main", conv).out.shape == (4, 16, 16)


def test_parse_ints_accepts_common_spellings():
    assert parse_ints("3") == (3,)
    assert parse_ints("[1, 28, 28]") == (1, 28, 28)
    assert parse_ints("4 x 4") == (4, 4)


def test_renaming_is_a_command_and_a_taken_name_is_refused(window, gestures):
    conv, _ = inspect(window, gestures, "conv")
    name = window.inspector.name_edit
    name.setText("features")
    name.editingFinished.emit()
    net = window.session.doc.network("main")
    assert net.node(conv).label == "features"
    assert window.current_view().graph_scene.nodes[conv].title == "features"
    name.setText("fc")
    name.editingFinished.emit()
    assert net.node(conv).label == "features"
    assert "already called 'fc'" in window.statusBar().currentMessage()
    assert name.text() == "features"
    window.window_actions.undo.trigger()
    assert net.node(conv).label == "conv" and name.text() == "conv"


def test_the_inspector_shows_shapes_and_docs(window, gestures):
    inspect(window, gestures, "conv")
    text = window.inspector.shapes.text()
    assert "N×1×8×8" in text and "N×4×8×8" in text and "40 parameters" in text


def test_the_inspector_shows_where_pytorch_differs(window, gestures):
    inspect(window, gestures, "conv")
    texts = [label.text() for label in window.inspector.widget().findChildren(QLabel)]
    assert "PyTorch's default: 0" in texts  # Conv2d's padding
    assert not any(t.startswith("Unlike torch.nn") for t in texts)  # Conv2d has no note
    inspect(window, gestures, "fc")
    texts = [label.text() for label in window.inspector.widget().findChildren(QLabel)]
    assert not any(t.startswith("PyTorch's default") for t in texts)  # Linear agrees with torch


def test_fields_that_do_not_apply_are_hidden_until_they_do(window, gestures):
    conv, editors = inspect(window, gestures, "conv")
    shown = {name: editor.isVisibleTo(window.inspector) for name, editor in editors.items()}
    assert not shown["init_std"] and not shown["init_mean"] and not shown["init_bound"]
    assert shown["out_channels"] and shown["init"]
    editors["init"].setCurrentText("normal")  # a command, like any edit
    assert window.session.doc.network("main").node(conv).params["init"] == "normal"
    assert editors["init_std"].isVisibleTo(window.inspector)
    assert not editors["init_bound"].isVisibleTo(window.inspector)
    window.window_actions.undo.trigger()  # the hidden field follows the model back
    assert not editors["init_std"].isVisibleTo(window.inspector)


def test_an_inputs_vocabulary_size_shows_only_for_token_ids(window, gestures):
    image, editors = inspect(window, gestures, "image")
    assert not editors["vocab_size"].isVisibleTo(window.inspector)  # float features
    editors["kind"].setCurrentText("tokens")
    assert window.session.doc.network("main").node(image).params["kind"] == "tokens"
    assert editors["vocab_size"].isVisibleTo(window.inspector)
