"""Generated code: readable, standalone, and numerically the compiled network."""

from __future__ import annotations

import ast
import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch
from models import MODELS, mlp_doc, one_thread, randomise_state, run_fresh
from safetensors.torch import save_file

from graph.builder import NetworkBuilder
from graph.codegen import generate_code
from graph.compile import CompileError, compile_network, state_dict_by_id
from graph.document import Document


@pytest.fixture(autouse=True, scope="module")
def _single_thread() -> Iterator[None]:
    with one_thread():
        yield


# Run in a fresh interpreter: imports each generated file by path, loads the
# label-keyed state and (via load_weights) the id-keyed safetensors file, and
# compares outputs and frozen flags with what the compiled module produced.
CHECK = """
import json, torch
cases = json.load(open("cases.json"))
for case in cases:
    spec = importlib.util.spec_from_file_location(case["name"], case["name"] + ".py")
    code = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(code)
    data = torch.load(case["name"] + ".pt")
    for how in ("state_dict", "load_weights"):
        model = getattr(code, case["class"])()
        if how == "state_dict":
            model.load_state_dict(data["state"])
        else:
            code.load_weights(model, case["name"] + ".safetensors")
        model.eval()
        with torch.no_grad():
            out = model(*data["inputs"])
        assert torch.equal(out, data["output"]), (case["name"], how)
        frozen = [k for k, p in model.named_parameters() if not p.requires_grad]
        assert frozen == case["frozen"], (case["name"], frozen)
    print("ok", case["name"])
"""


def _frozen_mlp() -> Document:
    doc = mlp_doc()
    net = doc.network("main")
    doc.set_param("main", net.by_label("fc2").id, "trainable", False)
    doc.set_param("main", net.by_label("head").id, "init", "xavier")
    return doc


def test_generated_code_reproduces_outputs_in_a_fresh_interpreter(tmp_path: Path) -> None:
    cases = []
    for model in MODELS:
        doc = _frozen_mlp() if model.name == "mlp" else model.doc()
        gm = compile_network(doc, model.network)
        randomise_state(gm, seed=11)
        gm.eval()
        inputs = model.inputs(torch.Generator().manual_seed(4))
        with torch.no_grad():
            output = gm(*inputs)
        source = generate_code(doc, model.network)
        (tmp_path / f"{model.name}.py").write_text(source)
        state = {k: v.clone() for k, v in gm.state_dict().items()}
        torch.save({"state": state, "inputs": inputs, "output": output},
                   tmp_path / f"{model.name}.pt")
        by_id = {k: v.contiguous().clone() for k, v in state_dict_by_id(gm).items()}
        save_file(by_id, tmp_path / f"{model.name}.safetensors")
        frozen = [k for k, p in gm.named_parameters() if not p.requires_grad]
        cases.append({"name": model.name, "class": type(gm).__name__, "frozen": frozen})
    assert cases[0]["frozen"] == ["fc2.weight", "fc2.bias"]
    (tmp_path / "cases.json").write_text(json.dumps(cases))
    result = run_fresh(CHECK, tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.split() == [w for m in MODELS for w in ("ok", m.name)]


def test_generated_code_reads_like_hand_written_pytorch() -> None:
    source = generate_code(_frozen_mlp())
    assert "class Main(nn.Module):" in source
    assert "    def forward(self, x: torch.Tensor) -> torch.Tensor:" in source
    assert "        self.fc1 = nn.Linear(in_features=8, out_features=32)\n" in source
    assert "        self.drop = nn.Dropout(p=0.2)\n" in source
    assert "        self.fc2.requires_grad_(False)" in source
    assert '        init_weights(self.head, "xavier")\n' in source
    assert "        skip = self.skip(act1, act2)  # N×32\n" in source
    assert "        return head\n" in source
    forward = source.split("def forward(self, x")[1].split("\n\n")[0]
    assert forward.count(" = self.") == 7  # one line per layer
    assert max(len(line) for line in source.splitlines()) <= 100
    assert '"n2": "fc1"' in source


def test_generated_code_imports_only_torch_at_module_level() -> None:
    for model in MODELS:
        tree = ast.parse(generate_code(model.doc(), model.network))
        imported = set()
        for node in tree.body:
            if isinstance(node, ast.Import):
                imported |= {a.name for a in node.names}
            elif isinstance(node, ast.ImportFrom):
                imported.add(node.module or "")
        assert imported <= {"__future__", "math", "torch"}, (model.name, imported)
    assert "import math" in generate_code(MODELS[3].doc())  # PositionalEncoding needs it


def test_generated_code_passes_the_linter(tmp_path: Path) -> None:
    ruff = shutil.which("ruff") or str(Path(sys.executable).with_name("ruff"))
    if not Path(ruff).exists():
        pytest.skip("ruff is not installed")
    for model in MODELS:
        (tmp_path / f"{model.name}.py").write_text(generate_code(model.doc(), model.network))
    result = subprocess.run(
        [ruff, "check", "--isolated", "--line-length", "100", "--select", "E,F,W,I,B,UP",
         str(tmp_path)], capture_output=True, text=True, check=False,
    )
    assert result.returncode == 0, result.stdout


def test_class_names_come_from_the_network_and_avoid_clashes() -> None:
    doc = Document.new("Attention")
    b = NetworkBuilder(doc, "Attention")
    x = b.add("Input", shape=[4, 8])
    b.add("Output", b.add("MultiheadAttention", x, num_heads=2))
    source = generate_code(doc, "Attention")
    assert "class Attention(nn.Module):" in source  # the copied module
    assert "class AttentionNet(nn.Module):" in source
    assert "class Student(nn.Module):" in generate_code(doc, "Attention", class_name="Student")
    with pytest.raises(ValueError, match="cannot name"):
        generate_code(doc, "Attention", class_name="not valid")


def test_invalid_network_raises_compile_error() -> None:
    doc = Document.new()
    b = NetworkBuilder(doc)
    b.add("Output", b.add("Linear", label="fc1"))
    with pytest.raises(CompileError, match="Linear 'fc1'"):
        generate_code(doc)
