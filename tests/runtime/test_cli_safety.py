"""Output paths and numeric arguments are checked before any work (issue 13, cases 8 and 9).

A bad path or number is one line and exit 2 (the command line is wrong), and nothing is
written: no run folder, no half export.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers import moons_mlp

from graph import save_graph
from runtime.cli import main

UNWRITABLE = Path("/proc/layerloom-test")  # even root cannot create files in /proc


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("run")
    graph_file = folder / "moons.loom"
    save_graph(moons_mlp(), graph_file)
    assert main(["train", str(graph_file), "--epochs", "1", "--out", str(folder / "out"),
                 "--json"]) == 0
    return graph_file, folder / "out" / "model.safetensors"


def _files(folder: Path) -> set[Path]:
    return set(folder.rglob("*"))


# -- case 8: output paths ---------------------------------------------------------------
@pytest.mark.parametrize(("where", "message"), [
    ("a-file", "a-file is a file, not a folder"),
    ("a-file/sub", "a-file is a file, so "),
    (str(UNWRITABLE / "run"), "cannot create files in /proc"),
], ids=["existing-file", "under-a-file", "unwritable"])
def test_train_refuses_an_output_folder_it_cannot_write(
        run: tuple[Path, Path], tmp_path: Path, capsys, where: str, message: str) -> None:
    graph_file, _ = run
    (tmp_path / "a-file").write_text("keep me")
    before = _files(tmp_path)
    out = where if where.startswith("/") else str(tmp_path / where)
    assert main(["train", str(graph_file), "--epochs", "1", "--out", out]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and message in err and "unexpected" not in err, err
    assert err.count("\n") == 1
    assert _files(tmp_path) == before and (tmp_path / "a-file").read_text() == "keep me"


@pytest.mark.parametrize(("fmt", "where", "message"), [
    ("onnx", ".", "is a folder; give a file name"),
    ("safetensors", "a-file/model.safetensors", "a-file is a file, not a folder"),
    ("pt2", str(UNWRITABLE / "model.pt2"), "cannot create files in /proc"),
    ("python", str(UNWRITABLE / "code"), "cannot create files in /proc"),
], ids=["onnx-into-a-folder", "under-a-file", "unwritable", "python-unwritable"])
def test_export_refuses_an_output_it_cannot_write(
        run: tuple[Path, Path], tmp_path: Path, capsys, fmt: str, where: str,
        message: str) -> None:
    graph_file, weights = run
    (tmp_path / "a-file").write_text("keep me")
    before = _files(tmp_path)
    out = where if where.startswith("/") else str(tmp_path / where)
    code = main(["export", str(graph_file), "--weights", str(weights), "--format", fmt,
                 "-o", out])
    err = capsys.readouterr().err
    assert code == 2, err
    assert err.startswith("error: ") and message in err and "unexpected" not in err, err
    assert _files(tmp_path) == before


def test_python_export_still_writes_into_a_folder(run: tuple[Path, Path],
                                                  tmp_path: Path) -> None:
    graph_file, weights = run
    assert main(["export", str(graph_file), "--weights", str(weights), "--format", "python",
                 "-o", str(tmp_path)]) == 0
    assert (tmp_path / "model.py").exists() and (tmp_path / "main.safetensors").exists()


# -- case 9: numeric arguments ----------------------------------------------------------
@pytest.mark.parametrize("argv", [
    ["train", "--epochs", "-1"], ["train", "--epochs", "0"], ["train", "--epochs", "100001"],
    ["train", "--seed", "-1"],
    ["train", "--seed", str(1 << 70)], ["train", "--threads", "0"],
    ["train", "--threads", "-4"], ["validate", "--sample-shape", "2,1000000"],
    ["validate", "--sample-shape", ",".join(["1"] * 9)],
], ids=lambda argv: " ".join(argv)[:30])
def test_numbers_out_of_range_are_usage_errors(run: tuple[Path, Path], tmp_path: Path,
                                               capsys, argv: list[str]) -> None:
    graph_file, _ = run
    command, *rest = argv
    out = tmp_path / "out"
    extra = ["--out", str(out)] if command == "train" else []
    assert main([command, str(graph_file), *rest, *extra]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"usage: layerloom {command}"), err
    assert f"error: argument {rest[0]}: " in err and "unexpected" not in err
    assert not out.exists()  # an untrained model is never written


def test_numbers_in_range_still_train(run: tuple[Path, Path], tmp_path: Path) -> None:
    graph_file, _ = run
    assert main(["train", str(graph_file), "--epochs", "1", "--seed", str((1 << 32) - 1),
                 "--threads", "1", "--out", str(tmp_path / "out"), "--json"]) == 0
    assert (tmp_path / "out" / "model.safetensors").exists()
