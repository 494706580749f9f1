"""Upper bounds on every size a data file decides, checked before anything is allocated.

A data file is untrusted: a 100-byte file can claim 10^12 classes or an image of
10^10 pixels. Each reader checks the sizes it reads (headers, labels, cell counts)
against these limits first, and says which file, row and value broke one.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import numpy as np

from runtime.data.errors import DataError

MAX_CLASSES = 10_000  # class labels: ids 0..9,999, or 10,000 distinct texts
MAX_VOCAB = 200_000  # token ids 0..199,999 (covers common BPE vocabularies)
MAX_SEQUENCE_LENGTH = 100_000  # time steps per sample
MAX_IMAGE_PIXELS = 50_000_000  # width × height of one image file, read from its header
MAX_ARRAY_BYTES = 4 * 2**30  # one array from a file (.npy, .npz member, IDX), and a whole set
MAX_CSV_BYTES = 1 * 2**30  # size of a CSV file
MAX_CSV_CELLS = 20_000_000  # cells of a CSV file (each costs ~60 bytes as Python text)
MAX_IDX_RANK = 4  # dimensions in an IDX header
FLOAT32_MAX = float(np.finfo(np.float32).max)  # larger values become infinite in float32

CELL_CHARS = 40  # a message quotes at most this much of a cell


def quote(value: object, limit: int = CELL_CHARS) -> str:
    """``repr`` of a cell, cut to ``limit`` characters so a message never echoes a file."""
    if isinstance(value, np.integer | np.floating):
        text = str(value)  # 3e+38 for a float32, not its float64 digits
    else:
        text = repr(value.item() if isinstance(value, np.generic) else value)
    if len(text) <= limit:
        return text
    size = f" ({len(value)} characters)" if isinstance(value, str) else ""
    return text[:limit] + "…" + size


def listing(names: Iterable[str], limit: int = 12) -> str:
    """``a, b, c`` for a few names, each cut short; ``… (N in all)`` beyond ``limit``."""
    items = list(names)
    shown = ", ".join(_short(name) for name in items[:limit])
    return shown + (f", … ({len(items)} in all)" if len(items) > limit else "")


def _short(name: str) -> str:
    return name if len(name) <= CELL_CHARS else name[:CELL_CHARS] + "…"


def check_array_size(where: str, shape: tuple[int, ...], itemsize: int,
                     available: int | None = None) -> None:
    """Refuse a shape read from a header that exceeds :data:`MAX_ARRAY_BYTES` or the data.

    ``available`` is how many bytes of data the file really holds, when known.
    """
    if any(d < 0 for d in shape):
        raise DataError(f"{where}: the header claims a negative size {shape}")
    count = 1
    for d in shape:  # Python ints: np.prod would wrap around at 2**63
        count *= d
    size = count * itemsize
    if size > MAX_ARRAY_BYTES:
        raise DataError(f"{where}: the header claims shape {shape} ({_bytes(size)}), more "
                        f"than the limit of {_bytes(MAX_ARRAY_BYTES)} for one array")
    if available is not None and size > available:
        raise DataError(f"{where}: the header claims shape {shape} ({_bytes(size)}) but the "
                        f"file holds only {_bytes(available)} of data; the file is damaged")


def _bytes(size: int) -> str:
    for unit, scale in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if size >= scale:
            return f"{size / scale:.1f} {unit}"
    return f"{size} bytes"


def first_nonfinite(x: np.ndarray) -> tuple[int, ...] | None:
    """Index of the first value that is NaN, infinite, or beyond float32's range."""
    if x.dtype.kind != "f":  # integers are always finite; other kinds are refused by kind
        return None
    bad = ~np.isfinite(x)
    if x.dtype.itemsize > 4:
        bad |= np.abs(x) > FLOAT32_MAX
    if not bad.any():
        return None
    return tuple(int(i) for i in np.argwhere(bad)[0])


def check_finite(x: np.ndarray, locate: Callable[[tuple[int, ...]], str]) -> None:
    """Refuse NaN, infinite or float32-overflowing values; ``locate`` names the position."""
    index = first_nonfinite(x)
    if index is None:
        return
    value = x[index]
    what = ("missing (NaN)" if np.isnan(value) else "infinite" if np.isinf(value)
            else f"too large for 32-bit floats (beyond ±{FLOAT32_MAX:.3g})")
    raise DataError(f"{locate(index)}: value {quote(value)} is {what}; fix or remove it")


def array_locator(where: str) -> Callable[[tuple[int, ...]], str]:
    """``where, index 3`` for a sample, ``where, index (3, 1)`` for a value inside one."""
    def locate(index: tuple[int, ...]) -> str:
        return f"{where}, index {index[0] if len(index) == 1 else index}"

    return locate
