"""The command line: exit codes, one line per problem, never a traceback."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from graph import Document, NetworkBuilder, save_graph
from graph.training import DataSpec, TrainingSpec
from runtime import cli
from runtime.cli import main

ROOT = Path(__file__).resolve().parents[2]


def classifier(last: str | None = None, out_features: int = 3) -> Document:
    doc = Document.new()
    b = NetworkBuilder(doc)
    h = b.add("Linear", b.add("Input", shape=[4], label="x"), out_features=8, label="fc1")
    h = b.add("Linear", b.add("ReLU", h, label="act"), out_features=out_features, label="fc2")
    if last is not None:
        h = b.add(last, h, label="last")
    b.add("Output", h, label="out")
    # validate checks the network against its data: 4 features and 3 classes are iris
    doc.set_training(TrainingSpec(data=DataSpec(name="iris")))
    return doc


@pytest.fixture
def valid_file(tmp_path: Path) -> Path:
    path = tmp_path / "valid.loom"
    save_graph(classifier(), path)
    return path


@pytest.fixture
def broken_file(tmp_path: Path) -> Path:
    path = tmp_path / "broken.loom"
    save_graph(classifier(out_features=0), path)
    return path


@pytest.fixture
def garbage_file(tmp_path: Path) -> Path:
    path = tmp_path / "garbage.loom"
    path.write_bytes(b"\x00\x01 this is not a graph {")
    return path


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


# -- validate ---------------------------------------------------------------------
def test_validate_valid_file(capsys: pytest.CaptureFixture[str], valid_file: Path) -> None:
    code, out, err = run(capsys, "validate", str(valid_file))
    assert code == 0
    assert out == f"{valid_file}: valid (1 network, 5 nodes)\n"
    assert err == ""


def test_validate_prints_warnings_but_passes(capsys: pytest.CaptureFixture[str],
                                             tmp_path: Path) -> None:
    path = tmp_path / "softmax.loom"
    save_graph(classifier("Softmax"), path)
    code, out, _ = run(capsys, "validate", str(path))
    lines = out.splitlines()
    assert code == 0
    assert lines[0].startswith("main:last: warning: Softmax 'last' right before the Output")
    assert lines[-1] == f"{path}: valid (1 network, 6 nodes)"


def test_validate_lists_errors_one_per_line(capsys: pytest.CaptureFixture[str],
                                            broken_file: Path) -> None:
    code, out, err = run(capsys, "validate", str(broken_file))
    lines = out.splitlines()
    assert code == 1
    assert lines[0] == ("main:fc2: Linear 'fc2': parameter 'out_features' must be at least 1, "
                        "got 0")
    assert lines[-1] == f"{broken_file}: invalid (1 error, 0 warnings)"
    assert err == ""


def test_validate_checks_a_sample_shape(capsys: pytest.CaptureFixture[str],
                                        valid_file: Path) -> None:
    assert run(capsys, "validate", str(valid_file), "--sample-shape", "2x2")[0] == 0
    code, out, _ = run(capsys, "validate", str(valid_file), "--sample-shape", "1,8,8")
    assert code == 1 and out.startswith("main:x: Input 'x' expects samples shaped N×4")


@pytest.mark.parametrize("name", ["garbage.loom", "missing.loom"])
def test_unreadable_file_is_exit_2_with_one_line(capsys: pytest.CaptureFixture[str],
                                                 garbage_file: Path, name: str) -> None:
    path = garbage_file.with_name(name)
    for command in ("validate", "summary", "export-code"):
        code, out, err = run(capsys, command, str(path))
        assert code == 2
        assert out == ""
        assert err.startswith("error: ") and err.count("\n") == 1 and str(path) in err


# -- summary ----------------------------------------------------------------------
def test_summary_prints_the_table(capsys: pytest.CaptureFixture[str], valid_file: Path) -> None:
    code, out, _ = run(capsys, "summary", str(valid_file))
    assert code == 0
    assert "Network 'main'" in out
    params = (4 * 8 + 8) + (8 * 3 + 3)
    assert f"Total params: {params} (trainable {params}, frozen 0)" in out
    assert f"Total FLOPs: {2 * 4 * 8 + 2 * 8 * 3} per sample" in out


# -- export-code --------------------------------------------------------------------
def test_export_code_writes_python(capsys: pytest.CaptureFixture[str], valid_file: Path,
                                   tmp_path: Path) -> None:
    target = tmp_path / "model.py"
    code, out, err = run(capsys, "export-code", str(valid_file), "-o", str(target))
    assert code == 0, err
    assert "wrote network 'main'" in out
    import torch

    namespace: dict[str, object] = {}
    exec(compile(target.read_text(encoding="utf-8"), str(target), "exec"), namespace)
    model = namespace["Main"]()  # type: ignore[operator]
    assert model(torch.zeros(2, 4)).shape == (2, 3)


def test_export_code_refuses_an_invalid_network(capsys: pytest.CaptureFixture[str],
                                                broken_file: Path, tmp_path: Path) -> None:
    target = tmp_path / "model.py"
    code, out, err = run(capsys, "export-code", str(broken_file), "-o", str(target))
    assert code == 1
    assert not target.exists()
    assert out.startswith("main:fc2: ")
    assert err.startswith("error: network 'main' has 1 error")


def test_export_code_network_choice(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    doc = Document()
    for name in ("encoder", "decoder"):
        b = NetworkBuilder(doc, name)
        b.add("Output", b.add("Linear", b.add("Input", shape=[4]), out_features=2))
    path = tmp_path / "two.loom"
    save_graph(doc, path)
    code, _, err = run(capsys, "export-code", str(path))
    assert code == 2 and "--network" in err and "encoder" in err and "decoder" in err
    assert run(capsys, "export-code", str(path), "--network", "nope")[0] == 2
    code, out, _ = run(capsys, "export-code", str(path), "--network", "decoder")
    assert code == 0 and "torch" in out  # no -o: the source goes to stdout


# -- the command line itself ------------------------------------------------------------
def test_no_subcommand_and_help(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys)
    assert code == 2 and "error: choose a subcommand" in err
    code, out, _ = run(capsys, "--help")
    assert code == 0 and "validate" in out and "export-code" in out
    assert run(capsys, "validate")[0] == 2  # FILE is missing: argparse's usage error


def test_unexpected_failure_is_one_line(capsys: pytest.CaptureFixture[str], valid_file: Path,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr("graph.validate.validate", broken)
    code, _, err = run(capsys, "validate", str(valid_file))
    assert code == 1
    assert err == "error: unexpected RuntimeError: boom (run again with --traceback for " \
                  "details)\n"
    with pytest.raises(RuntimeError):
        main(["--traceback", "validate", str(valid_file)])


def test_every_subcommand_has_help() -> None:
    parser = cli.build_parser()
    actions = [a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction"]
    choices = actions[0].choices  # type: ignore[attr-defined]
    assert set(choices) == {"summary", "validate", "export-code", "train", "evaluate",
                            "predict", "export", "import", "generate"}
    for sub in choices.values():
        assert sub.description


def _subprocess(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "runtime.cli", *argv], cwd=ROOT,
                          capture_output=True, text=True, timeout=120, check=False)


def test_exit_codes_in_a_real_process(valid_file: Path, broken_file: Path,
                                      garbage_file: Path) -> None:
    valid = _subprocess("validate", str(valid_file))
    assert valid.returncode == 0 and "valid (1 network" in valid.stdout
    broken = _subprocess("validate", str(broken_file))
    assert broken.returncode == 1 and broken.stdout.startswith("main:fc2: ")
    garbage = _subprocess("validate", str(garbage_file))
    assert garbage.returncode == 2 and garbage.stderr.startswith("error: ")
    for result in (valid, broken, garbage):
        assert "Traceback" not in result.stderr + result.stdout


def test_the_command_line_never_loads_qt(valid_file: Path) -> None:
    script = (
        "import sys; from runtime.cli import main\n"
        f"main(['summary', {str(valid_file)!r}]); main(['validate', {str(valid_file)!r}])\n"
        "assert not [m for m in sys.modules if m.split('.')[0] in ('PySide6', 'pyqtgraph')]\n"
    )
    result = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True,
                            text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr
