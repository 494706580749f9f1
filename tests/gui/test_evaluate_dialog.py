"""The Evaluate dialog's deeper views: a confusion cell's samples, the misclassified
grid, ROC/PR curves and predicted-vs-actual, on weights from short real runs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtCore import Qt

from graph.fileformat import save_graph
from gui.evaluate_dialog import EvaluateDialog
from gui.session import Session
from runtime.trainer import RunOptions, Trainer
from tests.runtime.helpers import digits_cnn, moons_mlp

TIMEOUT_MS = 60_000


def _evaluated(qtbot, doc, folder: Path) -> EvaluateDialog:
    Trainer(doc, RunOptions(epochs=1, max_steps_per_epoch=3, out_dir=folder)).run()
    dialog = EvaluateDialog(Session(doc))
    qtbot.addWidget(dialog)
    dialog.weights.setText(str(folder / "model.safetensors"))
    dialog.show()
    dialog.start()
    qtbot.waitUntil(lambda: dialog.report is not None, timeout=TIMEOUT_MS)
    return dialog


def _click(qtbot, table, row: int, column: int) -> None:
    rect = table.visualItemRect(table.item(row, column))
    qtbot.mouseClick(table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())


def test_clicking_a_confusion_cell_shows_exactly_its_samples(qtbot, torch_ready,
                                                            tmp_path: Path) -> None:
    dialog = _evaluated(qtbot, digits_cnn(), tmp_path)
    result = dialog.evaluation
    assert result is not None and result.truth is not None and result.predicted is not None
    dialog.tabs.setCurrentIndex(1)
    matrix = np.array(dialog.report["confusion"])
    off = np.argwhere((matrix > 0) & ~np.eye(10, dtype=bool))
    true_class, predicted_class = (int(v) for v in off[0])
    _click(qtbot, dialog.confusion, true_class, predicted_class)
    gallery = dialog.cell_samples
    expected = [k for k in range(len(result.truth))
                if result.truth[k] == true_class and result.predicted[k] == predicted_class]
    assert gallery.shown == expected and len(expected) == matrix[true_class, predicted_class]
    assert gallery.grid.isVisibleTo(dialog) and gallery.grid.count() == len(expected)
    names = dialog.report["class_names"]
    first = gallery.grid.item(0)
    assert first.text() == f"{names[predicted_class]}\n(true {names[true_class]})"
    assert not first.icon().isNull()  # images as thumbnails
    assert f"{len(expected)} sample" in gallery.title.text()
    _click(qtbot, dialog.confusion, true_class, true_class)  # another cell replaces them
    assert gallery.shown == list(result.members(true_class, true_class))

    wrong = dialog.misclassified
    assert wrong.shown == [k for k in range(len(result.truth))
                           if result.truth[k] != result.predicted[k]]
    assert dialog.tabs.isTabVisible(2) and dialog.curves.drawn == names
    assert not dialog.tabs.isTabVisible(4)  # no scatter for classes
    assert dialog.per_class.horizontalHeaderItem(4).text() == "ROC AUC"
    dialog.reject()


def test_tabular_samples_are_rows_and_binary_curves_one_class(qtbot, torch_ready,
                                                             tmp_path: Path) -> None:
    dialog = _evaluated(qtbot, moons_mlp(), tmp_path)
    dialog.tabs.setCurrentIndex(1)
    _click(qtbot, dialog.confusion, 1, 1)
    gallery = dialog.cell_samples
    assert gallery.table.isVisibleTo(dialog) and not gallery.grid.isVisibleTo(dialog)
    assert gallery.table.rowCount() == dialog.report["confusion"][1][1]
    assert gallery.table.item(0, 0).text() == gallery.table.item(0, 1).text() == "1"
    assert dialog.curves.drawn == ["1"]  # the positive class of a binary problem
    dialog.reject()


def test_regression_shows_predicted_against_actual(qtbot, torch_ready, tmp_path: Path) -> None:
    from graph.fileformat import load_graph

    root = Path(__file__).resolve().parents[2]
    doc = load_graph(root / "resources" / "examples" / "rnn_sine.loom")
    save_graph(doc, tmp_path / "sine.loom")
    dialog = _evaluated(qtbot, doc, tmp_path / "run")
    result = dialog.evaluation
    assert dialog.tabs.isTabVisible(4) and not dialog.tabs.isTabVisible(0)
    x, y = dialog.scatter.points.getData()
    assert np.allclose(x, result.truth.reshape(-1)) and np.allclose(y, result.predicted.reshape(-1))
    dialog.reject()


def test_without_tabs_the_summary_stays_at_the_top(qtbot) -> None:
    dialog = EvaluateDialog(Session(moons_mlp()))  # no report yet: no tab applies
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitExposed(dialog)
    assert not dialog.tabs.isVisible()
    assert dialog.summary.height() <= dialog.summary.sizeHint().height() + 4  # not centred
