"""The data preview in Training > Settings and in the Insights dock's Data tab: it follows
the data settings, loads off the GUI thread and shows a data problem in place."""

from __future__ import annotations

from pathlib import Path

from graph.commands import SetTraining
from gui.insights.data import DataInsight
from gui.training_dialog import TrainingSettingsDialog
from tests.gui.insights_tabs import show_tab

TIMEOUT_MS = 30_000


def _shown(qtbot, preview, kind: str) -> None:
    qtbot.waitUntil(lambda: not preview.loading and preview.shown is not None
                    and preview.shown.kind == kind, timeout=TIMEOUT_MS)


def test_settings_preview_follows_the_chosen_data_set(window, qtbot, tmp_path: Path) -> None:
    dialog = TrainingSettingsDialog(window.session, window)
    qtbot.addWidget(dialog)
    dialog.show()
    preview = dialog.preview
    assert preview.loading  # the sample document's digits load on a worker thread
    _shown(qtbot, preview, "image")
    assert [label.toPlainText() for label in preview.overlays] == preview.shown.labels
    assert preview.samples_plot.isVisibleTo(preview) and preview.balance.isVisibleTo(preview)
    assert "train 1,257 · val 270 · test 270" in preview.summary.text()
    assert "10 classes" in preview.summary.text()
    assert list(preview.bars.opts["height"]) == preview.shown.class_counts

    combo = dialog.data.combo
    combo.setCurrentIndex(combo.findData("moons"))  # the form changes: the preview follows
    _shown(qtbot, preview, "points")
    assert len(preview.points.data) == preview.shown.total
    # one brush per class, shared by its points (a brush each made the draw ten times slower)
    assert len({id(brush) for brush in preview.points.data["brush"]}) == 2
    assert preview.points in preview.samples_plot.getPlotItem().items  # drawn, not detached
    assert not preview.table.isVisibleTo(preview)
    combo.setCurrentIndex(combo.findData("ring"))  # eight modes, eight colours
    qtbot.waitUntil(lambda: not preview.loading and preview.shown is not None
                    and len(preview.shown.class_counts) == 8, timeout=TIMEOUT_MS)
    assert len({brush.color().name() for brush in preview.points.data["brush"]}) == 8

    combo.setCurrentIndex(combo.findData("csv"))
    dialog.data.options["path"].put(str(tmp_path / "nowhere.csv"))
    qtbot.waitUntil(lambda: not preview.loading and bool(preview.error), timeout=TIMEOUT_MS)
    assert "Cannot load the data" in preview.summary.text()
    assert "nowhere.csv" in preview.summary.text()
    assert not preview.samples_plot.isVisibleTo(preview)
    dialog.reject()


def test_insights_data_tab_follows_the_document(window, qtbot) -> None:
    tab = show_tab(window, DataInsight)
    assert isinstance(tab, DataInsight)
    _shown(qtbot, tab.preview, "image")
    training = window.session.doc.training
    window.session.push(SetTraining(training.replaced("data", {"name": "sine"}).replaced(
        "task", "regression")))
    _shown(qtbot, tab.preview, "sequence")
    assert tab.preview.samples_plot.isVisibleTo(tab)
    assert not tab.preview.balance.isVisibleTo(tab)  # values: no classes to count
    shown = tab.preview.overlays  # six windows, each with its target as a dot
    assert len(shown) == 12 and all(item in tab.preview.samples_plot.getPlotItem().items
                                    for item in shown)
    assert [float(item.yData[0]) for item in shown[1::2]] == [
        float(v) for v in tab.preview.shown.targets[:6, 0]]


def test_the_window_closes_while_a_preview_or_the_runs_list_loads(window) -> None:
    window.training_settings()
    assert window.settings_dialog.preview.loading  # only reads: nothing to wait for
    window.documents.confirm_discard = lambda: True
    assert window.close()
