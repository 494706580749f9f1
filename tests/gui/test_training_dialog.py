"""Training > Settings: the training section as a form, applied as one undoable step."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialogButtonBox

from graph.commands import SetTraining


def _open(window, qtbot):
    window.window_actions.training_settings.trigger()
    dialog = window.settings_dialog
    qtbot.waitExposed(dialog)
    return dialog


def _ok(dialog, qtbot) -> None:
    button = dialog.findChild(QDialogButtonBox).button(QDialogButtonBox.StandardButton.Ok)
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)


def _type(qtbot, widget, text: str) -> None:
    widget.selectAll()
    qtbot.keyClicks(widget, text)


def test_settings_edit_the_training_section_as_one_undoable_step(window, qtbot):
    session = window.session
    before = session.doc.training
    dialog = _open(window, qtbot)
    epochs = dialog.general.fields["epochs"].widget
    epochs.setValue(7)
    _type(qtbot, dialog.networks["main"].children["optimizer"].fields["lr"].widget, "0.05")
    dialog.general.fields["device"].widget.setCurrentText("cpu")
    _ok(dialog, qtbot)
    training = session.doc.training
    assert not dialog.isVisible()
    assert training.epochs == 7 and training.device == "cpu"
    assert training.networks["main"].optimizer.lr == 0.05
    assert training.data == before.data  # untouched fields keep their values
    assert session.history.undo_stack[-1].text == "Change training settings"
    window.window_actions.undo.trigger()
    assert session.doc.training == before


def test_a_refused_value_is_named_and_the_dialog_keeps_every_value(window, qtbot):
    session = window.session
    before = session.doc.training
    dialog = _open(window, qtbot)
    split = dialog.data.rest.children["split"]
    _type(qtbot, split.fields["train"].widget, "0.9")
    dialog.general.fields["epochs"].widget.setValue(3)
    _ok(dialog, qtbot)
    assert dialog.isVisible()  # not applied, not closed
    assert dialog.problem.text().startswith("Data › Split:")
    assert "must be 1" in dialog.problem.text()
    assert split.fields["train"].widget.text() == "0.9"
    assert dialog.general.fields["epochs"].widget.value() == 3
    assert session.doc.training == before
    dialog.reject()


def test_choosing_another_data_set_shows_its_own_options(window, qtbot):
    dialog = _open(window, qtbot)
    combo = dialog.data.combo
    names = [combo.itemData(i) for i in range(combo.count())]
    assert "digits" in names and "sine" not in names  # classification data sets only
    combo.setCurrentIndex(names.index("moons"))
    assert {"n_samples", "noise"} <= set(dialog.data.options)
    dialog.data.options["noise"].put(0.3)
    _ok(dialog, qtbot)
    data = window.session.doc.training.data
    assert data.name == "moons" and data.options == {"noise": 0.3}  # defaults left out


def test_the_data_sets_offered_follow_the_task(window, qtbot):
    dialog = _open(window, qtbot)
    dialog.general.fields["task"].widget.setCurrentText("regression")
    combo = dialog.data.combo
    names = [combo.itemData(i) for i in range(combo.count())]
    assert "sine" in names and "moons" not in names
    dialog.reject()


def test_a_data_set_option_it_refuses_is_named(window, qtbot):
    dialog = _open(window, qtbot)
    combo = dialog.data.combo
    combo.setCurrentIndex(combo.findData("moons"))
    dialog.data.options["noise"].put(50.0)  # the moons allow at most 10
    _ok(dialog, qtbot)
    assert dialog.isVisible() and "noise" in dialog.problem.text()
    assert window.session.doc.training.data.name == "digits"
    dialog.reject()


def test_a_data_set_this_installation_lacks_is_kept(window, qtbot):
    session = window.session
    session.push(SetTraining(session.doc.training.replaced(
        "data", {"name": "plugin_set", "options": {"k": 3}})))
    dialog = _open(window, qtbot)
    assert dialog.data.name == "plugin_set"
    dialog.general.fields["epochs"].widget.setValue(4)
    _ok(dialog, qtbot)
    data = session.doc.training.data
    assert data.name == "plugin_set" and data.options == {"k": 3}
    assert session.doc.training.epochs == 4


def test_ok_without_edits_changes_nothing(window, qtbot):
    session = window.session
    session.push(SetTraining(session.doc.training.replaced(
        "networks.main.optimizer.lr", 0.00123456789)))
    depth = len(session.history.undo_stack)
    dialog = _open(window, qtbot)
    _ok(dialog, qtbot)
    assert len(session.history.undo_stack) == depth


def test_a_seed_beyond_what_a_spin_box_holds_is_edited_as_text(window, qtbot):
    session = window.session
    session.push(SetTraining(session.doc.training.replaced("seed", 2**32 - 1)))
    depth = len(session.history.undo_stack)
    dialog = _open(window, qtbot)
    seed = dialog.general.fields["seed"].widget
    assert seed.text() == str(2**32 - 1)
    _ok(dialog, qtbot)
    assert len(session.history.undo_stack) == depth  # shown exactly: OK changes nothing
    dialog = _open(window, qtbot)
    _type(qtbot, dialog.general.fields["seed"].widget, "4294967296")
    _ok(dialog, qtbot)
    assert dialog.isVisible() and session.doc.training.seed == 2**32 - 1  # refused, kept
    dialog.reject()


def test_settings_show_only_the_fields_the_chosen_optimizer_loss_and_schedule_use(
        window, qtbot):
    dialog = _open(window, qtbot)
    optimizer = dialog.networks["main"].children["optimizer"]
    schedule = dialog.networks["main"].children["schedule"]

    def shown(form, name: str) -> bool:
        return form.fields[name].widget.isVisibleTo(form.box)  # its tab may be behind another

    optimizer.fields["name"].widget.setCurrentText("adam")
    assert not shown(optimizer, "momentum") and not shown(optimizer, "nesterov")
    assert shown(optimizer, "lr") and shown(optimizer, "weight_decay")
    optimizer.fields["name"].widget.setCurrentText("sgd")
    assert shown(optimizer, "momentum") and shown(optimizer, "nesterov")
    schedule.fields["name"].widget.setCurrentText("none")
    assert not any(shown(schedule, n) for n in ("step_size", "gamma", "patience", "max_lr"))
    schedule.fields["name"].widget.setCurrentText("plateau")
    assert shown(schedule, "gamma") and shown(schedule, "patience")
    assert not shown(schedule, "step_size")
    dialog.loss.fields["name"].widget.setCurrentText("cross_entropy")
    assert not shown(dialog.loss, "huber_delta") and shown(dialog.loss, "label_smoothing")
    dialog.loss.fields["name"].widget.setCurrentText("huber")
    assert shown(dialog.loss, "huber_delta") and not shown(dialog.loss, "label_smoothing")
    dialog.loss.fields["name"].widget.setCurrentText("cross_entropy")
    _ok(dialog, qtbot)
    assert window.session.doc.training.networks["main"].optimizer.momentum == 0.9  # kept
