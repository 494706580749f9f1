"""The Decision boundary, Gradients and Health tabs on real short runs in the window."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtCore import Qt

from graph import Document, NetworkBuilder
from graph.fileformat import load_graph
from graph.training import TrainingSpec
from gui.insights.boundary import BoundaryInsight, boundary_image, class_colour
from gui.insights.gradients import GradientsInsight
from gui.insights.health import HealthInsight
from gui.session import Session
from tests.gui.insights_tabs import show_tab

EXAMPLES = Path(__file__).parents[2] / "resources" / "examples"
RUN_TIMEOUT_MS = 120_000


def train(window, qtbot, **overrides) -> None:
    window.training.overrides = {"max_steps_per_epoch": 4, "epochs": 2, **overrides}
    qtbot.mouseClick(window.training_panel.train_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: window.training.state == "idle", timeout=RUN_TIMEOUT_MS)


def test_moons_boundary_before_during_and_after_a_run(window, qtbot):
    window.set_session(Session(load_graph(EXAMPLES / "mlp_moons.loom")))
    view = show_tab(window, BoundaryInsight)
    assert window.insights.isTabVisible(window.insights.indexOf(view))
    qtbot.waitUntil(lambda: view.record is not None, timeout=RUN_TIMEOUT_MS)
    assert view.note.text().startswith("Before training: fresh weights")
    fresh = view.record
    assert fresh is not None and "epoch" not in fresh

    gradients = window.insights.view(GradientsInsight)
    window.training.overrides = {"max_steps_per_epoch": 4, "epochs": 2}
    qtbot.mouseClick(window.training_panel.train_button, Qt.MouseButton.LeftButton)
    window.insights_dock.raise_()  # Train raised the Training dock: watch the boundary
    qtbot.waitUntil(lambda: window.training.state == "idle", timeout=RUN_TIMEOUT_MS)
    record = view.record
    assert record is not None and record["epoch"] == 2 and "Epoch 2 of the run" in \
        view.note.text()
    image = view.image.image
    assert image.shape == (64, 64, 4)
    cells = np.asarray(record["predicted"]).reshape(64, 64)
    assert np.array_equal(image, boundary_image(record))
    sure = np.asarray(record["confidence"]).reshape(64, 64) >= 99  # percent
    row, col = np.argwhere(sure)[0]
    red, green, blue = class_colour(cells[row, col])  # a sure cell leans to its class colour
    pixel = image[row, col, :3].astype(int)
    assert np.argmin(pixel) == np.argmin([red, green, blue])
    names = {item.name() for item in view.plot.listDataItems()}
    assert {"0 (train)", "1 (train)", "0 (test)", "1 (test)"} <= names  # points kept

    # gradients: one curve per weighted node of the network, the learning rate below
    weighted = [n.label for n in window.session.doc.network("main").nodes()
                if n.spec.has_weights]
    labels = {gradients.norms.legend.getLabel(c).text for c in gradients.curves.values()}
    assert labels == set(weighted)
    assert all(min(ys) > 0 for _xs, ys in gradients.series.values())
    assert gradients.norms.getAxis("left").logMode
    assert list(gradients.lr_series) == ["main"]

    view.hide()  # shown again after the run: computed from the run's weights
    view.show()
    qtbot.waitUntil(lambda: "After training" in view.note.text(), timeout=RUN_TIMEOUT_MS)
    run = window.training.out_dir.name  # the run named, not its weights' whole path
    assert f"After training: the trained weights of run {run}." == view.note.text()
    assert view.record["predicted"] == \
        record["predicted"]


def test_the_legends_sit_beside_the_curves(window, qtbot):
    view = show_tab(window, GradientsInsight)
    view.on_event({"type": "step", "epoch": 1, "step": 1, "steps": 4, "loss": 1.0,
                   "lr": {"main": 0.1}, "grad_norms": {"main": {"a": 1.0, "b": 0.01}}})
    plot = view.norms
    qtbot.wait(50)  # the plot lays itself out
    legend = plot.legend.sceneBoundingRect()
    data = plot.getViewBox().sceneBoundingRect()
    assert legend.width() > 0 and data.width() > 2 * legend.width()
    assert legend.left() >= data.right() - 1  # beside the data, not over it (to a pixel)
    with qtbot.waitSignal(view.node_named) as named:  # a click on a curve names its node
        view.curves[("main", "b")].sigClicked.emit(view.curves[("main", "b")], None)
    assert named.args == ["main", "b"]


def scaled_network() -> Document:
    """Seven Scale(1e6) layers: the seventh overflows float32, in the first step."""
    doc = Document.new()
    b = NetworkBuilder(doc)
    h = b.add("Linear", b.add("Input", shape=[2], label="point"), out_features=8, label="fc1")
    for i in range(1, 8):
        h = b.add("Scale", h, factor=1e6, label=f"boost{i}")
    b.add("Output", b.add("Linear", h, out_features=2, label="head"), label="out")
    doc.set_training(TrainingSpec.model_validate({
        "task": "classification", "epochs": 1, "batch_size": 32,
        "data": {"name": "moons", "options": {"n_samples": 200}}}))
    return doc


def test_health_lists_a_runs_warning_and_shows_its_node(window, qtbot):
    window.set_session(Session(scaled_network()))
    view = show_tab(window, HealthInsight)
    assert "No warnings yet" in view.note.text()
    train(window, qtbot)
    assert view.list.count() == 1
    assert window.insights.tabText(window.insights.indexOf(view)) == "Health (1)"
    item = view.list.item(0)
    assert "Scale 'boost7' produced NaN or infinite values" in item.text()
    boost7 = window.session.doc.network("main").by_label("boost7").id
    rect = view.list.visualItemRect(item)
    qtbot.mouseClick(view.list.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert window.current_view().graph_scene.selected_node_ids() == [boost7]


def test_later_epochs_redraw_only_the_shading(window, qtbot):
    window.set_session(Session(load_graph(EXAMPLES / "mlp_moons.loom")))
    view = show_tab(window, BoundaryInsight)
    qtbot.waitUntil(lambda: view.record is not None, timeout=RUN_TIMEOUT_MS)  # at rest
    size, frame = 4, {"x_range": [-1.0, 1.0], "y_range": [-1.0, 1.0]}
    first = {"type": "boundary", "epoch": 1, "size": size, **frame, "classes": ["a", "b"],
             "predicted": [0] * 16, "confidence": [90.0] * 16,
             "points": {"train": {"x": [0.0, 0.5], "y": [0.0, 0.5], "label": [0, 1]}}}
    view.on_event(first)
    points = [item for item in view.plot.listDataItems() if item is not view.image]
    later = {"type": "boundary", "epoch": 2, "size": size, **frame, "classes": ["a", "b"],
             "predicted": [1] * 16, "confidence": [99.0] * 16}  # a run sends points once
    view.on_event(later)
    assert [item for item in view.plot.listDataItems() if item is not view.image] == points
    assert np.array_equal(view.image.image, boundary_image(later))
    assert "epoch 2" in view.plot.titleLabel.text
