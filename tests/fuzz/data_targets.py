"""Fuzz targets for data files: CSV, NPZ, IDX and image-folder data sets (read and
prepared as training does) and ``predict`` inputs (.npy, .csv, an image). Only a
``DataError`` (``InputError`` for predict) may come out."""

from __future__ import annotations

import gzip
import io
import random
import struct
import zlib
from pathlib import Path

import numpy as np

from tests.fuzz.harness import Mutant, Seed, Target
from tests.fuzz.json_mutants import flip_bytes, truncate

CELLS = ("", " ", "nan", "NaN", "inf", "-inf", "1e308", "-1e308", "1e-320", "abc", "1,5",
         '"', '"x', "\x00", "\ufeff1", "0x10", "1_000", "١٢", "9" * 400, "é" * 3000, "True")


# -- seeds ------------------------------------------------------------------------------


def _csv_seed() -> bytes:
    rng = np.random.default_rng(0)
    rows = ["a,b,c,kind"]
    for i in range(30):
        a, b, c = rng.normal(size=3)
        rows.append(f"{a:.3f},{b:.3f},{c:.3f},{['x', 'y', 'z'][i % 3]}")
    return ("\n".join(rows) + "\n").encode()


def _npz_seed(images: bool) -> bytes:
    rng = np.random.default_rng(1)
    x = rng.normal(size=(30, 1, 8, 8) if images else (30, 4)).astype(np.float32)
    buffer = io.BytesIO()
    np.savez(buffer, x=x, y=np.arange(30) % 3)
    return buffer.getvalue()


def _idx(array: np.ndarray) -> bytes:
    header = struct.pack(">HBB", 0, 0x08, array.ndim) + struct.pack(f">{array.ndim}I",
                                                                     *array.shape)
    return header + array.astype(np.uint8).tobytes()


def _image(kind: str, size: int = 8) -> bytes:
    from PIL import Image

    pixels = (np.arange(size * size).reshape(size, size) * 3 % 256).astype(np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format=kind)
    return buffer.getvalue()


def _npy(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array)
    return buffer.getvalue()


# -- mutations --------------------------------------------------------------------------


def _mutate_csv(data: bytes, rng: random.Random) -> tuple[str, bytes]:
    lines = data.decode().splitlines()
    roll = rng.random()
    if roll < 0.5:
        row = rng.randrange(len(lines))
        cells = lines[row].split(",")
        col = rng.randrange(len(cells))
        cells[col] = rng.choice(CELLS)
        lines[row] = ",".join(cells)
        return f"row {row + 1} cell {col + 1} = {cells[col][:12]!r}", "\n".join(lines).encode()
    if roll < 0.6:
        row = rng.randrange(len(lines))
        extra = rng.choice([1, 5, 5000])
        lines[row] += "," * extra
        return f"row {row + 1} + {extra} cells", "\n".join(lines).encode()
    if roll < 0.7:
        keep = rng.choice([0, 1, 2])
        return f"only {keep} lines", "\n".join(lines[:keep]).encode()
    if roll < 0.75:
        return "header removed", "\n".join(lines[1:]).encode()
    if roll < 0.8:
        return "lines repeated 200×", "\n".join(lines * 200).encode()
    if roll < 0.9:
        return truncate(data, rng)
    return flip_bytes(data, rng)


def _mutate_array(array: np.ndarray, rng: random.Random) -> tuple[str, np.ndarray]:
    choice = rng.randrange(10)
    if choice == 0:
        return "0-d", np.array(3.0)
    if choice == 1:
        return "empty", array[:0]
    if choice == 2:
        kind = rng.choice(["U3", "O", "complex64", "bool", "int64", "float16", "m8[s]",
                           "uint64", "V4"])
        try:
            return f"as {kind}", array.astype(kind)
        except (TypeError, ValueError):
            return f"as {kind} (zeros)", np.zeros(array.shape, dtype=kind)
    if choice == 3:
        return "flattened", array.reshape(-1)
    if choice == 4:
        return "extra axis", array[..., None]
    if choice == 5:
        out = array.astype(np.float64)
        out.flat[0] = rng.choice([np.nan, np.inf, 1e308, -1e308])
        return "non-finite or huge value", out
    if choice == 6:
        out = array.astype(np.int64)
        out.flat[rng.randrange(out.size or 1) if out.size else 0:1] = rng.choice(
            [10**12, -1, 2**62, -(2**63)])
        return "huge integer", out
    if choice == 7:
        return "one row fewer", array[:-1]
    if choice == 8:
        return "transposed", array.T
    return "same", array


def _mutate_npz(data: bytes, rng: random.Random) -> tuple[str, bytes]:
    roll = rng.random()
    if roll < 0.2:
        return truncate(data, rng)
    if roll < 0.35:
        return flip_bytes(data, rng)
    with np.load(io.BytesIO(data)) as archive:
        arrays = {key: archive[key] for key in archive.files}
    key = rng.choice(sorted(arrays))
    if roll < 0.45:
        del arrays[key]
        what = f"{key} removed"
    else:
        what, arrays[key] = _mutate_array(arrays[key], rng)
        what = f"{key}: {what}"
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return what, buffer.getvalue()


def _mutate_idx(data: bytes, rng: random.Random) -> tuple[str, bytes]:
    roll = rng.random()
    if roll < 0.3:
        ndim = data[3]
        dim = rng.randrange(ndim)
        value = rng.choice([0, 1, 2**31 - 1, 2**32 - 1, 10**6])
        out = bytearray(data)
        out[4 + 4 * dim:8 + 4 * dim] = struct.pack(">I", value)
        return f"dimension {dim} = {value}", bytes(out)
    if roll < 0.45:
        out = bytearray(data)
        out[2] = rng.choice([0x09, 0x0B, 0x0C, 0x0D, 0x0E, 0x00, 0xFF])
        out[3] = rng.choice([out[3], 0, 1, 4, 255])
        return f"type {out[2]:#x}, {out[3]} dimensions", bytes(out)
    if roll < 0.55:
        return "gzipped", gzip.compress(data)
    if roll < 0.75:
        return truncate(data, rng)
    return flip_bytes(data, rng)


def _png_with_size(width: int, height: int) -> bytes:
    """A PNG whose header claims ``width``×``height`` (checksum right), with little data."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(
            ">I", zlib.crc32(kind + body))

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(b"\x00" * 64)) + chunk(b"IEND", b""))


def _mutate_image(data: bytes, rng: random.Random) -> tuple[str, bytes]:
    roll = rng.random()
    if roll < 0.2:
        size = rng.choice([(0, 8), (1, 1), (20_000, 20_000), (2**31 - 1, 1), (100_000, 3)])
        return f"a PNG claiming {size[0]}×{size[1]}", _png_with_size(*size)
    if roll < 0.3 and data[:2] == b"BM":
        out = bytearray(data)
        width, height = rng.choice([(100_000, 100_000), (-8, 8), (2**31 - 1, 2)])
        out[18:26] = struct.pack("<ii", width, height)
        return f"BMP header claims {width}×{height}", bytes(out)
    if roll < 0.4:
        return "not an image", rng.choice([b"", b"hello", b"\x00" * 100, b"GIF89a"])
    if roll < 0.7:
        return truncate(data, rng)
    return flip_bytes(data, rng)


# -- the targets --------------------------------------------------------------------------


def _prepare(name: str, options: dict[str, object], folder: Path, task: str) -> None:
    from graph.training import DataSpec
    from runtime.data.pipeline import prepare

    prepare(DataSpec(name=name, options=options), task, base_dir=folder)


def _run_csv(path: Path) -> None:
    _prepare("csv", {"path": path.name}, path.parent, "classification")


def _run_npz(path: Path) -> None:
    _prepare("npz", {"path": path.name}, path.parent, "classification")


def _run_idx(path: Path) -> None:
    other = "labels.idx" if path.name == "images.idx" else "images.idx"
    counterpart = _idx(np.arange(20) % 3 if other == "labels.idx"
                       else np.arange(20 * 64).reshape(20, 8, 8) % 256)
    (path.parent / other).write_bytes(counterpart)
    _prepare("idx", {"images": "images.idx", "labels": "labels.idx"}, path.parent,
             "classification")


def _run_images(path: Path) -> None:
    root = path.parent.parent
    for name in ("a/1.png", "b/0.png", "b/1.png"):
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(_image("PNG"))
    _prepare("image_folder", {"path": str(root), "size": 8}, root, "classification")


def _run_predict(path: Path) -> None:
    from runtime.data.inputs import network_inputs

    network_inputs(path, None)


def _kind(name: str, seeds: list[Seed], mutate: object, run: object) -> Target:
    from runtime.data.errors import DataError

    def make(seed: Seed, rng: random.Random) -> Mutant:
        what, data = mutate(seed.data, rng)  # type: ignore[operator]
        return Mutant(seed, what, data)

    return Target(name, lambda: seeds, make, run, (DataError,))  # type: ignore[arg-type]


def csv_target() -> Target:
    return _kind("csv", [Seed("table", _csv_seed(), "data.csv")], _mutate_csv, _run_csv)


def npz_target() -> Target:
    seeds = [Seed("table", _npz_seed(False), "data.npz"),
             Seed("images", _npz_seed(True), "data.npz")]
    return _kind("npz", seeds, _mutate_npz, _run_npz)


def idx_target() -> Target:
    seeds = [Seed("images", _idx(np.arange(20 * 64).reshape(20, 8, 8) % 256), "images.idx"),
             Seed("labels", _idx(np.arange(20) % 3), "labels.idx")]
    return _kind("idx", seeds, _mutate_idx, _run_idx)


def image_target() -> Target:
    seeds = [Seed(kind, _image(kind), f"a/0.{kind.lower()}") for kind in ("PNG", "BMP", "JPEG")]
    return _kind("image", seeds, _mutate_image, _run_images)


def _mutate_input(data: bytes, rng: random.Random, suffix: str) -> tuple[str, bytes]:
    if suffix == ".csv":
        return _mutate_csv(data, rng)
    if suffix == ".npy":
        roll = rng.random()
        if roll < 0.6:
            what, array = _mutate_array(np.load(io.BytesIO(data)), rng)
            return what, _npy(array)
        return truncate(data, rng) if roll < 0.8 else flip_bytes(data, rng)
    return _mutate_image(data, rng)


def predict_target() -> Target:
    from runtime.data.errors import DataError

    seeds = [Seed("npy", _npy(np.arange(10, dtype=np.float32).reshape(5, 2)), "x.npy"),
             Seed("csv", b"1.0,2.0\n-0.5,0.25\n3,4\n", "x.csv"),
             Seed("png", _image("PNG"), "x.png")]

    def make(seed: Seed, rng: random.Random) -> Mutant:
        what, data = _mutate_input(seed.data, rng, Path(seed.filename).suffix)
        return Mutant(seed, what, data)

    return Target("predict", lambda: seeds, make, _run_predict, (DataError,))
