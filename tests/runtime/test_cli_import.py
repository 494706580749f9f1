"""``layerloom import``: a module in a .py file (or an ONNX file) to a .loom file plus
its weights where runs keep theirs; and ``train --init-weights`` starting from them."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file

from graph.compile import compile_network
from graph.fileformat import load_graph
from runtime.checkpoint import load_weights
from runtime.cli import main
from runtime.model_source import load_fitting_weights, module_classes

MODEL = textwrap.dedent('''\
    from dataclasses import dataclass

    import torch
    import torch.nn.functional as F
    from torch import nn


    class Small(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc1 = nn.Linear(4, 8)
            self.fc2 = nn.Linear(8, 3)

        def forward(self, x):
            return self.fc2(F.relu(self.fc1(x)))


    class Wider(Small):
        pass


    @dataclass
    class Config:  # a config class, as nanoGPT has: dataclasses look up their module
        hidden: "int" = 8


    def build() -> nn.Module:
        return Small()


    class Odd(nn.Module):
        def forward(self, x):
            return torch.einsum("bi->b", x)
''')


@pytest.fixture
def model_file(tmp_path: Path) -> Path:
    path = tmp_path / "model.py"
    path.write_text(MODEL, encoding="utf-8")
    return path


def _outputs_match(loom: Path, weights: Path, model: torch.nn.Module) -> bool:
    module = compile_network(load_graph(loom)).eval()
    load_weights(weights, {"main": module})
    x = torch.randn(5, 4)
    with torch.no_grad():
        return torch.allclose(module(x), model.eval()(x), atol=1e-6)


def _small(state: dict[str, torch.Tensor]) -> torch.nn.Module:
    model = torch.nn.Sequential()
    model.fc1 = torch.nn.Linear(4, 8)
    model.relu = torch.nn.ReLU()
    model.fc2 = torch.nn.Linear(8, 3)
    model.load_state_dict(state)
    return model


@pytest.mark.parametrize("suffix", [".pt", ".safetensors"])
def test_a_module_and_its_weights_become_a_graph_and_a_run_weights_file(
        model_file: Path, tmp_path: Path, suffix: str, capsys: pytest.CaptureFixture[str]
) -> None:
    torch.manual_seed(3)
    state = {"fc1.weight": torch.randn(8, 4), "fc1.bias": torch.randn(8),
             "fc2.weight": torch.randn(3, 8), "fc2.bias": torch.randn(3)}
    weights = tmp_path / f"trained{suffix}"
    if suffix == ".pt":
        torch.save(state, weights)
    else:
        save_file(state, str(weights))
    out = tmp_path / "net.loom"
    code = main(["import", f"{model_file}:Small", "--input-shape", "4", "-o", str(out),
                 "--weights", str(weights)])
    assert code == 0, capsys.readouterr().err
    run = tmp_path / "runs" / "net"
    assert (run / "graph.loom").is_file()
    assert _outputs_match(out, run / "model.safetensors", _small(state))
    assert "runs/net/model.safetensors" in capsys.readouterr().out.replace("\\", "/")


def test_a_factory_function_works_like_a_class(model_file: Path, tmp_path: Path) -> None:
    assert main(["import", f"{model_file}:build", "--input-shape", "4",
                 "-o", str(tmp_path / "built.loom")]) == 0
    assert (tmp_path / "runs" / "built" / "model.safetensors").is_file()


def test_each_call_without_a_layer_is_named(model_file: Path, tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["import", f"{model_file}:Odd", "--input-shape", "4",
                 "-o", str(tmp_path / "odd.loom")])
    assert code == 1
    line = MODEL.splitlines().index('        return torch.einsum("bi->b", x)') + 1
    assert f"line {line}: torch.einsum has no layer in the catalog" in capsys.readouterr().err
    assert not (tmp_path / "odd.loom").exists()


@pytest.mark.parametrize(("argv", "words"), [
    (["{model}:Missing", "--input-shape", "4"], "defines no 'Missing' (modules found: Small, "
                                                "Wider, build, Odd)"),
    (["{model}", "--input-shape", "4"], "name the class or factory function"),
    (["{model}:Small"], "--input-shape"),
    (["{model}:Small", "--input-shape", "4", "--weights", "{model}"], "cannot read the weights"),
])
def test_mistakes_are_one_line_each(model_file: Path, argv: list[str], words: str,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["import", *(a.format(model=model_file) for a in argv)])
    assert code == 2
    err = capsys.readouterr().err
    assert words in err and "Traceback" not in err


def test_help_says_that_importing_runs_the_file(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["import", "--help"]) == 0
    assert "runs its code" in " ".join(capsys.readouterr().out.split())


def test_listing_the_modules_of_a_file_does_not_run_it(tmp_path: Path) -> None:
    path = tmp_path / "loud.py"
    path.write_text(MODEL + "\nraise SystemExit('ran')\n", encoding="utf-8")
    assert module_classes(path) == ["Small", "Wider", "build", "Odd"]


def test_training_starts_from_the_weights_that_still_fit(model_file: Path,
                                                         tmp_path: Path) -> None:
    out = tmp_path / "net.loom"
    assert main(["import", f"{model_file}:Small", "--input-shape", "4", "-o", str(out)]) == 0
    weights = tmp_path / "runs" / "net" / "model.safetensors"
    doc = load_graph(out)
    fc2 = doc.network("main").by_label("fc2")
    assert fc2 is not None
    doc.set_param("main", fc2.id, "out_features", 5)  # edited after the import
    module = compile_network(doc)
    fresh = load_fitting_weights(weights, {"main": module})
    assert fresh == [fc2.id]
    saved = compile_network(load_graph(out))
    load_weights(weights, {"main": saved})
    assert torch.equal(module.fc1.weight, saved.fc1.weight)


def test_a_run_with_init_weights_starts_from_them(tmp_path: Path) -> None:
    from helpers import moons_mlp

    from graph.compile import state_dict_by_id
    from runtime.trainer import RunOptions, Trainer

    Trainer(moons_mlp(), RunOptions(epochs=1, out_dir=tmp_path / "first", step_interval=0)).run()
    start = tmp_path / "first" / "model.safetensors"
    still = moons_mlp(networks={"main": {"optimizer": {"name": "sgd", "lr": 1e-9}}})
    trainer = Trainer(still, RunOptions(epochs=1, init_weights=start, step_interval=0,
                                        max_steps_per_epoch=1))
    trainer.run()
    reference = compile_network(moons_mlp())
    load_weights(start, {"main": reference})
    for key, value in state_dict_by_id(reference).items():
        assert torch.allclose(state_dict_by_id(trainer.networks["main"])[key], value, atol=1e-6)


def test_an_onnx_file_imports_with_its_weights(tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    import numpy as np
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(0)
    w, b = rng.standard_normal((3, 4)).astype(np.float32), np.ones(3, np.float32)
    graph = helper.make_graph(
        [helper.make_node("Gemm", ["x", "w", "b"], ["y"], transB=1)], "tiny",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", 3])],
        initializer=[numpy_helper.from_array(w, "w"), numpy_helper.from_array(b, "b")])
    source = tmp_path / "tiny.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]),
              str(source))
    out = tmp_path / "tiny.loom"
    assert main(["import", str(source), "-o", str(out)]) == 0, capsys.readouterr().err
    module = compile_network(load_graph(out)).eval()
    load_weights(tmp_path / "runs" / "tiny" / "model.safetensors", {"main": module})
    x = torch.randn(2, 4)
    with torch.no_grad():
        assert torch.allclose(module(x), x @ torch.from_numpy(w).T + 1.0, atol=1e-5)
    assert main(["import", str(source), "--input-shape", "4"]) == 2  # an ONNX file has one


def test_a_tied_weight_loads_through_its_embedding_and_is_not_fresh(tmp_path: Path) -> None:
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "graph"))
    from test_ties import tied_doc

    from runtime.checkpoint import save_weights

    trained = compile_network(tied_doc())
    weights = tmp_path / "model.safetensors"
    save_weights(weights, {"main": trained}, None)
    fresh_module = compile_network(tied_doc())
    assert load_fitting_weights(weights, {"main": fresh_module}) == []
    assert torch.equal(fresh_module.head.weight, trained.embed.weight)
