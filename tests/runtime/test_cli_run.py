"""train / evaluate / predict from the command line, and torchrun with two processes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from helpers import moons_mlp

from graph import save_graph
from runtime.cli import main

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("run")
    graph_file = folder / "moons.loom"
    save_graph(moons_mlp(), graph_file)
    assert main(["train", str(graph_file), "--epochs", "4", "--out", str(folder / "out"),
                 "--json"]) == 0
    return graph_file, folder / "out"


def test_train_writes_the_run_and_ends_with_json(trained: tuple[Path, Path], capsys) -> None:
    graph_file, out = trained
    assert main(["train", str(graph_file), "--epochs", "1", "--seed", "3", "--out",
                 str(out.parent / "again"), "--json"]) == 0
    last = capsys.readouterr().out.strip().splitlines()[-1]
    final = json.loads(last)
    assert final["status"] == "completed" and final["epochs"] == 1
    assert 0.0 <= final["test_accuracy"] <= 1.0
    for name in ("metrics.jsonl", "checkpoint.pt", "model.safetensors", "graph.loom"):
        assert (out / name).exists()


def test_train_spends_no_time_on_probes_nobody_sees(tmp_path: Path, monkeypatch) -> None:
    from runtime.trace import ProbeRecorder

    def probe(*_: object) -> None:
        raise AssertionError("the command line computed activation probes")

    monkeypatch.setattr(ProbeRecorder, "record", probe)
    monkeypatch.setattr(ProbeRecorder, "samples", probe)
    graph_file = tmp_path / "moons.loom"
    save_graph(moons_mlp(), graph_file)
    assert main(["train", str(graph_file), "--epochs", "2", "--out", str(tmp_path / "out"),
                 "--json"]) == 0


def test_evaluate_reports_per_class_metrics(trained: tuple[Path, Path], capsys) -> None:
    graph_file, out = trained
    assert main(["evaluate", str(graph_file), "--weights", str(out / "model.safetensors"),
                 "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["task"] == "classification" and report["split"] == "test"
    assert report["accuracy"] > 0.8
    assert len(report["confusion"]) == 2 and len(report["per_class"]) == 2
    assert sum(map(sum, report["confusion"])) == report["samples"]
    assert main(["evaluate", str(graph_file), "--weights", str(out / "model.safetensors")]) == 0
    text = capsys.readouterr().out
    assert "confusion matrix" in text and "macro_f1" in text


def test_predict_on_csv_and_npy(trained: tuple[Path, Path], tmp_path: Path, capsys) -> None:
    graph_file, out = trained
    rows = tmp_path / "points.csv"
    rows.write_text("-1.0,0.5\n2.0,0.0\n")
    weights = str(out / "model.safetensors")
    assert main(["predict", str(graph_file), "--weights", weights, str(rows), "--json"]) == 0
    results = json.loads(capsys.readouterr().out)
    assert len(results) == 2
    for result in results:
        probs = [c["probability"] for c in result["classes"]]
        assert abs(sum(probs) - 1.0) < 1e-5
    np.save(tmp_path / "points.npy", np.array([[0.0, 0.0]], dtype=np.float32))
    assert main(["predict", str(graph_file), "--weights", weights,
                 str(tmp_path / "points.npy")]) == 0
    assert capsys.readouterr().out.startswith("0: ")


def test_wrong_weights_are_refused_in_one_line(trained: tuple[Path, Path], tmp_path: Path,
                                               capsys) -> None:
    _, out = trained
    other = moons_mlp()
    other.set_param("main", "n2", "out_features", 7)
    save_graph(other, tmp_path / "other.loom")
    code = main(["evaluate", str(tmp_path / "other.loom"), "--weights",
                 str(out / "model.safetensors")])
    err = capsys.readouterr().err
    assert code == 1 and err.startswith("error: ") and "does not fit" in err
    assert "Linear 'fc1' has weight of size 7×2 but the saved weights hold 16×2" in err
    assert "Traceback" not in err


def test_torchrun_two_processes_stay_in_sync(tmp_path: Path) -> None:
    graph_file = tmp_path / "moons.loom"
    save_graph(moons_mlp(), graph_file)
    env = {k: v for k, v in os.environ.items() if k not in ("WORLD_SIZE", "RANK")}
    done = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node=2",
         "--standalone", str(ROOT / "main.py"),
         "train", str(graph_file), "--epochs", "2", "--out", str(tmp_path / "out"), "--json"],
        capture_output=True, text=True, timeout=300, env=env, cwd=tmp_path,
    )
    # What the ranks said comes first; torchrun's own traceback fills the end.
    assert done.returncode == 0, done.stderr[:6000]
    final = json.loads(done.stdout.strip().splitlines()[-1])
    assert final["ddp_ranks"] == 2
    assert final["ddp_weights_in_sync"] is True
    assert final["ddp_shards_disjoint"] is True
    assert (tmp_path / "out" / "model.safetensors").exists()
