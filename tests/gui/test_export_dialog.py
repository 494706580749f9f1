"""File > Export trained model: a run's weights exported from the window, off the GUI thread."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt

from graph.commands import SetParam
from runtime.cli import main as cli


def _train(window, tmp_path: Path) -> Path:
    """Save the window's network and train it one epoch the way the README says."""
    path = tmp_path / "net.loom"
    window.session.save(path)
    out = tmp_path / "runs" / "net"
    assert cli(["train", str(path), "--epochs", "1", "--threads", "1", "--out", str(out)]) == 0
    return out / "model.safetensors"


def _open_dialog(window):
    window.window_actions.export_model.trigger()
    dialog = window.documents.export_dialog
    assert dialog is not None and dialog.isVisible()
    return dialog


def test_export_a_trained_network_to_onnx_from_the_file_menu(window, qtbot, tmp_path,
                                                            monkeypatch):
    weights = _train(window, tmp_path)
    monkeypatch.chdir(tmp_path)
    dialog = _open_dialog(window)
    assert dialog.weights.text() == str(weights)  # the run `main.py train` wrote by default
    assert dialog.output.text() == str(tmp_path / "net.onnx")
    dialog.format.setCurrentIndex(dialog.format.findData("pt2"))
    assert dialog.output.text() == str(tmp_path / "net.pt2")  # the suffix follows the format
    dialog.format.setCurrentIndex(dialog.format.findData("onnx"))
    qtbot.mouseClick(dialog.export_button, Qt.MouseButton.LeftButton)
    assert dialog.running and not dialog.export_button.isEnabled()
    dialog.reject()  # closing mid-export would leave a half-written file: refused
    assert dialog.isVisible()
    qtbot.waitUntil(lambda: not dialog.running, timeout=120_000)
    text = dialog.report.toPlainText()
    assert "exported network 'main' as onnx" in text and "largest difference from PyTorch" in text
    assert (tmp_path / "net.onnx").stat().st_size > 0
    assert dialog.export_button.isEnabled()


def test_bad_weights_are_reported_in_the_dialog_and_nothing_is_written(window, qtbot,
                                                                      tmp_path):
    weights = _train(window, tmp_path)
    dialog = _open_dialog(window)
    dialog.weights.setText("")
    qtbot.mouseClick(dialog.export_button, Qt.MouseButton.LeftButton)
    assert "train the network with Training > Train (F5)" in dialog.report.toPlainText()
    dialog.weights.setText(str(tmp_path / "missing.safetensors"))
    qtbot.mouseClick(dialog.export_button, Qt.MouseButton.LeftButton)
    assert not dialog.running
    assert "missing.safetensors does not exist" in dialog.report.toPlainText()

    conv = next(n.id for n in window.session.doc.network("main").nodes() if n.label == "conv")
    window.session.push(SetParam("main", conv, "out_channels", 5))  # the weights no longer fit
    dialog.weights.setText(str(weights))
    dialog.output.setText(str(tmp_path / "changed.onnx"))
    qtbot.mouseClick(dialog.export_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not dialog.running, timeout=120_000)
    text = dialog.report.toPlainText()
    assert text.startswith("Cannot export:")
    assert "Conv2d 'conv' has weight of size 5×1×3×3 but the saved weights hold 4×1×3×3" in text
    assert not (tmp_path / "changed.onnx").exists()
    dialog.reject()
    assert not dialog.isVisible()
