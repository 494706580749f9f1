"""Palette search, quick add, problems, history and summary panels."""

from __future__ import annotations

from PySide6.QtCore import QPoint, Qt

from graph.commands import SetParam


def test_palette_search_filters_and_double_click_adds(window, qtbot):
    palette = window.palette_panel
    palette.search.setText("transpose")
    shown = [i.text(0) for i in palette.tree.type_items() if not i.isHidden()]
    assert shown == ["ConvTranspose2d"]
    tree = palette.tree
    categories = [tree.topLevelItem(i) for i in range(tree.topLevelItemCount())]
    assert [c.text(0) for c in categories if not c.isHidden()] == ["Convolution"]
    palette.search.clear()
    assert all(not i.isHidden() for i in palette.tree.type_items())
    item = palette.tree.item_for("Tanh")
    assert "Tanh" in item.toolTip(0)
    palette.tree.itemDoubleClicked.emit(item, 0)
    assert [n for n in window.session.doc.network("main").nodes() if n.type == "Tanh"]


def test_tab_opens_quick_add_and_enter_adds_the_filtered_layer(window, qtbot):
    view = window.current_view()
    popup = view.open_quick_add(QPoint(300, 300))
    assert popup.isVisible()
    qtbot.keyClicks(popup.search, "leaky")
    qtbot.keyClick(popup.search, Qt.Key.Key_Return)
    assert not popup.isVisible()
    added = [n for n in window.session.doc.network("main").nodes() if n.type == "LeakyReLU"]
    assert len(added) == 1
    view.setFocus()
    qtbot.keyClick(view, Qt.Key.Key_Tab)
    assert view._quick is not None and view._quick.isVisible()
    view._quick.hide()


def test_problems_list_diagnostics_and_clicking_one_selects_its_node(window, gestures, qtbot):
    session = window.session
    conv, image = gestures.node_id(window, "conv"), gestures.node_id(window, "image")
    session.push(SetParam("main", image, "shape", [4]))
    problems = window.problems

    def conv_problem():  # the data check may list the Input's mismatch with digits first
        items = [problems.item(i) for i in range(problems.count())]
        return next((item for item in items if "receives" in item.text()), None)

    qtbot.waitUntil(lambda: conv_problem() is not None, timeout=2000)
    view = window.current_view()
    view.graph_scene.clearSelection()
    problems.itemClicked.emit(conv_problem())
    assert view.graph_scene.selected_node_ids() == [conv]
    assert window.inspector.node_id == conv
    errors = sum(d.is_error for d in session.diagnostics)
    assert errors >= 1 and f"{errors} error(s)" in window.problem_count.text()


def test_history_lists_commands_and_clicking_jumps(window, gestures, qtbot):
    session = window.session
    conv = gestures.node_id(window, "conv")
    for value in (5, 6, 7):
        session.push(SetParam("main", conv, "out_channels", value))
    panel = window.history_panel
    assert [panel.item(i).text() for i in range(panel.count())] == [
        "<opened>", "Set out_channels", "Set out_channels", "Set out_channels"]
    assert panel.currentRow() == 3
    panel.setCurrentRow(1)
    qtbot.waitUntil(lambda: len(session.history.undo_stack) == 1, timeout=2000)
    assert session.doc.network("main").node(conv).params["out_channels"] == 5
    assert panel.currentRow() == 1 and panel.count() == 4
    panel.setCurrentRow(3)
    qtbot.waitUntil(lambda: len(session.history.undo_stack) == 3, timeout=2000)
    assert session.doc.network("main").node(conv).params["out_channels"] == 7


def test_summary_shows_rows_and_generated_code(window, gestures, qtbot):
    window.summary.refresh()
    table = window.summary.table
    labels = [table.item(r, 0).text() for r in range(table.rowCount())]
    assert labels == ["image", "conv", "flat", "fc", "out"]
    assert table.item(1, 2).text() == "N×4×8×8"
    assert "class" in window.summary.code.toPlainText()
    assert "nn.Conv2d" in window.summary.code.toPlainText()
    conv = gestures.node_id(window, "conv")
    window.session.push(SetParam("main", conv, "out_channels", 6))
    window.summary.refresh()
    assert table.item(1, 2).text() == "N×6×8×8"


def test_each_network_gets_its_own_tab(window, qtbot):
    from graph.builder import NetworkBuilder
    from graph.document import Document
    from gui.session import Session

    doc = Document.new("generator")
    g = NetworkBuilder(doc, "generator")
    g.add("Output", g.add("Linear", g.add("Noise", size=8), out_features=4))
    d = NetworkBuilder(doc, "discriminator")
    d.add("Output", d.add("Linear", d.add("Input", shape=[4]), out_features=1))
    window.set_session(Session(doc))
    tabs = window.tabs
    assert [tabs.tabText(i) for i in range(tabs.count())] == ["generator", "discriminator"]
    assert not tabs.tabBar().isHidden()
    window.show_node("discriminator", "n2")
    assert tabs.current_view().graph_scene.network_name == "discriminator"
    assert window.inspector.network == "discriminator" and window.inspector.node_id == "n2"
    labels = [item.label for item in tabs.current_view().graph_scene.edges.values()]
    assert sorted(labels) == ["N×1", "N×4"]


def test_a_layer_added_over_a_node_lands_beside_it_not_on_top(window, qtbot):
    view = window.current_view()
    scene = view.graph_scene
    conv = next(n.id for n in window.session.doc.network("main").nodes() if n.label == "conv")
    over = scene.nodes[conv].sceneBoundingRect().center()
    added = view.add_layer("ReLU", over)
    qtbot.waitUntil(lambda: added in scene.nodes, timeout=2000)
    mine = scene.nodes[added].sceneBoundingRect()
    others = [item.sceneBoundingRect() for node_id, item in scene.nodes.items()
              if node_id != added]
    assert not any(mine.intersects(r) for r in others)
    assert mine.center().x() - over.x() < 400 and abs(mine.center().y() - over.y()) < 400
