"""The Training panel's plots: a sane epoch axis from the first step, a step curve as dense
as the steps, and legends that leave the curves visible (a GAN's six series)."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt


def started(task: str = "classification", epochs: int = 40) -> dict[str, Any]:
    return {"type": "started", "device": "cpu", "note": "", "task": task, "epochs": epochs,
            "first_epoch": 0, "batch_size": 64, "samples": 1950, "steps_per_epoch": 31,
            "params": {"main": 98}}


def step(step: int, loss: float, epoch: int = 1, **extra: Any) -> dict[str, Any]:
    return {"type": "step", "epoch": epoch, "step": step, "steps": 31, "samples_per_s": 1e4,
            "eta_s": 3.0, "lr": {"main": 0.01}, "loss": loss, "grad_norms": {"main": {}},
            **extra}


def shown_panel(window, qtbot):
    """The Training panel raised and given room, as when a run starts."""
    window.training_dock.show()
    window.training_dock.raise_()
    window.resizeDocks([window.training_dock], [360], Qt.Orientation.Vertical)
    qtbot.waitUntil(lambda: window.training_panel.loss.plot.getViewBox().height() > 100)
    return window.training_panel


def test_the_first_step_shows_on_an_epoch_axis_from_zero(window, qtbot):
    panel = shown_panel(window, qtbot)
    panel.on_event(started())
    panel.on_event(step(1, 0.7))
    qtbot.wait(20)  # the view box ranges itself on the next paint
    plot = panel.loss.plot
    low, high = plot.viewRange()[0]
    assert low == 0 and 1 / 31 < high <= 1.1
    axis = plot.getAxis("bottom")
    assert axis.autoSIPrefixScale == 1.0 and "x0.001" not in axis.labelString()


def test_the_step_curve_has_a_point_for_each_run_of_steps(window):
    panel = window.training_panel
    panel.on_event(started())
    at = [(i + 1) / 31 for i in range(12)]
    losses = [0.7 - 0.01 * i for i in range(12)]
    panel.on_event(step(12, losses[-1], trail={"at": at, "loss": losses}))
    assert panel.loss.data["step loss"] == (at, losses)
    panel.on_event(step(13, 0.5))  # an event from an older run, without a trail
    assert panel.loss.data["step loss"] == ([*at, 13 / 31], [*losses, 0.5])


def test_a_gans_six_loss_curves_are_not_under_their_legend(window, qtbot):
    panel = shown_panel(window, qtbot)
    panel.on_event(started("gan"))
    for epoch in (1, 2, 3):
        trail = {"at": [epoch - 0.5], "loss": [3.0], "d_loss": [1.2], "g_loss": [1.8]}
        panel.on_event(step(16, 3.0, epoch, d_loss=1.2, g_loss=1.8, trail=trail))
        panel.on_event({"type": "epoch", "epoch": epoch, "time_s": 1.0, "samples_per_s": 1e4,
                        "lr": {"d": 0.002, "g": 0.002}, "train_loss": 3.0,
                        "train_d_loss": 1.2, "train_g_loss": 1.8, "val_loss": 3.1,
                        "val_d_loss": 1.3, "val_g_loss": 1.8, "val_d_accuracy": 0.6})
    assert len(panel.loss.items) == 6
    for plot in (panel.loss.plot, panel.metrics.plot):
        def beside(plot=plot) -> bool:  # once the plot has laid the grown legend out
            legend = plot.legend.sceneBoundingRect()
            data = plot.getViewBox().sceneBoundingRect()
            return legend.height() > 20 and legend.left() >= data.right() - 1 \
                and data.width() > legend.width()
        qtbot.waitUntil(beside, timeout=2000)
    assert panel.loss.plot.legend.sceneBoundingRect().height() > 6 * 12  # one row a curve
