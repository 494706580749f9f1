"""The Runs panel: the runs of the open file, their curves overlaid, their weights for
Evaluate and Export, continuing one (the resume itself: tests/runtime/test_runs.py),
deleting one; runs made before the first save follow the file."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QItemSelectionModel, Qt
from PySide6.QtWidgets import QMessageBox

from graph.commands import SetParam
from graph.fileformat import save_graph
from runtime.runs import claim_run_folder, runs_root
from runtime.trainer import RunOptions, Trainer
from tests.runtime.helpers import moons_mlp

RUN_TIMEOUT_MS = 120_000


def _select(panel, *rows: int) -> None:
    model = panel.table.selectionModel()
    model.clearSelection()
    for row in rows:
        model.select(panel.table.model().index(row, 0),
                     QItemSelectionModel.SelectionFlag.Select
                     | QItemSelectionModel.SelectionFlag.Rows)


def _listed(qtbot, panel, count: int) -> None:
    qtbot.waitUntil(lambda: not panel.job.running and panel.table.rowCount() == count,
                    timeout=RUN_TIMEOUT_MS)


def test_runs_are_listed_compared_opened_and_deleted(window, qtbot, tmp_path: Path,
                                                     monkeypatch) -> None:
    graph_file = tmp_path / "moons.loom"
    doc = moons_mlp()
    save_graph(doc, graph_file)
    folders = []
    for epochs in (2, 3):
        folders.append(claim_run_folder(graph_file))
        Trainer(doc, RunOptions(epochs=epochs, out_dir=folders[-1])).run()
    window.documents.open_path(graph_file, confirmed=True)
    panel = window.runs_panel
    _listed(qtbot, panel, 2)
    assert [r.folder for r, _ in panel.runs] == sorted(folders, reverse=True)
    row_of = {r.folder: i for i, (r, _) in enumerate(panel.runs)}
    assert panel.table.item(row_of[folders[1]], 1).text() == "3"
    assert panel.table.item(row_of[folders[1]], 2).text() == "completed"
    assert panel.table.item(row_of[folders[0]], 3).text().startswith("val_accuracy ")
    assert "moons, 3 epochs" in panel.table.item(0, 4).text()

    _select(panel, 0, 1)  # two runs: their curves on one plot
    names = [item.name() for item in panel.loss_plot.getPlotItem().listDataItems()]
    assert len(names) == 4 and sum(n.endswith(" train") for n in names) == 2
    shown = {len(item.xData) for item in panel.metric_plot.getPlotItem().listDataItems()}
    assert shown == {2, 3}
    assert not panel.buttons["evaluate"].isEnabled()  # which run's weights? pick one

    _select(panel, row_of[folders[0]])
    qtbot.mouseClick(panel.buttons["evaluate"], Qt.MouseButton.LeftButton)
    assert window.session.last_run_dir == folders[0]
    dialog = window.evaluate_dialog
    assert dialog.weights.text() == str(folders[0] / "model.safetensors")
    qtbot.waitUntil(lambda: dialog.report is not None, timeout=RUN_TIMEOUT_MS)
    dialog.reject()

    qtbot.mouseClick(panel.buttons["try"], Qt.MouseButton.LeftButton)  # Try it: this run
    tryit = window.insights.currentWidget()
    assert type(tryit).__name__ == "TryItView" and window.insights_dock.isVisible()
    assert tryit.weights == str(folders[0] / "model.safetensors")
    qtbot.waitUntil(lambda: tryit.model is not None, timeout=RUN_TIMEOUT_MS)

    monkeypatch.setattr(QMessageBox, "question",
                        lambda *a, **k: QMessageBox.StandardButton.Cancel)
    qtbot.mouseClick(panel.buttons["delete"], Qt.MouseButton.LeftButton)
    assert folders[0].is_dir()  # asked first; cancelled
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.Yes)
    qtbot.mouseClick(panel.buttons["delete"], Qt.MouseButton.LeftButton)
    assert not folders[0].exists() and window.session.last_run_dir is None
    _listed(qtbot, panel, 1)
    assert panel.runs[0][0].folder == folders[1]


def test_runs_before_the_first_save_follow_the_file(window, qtbot, tmp_path: Path) -> None:
    window.training.overrides = {"max_steps_per_epoch": 2, "epochs": 2}
    panel = window.runs_panel
    qtbot.mouseClick(window.training_panel.train_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: window.training.state == "idle", timeout=RUN_TIMEOUT_MS)
    temporary = window.training.out_dir
    assert window.session.unsaved_runs == [temporary]
    _listed(qtbot, panel, 1)  # listed as the run ended
    assert panel.table.item(0, 0).text().endswith("(unsaved)")

    graph_file = tmp_path / "digits.loom"
    assert window.documents._write(graph_file)
    assert not temporary.exists() and window.session.unsaved_runs == []
    (moved,) = [p for p in runs_root(graph_file).iterdir()]
    assert (moved / "model.safetensors").is_file() and (moved / "checkpoint.pt").is_file()
    assert window.session.last_run_dir == moved  # Evaluate and Export follow it
    assert "moved beside the file" in window.statusBar().currentMessage()
    _listed(qtbot, panel, 1)
    assert panel.runs[0][0].folder == moved and not panel.table.item(0, 0).text().endswith(
        "(unsaved)")



def test_continue_training_resumes_the_checkpoint_or_says_why_not(window, qtbot,
                                                                 tmp_path: Path) -> None:
    graph_file = tmp_path / "moons.loom"
    doc = moons_mlp()
    save_graph(doc, graph_file)
    folder = claim_run_folder(graph_file)
    Trainer(doc, RunOptions(epochs=3, out_dir=folder)).run()  # its 3 planned epochs
    window.documents.open_path(graph_file, confirmed=True)
    panel = window.runs_panel
    _listed(qtbot, panel, 1)
    _select(panel, 0)
    session = window.session
    fc1 = session.doc.network("main").by_label("fc1")
    session.push(SetParam("main", fc1.id, "out_features", 12))
    qtbot.mouseClick(panel.buttons["continue"], Qt.MouseButton.LeftButton)
    assert "Cannot continue" in panel.note.text()
    assert "layer 'fc1' (Linear) has other settings (out_features)" in panel.note.text()
    assert window.training.state == "idle"

    session.undo()
    started = []
    window.training.start = lambda s, **options: started.append((s, options)) or "stub"
    qtbot.mouseClick(panel.buttons["continue"], Qt.MouseButton.LeftButton)
    assert started == [(session, {"resume": folder / "checkpoint.pt", "epochs": 6})]
    started.clear()
    qtbot.mouseClick(window.training_panel.train_button, Qt.MouseButton.LeftButton)
    assert started == [(session, {})]  # F5 afterwards trains afresh


def test_a_listing_with_runs_says_what_to_do_not_that_there_are_none(window, qtbot,
                                                                     tmp_path: Path) -> None:
    graph_file = tmp_path / "moons.loom"
    doc = moons_mlp()
    save_graph(doc, graph_file)
    window.documents.open_path(graph_file, confirmed=True)
    panel = window.runs_panel
    _listed(qtbot, panel, 0)
    assert panel.note.text().startswith("No runs yet")
    Trainer(doc, RunOptions(epochs=1, out_dir=claim_run_folder(graph_file))).run()
    panel.refresh()  # as when a run in the window ends
    _listed(qtbot, panel, 1)
    assert panel.note.text().startswith("Select a run to see its curves")
