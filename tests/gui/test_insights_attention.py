"""The Attention tab on a real short run of the vision Transformer example: per-head
maps each epoch, rows summing to 1, the canvas selection followed, patches over the
image, then the maps of the run's weights."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from PySide6.QtCore import Qt

from graph.fileformat import load_graph
from gui.insights.attention import AttentionView
from gui.session import Session
from runtime.inspect.attention import attention_record
from runtime.inspect.model import inspect_model

RUN_TIMEOUT_MS = 120_000
EXAMPLE = Path(__file__).resolve().parents[2] / "resources" / "examples" / "transformer_digits.loom"


def test_attention_maps_follow_a_run_the_heads_and_the_selection(window, qtbot):
    window.set_session(Session(load_graph(EXAMPLE)))
    view = window.insights.view(AttentionView)
    assert window.insights.isTabVisible(window.insights.indexOf(view))
    window.insights.setCurrentWidget(view)
    events: list[dict[str, Any]] = []
    window.training.reported.connect(events.append)
    window.training.overrides = {"max_steps_per_epoch": 1, "epochs": 2}
    qtbot.mouseClick(window.training_panel.train_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: window.training.state == "idle", timeout=RUN_TIMEOUT_MS)
    window.insights_dock.show()  # a hidden view draws its newest record once shown
    window.insights_dock.raise_()
    qtbot.waitUntil(view.isVisible)
    records = [e for e in events if e["type"] == "attention"]
    assert [e["epoch"] for e in records] == [1, 2]
    record = records[-1]
    assert view.record == record

    assert [view.layer.itemText(i) for i in range(view.layer.count())] == [
        "TransformerEncoderLayer 'encoder 1'", "TransformerEncoderLayer 'encoder 2'"]
    assert view.head.count() == 5  # four heads and their mean
    shown = view.heatmap.image.image
    first = np.asarray(record["layers"][0]["weights"][0][0], dtype=np.float32)
    assert np.allclose(shown, first) and np.allclose(shown.sum(axis=1), 1.0, atol=1e-3)
    assert shown.shape == (4, 4)  # four 4×4 patches of the 8×8 digit
    assert len(view.heatmap.labels) == 16  # each weight written in its cell

    window.show_node("main", "n6")  # encoder 2 on the canvas
    assert view.layer.currentIndex() == 1
    view.head.setCurrentIndex(4)
    view.sample.setValue(3)
    mean = np.asarray(record["layers"][1]["weights"][2], dtype=np.float32).mean(axis=0)
    assert np.allclose(view.heatmap.image.image, mean, atol=1e-6)
    assert "mean of the heads" in view.heatmap.title
    assert view.overlay.widget.isVisibleTo(view)
    assert view.overlay.image.image.shape == (8, 8, 3)
    view.query.setCurrentIndex(2)  # the patch in row 1, column 2
    assert view.overlay.title.startswith("Attention from patch row 1, column 2 to each patch")
    assert np.isclose(view.overlay.bar.levels()[1], mean[1].max(), atol=1e-6)

    qtbot.mouseClick(view.compute_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: view.source.startswith("the trained weights"), timeout=30_000)
    model = inspect_model(window.session.doc, window.training.out_dir / "model.safetensors")
    expected = attention_record(model.main, model.data.val_x, model.doc, "main", model.data)
    assert view.record is not None and view.record["layers"] == expected["layers"]
