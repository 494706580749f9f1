"""Images from disk: a folder with one sub-folder per class, and MNIST-format IDX files."""

from __future__ import annotations

import gzip
from pathlib import Path
from typing import Any

import numpy as np

from runtime.data.dataset import DataError, Dataset, encode_classes
from runtime.data.disk import existing_file
from runtime.data.registry import OptionSpec, register

IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp"})


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
    files, labels = _image_files(root)
    image_module = _pillow()
    x = np.stack([_read_image(image_module, f, size, color) for f in files])
    y, class_names = encode_classes(np.array(labels))
    channels = 1 if color == "grey" else 3
    return Dataset(name="image_folder", x=x, y=y, target_kind="class", class_names=class_names,
                   value_range=(0.0, 255.0),
                   description=f"{root.name}: {len(x)} images, {channels}×{size}×{size}, "
                               f"{len(class_names)} classes",
                   metadata={"path": str(root)})


def _image_files(root: Path) -> tuple[list[Path], list[str]]:
    classes = sorted(d for d in root.iterdir() if d.is_dir() and not d.name.startswith("."))
    if not classes:
        raise DataError(f"image folder {root}: no class sub-folders (expected one per class)")
    files: list[Path] = []
    labels: list[str] = []
    for folder in classes:
        found = sorted(f for f in folder.rglob("*")
                       if f.suffix.lower() in IMAGE_SUFFIXES and not f.name.startswith("."))
        files.extend(found)
        labels.extend([folder.name] * len(found))
    if not files:
        raise DataError(f"image folder {root}: no images found (looked for "
                        f"{', '.join(sorted(IMAGE_SUFFIXES))})")
    return files, labels


def _pillow() -> Any:
    try:
        from PIL import Image
    except ImportError as exc:
        raise DataError("reading image folders needs Pillow: pip install pillow") from exc
    return Image


def _read_image(image_module: Any, file: Path, size: int, color: str) -> np.ndarray:
    try:
        with image_module.open(file) as image:
            image = image.convert("L" if color == "grey" else "RGB")
            image = image.resize((size, size), image_module.Resampling.BILINEAR)
            pixels = np.asarray(image, dtype=np.float32)
    except (OSError, ValueError, SyntaxError) as exc:  # Pillow's decoders raise all three
        raise DataError(f"cannot read image {file}: {exc}") from exc
    return pixels[None] if pixels.ndim == 2 else pixels.transpose(2, 0, 1)


# IDX type codes → big-endian numpy dtypes (http://yann.lecun.com/exdb/mnist/ format).
_IDX_TYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def read_idx(path: Path) -> np.ndarray:
    """Read an IDX file (optionally gzipped), validating its magic number and size."""
    try:
        opener = gzip.open if path.suffix == ".gz" else open
        with opener(path, "rb") as handle:
            raw = handle.read()
    except OSError as exc:
        raise DataError(f"cannot read IDX file {path}: {exc}") from exc
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0:
        raise DataError(f"{path.name}: not an IDX file (bad magic number "
                        f"{raw[:4].hex() or 'empty'}; expected 0000 then type and rank)")
    type_code, rank = raw[2], raw[3]
    if type_code not in _IDX_TYPES:
        raise DataError(f"{path.name}: unknown IDX data type 0x{type_code:02x}")
    header = 4 + 4 * rank
    if rank == 0 or len(raw) < header:
        raise DataError(f"{path.name}: IDX header truncated or rank 0")
    shape = tuple(int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(rank))
    dtype = np.dtype(_IDX_TYPES[type_code])
    expected = int(np.prod(shape)) * dtype.itemsize
    if len(raw) - header != expected:
        raise DataError(f"{path.name}: header says shape {shape} ({expected} bytes of data) "
                        f"but the file holds {len(raw) - header}")
    return np.frombuffer(raw, dtype=dtype, offset=header).reshape(shape)


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
    codes, names = encode_classes(y, keep_ids=True)
    return Dataset(name="idx", x=x, y=codes, target_kind="class", class_names=names,
                   value_range=value_range,
                   description=f"{description}, {len(names)} classes")
