"""New inputs for ``predict``: an image file, a CSV of rows, or a ``.npy`` array.

Every problem with the input file is an :class:`InputError` that names the file,
and for CSV the row and column (1-based, as a spreadsheet shows them).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from runtime.data.arrays import load_npy
from runtime.data.disk import read_csv_rows
from runtime.data.errors import DataError
from runtime.data.image_files import read_image
from runtime.data.limits import array_locator, check_finite, first_nonfinite, quote

if TYPE_CHECKING:
    from runtime.data.preprocess import Preprocessing


class InputError(DataError):
    """The file given to ``predict`` cannot be read as samples for the network."""


def read_inputs(path: str | Path, pre: Preprocessing | None) -> np.ndarray:
    """Raw samples shaped ``(N, *sample_shape)``, float32 (int64 for token ids)."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"input file {path} does not exist" if not path.exists()
                         else f"input {path} is not a file")
    suffix = path.suffix.lower()
    try:
        if suffix == ".npy":
            x = _npy_samples(path)
        elif suffix == ".csv":
            x = _csv_samples(path)
        else:
            x = _image(path, pre)
    except InputError:
        raise
    except DataError as exc:
        raise InputError(str(exc)) from None
    return _fit(path, x, pre)


def network_inputs(path: str | Path, pre: Preprocessing | None) -> np.ndarray:
    """:func:`read_inputs` with the training preprocessing applied, checked for overflow."""
    raw = read_inputs(path, pre)
    if pre is None:
        return raw
    with np.errstate(over="ignore", invalid="ignore"):  # refused just below
        x = np.asarray(pre.apply(raw))
    index = first_nonfinite(x)
    if index is not None:
        raise InputError(f"{array_locator(Path(path).name)(index)}: value {quote(raw[index])} "
                         f"overflows 32-bit floats after the {pre.kind!r} normalisation the "
                         "network was trained with; it is far outside the training data")
    return x


def _npy_samples(path: Path) -> np.ndarray:
    x = load_npy(path)
    if x.dtype.kind not in "biuf":
        raise InputError(f"{path.name}: holds {x.dtype} values; inputs must be numbers")
    if x.ndim == 0 or x.size == 0:
        raise InputError(f"{path.name}: holds {'one bare value' if x.ndim == 0 else 'no values'}"
                         f" (shape {x.shape}); save an array of samples, shape (N, ...)")
    check_finite(x, array_locator(path.name))
    return x


def _csv_samples(path: Path) -> np.ndarray:
    rows = [(line, cells) for line, cells in enumerate(read_csv_rows(path), start=1)
            if any(cell.strip() for cell in cells)]
    if not rows:
        raise InputError(f"{path.name}: the file is empty; write one sample per row")
    width = len(rows[0][1])
    for line, cells in rows:
        if len(cells) != width:
            raise InputError(f"{path.name}, row {line}: {len(cells)} cells but row "
                             f"{rows[0][0]} has {width}")
    try:  # numpy parses number strings in C; on a bad cell, find it again to name it
        values = np.array([cells for _, cells in rows], dtype=np.float64)
        if np.all(np.abs(values) <= np.finfo(np.float32).max):
            return values
    except ValueError:
        pass
    for line, cells in rows:
        for col, cell in enumerate(cells):
            _number(path, line, col + 1, cell)
    raise InputError(f"{path.name}: cannot read the rows as numbers")


def _number(path: Path, line: int, column: int, cell: str) -> float:
    where = f"{path.name}, row {line}, column {column}"
    text = cell.strip()
    if not text:
        raise InputError(f"{where}: missing value")
    try:
        value = float(text)
    except ValueError:
        hint = " (a header row? prediction CSVs hold numbers only)" if line == 1 else ""
        raise InputError(f"{where}: non-numeric value {quote(text)}{hint}") from None
    if not math.isfinite(value) or abs(value) > np.finfo(np.float32).max:
        raise InputError(f"{where}: value {quote(text)} is missing, infinite or too large")
    return value


def _image(path: Path, pre: Preprocessing | None) -> np.ndarray:
    if pre is None or len(pre.sample_shape) != 3:
        raise InputError(f"{path.name}: this network does not take images (inputs can be "
                         ".csv or .npy files)")
    channels, height, width = pre.sample_shape
    if channels not in (1, 3):
        raise InputError(f"{path.name}: this network takes {channels}-channel samples, which "
                         "an image file cannot give; use a .npy file")
    pixels = read_image(path, (width, height), "grey" if channels == 1 else "rgb")
    high = float((pre.extra or {}).get("value_range", [0, 255])[1])
    pixels = pixels * (high / 255.0)  # to the data set's own value range
    return pixels[None, None] if channels == 1 else pixels.transpose(2, 0, 1)[None]


def _fit(path: Path, x: np.ndarray, pre: Preprocessing | None) -> np.ndarray:
    """Samples reshaped to the network's sample shape, and token ids checked."""
    if pre is None:
        return x.astype(np.float32)
    shape = pre.sample_shape
    size = math.prod(shape)
    if x.shape == shape:
        x = x[None]
    if x.ndim == 0 or x.size == 0 or x.size != len(x) * size:
        raise InputError(f"{path.name}: holds shape {x.shape} but the network takes samples "
                         f"of shape {shape} ({size} values each): give (N, "
                         f"{', '.join(str(d) for d in shape)}) or one row of {size} values "
                         "per sample")
    x = x.reshape(len(x), *shape)
    if pre.dtype != "int64":
        return x.astype(np.float32)
    return _token_ids(path, x, pre.vocab_size)


def _token_ids(path: Path, x: np.ndarray, vocab: int | None) -> np.ndarray:
    whole = x == np.round(x)
    inside = (x >= 0) & (x < vocab) if vocab else x >= 0
    bad = ~(whole & inside)
    if bad.any():
        index = tuple(int(i) for i in np.argwhere(bad)[0])
        top = f"0..{vocab - 1}" if vocab else "whole numbers from 0"
        raise InputError(f"{array_locator(path.name)(index)}: token id {quote(x[index])} is "
                         f"not one of the network's ids {top}")
    return x.astype(np.int64)
