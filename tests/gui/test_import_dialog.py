"""File > Import: a PyTorch module or an ONNX file opens as a new untitled document whose
weights Export, Evaluate and Train use; problems are named in the dialog."""

from __future__ import annotations

import textwrap
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper
from PySide6.QtCore import Qt

MODEL = textwrap.dedent('''\
    from pathlib import Path

    import torch
    import torch.nn.functional as F
    from torch import nn

    Path(__file__).with_name("ran.txt").write_text("the file ran")


    class Small(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc1 = nn.Linear(4, 8)
            self.fc2 = nn.Linear(8, 3)

        def forward(self, x):
            return self.fc2(F.relu(self.fc1(x)))


    class Odd(nn.Module):
        def forward(self, x):
            return torch.einsum("bi->b", x)
''')


def _model_file(tmp_path: Path) -> Path:
    path = tmp_path / "model.py"
    path.write_text(MODEL, encoding="utf-8")
    return path


def _open(window, action: str):
    getattr(window.window_actions, action).trigger()
    dialog = window.documents.import_dialog
    assert dialog is not None and dialog.isVisible()
    return dialog


def test_import_a_module_from_the_file_menu(window, qtbot, tmp_path: Path) -> None:
    before = window.session
    dialog = _open(window, "import_module")
    assert "runs this file's Python code" in dialog.warning.text()
    dialog.set_file(str(_model_file(tmp_path)))
    assert [dialog.name.itemText(i) for i in range(dialog.name.count())] == ["Small", "Odd"]
    assert not (tmp_path / "ran.txt").exists()  # listing the classes ran nothing
    dialog.name.setCurrentText("Small")
    dialog.shape.setText("4")
    qtbot.mouseClick(dialog.import_button, Qt.MouseButton.LeftButton)
    assert dialog.running and not dialog.import_button.isEnabled()
    qtbot.waitUntil(lambda: window.session is not before, timeout=120_000)
    assert (tmp_path / "ran.txt").exists()  # importing did run it, as the dialog said
    session = window.session
    assert session.path is None  # a new untitled document
    net = session.doc.network("main")
    assert {n.label for n in net.nodes()} == {"x", "fc1", "relu", "fc2", "output"}
    assert session.init_weights is not None and session.init_weights.is_file()
    assert session.last_run_dir == session.init_weights.parent
    assert (session.last_run_dir / "graph.loom").is_file()  # Evaluate's graph for them
    xs = [net.node(i).pos[0] for i in ("n1", "n2", "n3", "n4", "n5")]
    assert xs == sorted(xs) and len(set(xs)) == 5  # laid out left to right
    window.window_actions.export_model.trigger()
    export = window.documents.export_dialog
    assert export is not None and export.weights.text() == str(session.init_weights)
    export.reject()


def test_calls_without_a_layer_are_named_in_the_dialog(window, qtbot, tmp_path: Path) -> None:
    before = window.session
    dialog = _open(window, "import_module")
    dialog.set_file(str(_model_file(tmp_path)))
    qtbot.mouseClick(dialog.import_button, Qt.MouseButton.LeftButton)
    assert "Give the shape of one input sample" in dialog.report.toPlainText()
    dialog.name.setCurrentText("Odd")
    dialog.shape.setText("4")
    qtbot.mouseClick(dialog.import_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not dialog.running, timeout=120_000)
    line = MODEL.splitlines().index('        return torch.einsum("bi->b", x)') + 1
    assert f"line {line}: torch.einsum has no layer in the catalog" in \
        dialog.report.toPlainText()
    assert dialog.isVisible() and window.session is before


def test_import_an_onnx_file_from_the_file_menu(window, qtbot, tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    weights = {"w": rng.standard_normal((3, 4)).astype(np.float32),
               "b": rng.standard_normal(3).astype(np.float32)}
    graph = helper.make_graph(
        [helper.make_node("Gemm", ["x", "w", "b"], ["g"], transB=1),
         helper.make_node("Relu", ["g"], ["y"])], "tiny",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", 3])],
        initializer=[numpy_helper.from_array(v, k) for k, v in weights.items()])
    path = tmp_path / "tiny.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), str(path))
    before = window.session
    dialog = _open(window, "import_onnx")
    dialog.set_file(str(path))
    qtbot.mouseClick(dialog.import_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: window.session is not before, timeout=120_000)
    types = sorted(n.spec.id for n in window.session.doc.network("main").nodes())
    assert types == ["Input", "Linear", "Output", "ReLU"]
    assert window.session.init_weights is not None


def test_an_import_is_unsaved_and_saving_keeps_its_weights_beside_the_file(
        window, qtbot, tmp_path: Path) -> None:
    before = window.session
    dialog = _open(window, "import_module")
    dialog.set_file(str(_model_file(tmp_path)))
    dialog.shape.setText("4")
    qtbot.mouseClick(dialog.import_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: window.session is not before, timeout=120_000)
    session = window.session
    assert session.dirty  # closing or replacing it asks first
    path = tmp_path / "small.loom"
    assert window.documents._write(path)
    assert not session.dirty
    run = tmp_path / "runs" / "small"
    assert session.init_weights == run / "model.safetensors" and session.last_run_dir == run
    assert (run / "model.safetensors").is_file() and (run / "graph.loom").is_file()


def test_training_an_imported_model_starts_from_its_weights(window, qtbot, tmp_path: Path,
                                                            monkeypatch) -> None:
    from graph.training import DataSpec, TrainingSpec

    started: list[object] = []

    class NoProcess:  # records what the window would run, starts nothing
        def __init__(self, doc: object, options: object) -> None:
            started.append(options)

        def start(self) -> None:
            raise OSError("not in this test")

    monkeypatch.setattr("runtime.runner.Runner", NoProcess)
    before = window.session
    dialog = _open(window, "import_module")
    dialog.set_file(str(_model_file(tmp_path)))
    dialog.shape.setText("4")
    qtbot.mouseClick(dialog.import_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: window.session is not before, timeout=120_000)
    session = window.session
    session.doc.set_training(TrainingSpec(data=DataSpec(name="iris")))  # 4 features, 3 classes
    qtbot.waitUntil(lambda: session.shapes_complete, timeout=60_000)
    assert window.training.start(session) == "the training process could not start: " \
                                             "not in this test"
    assert [o.init_weights for o in started] == [session.init_weights]


def test_tab_goes_from_the_file_to_the_class_and_on(qtbot) -> None:
    from gui.import_dialog import ImportDialog

    dialog = ImportDialog("pytorch")
    qtbot.addWidget(dialog)
    assert dialog.file.nextInFocusChain() is dialog.name  # the Browse… button is skipped
    chain = [dialog.name]
    while len(chain) < 8 and chain[-1] is not dialog.tokens:
        chain.append(chain[-1].nextInFocusChain())
    assert dialog.shape in chain and chain[-1] is dialog.tokens
