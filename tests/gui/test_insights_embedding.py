"""The Embedding tab on a real short run of autoencoder_digits: the code space as the run
streams it, k-means and its adjusted Rand index, and another layer computed afterwards."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtCore import Qt
from sklearn.decomposition import PCA
from sklearn.metrics import adjusted_rand_score

from graph.fileformat import load_graph
from gui.insights.embedding import EmbeddingView
from gui.session import Session
from runtime.inspect.embedding import node_outputs
from runtime.inspect.model import inspect_model
from runtime.inspect.projection import Embedding
from tests.gui.insights_tabs import show_tab

EXAMPLE = Path(__file__).parents[2] / "resources" / "examples" / "autoencoder_digits.loom"
RUN_TIMEOUT_MS = 120_000


def test_the_code_space_of_a_run_then_another_layer_from_its_weights(window, qtbot):
    window.set_session(Session(load_graph(EXAMPLE)))
    view = show_tab(window, EmbeddingView)
    qtbot.waitUntil(lambda: view.shown is not None, timeout=RUN_TIMEOUT_MS)
    assert "fresh, untrained weights" in view.note.text()  # before any run

    window.training.overrides = {"max_steps_per_epoch": 2, "epochs": 2}
    qtbot.mouseClick(window.training_panel.train_button, Qt.MouseButton.LeftButton)
    window.insights_dock.raise_()  # Train raised the Training dock: watch the code space
    qtbot.waitUntil(lambda: window.training.state == "idle", timeout=RUN_TIMEOUT_MS)
    shown = view.shown
    assert shown is not None and shown.title == "Linear 'code'" and shown.method == "values"
    assert shown.points.shape == (270, 2) and "epoch 2 of the run" in view.note.text()

    assert view.colour_by.currentIndex() == 0 and view.k.value() == 10  # one per class
    view.k.setValue(6)  # choosing k colours the dots by k-means group
    assert view.colour_by.currentIndex() == 1 and view.clusters is not None
    assert len(np.unique(view.clusters)) == 6
    ari = adjusted_rand_score(shown.labels, view.clusters)
    assert view.agreement_value == ari and f"<b>{ari:.2f}</b>" in view.agreement.text()

    enc_act2 = window.session.doc.network("main").by_label("enc_act2").id
    window.insights_dock.raise_()  # Train raised the Training dock over it
    qtbot.waitUntil(lambda: view.isVisible() and not view.job.running, timeout=RUN_TIMEOUT_MS)
    window.show_node("main", enc_act2)  # select it on the canvas
    qtbot.waitUntil(lambda: view.shown is not None and view.shown.node_id == enc_act2,
                    timeout=RUN_TIMEOUT_MS)
    weights = window.training.out_dir / "model.safetensors"
    assert f"From the trained weights of run {weights.parent.name}." in view.note.text()
    model = inspect_model(load_graph(EXAMPLE), weights)
    values = node_outputs(model.main, enc_act2, model.split("val")[0])
    expected = PCA(n_components=2).fit_transform(values)
    points = view.shown.points
    for axis in range(2):
        sign = np.sign(points[:, axis] @ expected[:, axis])
        np.testing.assert_allclose(points[:, axis], sign * expected[:, axis], atol=1e-4)


def test_k_starts_at_the_number_of_classes_without_leaving_the_class_colours(window, qtbot):
    window.set_session(Session(load_graph(EXAMPLE.with_name("mlp_iris.loom"))))
    view = show_tab(window, EmbeddingView)
    qtbot.waitUntil(lambda: view.shown is not None, timeout=RUN_TIMEOUT_MS)
    assert view.k.value() == 3 and view.colour_by.currentIndex() == 0
    assert "Colour: true class" in view.key.text() and "setosa" in view.key.text()
    assert view.clusters is not None and len(np.unique(view.clusters)) == 3


def test_a_runs_records_show_while_another_layer_is_selected(window, qtbot):
    window.set_session(Session(load_graph(EXAMPLE)))
    view = window.insights.view(EmbeddingView)
    view.on_selection("main", "n3")  # enc_fc1 selected (the tab hidden: nothing computed)
    record = Embedding("main", "n9", "Linear 'code'", "values",
                       np.array([[0.0, 1.0], [2.0, 3.0], [1.0, 1.0]]), np.array([0, 1, 1]),
                       ("0", "1"), 2, "val").record()
    view.on_event({"type": "embedding", "epoch": 3, **record})
    assert view.shown is None  # hidden: the record waits until the tab is seen
    show_tab(window, EmbeddingView)
    qtbot.waitUntil(view.isVisible)
    assert view.shown is not None and view.shown.node_id == "n9"
    assert view.note.text().startswith("During a run this view follows Linear 'code'")
    assert "epoch 3 of the run" in view.note.text()


def test_samples_without_classes_are_coloured_by_group_only(window, qtbot):
    window.set_session(Session(load_graph(EXAMPLE.with_name("rnn_sine.loom"))))
    view = show_tab(window, EmbeddingView)
    qtbot.waitUntil(lambda: view.shown is not None, timeout=RUN_TIMEOUT_MS)
    assert view.shown.labels is None and not view.colour_by.isEnabled()
    assert view.k.isEnabled() and "Colour: k-means group" in view.key.text()
    assert "without class labels there is nothing to compare" in view.agreement.text()


def test_a_layer_selected_while_one_computes_is_computed_next(window, qtbot):
    doc = load_graph(Path(EXAMPLE).with_name("mlp_moons.loom"))
    window.set_session(Session(doc))
    view = show_tab(window, EmbeddingView)  # shown: the default layer is being computed
    assert view.job.running
    fc1 = doc.network("main").by_label("fc1").id
    view.on_selection("main", fc1)
    qtbot.waitUntil(lambda: view.shown is not None and view.shown.node_id == fc1,
                    timeout=RUN_TIMEOUT_MS)
    assert not view.job.running and "Linear 'fc1'" in view.note.text()
