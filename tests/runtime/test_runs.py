"""One policy for run folders: the command line, the window, Evaluate and Export agree."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from runtime.cli import main
from runtime.runs import claim_run_folder, latest_weights, runs_root


def test_each_run_of_a_file_gets_its_own_folder_beside_it(tmp_path: Path) -> None:
    path = tmp_path / "net.loom"
    first = claim_run_folder(path)
    assert first.parent == runs_root(path) == tmp_path / "runs" / "net"
    assert first.is_dir()  # claimed at once
    second = claim_run_folder(path)
    assert second != first and second.parent == first.parent
    assert claim_run_folder(None).is_dir()  # an unsaved document: a temporary folder


def test_the_newest_weights_of_runs_and_imports_are_found(tmp_path: Path) -> None:
    path = tmp_path / "net.loom"
    assert latest_weights(path) is None
    imported = runs_root(path) / "model.safetensors"  # an import writes here
    imported.parent.mkdir(parents=True)
    imported.write_bytes(b"x")
    assert latest_weights(path) == imported
    run = claim_run_folder(path) / "model.safetensors"
    run.write_bytes(b"x")
    os.utime(imported, (1, 1))
    assert latest_weights(path) == run
    claim_run_folder(path)  # a run stopped before it wrote weights is passed over
    assert latest_weights(path) == run


def test_train_writes_beside_the_file_and_evaluate_finds_it(tmp_path: Path, monkeypatch,
                                                          capsys: pytest.CaptureFixture[str]
                                                          ) -> None:
    import shutil

    root = Path(__file__).resolve().parents[2]
    graph_file = tmp_path / "models" / "iris.loom"
    graph_file.parent.mkdir()
    shutil.copy(root / "resources" / "examples" / "mlp_iris.loom", graph_file)
    monkeypatch.chdir(tmp_path)  # not the file's folder: runs go beside the file all the same
    assert main(["evaluate", str(graph_file)]) == 2
    assert "no trained weights" in capsys.readouterr().err
    assert main(["train", str(graph_file), "--epochs", "1", "--json"]) == 0
    (run,) = (runs_root(graph_file)).iterdir()
    assert (run / "model.safetensors").is_file() and not (tmp_path / "runs").exists()
    capsys.readouterr()
    assert main(["evaluate", str(graph_file), "--json"]) == 0  # no --weights: the newest run
    assert '"accuracy"' in capsys.readouterr().out
