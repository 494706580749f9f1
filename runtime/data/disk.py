"""User tables from disk: CSV files and NumPy ``.npz`` archives.

Errors name the file, and for CSV the row (1-based as a spreadsheet shows it,
the header being row 1) and the column, so a user can go straight to the cell.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path

import numpy as np

from runtime.data.arrays import READ_ERRORS, npz_member
from runtime.data.dataset import DataError, Dataset, TargetKind
from runtime.data.labels import Locate, encode_classes
from runtime.data.limits import (
    FLOAT32_MAX,
    MAX_CSV_BYTES,
    MAX_CSV_CELLS,
    MAX_VOCAB,
    array_locator,
    check_finite,
    listing,
    quote,
)
from runtime.data.registry import OptionSpec, register

_TARGET_TYPES = ("auto", "class", "value", "none")
_TARGET_TYPE = OptionSpec(
    "target_type", "choice", "auto",
    "How to read the target: auto (text → classes, numbers → values), class, value, "
    "or none (no target: every chosen column is a feature).", choices=_TARGET_TYPES)


def existing_file(path: str, what: str) -> Path:
    """The path as a :class:`Path`, or a :class:`DataError` saying what is missing."""
    if not path:
        raise DataError(f"{what}: no file chosen (set the 'path' option)")
    file = Path(path)
    if not file.is_file():
        raise DataError(f"{what}: file not found: {file}")
    return file


@register("csv", title="CSV file", category="file",
          description="A table with a header row. Features and target are chosen by column "
                      "name; by default the last column is the target, the rest features.",
          options=(OptionSpec("path", "path", "", "The CSV file."),
                   OptionSpec("features", "list", (), "Feature columns; empty: every column "
                              "except the target."),
                   OptionSpec("target", "str", "", "Target column; empty: the last column."),
                   _TARGET_TYPE,
                   OptionSpec("delimiter", "str", ",", "Cell separator.")),
          tasks=("classification", "regression", "autoencoder", "gan"))
def load_csv(path: str, features: Sequence[str], target: str, target_type: str,
             delimiter: str) -> Dataset:
    file = existing_file(path, "CSV")
    header, rows = _read_table(file, delimiter)
    target_col = None if target_type == "none" else _target_column(file, header, target)
    feature_cols = _feature_columns(file, header, features, target_col)
    x = _feature_matrix(file, header, rows, feature_cols)
    names = [header[c] for c in feature_cols]
    if target_col is None:
        return Dataset(name="csv", x=x, y=None, target_kind=None,
                       description=f"{file.name}: {len(x)} rows, {len(names)} features",
                       metadata=_csv_metadata(file, names, rows))
    cells = [(line, row[target_col]) for line, row in rows]
    dataset = _with_target(file, x, names, header[target_col], cells, target_type)
    dataset.metadata.update(_csv_metadata(file, names, rows))
    return dataset


def _csv_metadata(file: Path, names: list[str], rows: list[tuple[int, list[str]]]
                  ) -> dict[str, object]:
    # The spreadsheet row of each sample lets later checks (normalisation) name the row.
    return {"feature_names": names, "path": str(file),
            "source_rows": np.array([line for line, _ in rows], dtype=np.int64)}


def _read_table(file: Path, delimiter: str) -> tuple[list[str], list[tuple[int, list[str]]]]:
    if len(delimiter) != 1:
        raise DataError(f"{file.name}: the delimiter must be one character, got {quote(delimiter)}")
    table = read_csv_rows(file, delimiter)
    if not table or not any(cell.strip() for cell in table[0]):
        raise DataError(f"{file.name}: the file is empty or has no header row")
    header = [cell.strip() for cell in table[0]]
    rows = []
    for line, cells in enumerate(table[1:], start=2):
        if not any(cell.strip() for cell in cells):
            continue  # blank lines (often one at the end) are not data
        if len(cells) != len(header):
            raise DataError(f"{file.name}, row {line}: {len(cells)} cells but the header has "
                            f"{len(header)} columns")
        rows.append((line, cells))
    if not rows:
        raise DataError(f"{file.name}: the header is not followed by any data rows")
    return header, rows


def read_csv_rows(file: Path, delimiter: str = ",") -> list[list[str]]:
    """Every row of a CSV file as text cells, refusing files beyond the size limits."""
    table: list[list[str]] = []
    try:
        size = file.stat().st_size
        if size > MAX_CSV_BYTES:
            raise DataError(f"{file.name}: {size / 2**20:,.0f} MiB is more than the limit of "
                            f"{MAX_CSV_BYTES // 2**20:,} MiB for a CSV file; save large data "
                            "as .npz instead")
        with file.open(newline="", encoding="utf-8-sig") as handle:
            table.extend(csv.reader(_counted_lines(file, handle, delimiter),
                                    delimiter=delimiter))
    except DataError:
        raise
    except (OSError, csv.Error) as exc:
        raise DataError(f"{file.name}, row {len(table) + 1}: cannot read as CSV: {exc}") from None
    except UnicodeDecodeError:
        raise DataError(f"{file.name}: not a text file in UTF-8; is it really a CSV "
                        "file?") from None
    except ValueError as exc:  # a NUL byte: a binary file
        raise DataError(f"{file.name}: not a text file ({exc})") from None
    return table


def _counted_lines(file: Path, lines: Iterable[str], delimiter: str) -> Iterator[str]:
    """The lines, stopping once they hold more than :data:`MAX_CSV_CELLS` cells.

    Counted before the csv module splits a line: one line of 10^9 commas would
    otherwise become a list of 10^9 cells first.
    """
    cells = 0
    for number, line in enumerate(lines, start=1):
        cells += line.count(delimiter) + 1
        if cells > MAX_CSV_CELLS:
            raise DataError(f"{file.name}, line {number}: more than {MAX_CSV_CELLS:,} cells, "
                            "the limit for a CSV file; save large data as .npz instead")
        yield line


def _column(file: Path, header: list[str], name: str) -> int:
    if name not in header:
        raise DataError(f"{file.name}: unknown column {quote(name)}; columns: "
                        f"{listing(header)}")
    if header.count(name) > 1:
        raise DataError(f"{file.name}: column name {quote(name)} appears more than once")
    return header.index(name)


def _target_column(file: Path, header: list[str], target: str) -> int:
    if not target:
        if len(header) < 2:
            raise DataError(f"{file.name}: one column only, so there is no feature left "
                            "besides the target")
        return len(header) - 1
    return _column(file, header, target)


def _feature_columns(file: Path, header: list[str], features: Sequence[str],
                     target_col: int | None) -> list[int]:
    if features:
        cols = [_column(file, header, name) for name in features]
        if target_col is not None and target_col in cols:
            raise DataError(f"{file.name}: column {quote(header[target_col])} is both a "
                            "feature and the target")
        return cols
    return [c for c in range(len(header)) if c != target_col]


def _feature_matrix(file: Path, header: list[str], rows: list[tuple[int, list[str]]],
                    cols: list[int]) -> np.ndarray:
    """Parse the feature cells; on any bad cell, find it again cell by cell to name it."""
    try:
        # numpy parses number strings in C: ~10× faster than float() per cell.
        x = np.array([[cells[c] for c in cols] for _, cells in rows], dtype=np.float64)
        if np.all(np.abs(x) <= FLOAT32_MAX):  # also False for NaN
            return x.reshape(len(rows), len(cols))
    except ValueError:
        pass
    for line, cells in rows:
        for col in cols:
            _number(file, line, header[col], cells[col])
    raise DataError(f"{file.name}: cannot read the feature columns as numbers")


def _number(file: Path, line: int, column: str, cell: str) -> float:
    text = cell.strip()
    where = f"{file.name}, row {line}, column {quote(column)}"
    if not text:
        raise DataError(f"{where}: missing value")
    try:
        value = float(text)
    except ValueError:
        raise DataError(f"{where}: non-numeric value {quote(text)}") from None
    if not math.isfinite(value):
        raise DataError(f"{where}: missing or infinite value {quote(text)}")
    if abs(value) > FLOAT32_MAX:
        raise DataError(f"{where}: value {quote(text)} is too large for 32-bit floats "
                        f"(beyond ±{FLOAT32_MAX:.3g}); rescale the column")
    return value


def _with_target(file: Path, x: np.ndarray, names: list[str], column: str,
                 cells: list[tuple[int, str]], target_type: str) -> Dataset:
    for line, cell in cells:
        if not cell.strip():
            raise DataError(f"{file.name}, row {line}, column {quote(column)}: missing "
                            "target")
    texts = [cell.strip() for _, cell in cells]
    numeric = all(_is_number(t) for t in texts)
    if target_type == "value" or (target_type == "auto" and numeric):
        y = np.array([_number(file, line, column, t) for (line, _), t in zip(cells, texts,
                                                                             strict=True)])
        kind: TargetKind = "value"
        class_names = None
    else:
        labels = np.array([float(t) for t in texts]) if numeric else np.array(texts)
        y, class_names = encode_classes(labels, locate=_row_locator(file, column, cells))
        kind = "class"
    return Dataset(name="csv", x=x, y=y, target_kind=kind, class_names=class_names,
                   description=f"{file.name}: {len(x)} rows, {len(names)} features, target "
                               f"{column!r}" + (f" ({len(class_names)} classes)"
                                                if class_names else ""),
                   metadata={"feature_names": names, "target_name": column,
                             "path": str(file)})


def _row_locator(file: Path, column: str, cells: list[tuple[int, str]]) -> Locate:
    return lambda i: f"{file.name}, row {cells[i][0]}, column {quote(column)}"


def _is_number(text: str) -> bool:
    try:
        return math.isfinite(float(text))
    except ValueError:
        return False


@register("npz", title="NumPy archive (.npz)", category="file",
          description="Arrays saved with numpy.savez: inputs under one key, targets under "
                      "another.",
          options=(OptionSpec("path", "path", "", "The .npz file."),
                   OptionSpec("x_key", "str", "x", "Key of the input array (N, ...)."),
                   OptionSpec("y_key", "str", "y", "Key of the target array; empty: none."),
                   _TARGET_TYPE,
                   OptionSpec("tokens", "bool", False, "Inputs are integer token ids.")),
          tasks=("classification", "regression", "autoencoder", "gan"))
def load_npz(path: str, x_key: str, y_key: str, target_type: str, tokens: bool) -> Dataset:
    file = existing_file(path, "NPZ")
    try:
        # numpy leaves a file it opened itself open when the archive in it is damaged
        with file.open("rb") as handle, np.load(handle, allow_pickle=False) as archive:
            keys = list(archive.keys())
            x = _npz_array(file, archive, x_key, keys)
            y = _npz_array(file, archive, y_key, keys) if y_key and target_type != "none" else None
    except READ_ERRORS as exc:
        if isinstance(exc, DataError):
            raise
        raise DataError(f"{file.name}: cannot read as a NumPy .npz archive: {exc}") from None
    vocab = _vocab(file, x_key, x) if tokens else None
    if not tokens:
        _check_inputs(file, x_key, x)
    kind, y, class_names = _npz_targets(file, y_key, y, target_type, tokens)
    num_classes = None
    if kind == "sequence_class" and y is not None:
        num_classes = max(int(y.max()) + 1, vocab or 0)
    description = f"{file.name}: {len(x)} samples of shape {tuple(x.shape[1:])}"
    return Dataset(name="npz", x=x, y=y, target_kind=kind, class_names=class_names,
                   num_classes=num_classes, vocab_size=vocab,
                   description=description + (f", target {kind}" if kind else ""),
                   metadata={"path": str(file)})


def _npz_array(file: Path, archive: np.lib.npyio.NpzFile, key: str, keys: list[str]) -> np.ndarray:
    if key not in keys:
        raise DataError(f"{file.name}: no array named {quote(key)}; arrays: {listing(keys)}")
    return npz_member(file, archive, key)


def _check_inputs(file: Path, key: str, x: np.ndarray) -> None:
    where = f"{file.name}, array {quote(key)}"
    if x.ndim < 2 or len(x) == 0:
        raise DataError(f"{where}: expected samples along the first axis (N, ...), got shape "
                        f"{x.shape}")
    if x.dtype.kind not in "biuf":
        raise DataError(f"{where}: inputs must be real numbers, got {x.dtype}")
    check_finite(x, array_locator(where))


def _vocab(file: Path, key: str, x: np.ndarray) -> int:
    where = f"{file.name}, array {quote(key)}"
    if x.dtype.kind not in "iu":  # np.integer would let timedelta64 in
        raise DataError(f"{where}: token inputs must be integers, got {x.dtype}")
    _check_ids(x, array_locator(where), "token id")
    return int(x.max()) + 1 if x.size else 1


def _check_ids(ids: np.ndarray, locate: Callable[[tuple[int, ...]], str], what: str) -> None:
    """Token ids (and per-step classes) size an embedding: 0..MAX_VOCAB-1 only."""
    bad = (ids < 0) | (ids >= MAX_VOCAB)
    if ids.size and bad.any():
        index = tuple(int(i) for i in np.argwhere(bad)[0])
        raise DataError(f"{locate(index)}: {what} {ids[index]} is out of range; ids must be "
                        f"0..{MAX_VOCAB - 1:,}")


def _npz_targets(file: Path, key: str, y: np.ndarray | None, target_type: str, tokens: bool
                 ) -> tuple[TargetKind | None, np.ndarray | None, tuple[str, ...] | None]:
    if y is None:
        return None, None, None
    where = f"{file.name}, array {quote(key)}"
    is_int = y.dtype.kind in "biu"
    if target_type == "value" or (target_type == "auto" and y.dtype.kind == "f"):
        if y.dtype.kind not in "biuf":
            raise DataError(f"{where}: value targets must be real numbers, got {y.dtype}")
        check_finite(y, array_locator(where))
        return "value", y, None
    if tokens and y.ndim == 2 and is_int:
        _check_ids(y, array_locator(where), "target token")
        return "sequence_class", y, None
    if y.ndim != 1:
        raise DataError(f"{where}: class targets must be one label per sample, got shape "
                        f"{y.shape}")
    codes, names = encode_classes(y, keep_ids=True, locate=lambda i: f"{where}, index {i}")
    return "class", codes, names
