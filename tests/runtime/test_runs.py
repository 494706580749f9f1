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


def _trained(graph_file: Path, epochs: int = 2, control=None, **fields):
    from graph.fileformat import save_graph
    from runtime.trainer import RunOptions, Trainer
    from tests.runtime.helpers import moons_mlp

    doc = moons_mlp(**fields)
    save_graph(doc, graph_file)
    folder = claim_run_folder(graph_file)
    Trainer(doc, RunOptions(epochs=epochs, out_dir=folder), control=control).run()
    return doc, folder


def test_runs_are_listed_with_epochs_status_metric_and_settings(tmp_path: Path) -> None:
    from runtime.runs import list_runs, read_log

    graph_file = tmp_path / "moons.loom"
    _, folder = _trained(graph_file)
    failed = claim_run_folder(graph_file)  # a run that never wrote weights
    (failed / "graph.loom").write_text((folder / "graph.loom").read_text())
    (failed / "metrics.jsonl").write_text('{"epoch": 1, "train_loss": 0.5}\n{"epo')
    (runs_root(graph_file) / "model.safetensors").write_bytes(b"")  # an import: not a run
    runs = list_runs(graph_file)
    assert [r.folder for r in runs] == sorted([folder, failed], reverse=True)
    done = next(r for r in runs if r.folder == folder)
    assert done.epochs == 2 == len(read_log(folder)) and done.has_weights
    assert done.status == "completed"  # the 2 epochs it was asked for (the file plans 3)
    assert done.headline is not None and done.headline[0] == "val_accuracy"
    assert done.headline[1] == read_log(folder)[-1]["val_accuracy"]
    assert done.settings.startswith("moons, 3 epochs, batch 32, adam lr 0.02")
    broken = next(r for r in runs if r.folder == failed)
    assert broken.epochs == 1 and broken.status.startswith("no weights")  # half line skipped
    assert broken.headline == ("train_loss", 0.5)


def test_the_panel_says_how_a_run_ended(tmp_path: Path) -> None:
    """Stopped by the user, stopped early by its monitor, or (a run from before runs wrote
    outcome.json) as far as the epoch count tells."""
    from runtime.control import RunControl
    from runtime.events import EpochEvent
    from runtime.runs import OUTCOME, run_info

    graph_file = tmp_path / "moons.loom"
    control = RunControl()

    class StopAfterFirstEpoch:  # the user presses Stop as the first epoch ends
        def __call__(self, event: EpochEvent) -> None:
            if event.get("type") == "epoch":
                control.stop()

    from runtime.trainer import RunOptions, Trainer
    from tests.runtime.helpers import moons_mlp

    doc = moons_mlp()
    stopped = claim_run_folder(graph_file)
    Trainer(doc, RunOptions(epochs=3, out_dir=stopped), sink=StopAfterFirstEpoch(),
            control=control).run()
    assert run_info(stopped).status == "stopped by you after 1 of 3 epochs"
    (stopped / OUTCOME).unlink()  # an older run: the epoch count is all there is
    assert run_info(stopped).status == "stopped after 1 of 3 epochs"
    (stopped / OUTCOME).write_text('{"status": "completed", "epochs": "1"}')
    assert run_info(stopped).status == "stopped after 1 of 3 epochs"  # not trusted

    # a learning rate too small to change any prediction: accuracy cannot improve
    early = {"enabled": True, "patience": 1, "monitor": "val_accuracy", "restore_best": True}
    _, folder = _trained(graph_file, epochs=30,
                         networks={"main": {"optimizer": {"name": "sgd", "lr": 1e-12}}},
                         early_stopping=early)
    assert run_info(folder).status == "stopped early after 2 of 30 epochs: val_accuracy did " \
        "not improve for 1 epoch; the weights of epoch 1, its best, were kept"


def test_delete_removes_only_run_folders(tmp_path: Path) -> None:
    from runtime.runs import delete_run, list_runs

    graph_file = tmp_path / "moons.loom"
    folder = claim_run_folder(graph_file)
    (folder / "graph.loom").write_text("{}")
    with pytest.raises(OSError, match="not a run folder"):
        delete_run(tmp_path, graph_file)
    delete_run(folder, graph_file)
    assert not folder.exists() and list_runs(graph_file) == []


def test_runs_of_an_unsaved_document_move_beside_the_file(tmp_path: Path) -> None:
    from runtime.runs import adopt_runs, list_runs

    temporary = claim_run_folder(None)
    (temporary / "graph.loom").write_text("{}")
    (temporary / "model.safetensors").write_bytes(b"w")
    assert [r.folder for r in list_runs(None, [temporary])] == [temporary]
    graph_file = tmp_path / "net.loom"
    moved = adopt_runs([temporary, tmp_path / "gone"], graph_file)[temporary]
    assert moved.parent == runs_root(graph_file) and not temporary.exists()
    assert (moved / "model.safetensors").read_bytes() == b"w"
    assert latest_weights(graph_file) == moved / "model.safetensors"


def test_continuing_a_run_is_refused_once_the_network_changed(tmp_path: Path) -> None:
    from graph.commands import History, SetParam
    from runtime.checkpoint import load_checkpoint
    from runtime.runs import continued_epochs, read_log, resume_problem
    from runtime.trainer import RunOptions, Trainer

    doc, folder = _trained(tmp_path / "moons.loom", epochs=3)
    assert resume_problem(doc, folder) is None
    assert continued_epochs(doc, folder) == 6  # it ran its 3 epochs: 3 more
    again = claim_run_folder(tmp_path / "moons.loom")
    Trainer(doc, RunOptions(epochs=continued_epochs(doc, folder), out_dir=again,
                            resume=folder / "checkpoint.pt")).run()
    assert [r["epoch"] for r in read_log(again)] == [1, 2, 3, 4, 5, 6]
    assert load_checkpoint(again / "checkpoint.pt").epoch == 6
    fc1 = doc.network("main").by_label("fc1")
    History(doc).push(SetParam("main", fc1.id, "out_features", 8))
    problem = resume_problem(doc, folder)
    assert problem is not None
    assert "layer 'fc1' (Linear) has other settings (out_features)" in problem
    assert str(folder / "graph.loom") in problem
