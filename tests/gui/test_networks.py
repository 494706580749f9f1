"""Networks from the window: tabs in the document's order (a GAN's generator first), add, remove."""

from __future__ import annotations

from PySide6.QtWidgets import QInputDialog, QMessageBox

from graph.builder import NetworkBuilder
from graph.document import Document
from graph.training import GanSpec
from gui.session import Session, network_order


def gan_document(*, gan: bool = True) -> Document:
    """Discriminator listed first, as a file sorted by name has it."""
    doc = Document.new("discriminator")
    d = NetworkBuilder(doc, "discriminator")
    d.add("Output", d.add("Linear", d.add("Input", shape=[2]), out_features=1))
    g = NetworkBuilder(doc, "generator")
    g.add("Output", g.add("Linear", g.add("Noise", size=8), out_features=2))
    if gan:
        doc.set_training(doc.training.model_copy(update={"task": "gan", "gan": GanSpec()}))
    return doc


def tab_names(window) -> list[str]:
    tabs = window.tabs
    return [tabs.tabText(i) for i in range(tabs.count())]


def test_a_gan_shows_its_generator_first(window):
    window.set_session(Session(gan_document()))
    assert tab_names(window) == ["generator", "discriminator"]
    assert window.current_network() == "generator"
    combo = window.summary.network
    assert [combo.itemText(i) for i in range(combo.count())] == ["generator", "discriminator"]


def test_other_documents_keep_their_own_order():
    assert network_order(gan_document(gan=False)) == ["discriminator", "generator"]


def test_the_example_gan_opens_on_its_generator(window):
    from graph.fileformat import load_graph
    from gui.resources import EXAMPLES

    window.set_session(Session(load_graph(EXAMPLES / "gan_ring.loom")))
    assert tab_names(window)[0] == "generator"


def test_add_network_asks_for_a_name_and_undo_removes_it(window, monkeypatch):
    asked = []

    def answer(*args, **kwargs):
        asked.append(kwargs.get("text"))
        return "critic", True

    monkeypatch.setattr(QInputDialog, "getText", answer)
    window.window_actions.add_network.trigger()
    assert asked == ["network2"]
    doc = window.session.doc
    assert "critic" in doc.networks
    assert sorted(n.type for n in doc.network("critic").nodes()) == ["Input", "Output"]
    assert tab_names(window) == ["main", "critic"]
    assert window.current_network() == "critic"
    assert window.session.history.undo_stack[-1].text == "Add network critic"
    window.window_actions.undo.trigger()
    assert "critic" not in doc.networks and tab_names(window) == ["main"]
    window.window_actions.redo.trigger()
    assert tab_names(window) == ["main", "critic"]


def test_a_refused_network_name_says_why(window, monkeypatch):
    monkeypatch.setattr(QInputDialog, "getText", lambda *a, **k: ("main", True))
    window.window_actions.add_network.trigger()
    assert list(window.session.doc.networks) == ["main"]
    assert "already exists" in window.statusBar().currentMessage()


def test_remove_network_asks_first_and_undo_restores_its_tab_in_place(window, monkeypatch):
    doc = gan_document(gan=False)
    NetworkBuilder(doc, "extra").add("Input", shape=[2])
    window.set_session(Session(doc))
    assert tab_names(window) == ["discriminator", "generator", "extra"]
    window.tabs.show_network("generator")
    questions = []

    def ask(parent, title, text, *args, **kwargs):
        questions.append(text)
        return QMessageBox.StandardButton.No if len(questions) == 1 else \
            QMessageBox.StandardButton.Yes

    monkeypatch.setattr(QMessageBox, "question", ask)
    window.window_actions.remove_network.trigger()
    assert "generator" in doc.networks  # said no
    window.window_actions.remove_network.trigger()
    assert "'generator' and its 3 node(s)" in questions[-1]
    assert "generator" not in doc.networks
    assert tab_names(window) == ["discriminator", "extra"]
    window.window_actions.undo.trigger()
    assert list(doc.networks) == ["discriminator", "generator", "extra"]
    assert tab_names(window) == ["discriminator", "generator", "extra"]
    assert len(window.tabs.view_for("generator").graph_scene.nodes) == 3


def test_the_last_network_cannot_be_removed(window, monkeypatch):
    monkeypatch.setattr(QMessageBox, "question",
                        lambda *a, **k: QMessageBox.StandardButton.Yes)
    assert not window.networks.remove("main")
    assert "main" in window.session.doc.networks
    assert "at least one network" in window.statusBar().currentMessage()
