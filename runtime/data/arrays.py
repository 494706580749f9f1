"""NumPy ``.npy`` files and ``.npz`` members, read with their headers checked first.

``np.load`` allocates the whole array its header claims before reading a byte of
data, so a 100-byte file claiming 10^12 values fails with a ``MemoryError`` (or
worse, succeeds lazily). The header is read and checked against
:data:`~runtime.data.limits.MAX_ARRAY_BYTES` and the bytes really present first.
Pickled (object) arrays are refused: a data file must never run code.
"""

from __future__ import annotations

import tokenize
import zipfile
import zlib
from pathlib import Path
from typing import IO

import numpy as np
from numpy.lib import format as npy_format

from runtime.data.errors import DataError
from runtime.data.limits import check_array_size

_HEADER_LIMIT = 10_000  # numpy's own default bound on the header's text

# What numpy and zipfile raise for damaged files: a garbled header reaches Python's
# tokenizer; a damaged or exotic zip member fails in zlib or is "not supported".
READ_ERRORS: tuple[type[Exception], ...] = (
    OSError, ValueError, EOFError, SyntaxError, tokenize.TokenError, zipfile.BadZipFile,
    zlib.error, NotImplementedError)
_MEMBER_ERRORS: tuple[type[Exception], ...] = (*READ_ERRORS, KeyError)


def load_npy(path: Path) -> np.ndarray:
    """The array in a ``.npy`` file; :class:`DataError` for anything but a plain array."""
    try:
        with path.open("rb") as handle:
            _check_header(path.name, handle, path.stat().st_size)
        return np.asarray(np.load(path, allow_pickle=False))
    except READ_ERRORS as exc:
        if isinstance(exc, DataError):
            raise
        raise DataError(f"{path.name}: cannot read as a NumPy .npy file ({exc})") from None


def npz_member(file: Path, archive: np.lib.npyio.NpzFile, key: str) -> np.ndarray:
    """Array ``key`` of an open ``.npz``, with its header checked before it is read."""
    where = f"{file.name}, array {key!r}"
    zip_file = archive.zip
    if zip_file is None:
        raise DataError(f"{where}: the archive is already closed")
    member = key if key in zip_file.namelist() else f"{key}.npy"
    try:
        info = zip_file.getinfo(member)
        with zip_file.open(member) as handle:
            _check_header(where, handle, info.file_size)
        return np.asarray(archive[key])
    except _MEMBER_ERRORS as exc:
        if isinstance(exc, DataError):
            raise
        raise DataError(f"{where}: cannot read ({exc})") from None


def _check_header(where: str, handle: IO[bytes], file_size: int) -> None:
    version = npy_format.read_magic(handle)
    if version == (1, 0):
        shape, _, dtype = npy_format.read_array_header_1_0(handle, max_header_size=_HEADER_LIMIT)
    elif version == (2, 0):
        shape, _, dtype = npy_format.read_array_header_2_0(handle, max_header_size=_HEADER_LIMIT)
    else:
        raise DataError(f"{where}: unsupported .npy format version {version} (structured "
                        "arrays with non-Latin field names); save plain arrays")
    if dtype.hasobject:
        raise DataError(f"{where}: holds Python objects (a pickle), which are never loaded "
                        "because loading them can run code; save plain numbers or text")
    if dtype.names is not None:
        raise DataError(f"{where}: holds a structured array with fields "
                        f"{', '.join(dtype.names[:8])}; save one plain array per key")
    check_array_size(where, tuple(int(d) for d in shape), dtype.itemsize,
                     available=file_size - handle.tell())
