"""The Step tab: a training step walked on the canvas with the real buttons."""

from __future__ import annotations

import shutil
from pathlib import Path

import torch
import torch.nn.functional as F
from PySide6.QtCore import Qt

from graph.fileformat import load_graph
from gui.canvas import step_overlay
from gui.canvas.step_drawing import number
from gui.insights.step import StepView
from gui.session import Session

EXAMPLES = Path(__file__).resolve().parents[2] / "resources" / "examples"
RUN_TIMEOUT_MS = 120_000


def _open(window, tmp_path: Path, name: str) -> StepView:
    path = tmp_path / f"{name}.loom"
    shutil.copy(EXAMPLES / f"{name}.loom", path)
    window.set_session(Session(load_graph(path), path))
    return next(v for v in window.insights.views if isinstance(v, StepView))


def _click(qtbot, button) -> None:
    assert button.isEnabled(), button.text()
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)


def _plain_step(doc, index: int) -> dict[str, float]:
    """A plain torch step on mlp_moons' fresh weights: loss, ∂loss/∂scores, update of scores."""
    from runtime.inspect.model import inspect_model

    model = inspect_model(doc)
    net, data = model.main, model.data
    x, y = data.train_x[index:index + 1], data.train_y[index:index + 1]
    scores = net(x)
    scores.retain_grad()
    loss = F.cross_entropy(scores, y)
    loss.backward()
    old = torch.cat([net.scores.weight.detach().reshape(-1), net.scores.bias.detach()]).clone()
    torch.optim.Adam(net.parameters(), lr=0.01).step()
    new = torch.cat([net.scores.weight.detach().reshape(-1), net.scores.bias.detach()])
    return {"loss": float(loss.detach()), "grad": float(scores.grad.norm()),
            "update": float((new - old).norm() / old.norm())}


def test_step_walks_the_four_stages_on_the_canvas(window, qtbot, tmp_path: Path) -> None:
    view = _open(window, tmp_path, "mlp_moons")
    _click(qtbot, window.training_panel.step_button)
    assert window.insights.currentWidget() is view
    qtbot.waitUntil(lambda: len(view.labels) > 0, timeout=RUN_TIMEOUT_MS)
    view.sample.setValue(7)
    assert view.label.text() == f"target: {view.labels[7]}" and "class" in view.labels[7]
    _click(qtbot, view.step_button)
    qtbot.waitUntil(lambda: view.record is not None, timeout=RUN_TIMEOUT_MS)
    rec = view.record
    scene = window.current_view().scene()
    assert step_overlay.overlay_texts(scene) == []  # nothing drawn before Next stage

    _click(qtbot, view.next_button)
    texts = step_overlay.overlay_texts(scene)
    for node_id in rec["order"]:
        r = rec["forward"][node_id]
        assert f"mean {number(r['mean'])}  std {number(r['std'])}" in texts
    scores = rec["forward"]["n7"]["values"]
    assert "= " + ", ".join(number(v) for v in scores) in texts
    assert view.stage.text() == "Stage 1 of 4: Forward"

    _click(qtbot, view.next_button)
    texts = step_overlay.overlay_texts(scene)
    plain = _plain_step(window.session.doc, 7)
    assert abs(rec["loss"]["value"] - plain["loss"]) < 1e-6
    assert f"value: {number(plain['loss'])}" in texts and "Loss: cross-entropy" in texts
    assert f"target: {view.labels[7]}" in texts

    _click(qtbot, view.next_button)
    texts = step_overlay.overlay_texts(scene)
    assert abs(rec["backward"]["outputs"]["n6"] - plain["grad"]) < 1e-6
    for node_id, norm in rec["backward"]["outputs"].items():
        assert f"∇ output {number(norm)}" in texts, node_id
    wires = {f"{e.edge.source}>{e.edge.target}": e for e in scene.edges.values()}
    assert all(w.emphasis is not None for w in wires.values())
    by_norm = sorted(wires, key=lambda k: rec["backward"]["wires"][k])
    assert wires[by_norm[0]].emphasis[1] < wires[by_norm[-1]].emphasis[1]  # thicker: larger

    _click(qtbot, view.next_button)
    texts = step_overlay.overlay_texts(scene)
    assert abs(rec["update"]["relative"]["n6"] - plain["update"]) < 1e-6
    assert f"‖Δw‖/‖w‖ {number(plain['update'])}" in texts
    assert "Update: adam, lr 0.01" in texts
    assert f"loss after  {number(rec['update']['loss_after'])}" in texts
    assert not view.next_button.isEnabled() and "Stage 4 of 4" in view.stage.text()

    view.speed.setCurrentText("fast")
    _click(qtbot, view.play_button)  # from the start again, node by node
    qtbot.waitUntil(lambda: view.frame == 2, timeout=5000)
    assert view.stage.text() == f"Stage 1 of 4: Forward (node 3 of {len(rec['order'])})"
    assert len(step_overlay.overlay_texts(scene)) < len(texts)
    view.play_button.setChecked(False)

    stepped = view.states
    _click(qtbot, view.keep_button)
    qtbot.waitUntil(lambda: view.kept is not None, timeout=RUN_TIMEOUT_MS)
    folder = window.session.last_run_dir
    assert folder is not None and folder.parent == tmp_path / "runs" / "mlp_moons"
    from runtime.checkpoint import read_weights

    kept, _meta = read_weights(folder / "model.safetensors")
    assert torch.equal(kept["main"]["n6.weight"], stepped["main"]["scores.weight"])
    assert not torch.equal(kept["main"]["n6.weight"], view.kept[2]["main"]["scores.weight"])
    _click(qtbot, view.undo_button)
    qtbot.waitUntil(lambda: view.kept is None, timeout=RUN_TIMEOUT_MS)
    assert window.session.last_run_dir is None and not folder.exists()
    assert "Undone" in view.explain.text()


def test_feature_maps_show_for_a_cnn_and_failures_are_explained(window, qtbot,
                                                                tmp_path: Path) -> None:
    view = _open(window, tmp_path, "cnn_digits")
    window.window_actions.step.trigger()
    qtbot.waitUntil(lambda: len(view.labels) > 0, timeout=RUN_TIMEOUT_MS)
    view.batch.setValue(2)
    _click(qtbot, view.step_button)
    qtbot.waitUntil(lambda: view.record is not None, timeout=RUN_TIMEOUT_MS)
    _click(qtbot, view.next_button)
    scene = window.current_view().scene()
    texts = step_overlay.overlay_texts(scene)
    assert any("mean" in line for line in texts)
    tips = [card.toolTip() for card in step_overlay.cards(scene)]
    assert any("shown: first 8 of 32 channels" in tip for tip in tips)
    assert view.record["forward"]["n2"]["kind"] == "image"
    from graph.commands import Move, SetParam

    card = step_overlay.cards(scene)[0]
    before = card.pos()
    node = window.session.doc.network("main").node("n1")
    window.session.push(Move("main", {"n1": (node.pos[0] + 40, node.pos[1])}))
    assert view.record is not None  # moving a node keeps the step; its card follows
    assert step_overlay.cards(scene)[0].pos().x() == before.x() + 40
    view.sample.setValue(view.sample.maximum())
    view.batch.setValue(1)

    window.session.push(SetParam("main", "n2", "out_channels", 8))
    assert view.record is None and step_overlay.overlay_texts(scene) == []
    assert "network changed" in view.explain.text()
    window.session.push(SetParam("main", "n1", "shape", [1, 4, 4]))  # no longer fits the data
    _click(qtbot, view.step_button)
    qtbot.waitUntil(lambda: view.explain.text().startswith("No step:"), timeout=RUN_TIMEOUT_MS)
    assert "4" in view.explain.text() and view.record is None
    window.session.undo()
    _click(qtbot, view.step_button)
    _open(window, tmp_path, "mlp_moons")  # another document while the step is computed
    qtbot.waitUntil(lambda: not view.job.running, timeout=RUN_TIMEOUT_MS)
    assert view.record is None and view.session is window.session


def test_a_paused_run_steps_on_its_live_weights(window, qtbot, tmp_path: Path) -> None:
    view = _open(window, tmp_path, "mlp_moons")
    window.training.overrides = {"max_steps_per_epoch": 2, "epochs": 500}
    window.window_actions.train.trigger()
    panel = window.training_panel
    qtbot.waitUntil(lambda: "train_loss" in panel.loss.data, timeout=RUN_TIMEOUT_MS)
    window.insights_dock.raise_()  # the tab chosen directly, not from Training > Step
    window.insights.setCurrentWidget(view)
    assert not view.step_button.isEnabled()  # running: pause first
    assert "pause it (F6)" in view.explain.text()
    _click(qtbot, panel.pause_button)
    qtbot.waitUntil(view.step_button.isEnabled, timeout=5000)
    _click(qtbot, view.step_button)
    qtbot.waitUntil(lambda: view.record is not None, timeout=RUN_TIMEOUT_MS)
    assert view.source == "the paused run's live weights"
    assert view.record["update"]["optimizer"] == "adam"
    _click(qtbot, view.next_button)
    assert not view.keep_button.isEnabled()  # the run's weights stay the run's
    window.training.stop()
    qtbot.waitUntil(lambda: window.training.state == "idle", timeout=RUN_TIMEOUT_MS)
