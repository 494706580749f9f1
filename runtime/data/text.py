"""Text data: Tiny Shakespeare, UTF-8 text files or folders of them, and labelled text in CSV.

A corpus (for language models) is one string. As a :class:`Dataset` it is the
sequence of its characters' code points, one per row, with the string itself in
``metadata["text"]``; tokenisation and the context window are chosen later, from
the training section and the network (``runtime.language``).

The language-model split is fixed, as the best-known char-level baselines use it:
the first 90% of the characters train, the last 10% are held out.
"""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np

from runtime.data.dataset import DataError, Dataset
from runtime.data.disk import _column, _read_table, existing_file
from runtime.data.labels import encode_classes
from runtime.data.limits import MAX_VOCAB, quote
from runtime.data.registry import OptionSpec, register

TRAIN_SHARE = 0.9  # of the characters, from the start: nanoGPT's data[:int(n * 0.9)]
MAX_TEXT_BYTES = 64 * 2**20  # one file, and a whole folder together
MAX_TEXT_FILES = 10_000  # files read from one folder
MAX_TEXT_CHARS = 4096  # characters of one text in a text-classification CSV
RESOURCES = Path(__file__).resolve().parents[2] / "resources" / "data"
SHAKESPEARE = RESOURCES / "tinyshakespeare.txt"
SHAKESPEARE_SHA256 = "86c4e6aa9db7c042ec79f339dcb96d42b0075e16b8fc2e86bf0ca57e2dc565ed"

LM_TASKS = ("language_model",)


def split_point(length: int) -> int:
    """Characters in the training part of a corpus of ``length`` characters."""
    return int(length * TRAIN_SHARE)


def is_corpus(dataset: Dataset) -> bool:
    return isinstance(dataset.metadata.get("text"), str)


def corpus(name: str, text: str, description: str, path: str | None = None) -> Dataset:
    """A corpus as a data set: one row per character (its code point)."""
    if len(text) < 2:
        raise DataError(f"{name}: the text has {len(text)} character(s); a language model "
                        "needs text to learn from")
    codes = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32).astype(np.int64)
    train_chars = len(set(text[:split_point(len(text))]))
    metadata: dict[str, object] = {"text": text}
    if path is not None:
        metadata["path"] = path
    return Dataset(name=name, x=codes.reshape(-1, 1), y=None, target_kind=None,
                   vocab_size=max(train_chars, 1), description=description, metadata=metadata)


def read_text_file(file: Path, budget: int = MAX_TEXT_BYTES) -> str:
    """A UTF-8 text file's content; a :class:`DataError` naming the file if it is not one."""
    try:
        size = file.stat().st_size
        if size > budget:
            raise DataError(f"{file.name}: {size / 2**20:,.1f} MiB is more than the limit of "
                            f"{MAX_TEXT_BYTES // 2**20} MiB of text; use a smaller file")
        raw = file.read_bytes()
    except OSError as exc:
        raise DataError(f"{file.name}: cannot read: {exc.strerror or exc}") from None
    if not raw.strip():
        raise DataError(f"{file.name}: the file is empty; choose a file with text in it")
    nul = raw.find(b"\0")
    if nul >= 0:
        raise DataError(f"{file.name}: not a text file (a NUL byte at byte {nul:,}); is it "
                        "a binary file?")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise DataError(f"{file.name}, line {line} (byte {exc.start:,}): not UTF-8 text; save "
                        "the file as UTF-8") from None


def read_text_folder(folder: Path) -> tuple[str, int]:
    """The ``.txt`` files under ``folder`` (sorted by path), joined by line breaks."""
    files = sorted(p for p in folder.rglob("*.txt") if p.is_file())
    if not files:
        raise DataError(f"{folder.name}: the folder holds no .txt files")
    if len(files) > MAX_TEXT_FILES:
        raise DataError(f"{folder.name}: {len(files):,} .txt files; at most "
                        f"{MAX_TEXT_FILES:,} are read from one folder")
    parts, left = [], MAX_TEXT_BYTES
    for file in files:
        if file.stat().st_size > left:
            raise DataError(f"{folder.name}: its .txt files hold more than the limit of "
                            f"{MAX_TEXT_BYTES // 2**20} MiB of text (reached at "
                            f"{file.relative_to(folder)}); use fewer files")
        text = read_text_file(file, left)
        left -= file.stat().st_size
        parts.append(text if text.endswith("\n") else text + "\n")
    return "".join(parts), len(files)


@functools.cache
def shakespeare_text() -> str:
    if not SHAKESPEARE.is_file():
        raise DataError(f"Tiny Shakespeare is missing from {RESOURCES}; reinstall Layerloom")
    return read_text_file(SHAKESPEARE)


@register("tinyshakespeare", title="Tiny Shakespeare", category="built-in",
          description="1,115,394 characters of Shakespeare's plays (public domain), for "
                      "language models: the first 90% train, the last 10% are held out.",
          tasks=LM_TASKS)
def load_shakespeare() -> Dataset:
    text = shakespeare_text()
    return corpus("tinyshakespeare", text,
                  f"Tiny Shakespeare: {len(text):,} characters; the first 90% train, the "
                  "last 10% validate")


@register("text", title="Text file or folder", category="file",
          description="A UTF-8 .txt file, or a folder of them, for language models: the "
                      "first 90% of the characters train, the last 10% are held out.",
          options=(OptionSpec("path", "path", "", "A .txt file, or a folder of .txt files."),),
          tasks=LM_TASKS)
def load_text(path: str) -> Dataset:
    if not path:
        raise DataError("text: no file chosen (set the 'path' option)")
    where = Path(path)
    if where.is_dir():
        text, count = read_text_folder(where)
        what = f"{where.name}: {count} .txt files"
    else:
        text = read_text_file(existing_file(path, "text"))
        what = where.name
    return corpus("text", text, f"{what}, {len(text):,} characters", str(where))


@register("text_csv", title="Labelled text (CSV)", category="file",
          description="A CSV with a text column and a label column, for text "
                      "classification: each text becomes character ids (0 pads).",
          options=(OptionSpec("path", "path", "", "The CSV file."),
                   OptionSpec("text", "str", "text", "The column holding the texts."),
                   OptionSpec("label", "str", "label", "The column holding the labels."),
                   OptionSpec("length", "int", 256, "Characters per sample: longer texts "
                              "are cut, shorter ones padded.", minimum=1,
                              maximum=MAX_TEXT_CHARS),
                   OptionSpec("delimiter", "str", ",", "Cell separator.")),
          tasks=("classification",))
def load_text_csv(path: str, text: str, label: str, length: int, delimiter: str) -> Dataset:
    file = existing_file(path, "text CSV")
    header, rows = _read_table(file, delimiter)
    text_col, label_col = _column(file, header, text), _column(file, header, label)
    texts = [cells[text_col] for _, cells in rows]
    alphabet = sorted(set("".join(texts)))
    if len(alphabet) + 1 > MAX_VOCAB:
        raise DataError(f"{file.name}: {len(alphabet):,} distinct characters; at most "
                        f"{MAX_VOCAB - 1:,} are allowed")
    ids = {c: i + 1 for i, c in enumerate(alphabet)}  # 0 pads
    x = np.zeros((len(texts), length), dtype=np.int64)
    for row, sample in enumerate(texts):
        codes = [ids[c] for c in sample[:length]]
        x[row, :len(codes)] = codes
    lines = [line for line, _ in rows]
    y, names = encode_classes(np.array([cells[label_col].strip() for _, cells in rows]),
                              locate=lambda i: f"{file.name}, row {lines[i]}, column "
                                               f"{quote(label)}")
    return Dataset(
        name="text_csv", x=x, y=y, target_kind="class", class_names=names,
        vocab_size=len(alphabet) + 1,
        description=f"{file.name}: {len(texts)} texts of up to {length} characters, "
                    f"{len(names)} classes, {len(alphabet)} distinct characters",
        metadata={"path": str(file), "alphabet": "".join(alphabet),
                  "source_rows": np.array(lines, dtype=np.int64)})
