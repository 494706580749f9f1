"""Text data: the shipped corpus, the fixed split, text files and folders, labelled text."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest
from helpers import training

from runtime.data import DataError, fit_to_task, load_dataset
from runtime.data import text as text_data
from runtime.data.text import SHAKESPEARE, SHAKESPEARE_SHA256, split_point
from runtime.language import tokenise


def test_tiny_shakespeare_ships_unchanged() -> None:
    assert hashlib.sha256(SHAKESPEARE.read_bytes()).hexdigest() == SHAKESPEARE_SHA256
    dataset = load_dataset("tinyshakespeare")
    assert len(dataset) == 1_115_394
    assert dataset.vocab_size == 65  # characters of the training part


def test_the_split_is_the_first_90_percent_of_the_characters() -> None:
    assert split_point(1_115_394) == 1_003_854  # nanoGPT: int(n * 0.9)
    assert split_point(10) == 9
    lang = tokenise("abcdefghij" * 10, training(task="language_model"))
    assert lang.tokenizer.decode(lang.train_ids) == ("abcdefghij" * 9)
    assert lang.tokenizer.decode(lang.held_ids) == "abcdefghij"


def test_a_text_file_and_a_folder_of_them_load(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("to be or not", encoding="utf-8")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "b.txt").write_text("that is the question\n", encoding="utf-8")
    one = load_dataset("text", {"path": str(tmp_path / "a.txt")})
    assert one.metadata["text"] == "to be or not"
    both = load_dataset("text", {"path": str(tmp_path)})
    assert both.metadata["text"] == "to be or not\nthat is the question\n"
    assert fit_to_task(both, "language_model") is both


def test_bad_text_files_are_refused_by_name(tmp_path: Path) -> None:
    def refused(name: str, content: bytes) -> str:
        path = tmp_path / name
        path.write_bytes(content)
        with pytest.raises(DataError) as info:
            load_dataset("text", {"path": str(path)})
        return str(info.value)

    assert "empty" in refused("empty.txt", b"  \n")
    assert "a NUL byte at byte 3" in refused("image.txt", b"PNG\0\x01\x02")
    message = refused("latin.txt", "line one\ncafé".encode("latin-1"))
    assert "latin.txt, line 2" in message and "UTF-8" in message
    huge = tmp_path / "huge.txt"
    with huge.open("wb") as stream:  # sparse: no disk space used
        stream.truncate(text_data.MAX_TEXT_BYTES + 1)
    with pytest.raises(DataError, match=r"huge.txt: 64.0 MiB is more than the limit of 64 MiB"):
        load_dataset("text", {"path": str(huge)})
    (tmp_path / "nothing").mkdir()
    with pytest.raises(DataError, match=r"nothing: the folder holds no \.txt files"):
        load_dataset("text", {"path": str(tmp_path / "nothing")})


def test_a_folder_beyond_the_size_limit_is_refused(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(text_data, "MAX_TEXT_BYTES", 10)
    for name in ("a.txt", "b.txt"):
        (tmp_path / name).write_text("123456", encoding="utf-8")
    with pytest.raises(DataError, match=r"more than the limit .* \(reached at b.txt\)"):
        load_dataset("text", {"path": str(tmp_path)})


def test_a_corpus_is_for_language_models_only() -> None:
    corpus = load_dataset("tinyshakespeare")
    with pytest.raises(DataError, match="set the task to language_model"):
        fit_to_task(corpus, "classification")
    with pytest.raises(DataError, match="is not text"):
        fit_to_task(load_dataset("iris"), "language_model")


def test_labelled_text_in_a_csv_becomes_character_ids(tmp_path: Path) -> None:
    path = tmp_path / "reviews.csv"
    path.write_text('text,label\n"good, very good",pos\nbad,neg\nfine,pos\n', encoding="utf-8")
    dataset = load_dataset("text_csv", {"path": str(path), "length": 6})
    alphabet = dataset.metadata["alphabet"]
    assert dataset.x.shape == (3, 6) and dataset.class_names == ("neg", "pos")
    decoded = ["".join(alphabet[i - 1] for i in row if i) for row in dataset.x]
    assert decoded == ["good, ", "bad", "fine"]
    assert dataset.vocab_size == len(alphabet) + 1  # id 0 pads
    assert np.array_equal(dataset.y, [1, 0, 1])
    with pytest.raises(DataError, match="unknown column 'words'"):
        load_dataset("text_csv", {"path": str(path), "text": "words"})


def test_labelled_text_trains_a_classifier(tmp_path: Path) -> None:
    from graph import Document, NetworkBuilder
    from runtime.checkpoint import read_weights
    from runtime.trainer import RunOptions, train

    rows = [f"{'good great fine' if i % 2 else 'bad awful poor'} {i},{'pos' if i % 2 else 'neg'}"
            for i in range(120)]
    (tmp_path / "reviews.csv").write_text("text,label\n" + "\n".join(rows) + "\n")
    doc = Document.new()
    b = NetworkBuilder(doc)
    h = b.add("Embedding", b.add("Input", shape=[20], kind="tokens", vocab_size=32),
              embedding_dim=8)
    b.add("Output", b.add("Linear", b.add("LSTM", h, hidden_size=16), out_features=2))
    doc.set_training(training(task="classification", epochs=6,
                              data={"name": "text_csv", "options": {
                                  "path": str(tmp_path / "reviews.csv"), "length": 20}},
                              networks={"main": {"optimizer": {"name": "adam", "lr": 0.02}}}))
    result = train(doc, RunOptions(activations=False, out_dir=tmp_path / "run"))
    assert result.metrics["test_accuracy"] > 0.8
    stored = read_weights(tmp_path / "run" / "model.safetensors")[1].tokenizer
    assert stored is not None and stored.characters == "\0" + " 0123456789abdefgilnoprtuw"
