"""Images from disk: a folder with one sub-folder per class, and MNIST-format IDX files."""

from __future__ import annotations

import gzip
from pathlib import Path
from typing import Protocol

import numpy as np

from runtime.data.dataset import DataError, Dataset
from runtime.data.disk import existing_file
from runtime.data.image_files import IMAGE_SUFFIXES, pillow, read_image
from runtime.data.labels import encode_classes
from runtime.data.limits import (
    MAX_ARRAY_BYTES,
    MAX_CLASSES,
    MAX_IDX_RANK,
    array_locator,
    check_array_size,
    check_finite,
)
from runtime.data.registry import OptionSpec, register

__all__ = ["IMAGE_SUFFIXES", "load_idx", "load_image_folder", "read_idx"]


@register("image_folder", title="Image folder", category="file",
          description="One sub-folder per class holding its images; every image is resized "
                      "to size×size, grey or RGB. Pixel values 0..255.",
          options=(OptionSpec("path", "path", "", "The folder holding one sub-folder per "
                              "class."),
                   OptionSpec("size", "int", 28, "Images are resized to size×size pixels.",
                              minimum=4, maximum=512),
                   OptionSpec("color", "choice", "grey", "grey: 1 channel; rgb: 3 channels.",
                              choices=("grey", "rgb"))),
          tasks=("classification", "autoencoder", "gan"))
def load_image_folder(path: str, size: int, color: str) -> Dataset:
    if not path:
        raise DataError("image folder: no folder chosen (set the 'path' option)")
    root = Path(path)
    if not root.is_dir():
        raise DataError(f"image folder: not a folder: {root}")
    try:
        files, labels = _image_files(root)
    except OSError as exc:  # an unreadable sub-folder
        raise DataError(f"image folder {root}: cannot list its files ({exc})") from None
    channels = 1 if color == "grey" else 3
    total = len(files) * channels * size * size * 4
    if total > MAX_ARRAY_BYTES:
        raise DataError(f"image folder {root}: {len(files):,} images of {channels}×{size}×{size} "
                        f"need {total / 2**30:.1f} GiB, more than the limit of "
                        f"{MAX_ARRAY_BYTES / 2**30:.0f} GiB; use a smaller size or fewer images")
    pillow()
    x = np.stack([_read_image(f, size, color) for f in files])
    y, class_names = encode_classes(np.array(labels))
    return Dataset(name="image_folder", x=x, y=y, target_kind="class", class_names=class_names,
                   value_range=(0.0, 255.0),
                   description=f"{root.name}: {len(x)} images, {channels}×{size}×{size}, "
                               f"{len(class_names)} classes",
                   metadata={"path": str(root)})


def _image_files(root: Path) -> tuple[list[Path], list[str]]:
    classes = sorted(d for d in root.iterdir() if d.is_dir() and not d.name.startswith("."))
    if not classes:
        raise DataError(f"image folder {root}: no class sub-folders (expected one per class)")
    if len(classes) > MAX_CLASSES:
        raise DataError(f"image folder {root}: {len(classes):,} class sub-folders; at most "
                        f"{MAX_CLASSES:,} classes are allowed")
    files: list[Path] = []
    labels: list[str] = []
    for folder in classes:
        # is_file: a pipe named x.png would block the reader forever
        found = sorted(f for f in folder.rglob("*") if f.suffix.lower() in IMAGE_SUFFIXES
                       and not f.name.startswith(".") and f.is_file())
        files.extend(found)
        labels.extend([folder.name] * len(found))
    if not files:
        raise DataError(f"image folder {root}: no images found (looked for "
                        f"{', '.join(sorted(IMAGE_SUFFIXES))})")
    return files, labels


def _read_image(file: Path, size: int, color: str) -> np.ndarray:
    pixels = read_image(file, (size, size), color)
    return pixels[None] if pixels.ndim == 2 else pixels.transpose(2, 0, 1)


class _Reader(Protocol):
    """An open binary file, plain or gzipped."""

    def read(self, size: int = -1, /) -> bytes: ...


# IDX type codes → big-endian numpy dtypes (http://yann.lecun.com/exdb/mnist/ format).
_IDX_TYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def read_idx(path: Path) -> np.ndarray:
    """Read an IDX file (optionally gzipped), validating its magic number and size.

    The header is checked before the data is read, so neither a header claiming
    10^12 values nor a small gzip that inflates to gigabytes is ever held in memory.
    """
    try:
        opener = gzip.open if path.suffix == ".gz" else open
        with opener(path, "rb") as handle:
            shape, dtype = _idx_header(path, handle)
            expected = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
            raw = _read_at_most(handle, expected + 1)
    except (OSError, EOFError) as exc:  # gzip.BadGzipFile is an OSError
        raise DataError(f"cannot read IDX file {path}: {exc}") from None
    if len(raw) != expected:
        held = f"{len(raw)}" if len(raw) <= expected else "more"
        raise DataError(f"{path.name}: header says shape {shape} ({expected} bytes of data) "
                        f"but the file holds {held}")
    return np.frombuffer(raw, dtype=dtype).reshape(shape)


def _read_at_most(handle: _Reader, limit: int, chunk: int = 16 * 2**20) -> bytearray:
    # In chunks: read(limit) would reserve the header's claimed size before reading.
    data = bytearray()
    while len(data) < limit:
        part = handle.read(min(chunk, limit - len(data)))
        if not part:
            break
        data += part
    return data


def _idx_header(path: Path, handle: _Reader) -> tuple[tuple[int, ...], np.dtype]:
    magic = handle.read(4)
    if len(magic) < 4 or magic[0] != 0 or magic[1] != 0:
        raise DataError(f"{path.name}: not an IDX file (bad magic number "
                        f"{magic.hex() or 'empty'}; expected 0000 then type and rank)")
    type_code, rank = magic[2], magic[3]
    if type_code not in _IDX_TYPES:
        raise DataError(f"{path.name}: unknown IDX data type 0x{type_code:02x}")
    if rank == 0 or rank > MAX_IDX_RANK:
        raise DataError(f"{path.name}: IDX header claims {rank} dimensions; expected 1 to "
                        f"{MAX_IDX_RANK}")
    dims = handle.read(4 * rank)
    if len(dims) < 4 * rank:
        raise DataError(f"{path.name}: IDX header truncated")
    shape = tuple(int.from_bytes(dims[4 * i: 4 * i + 4], "big") for i in range(rank))
    dtype = np.dtype(_IDX_TYPES[type_code])
    check_array_size(path.name, shape, dtype.itemsize)
    return shape, dtype


@register("idx", title="IDX files (MNIST format)", category="file",
          description="An images file (N×H×W) and optionally a labels file (N) in the IDX "
                      "format of MNIST and Fashion-MNIST, plain or gzipped.",
          options=(OptionSpec("images", "path", "", "The images file, e.g. "
                              "train-images-idx3-ubyte(.gz)."),
                   OptionSpec("labels", "path", "", "The labels file; empty: no labels.")),
          tasks=("classification", "autoencoder", "gan"))
def load_idx(images: str, labels: str) -> Dataset:
    image_file = existing_file(images, "IDX images")
    pixels = read_idx(image_file)
    if pixels.ndim != 3:
        raise DataError(f"{image_file.name}: images must have 3 dimensions (N×H×W), got "
                        f"shape {pixels.shape}")
    check_finite(pixels, array_locator(image_file.name))
    value_range = (0.0, 255.0) if pixels.dtype == np.uint8 else None
    x = pixels[:, None, :, :]
    description = f"{image_file.name}: {len(x)} images, 1×{x.shape[2]}×{x.shape[3]}"
    if not labels:
        return Dataset(name="idx", x=x, y=None, target_kind=None, value_range=value_range,
                       description=description)
    label_file = existing_file(labels, "IDX labels")
    y = read_idx(label_file)
    if y.ndim != 1 or not np.issubdtype(y.dtype, np.integer):
        raise DataError(f"{label_file.name}: labels must be one integer per image, got "
                        f"shape {y.shape} of {y.dtype}")
    if len(y) != len(x):
        raise DataError(f"{label_file.name}: {len(y)} labels for {len(x)} images in "
                        f"{image_file.name}")
    codes, names = encode_classes(y, keep_ids=True,
                                  locate=lambda i: f"{label_file.name}, label {i}")
    return Dataset(name="idx", x=x, y=codes, target_kind="class", class_names=names,
                   value_range=value_range,
                   description=f"{description}, {len(names)} classes")
