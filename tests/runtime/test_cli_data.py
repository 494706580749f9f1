"""Bad data files through the command line: one located ``error:`` line, a documented exit.

Issue 13, cases 3, 4, 6 and 12: each of these escaped as "error: unexpected <Type>",
ran out of memory, or ended in a misleading "loss became NaN".
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from helpers import moons_mlp
from test_data_limits import _folder_with, _garbled_npy, _png_header

from graph import save_graph
from runtime.cli import EXIT_FAILED, EXIT_UNREADABLE, main


def _graph(folder: Path, data: dict[str, Any]) -> Path:
    graph_file = folder / "net.loom"
    save_graph(moons_mlp(data=data), graph_file)
    return graph_file


def _points(path: Path, bad: str | None = None) -> Path:
    points = np.random.default_rng(0).normal(size=(40, 2))
    rows = [f"{x:.3f},{y:.3f},{int(x > 0)}" for x, y in points]
    if bad is not None:
        rows[1] = bad
    path.write_text("x,y,label\n" + "\n".join(rows) + "\n")
    return path


def _train(graph_file: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = main(["train", str(graph_file), "--epochs", "1", "--out",
                 str(graph_file.parent / "out")])
    err = capsys.readouterr().err
    assert "unexpected" not in err and "Traceback" not in err
    return code, err


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    folder = tmp_path_factory.mktemp("predict")
    graph_file = folder / "moons.loom"
    save_graph(moons_mlp(), graph_file)
    assert main(["train", str(graph_file), "--epochs", "1", "--out", str(folder / "out"),
                 "--json"]) == 0
    return graph_file, str(folder / "out" / "model.safetensors")


def _npy(value: Any) -> bytes:
    import io

    buffer = io.BytesIO()
    np.save(buffer, value, allow_pickle=True)
    return buffer.getvalue()


# (file name, content, what the one error line must say)
PREDICT_INPUTS = [
    ("header.csv", b"x,y\n1,2\n", r"header\.csv, row 1, column 1: non-numeric value 'x' "
                                  r"\(a header row"),
    ("cell.csv", b"1,2\n3,abc\n", r"cell\.csv, row 2, column 2: non-numeric value 'abc'"),
    ("empty.csv", b"", r"empty\.csv: the file is empty"),
    ("blank.csv", b"\n \n", r"blank\.csv: the file is empty"),
    ("ragged.csv", b"1,2\n3\n", r"ragged\.csv, row 2: 1 cells but row 1 has 2"),
    ("binary.csv", bytes(range(256)) * 4, r"binary\.csv: not a text file"),
    ("scalar.npy", _npy(np.float32(3.0)), r"scalar\.npy: holds one bare value"),
    ("text.npy", _npy(np.array(["a", "b"])), r"text\.npy: holds <U1 values; inputs must be "
                                             "numbers"),
    ("objects.npy", _npy(np.array([{}, 1], dtype=object)), r"objects\.npy: holds Python "
                                                           r"objects \(a pickle\)"),
    ("wide.csv", b"1,2,3\n", r"wide\.csv: holds shape \(1, 3\) but the network takes samples "
                             r"of shape \(2,\)"),
    ("huge.csv", b"0.5,-3.4e38\n", r"huge\.csv, index \(0, 1\): value -3.4e\+38 overflows "
                                    "32-bit floats after the 'standard' normalisation"),
    ("garbled.npy", _garbled_npy(), r"garbled\.npy: cannot read as a NumPy \.npy file"),
    ("nan.npy", _npy(np.array([[1.0, np.nan]])), r"nan\.npy, index \(0, 1\): value nan is "
                                                 r"missing \(NaN\)"),
]


@pytest.mark.parametrize(("name", "content", "message"), PREDICT_INPUTS,
                         ids=[case[0] for case in PREDICT_INPUTS])
def test_predict_input_problems_are_located_with_exit_2(trained: tuple[Path, str],
                                                        tmp_path: Path, name: str,
                                                        content: bytes, message: str,
                                                        capsys: pytest.CaptureFixture[str]
                                                        ) -> None:
    graph_file, weights = trained
    path = tmp_path / name
    path.write_bytes(content)
    code = main(["predict", str(graph_file), "--weights", weights, str(path)])
    err = capsys.readouterr().err
    assert code == EXIT_UNREADABLE, err
    assert err.startswith("error: ") and err.count("\n") == 1
    assert "unexpected" not in err
    import re

    assert re.search(message, err), err


def test_npz_label_of_10_to_the_12_fails_training_with_a_message(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    np.savez(tmp_path / "points.npz", x=np.zeros((8, 2)), y=np.array([0, 1] * 3 + [10**12, 0]))
    code, err = _train(_graph(tmp_path, {"name": "npz", "options": {"path": "points.npz"}}),
                       capsys)
    assert code == EXIT_FAILED
    assert "points.npz, array 'y', index 6: class label 1000000000000 is too large" in err


def test_image_folder_bomb_fails_training_with_a_message(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("PIL")
    _folder_with(tmp_path, _png_header, "bomb.png", 14_000, 14_000)
    code, err = _train(_graph(tmp_path, {"name": "image_folder",
                                         "options": {"path": "pics", "size": 4}}), capsys)
    assert code == EXIT_FAILED and "bomb.png" in err and "too large" in err


def test_a_1e308_cell_names_its_row_instead_of_blaming_the_learning_rate(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _points(tmp_path / "points.csv", bad="0.5,1e308,1")
    code, err = _train(_graph(tmp_path, {"name": "csv", "options": {"path": "points.csv"}}),
                       capsys)
    assert code == EXIT_FAILED
    assert "points.csv, row 3, column 'y': value '1e308' is too large" in err
    assert "NaN" not in err and "learning rate" not in err


def test_training_says_when_a_data_path_leaves_the_graph_folder(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    project = tmp_path / "project"
    project.mkdir()
    _points(tmp_path / "shared.csv")
    code, err = _train(_graph(project, {"name": "csv", "options": {"path": "../shared.csv"}}),
                       capsys)
    assert code == 0
    assert f"reads {tmp_path.resolve() / 'shared.csv'}, outside the graph file's folder" in err
