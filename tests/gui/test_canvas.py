"""The canvas driven by real events: drops, wiring, moving, deleting, copy and paste."""

from __future__ import annotations

from conftest import drag_event
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QDragEnterEvent, QDragMoveEvent, QDropEvent
from PySide6.QtWidgets import QApplication


def test_palette_drop_adds_a_node_that_undo_removes_and_redo_restores(window, qtbot):
    view = window.current_view()
    net = window.session.doc.network("main")
    before = len(net)
    item = window.palette_panel.tree.item_for("ReLU")
    data = window.palette_panel.tree.mimeData([item])
    viewport = view.viewport()
    at = QPoint(200, 600)
    action, left = Qt.DropAction.CopyAction, Qt.MouseButton.LeftButton
    mods = Qt.KeyboardModifier.NoModifier
    enter = drag_event(QDragEnterEvent, at, action, data, left, mods)
    QApplication.sendEvent(viewport, enter)
    assert enter.isAccepted()
    QApplication.sendEvent(viewport, drag_event(QDragMoveEvent, at, action, data, left, mods))
    QApplication.sendEvent(viewport, drag_event(QDropEvent, at, action, data, left, mods))

    assert len(net) == before + 1
    added = [n for n in net.nodes() if n.type == "ReLU"]
    assert len(added) == 1
    scene_at = view.mapToScene(at)
    x, y = added[0].pos
    assert abs(x + 75 - scene_at.x()) <= 20 and abs(y - scene_at.y()) <= 30
    assert x % 20 == 0 and y % 20 == 0  # snapped to the grid
    assert added[0].id in view.graph_scene.nodes
    assert view.graph_scene.selected_node_ids() == [added[0].id]

    window.window_actions.undo.trigger()
    assert len(net) == before and added[0].id not in view.graph_scene.nodes
    window.window_actions.redo.trigger()
    assert len(net) == before + 1 and added[0].id in view.graph_scene.nodes


def test_dragging_from_an_output_to_an_input_connects_them(window, gestures):
    view, session = window.current_view(), window.session
    scene = view.graph_scene
    relu = view.add_layer("ReLU", QPointF(300, 400))
    conv = gestures.node_id(window, "conv")
    start = scene.nodes[conv].output.anchor()
    end = scene.nodes[relu].inputs["x"].anchor()
    gestures.drag(view, start, end)

    net = session.doc.network("main")
    assert net.source_of(relu, "x") == conv
    assert any(e.source == conv and e.target == relu for e in scene.edges)
    assert session.history.undo_stack[-1].text == "Connect"

    window.window_actions.undo.trigger()
    assert net.source_of(relu, "x") is None
    assert not any(e.target == relu for e in scene.edges)
    window.window_actions.redo.trigger()
    assert net.source_of(relu, "x") == conv


def test_wire_label_shows_the_tensor_shape(window, gestures):
    scene = window.current_view().graph_scene
    conv = gestures.node_id(window, "conv")
    labels = {e.source: item.label for e, item in scene.edges.items()}
    assert labels[gestures.node_id(window, "image")] == "N×1×8×8"
    assert labels[conv] == "N×4×8×8"


def test_a_refused_cycle_shows_its_reason_in_the_status_bar(window, gestures):
    view, session = window.current_view(), window.session
    scene = view.graph_scene
    relu = view.add_layer("ReLU", QPointF(200, 500))
    add = view.add_layer("Add", QPointF(600, 500))
    gestures.drag(view, scene.nodes[relu].output.anchor(), scene.nodes[add].inputs["in0"].anchor())
    net = session.doc.network("main")
    assert net.source_of(add, "in0") == relu
    edges, depth = len(net.edges()), len(session.history.undo_stack)

    gestures.drag(view, scene.nodes[add].output.anchor(), scene.nodes[relu].inputs["x"].anchor())
    assert "would create a cycle" in window.statusBar().currentMessage()
    assert len(net.edges()) == edges and len(session.history.undo_stack) == depth
    assert len(scene.edges) == edges


def test_an_occupied_input_refuses_a_second_wire_with_its_reason(window, gestures):
    view, session = window.current_view(), window.session
    scene = view.graph_scene
    relu = view.add_layer("ReLU", QPointF(200, 500))
    conv = gestures.node_id(window, "conv")
    # Dropping on the node body picks a free input; conv's only input is taken.
    gestures.drag(view, scene.nodes[relu].output.anchor(),
                  scene.nodes[conv].mapToScene(QPointF(70, 40)))
    assert "already fed" in window.statusBar().currentMessage()
    assert session.doc.network("main").out_edges(relu) == []


def test_a_shape_error_marks_its_node_red(window, gestures, qtbot):
    session, scene = window.session, window.current_view().graph_scene
    image, conv = gestures.node_id(window, "image"), gestures.node_id(window, "conv")
    image_editor_node = session.doc.network("main").node(image)
    assert image_editor_node.params["shape"] == (1, 8, 8)
    from graph.commands import SetParam

    assert session.push(SetParam("main", image, "shape", [4]))  # a vector into a Conv2d
    assert scene.nodes[conv].status == "error"
    assert scene.nodes[image].status is None
    assert "receives N×4" in scene.nodes[conv].toolTip()
    qtbot.waitUntil(lambda: any(d.node == conv for d in session.diagnostics), timeout=2000)
    assert any(d.node == conv and d.severity == "error" for d in session.diagnostics)
    window.window_actions.undo.trigger()
    qtbot.waitUntil(lambda: scene.nodes[conv].status is None, timeout=2000)


def test_dragging_nodes_is_one_undo_step_on_the_grid(window, gestures):
    view, session = window.current_view(), window.session
    scene = view.graph_scene
    conv = gestures.node_id(window, "conv")
    item = scene.nodes[conv]
    old = session.doc.network("main").node(conv).pos
    start = item.mapToScene(QPointF(40, 10))
    gestures.drag(view, start, start + QPointF(73, 148), steps=8)
    x, y = session.doc.network("main").node(conv).pos
    assert (x, y) != old and x % 20 == 0 and y % 20 == 0
    assert item.pos() == QPointF(x, y)
    assert session.history.undo_stack[-1].text == "Move"
    depth = len(session.history.undo_stack)
    gestures.drag(view, item.mapToScene(QPointF(40, 10)),
                  item.mapToScene(QPointF(40, 10)) + QPointF(100, 0))
    assert len(session.history.undo_stack) == depth + 1  # a second drag is its own step
    window.window_actions.undo.trigger()
    window.window_actions.undo.trigger()
    assert session.doc.network("main").node(conv).pos == old
    assert item.pos() == QPointF(*old)


def test_delete_key_removes_selected_nodes_and_wires(window, gestures, qtbot):
    view, session = window.current_view(), window.session
    scene = view.graph_scene
    flat = gestures.node_id(window, "flat")
    scene.select_nodes([flat])
    view.setFocus()
    qtbot.keyClick(view, Qt.Key.Key_Delete)
    assert flat not in session.doc.network("main")
    assert flat not in scene.nodes
    window.window_actions.undo.trigger()
    assert flat in session.doc.network("main") and flat in scene.nodes
    assert len(session.doc.network("main").edges()) == 4

    wire = next(e for e in scene.edges if e.target == flat)
    scene.clearSelection()
    scene.edges[wire].setSelected(True)
    window.window_actions.delete.trigger()
    assert wire not in session.doc.network("main").edges()
    assert flat in session.doc.network("main")


def test_copy_paste_through_the_clipboard_gives_new_nodes(window, gestures):
    view, session = window.current_view(), window.session
    scene = view.graph_scene
    net = session.doc.network("main")
    conv, flat = gestures.node_id(window, "conv"), gestures.node_id(window, "flat")
    scene.select_nodes([conv, flat])
    window.window_actions.copy.trigger()
    window.window_actions.paste.trigger()
    assert len(net) == 7
    new = scene.selected_node_ids()
    assert len(new) == 2 and not set(new) & {conv, flat}
    types = sorted(net.node(i).type for i in new)
    assert types == ["Conv2d", "Flatten"]
    assert len([e for e in net.edges() if e.source in new and e.target in new]) == 1
    window.window_actions.undo.trigger()
    assert len(net) == 5



def test_duplicate_copies_the_selection_with_its_wires(window, gestures):
    scene, net = window.current_view().graph_scene, window.session.doc.network("main")
    conv, flat = gestures.node_id(window, "conv"), gestures.node_id(window, "flat")
    scene.select_nodes([conv, flat])
    window.window_actions.duplicate.trigger()
    new = scene.selected_node_ids()
    assert len(net) == 7 and len(new) == 2 and not set(new) & {conv, flat}
    assert {net.node(i).label for i in new} == {"conv1", "flat1"}
    window.window_actions.undo.trigger()
    assert len(net) == 5


def test_cut_and_paste_into_another_window(window, qtbot, tmp_path, gestures):
    from PySide6.QtCore import QSettings

    from gui.main_window import MainWindow
    from gui.session import Session

    conv = gestures.node_id(window, "conv")
    window.current_view().graph_scene.select_nodes([conv])
    window.window_actions.cut.trigger()
    assert conv not in window.session.doc.network("main")
    other = MainWindow(QSettings(str(tmp_path / "o.ini"), QSettings.Format.IniFormat),
                       autosave=False)
    from graph.document import Document

    other.set_session(Session(Document.new("main")))
    other.show()
    other.window_actions.paste.trigger()
    pasted = list(other.session.doc.network("main").nodes())
    assert [n.type for n in pasted] == ["Conv2d"]
    assert pasted[0].params["out_channels"] == 4
    other.documents.confirm_discard = lambda: True
    other.close()


def test_auto_layout_is_one_undo_step(window):
    session = window.session
    net = session.doc.network("main")
    view = window.current_view()
    view.add_layer("ReLU", QPointF(-500, 900))
    before = {n.id: n.pos for n in net.nodes()}
    window.window_actions.auto_layout.trigger()
    after = {n.id: n.pos for n in net.nodes()}
    assert after != before
    assert session.history.undo_stack[-1].text == "Auto-layout"
    xs = [net.node(i).pos[0] for i in ("n1", "n2", "n3", "n4", "n5")]
    assert xs == sorted(xs) and len(set(xs)) == 5  # left to right in data-flow order
    window.window_actions.undo.trigger()
    assert {n.id: n.pos for n in net.nodes()} == before


def test_a_lone_new_layer_is_marked_as_validation_says_and_told_once(window, qtbot):
    """Its shape error (no input yet) shows at once; validation's verdict then replaces it."""
    view, session = window.current_view(), window.session
    relu = view.add_layer("ReLU", QPointF(200, 500))
    item = view.graph_scene.nodes[relu]
    assert item.status == "error"  # before validation: the shape error
    qtbot.waitUntil(lambda: any(d.node == relu for d in session.diagnostics), timeout=2000)
    severity = next(d.severity for d in session.diagnostics if d.node == relu)
    assert item.status == severity
    text = window.inspector.problem.text()
    assert text.count("<br>") == 0 and "not connected" in text  # one message, not two
    word = "Error" if severity == "error" else "Warning"
    assert "⛔" not in text and f"<b>{word}:</b>" in text  # a mark every font can draw


def test_a_long_layer_type_moves_below_the_title_whole(window, gestures):
    from graph.commands import Rename

    view, session = window.current_view(), window.session
    enc = view.add_layer("TransformerEncoderLayer", QPointF(200, 500))
    session.push(Rename("main", enc, "encoder 1"))
    item = view.graph_scene.nodes[enc]
    short = view.graph_scene.nodes[gestures.node_id(window, "conv")]
    header_only = item.height
    # its input ports ("x", "mask") are labelled above the body's text
    texts = [t for t in item.shown_texts() if t not in item.inputs]
    assert texts[0] == "encoder 1" and texts[1] == "TransformerEncoderLayer"
    assert not any("…" in t for t in texts)
    assert short.shown_texts()[:2] == ["Conv2d", "conv"]  # short types stay in the header
    session.push(Rename("main", enc, "TransformerEncoderLayer"))
    title, *body = item.shown_texts()
    assert title.startswith("Transformer") and not any("Transformer" in t for t in body)
    assert item.height < header_only


def test_ctrl_y_and_ctrl_shift_z_both_redo(window, qtbot, gestures):
    view, session = window.current_view(), window.session
    flat = gestures.node_id(window, "flat")
    view.graph_scene.select_nodes([flat])
    view.setFocus()
    qtbot.keyClick(view, Qt.Key.Key_Delete)
    for modifiers, key in ((Qt.KeyboardModifier.ControlModifier, Qt.Key.Key_Y),
                           (Qt.KeyboardModifier.ControlModifier
                            | Qt.KeyboardModifier.ShiftModifier, Qt.Key.Key_Z)):
        qtbot.keyClick(view, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
        assert flat in session.doc.network("main")  # undone
        qtbot.keyClick(view, key, modifiers)
        assert flat not in session.doc.network("main")  # redone
