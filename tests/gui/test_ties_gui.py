"""A tied weight on the canvas (a dashed arc drawn from the model) and in the inspector
(a choice of the network's Embeddings by name, stored by id)."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QComboBox

from graph.builder import NetworkBuilder
from graph.commands import AddNode, Move, RemoveNodes, Rename, SetParam
from graph.document import Document
from gui.canvas.scene import GraphScene
from gui.panels.inspector import InspectorPanel
from gui.session import Session
from gui.theme import canvas_colors


def _session() -> tuple[Session, str, str]:
    doc = Document.new()
    b = NetworkBuilder(doc, spacing=260.0)
    x = b.add("Input", shape=[6], kind="tokens", vocab_size=11, label="tokens")
    embed = b.add("Embedding", x, embedding_dim=8, label="embed")
    b.add("Embedding", x, embedding_dim=8, label="other table")
    head = b.add("Linear", embed, out_features=11, tie_weight_to=embed, label="head")
    b.add("Output", head, label="logits")
    return Session(doc), embed, head


def test_the_canvas_draws_a_tie_as_a_dashed_arc_that_follows_the_model(qapp) -> None:
    session, embed, head = _session()
    scene = GraphScene(session, "main", canvas_colors("light"))
    assert list(scene.ties.items) == [head]
    arc = scene.ties.items[head]
    assert arc.scene() is scene and arc.pen().style() == Qt.PenStyle.DashLine
    start, end = arc.path().pointAtPercent(0), arc.path().pointAtPercent(1)
    assert abs(start.x() - scene.nodes[embed].sceneBoundingRect().center().x()) < 1
    assert abs(end.x() - scene.nodes[head].sceneBoundingRect().center().x()) < 1

    session.push(Move("main", {head: (900.0, 300.0)}))
    end = arc.path().pointAtPercent(1)
    assert abs(end.x() - scene.nodes[head].sceneBoundingRect().center().x()) < 1
    session.push(Rename("main", embed, "token table"))
    assert arc.toolTip() == "'head' uses the weight of 'token table' (tied: one tensor)"

    session.push(SetParam("main", head, "tie_weight_to", ""))
    assert scene.ties.items == {} and arc.scene() is None
    session.undo()
    assert list(scene.ties.items) == [head]

    session.push(RemoveNodes("main", [embed]))  # the Embedding goes: so does the arc
    assert scene.ties.items == {}
    session.undo()
    assert [i.owner for i in scene.ties.items.values()] == [embed]
    session.push(RemoveNodes("main", [head]))
    assert scene.ties.items == {}
    session.undo()
    assert list(scene.ties.items) == [head]


def test_the_inspector_offers_the_networks_embeddings_by_name(qapp) -> None:
    session, embed, head = _session()
    net = session.doc.network("main")
    other = net.by_label("other table")
    assert other is not None
    session.push(Rename("main", embed, "token table"))
    panel = InspectorPanel()
    panel.set_session(session)
    panel.show_node("main", head)
    editor = panel.editors["tie_weight_to"]
    assert isinstance(editor, QComboBox)
    assert [editor.itemText(i) for i in range(editor.count())] == [
        "(none)", "token table", "other table"]
    assert editor.currentText() == "token table"
    editor.setCurrentIndex(2)
    assert net.node(head).params["tie_weight_to"] == other.id
    assert session.history.undo_stack[-1].text == "Set tie_weight_to"
    session.undo()
    assert net.node(head).params["tie_weight_to"] == embed
    assert editor.currentText() == "token table"
    editor.setCurrentIndex(0)
    assert net.node(head).params["tie_weight_to"] == ""
    session.undo()

    # the choices follow the network while the Linear stays inspected
    session.push(AddNode("main", "Embedding", label="third"))
    session.push(Rename("main", other.id, "renamed"))
    assert [editor.itemText(i) for i in range(editor.count())] == [
        "(none)", "token table", "renamed", "third"]
    assert editor.currentText() == "token table"
    session.push(RemoveNodes("main", [embed]))
    assert editor.currentText() == f"(missing node {embed})"
