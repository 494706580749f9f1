"""The Features tab on a real short run: filters and feature maps each epoch, the canvas
selection followed, then any layer and the top inputs of a unit from the run's weights."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from PySide6.QtCore import Qt

from gui.insights.features import FeaturesView
from gui.insights.heatmap import mosaic
from gui.session import Session
from runtime.inspect.features import top_inputs
from runtime.inspect.model import inspect_model
from tests.runtime.helpers import digits_cnn, moons_mlp

RUN_TIMEOUT_MS = 120_000


def _node(window: Any, label: str) -> str:
    node = window.session.doc.network("main").by_label(label)
    assert node is not None
    return str(node.id)


def test_features_follow_a_run_and_the_selection_then_the_trained_weights(window, qtbot):
    window.set_session(Session(digits_cnn(epochs=2)))
    view = window.insights.view(FeaturesView)
    assert window.insights.isTabVisible(window.insights.indexOf(view))
    window.insights.setCurrentWidget(view)
    events: list[dict[str, Any]] = []
    window.training.reported.connect(events.append)
    window.training.overrides = {"max_steps_per_epoch": 1}
    qtbot.mouseClick(window.training_panel.train_button, Qt.MouseButton.LeftButton)
    assert not view.compute_button.isEnabled()  # weights at rest only once the run ends
    qtbot.waitUntil(lambda: window.training.state == "idle", timeout=RUN_TIMEOUT_MS)
    window.insights_dock.show()  # a hidden view draws its newest record once shown
    window.insights_dock.raise_()
    qtbot.waitUntil(view.isVisible)
    records = [e for e in events if e["type"] == "features"]
    assert [e["epoch"] for e in records] == [1, 2]
    record = records[-1]
    assert view.record == record and view.compute_button.isEnabled()

    conv, relu = _node(window, "conv"), next(
        n.id for n in window.session.doc.network("main").nodes() if n.type == "ReLU")
    filters = np.asarray(record["filters"]["values"], dtype=np.float32)  # 4 × 1 × 3 × 3
    assert np.allclose(view.filters.image.image, mosaic(filters.reshape(4, 3, 3), 4),
                       equal_nan=True)
    assert view.filters.title.startswith("Filters of Conv2d 'conv': 4 filters 3×3")
    assert view.filters.bar.isVisible()
    assert view.maps.title.startswith("Feature maps of Conv2d 'conv' for probe sample 1")
    view.sample.setValue(2)
    second = np.asarray(record["maps"][conv]["values"][1], dtype=np.float32)
    assert np.allclose(view.maps.image.image, mosaic(second), equal_nan=True)
    assert "probe sample 2" in view.maps.title and "Probe sample 2 (class " in view.input.title

    window.show_node("main", relu)  # not sent during a run: the view says so
    assert "ReLU" in view.status.text() and "has no feature maps here" in view.status.text()
    qtbot.mouseClick(view.compute_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: view.source.startswith("the trained weights"), timeout=30_000)
    assert view.maps.title.startswith("Feature maps of ReLU")
    assert "has no feature maps" not in view.status.text()

    weights = window.training.out_dir / "model.safetensors"
    model = inspect_model(window.session.doc, weights)
    attr = next(a for a, n in model.main.node_ids.items() if n == relu)
    seen: list[torch.Tensor] = []
    handle = model.main.get_submodule(attr).register_forward_hook(
        lambda _m, _i, out: seen.append(out) and None)
    with torch.no_grad():
        model.main(model.data.val_x[:2])
    handle.remove()
    assert np.allclose(view.maps.image.image, mosaic(seen[0][1].numpy()), atol=1e-4,
                       equal_nan=True)

    top = view.top
    top.unit.setValue(3)
    assert top.unit.maximum() == 3  # the ReLU's 4 channels
    qtbot.mouseClick(top.find_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: top.result is not None, timeout=30_000)
    expected = top_inputs(model.main, relu, 3, model.data)
    assert top.result is not None and top.result["indices"] == expected["indices"]
    assert top.caption.text().startswith("Unit 3 of ReLU")
    assert len(top.images.labels) == len(expected["indices"])  # each sample's rank on it
    assert top.table.rowCount() == len(expected["indices"])
    assert top.table.item(0, 1).text() == f"#{expected['indices'][0]}"
    assert top.table.item(0, 3).text() == str(expected["labels"][0])


def test_top_inputs_of_a_dense_unit_without_any_convolution(window, qtbot):
    window.set_session(Session(moons_mlp()))
    view = window.insights.view(FeaturesView)
    assert window.insights.isTabVisible(window.insights.indexOf(view))
    assert not view.maps.widget.isVisibleTo(view) and "no Conv2d" in view.status.text()
    top = view.top
    assert "Which inputs activate" in top.caption.text()  # said once, by the top inputs
    assert "Which inputs activate" not in view.status.text()
    assert not top.find_button.isEnabled()  # nothing selected yet
    fc1 = _node(window, "fc1")
    window.show_node("main", fc1)
    assert top.unit.maximum() == 15 and top.find_button.isEnabled()
    top.unit.setValue(4)
    qtbot.mouseClick(top.find_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: top.result is not None, timeout=30_000)
    model = inspect_model(window.session.doc)  # no run yet: the seed's fresh weights
    expected = top_inputs(model.main, fc1, 4, model.data)
    assert top.result is not None and top.result["indices"] == expected["indices"]
    assert "fresh weights" in top.caption.text()
    headers = [top.table.horizontalHeaderItem(c).text() for c in range(top.table.columnCount())]
    assert headers == ["rank", "sample", "activation", "class", "x0", "x1"]  # the 2-D points
    assert top.table.rowCount() == 9 and not top.images.widget.isVisibleTo(view)
    x0 = float(model.data.val_x[expected["indices"][0], 0])
    assert top.table.item(0, 4).text() == f"{x0:.3g}"
