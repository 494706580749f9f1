"""Data files that try to allocate without bound, overflow, or echo themselves in errors.

Every problem must be a DataError naming the file and the row (or index) and
value, raised before anything is sized by the file's claims.
"""

from __future__ import annotations

import gzip
import io
import os
import struct
import tracemalloc
import zipfile
import zlib
from pathlib import Path

import numpy as np
import pytest

from graph.training import DataSpec
from runtime.data import DataError, load_dataset, prepare


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


# -- labels (issue 13, case 3) ------------------------------------------------
def test_npz_label_far_beyond_the_class_limit_is_refused_at_once(tmp_path: Path) -> None:
    # Before: a tuple of 10^12 class names, killed for memory.
    path = tmp_path / "huge.npz"
    np.savez(path, x=np.zeros((3, 2)), y=np.array([0, 10**12, 1]))
    with pytest.raises(DataError, match=r"huge\.npz, array 'y', index 1: class label "
                                        r"1000000000000 is too large.*at most 10,000"):
        load_dataset("npz", {"path": str(path)})


def test_idx_label_beyond_the_class_limit_is_refused(tmp_path: Path) -> None:
    images = tmp_path / "img-idx3"
    images.write_bytes(bytes([0, 0, 8, 3]) + struct.pack(">III", 2, 2, 2) + bytes(8))
    labels = tmp_path / "lab-idx1"
    labels.write_bytes(bytes([0, 0, 0x0C, 1]) + struct.pack(">I", 2) + struct.pack(">ii", 3,
                                                                                 2**31 - 1))
    with pytest.raises(DataError, match=r"lab-idx1, label 1: class label 2147483647 is too "
                                        "large"):
        load_dataset("idx", {"images": str(images), "labels": str(labels)})


def test_more_distinct_text_labels_than_the_limit_names_the_row(tmp_path: Path) -> None:
    rows = "".join(f"{i},c{i}\n" for i in range(10_005))  # the limit is 10,000 classes
    csv = _write(tmp_path / "ids.csv", "a,kind\n" + rows)
    with pytest.raises(DataError, match=r"ids\.csv, row 10002, column 'kind': label 'c10000' "
                                        "is one class too many: at most 10,000 classes are "
                                        "allowed, and there are 10,005 different labels"):
        load_dataset("csv", {"path": str(csv)})


def test_class_labels_that_are_not_finite_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "nan.npz"
    np.savez(path, x=np.zeros((3, 2)), y=np.array([0.0, 1.0, np.nan]))
    with pytest.raises(DataError, match=r"nan\.npz, array 'y', index 2: class label nan is "
                                        "missing or infinite"):
        load_dataset("npz", {"path": str(path), "target_type": "class"})


def test_token_ids_beyond_the_vocabulary_limit_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "tok.npz"
    np.savez(path, x=np.array([[1, 2], [3, 10**10]]), y=np.array([[1, 2], [3, 4]]))
    with pytest.raises(DataError, match=r"tok\.npz, array 'x', index \(1, 1\): token id "
                                        "10000000000 is out of range"):
        load_dataset("npz", {"path": str(path), "tokens": True})


def test_sequences_longer_than_the_limit_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "long.npz"
    np.savez(path, x=np.zeros((1, 100_001), np.int8), y=np.zeros((1, 100_001), np.int8))
    with pytest.raises(DataError, match=r"long\.npz: sequences of 100,001 steps; at most 100,000"):
        load_dataset("npz", {"path": str(path), "tokens": True})


# -- array headers ------------------------------------------------------------
def _npz_with_header(path: Path, shape: tuple[int, ...], descr: str = "<f8") -> Path:
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(header, {"descr": descr, "fortran_order": False,
                                                  "shape": shape})
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("x.npy", header.getvalue() + bytes(16))
    return path


def test_npz_header_claiming_terabytes_is_refused_before_reading(tmp_path: Path) -> None:
    # Before: numpy allocated the claimed 8 TB and failed with a raw MemoryError.
    path = _npz_with_header(tmp_path / "bomb.npz", (10**12, 1))
    with pytest.raises(DataError, match=r"bomb\.npz, array 'x': the header claims shape "
                                        r"\(1000000000000, 1\).*more than the limit"):
        load_dataset("npz", {"path": str(path), "y_key": ""})
    lying = _npz_with_header(tmp_path / "short.npz", (1000, 4))
    with pytest.raises(DataError, match=r"short\.npz, array 'x': .*holds only 16 bytes"):
        load_dataset("npz", {"path": str(lying), "y_key": ""})


def test_npz_inputs_with_nan_or_float32_overflow_name_the_index(tmp_path: Path) -> None:
    path = tmp_path / "big.npz"
    np.savez(path, x=np.array([[1.0, 2.0], [3.0, 1e300]]), y=np.array([0, 1]))
    with pytest.raises(DataError, match=r"big\.npz, array 'x', index \(1, 1\): value 1e\+300 "
                                        "is too large for 32-bit floats"):
        load_dataset("npz", {"path": str(path)})


def _garbled_npy() -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, np.zeros((2, 2), np.float32))
    return buffer.getvalue().replace(b"), }", b"), (")  # an unclosed bracket in the header


def test_npz_member_with_a_garbled_header_or_odd_dtype_is_a_data_error(tmp_path: Path) -> None:
    # Before: tokenize.TokenError from numpy's header parser, and a TypeError from
    # timedelta64 "token ids", escaped as raw exceptions.
    garbled = tmp_path / "garbled.npz"
    with zipfile.ZipFile(garbled, "w") as archive:
        archive.writestr("x.npy", _garbled_npy())
    with pytest.raises(DataError, match=r"garbled\.npz"):
        load_dataset("npz", {"path": str(garbled), "y_key": ""})
    durations = tmp_path / "durations.npz"
    np.savez(durations, x=np.zeros((3, 2), "m8[s]"), y=np.zeros((3, 2), np.int64))
    with pytest.raises(DataError, match=r"durations\.npz, array 'x': token inputs must be "
                                        "integers, got timedelta64"):
        load_dataset("npz", {"path": str(durations), "tokens": True})


def test_gzipped_idx_that_inflates_beyond_its_header_is_never_held(tmp_path: Path) -> None:
    # Before: the whole decompressed file was read before its size was compared.
    path = tmp_path / "bomb-idx3.gz"
    path.write_bytes(gzip.compress(bytes([0, 0, 8, 3]) + struct.pack(">III", 1, 2, 2)
                                   + bytes(32 * 2**20), compresslevel=1))
    tracemalloc.start()
    try:
        with pytest.raises(DataError, match=r"bomb-idx3\.gz: header says shape \(1, 2, 2\)"):
            load_dataset("idx", {"images": str(path)})
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 4 * 2**20


def test_idx_header_rank_is_bounded(tmp_path: Path) -> None:
    path = tmp_path / "rank-idx"
    path.write_bytes(bytes([0, 0, 8, 200]) + bytes(4 * 200))
    with pytest.raises(DataError, match="rank-idx: IDX header claims 200 dimensions; expected "
                                        "1 to 4"):
        load_dataset("idx", {"images": str(path)})


def test_a_csv_line_of_millions_of_cells_is_refused_before_it_is_split(tmp_path: Path) -> None:
    # Before: the csv module made a list of 21 million cells (190 MiB peak) from a 21 MB line.
    path = tmp_path / "commas.csv"
    path.write_text("a,b\n" + "," * 21_000_000 + "\n")
    tracemalloc.start()
    try:
        with pytest.raises(DataError, match=r"commas\.csv, line 2: more than 20,000,000 cells"):
            load_dataset("csv", {"path": str(path)})
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 80 * 2**20


# -- images (issue 13, case 4) ------------------------------------------------
def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def _png_header(path: Path, width: int, height: int) -> Path:
    """A valid PNG header claiming width×height grey pixels, with almost no pixel data."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr)
                     + _chunk(b"IDAT", zlib.compress(b"\x00" * 16)) + _chunk(b"IEND", b""))
    return path


def _bmp_header(path: Path, width: int, height: int) -> Path:
    info = struct.pack("<IiiHHIIiiII", 40, width, height, 1, 24, 0, 0, 2835, 2835, 0, 0)
    path.write_bytes(b"BM" + struct.pack("<IHHI", 54 + 16, 0, 0, 54) + info + bytes(16))
    return path


def _folder_with(tmp_path: Path, make: object, name: str, width: int, height: int) -> Path:
    from PIL import Image

    root = tmp_path / "pics"
    for label in ("a", "b"):
        (root / label).mkdir(parents=True)
        Image.fromarray(np.zeros((4, 4), dtype=np.uint8)).save(root / label / "ok.png")
    make(root / "b" / name, width, height)  # type: ignore[operator]
    return root


@pytest.mark.parametrize(("make", "name", "width", "height"), [
    (_png_header, "huge.png", 14_000, 14_000),  # 196 MP: Pillow's DecompressionBombError
    (_bmp_header, "huge.bmp", 100_000, 100_000),  # 10^10 pixels claimed by a 70-byte file
    (_png_header, "big.png", 10_000, 6_000),  # 60 MP: under Pillow's limit, over ours
])
def test_image_folder_refuses_decompression_bombs_by_header(tmp_path: Path, make: object,
                                                            name: str, width: int,
                                                            height: int) -> None:
    pytest.importorskip("PIL")
    root = _folder_with(tmp_path, make, name, width, height)
    with pytest.raises(DataError, match=rf"{name}: .*too large|{name}: the image header claims"):
        load_dataset("image_folder", {"path": str(root), "size": 8})


@pytest.mark.timeout(20)
@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs named pipes")
def test_image_folder_skips_a_pipe_named_like_an_image(tmp_path: Path) -> None:
    pytest.importorskip("PIL")
    root = _folder_with(tmp_path, _bmp_header, "ok.bmp", 2, 2)  # 16 bytes: 2×2 at 24 bits
    os.mkfifo(root / "a" / "pipe.png")  # before: open() waited for a writer forever
    assert len(load_dataset("image_folder", {"path": str(root), "size": 4})) == 3


def test_predict_reads_images_through_the_same_guarded_opener(tmp_path: Path) -> None:
    pytest.importorskip("PIL")
    from runtime.data import Preprocessing
    from runtime.data.inputs import InputError, read_inputs

    pre = Preprocessing(kind="none", sample_shape=(1, 4, 4), offset=np.zeros((1, 1, 1)),
                        scale=np.ones((1, 1, 1)))
    bomb = _png_header(tmp_path / "bomb.png", 10_000, 6_000)
    with pytest.raises(InputError, match=r"bomb\.png: the image header claims 10,000×6,000 "
                                         "pixels, more than the limit of 50,000,000"):
        read_inputs(bomb, pre)


def test_image_folder_total_size_is_bounded_before_decoding(tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch
                                                            ) -> None:
    pytest.importorskip("PIL")
    from runtime.data import images

    root = _folder_with(tmp_path, _png_header, "c.png", 4, 4)
    monkeypatch.setattr(images, "MAX_ARRAY_BYTES", 3 * 1 * 32 * 32 * 4 - 1)
    monkeypatch.setattr(images, "_read_image", lambda *_: pytest.fail("decoded an image"))
    with pytest.raises(DataError, match=r"3 images of 1×32×32 need"):
        load_dataset("image_folder", {"path": str(root), "size": 32})


# -- values that overflow (issue 13, case 12) ---------------------------------
def test_csv_cell_beyond_float32_names_row_and_column(tmp_path: Path) -> None:
    # Before: 1e308 became inf in float32 and the run ended in "loss became NaN".
    csv = _write(tmp_path / "t.csv", "a,b,label\n1,2,x\n3,1e308,y\n")
    with pytest.raises(DataError, match=r"t\.csv, row 3, column 'b': value '1e308' is too "
                                        "large for 32-bit floats"):
        load_dataset("csv", {"path": str(csv)})
    target = _write(tmp_path / "v.csv", "a,price\n1,2\n3,-1e39\n")
    with pytest.raises(DataError, match=r"v\.csv, row 3, column 'price': value '-1e39'"):
        load_dataset("csv", {"path": str(target)})


def test_values_that_overflow_after_normalisation_name_row_and_column(tmp_path: Path) -> None:
    rows = "".join(f"{v},1,{k % 2}\n" for k, v in enumerate(["3e38", "-3e38"] * 5))
    _write(tmp_path / "wide.csv", "a,b,label\n" + rows)
    spec = DataSpec.model_validate({"name": "csv", "normalize": "minmax",
                                    "options": {"path": "wide.csv"}})
    with pytest.raises(DataError, match=r"wide\.csv, row \d+, column 'a': value 3e\+38 overflows "
                                        "32-bit floats after 'minmax' normalisation"):
        prepare(spec, "classification", tmp_path)


# -- quoting (issue 13, case 12) ----------------------------------------------
def test_errors_quote_at_most_the_start_of_the_offending_cell(tmp_path: Path) -> None:
    secret = "s" * 5000
    csv = _write(tmp_path / "t.csv", f"a,b,label\n1,2,x\n3,{secret},y\n")
    with pytest.raises(DataError) as info:
        load_dataset("csv", {"path": str(csv)})
    message = str(info.value)
    assert "row 3, column 'b': non-numeric value 'sss" in message
    assert "(5000 characters)" in message and len(message) < 160
    wide = _write(tmp_path / "w.csv", ",".join(f"{'h' * 300}{i}" for i in range(50)) + "\n"
                  + ",".join("1" * 50) + "\n")
    with pytest.raises(DataError, match="unknown column 'zz'") as info:
        load_dataset("csv", {"path": str(wide), "target": "zz"})
    assert len(str(info.value)) < 1000 and "(50 in all)" in str(info.value)
    with pytest.raises(DataError, match="option 'n_samples' must be an integer, got 'xxx") as info:
        load_dataset("moons", {"n_samples": "x" * 5000})  # an option as a .loom file gives it
    assert len(str(info.value)) < 120


# -- data paths (issue 13, case 12) -------------------------------------------
def test_data_paths_leaving_the_graph_folder_are_noted(tmp_path: Path) -> None:
    project = tmp_path / "project"
    project.mkdir()
    _write(project / "in.csv", "a,b\n1,2\n3,4\n")
    _write(tmp_path / "out.csv", "a,b\n1,2\n3,4\n")
    inside = load_dataset("csv", {"path": "in.csv"}, base_dir=project)
    assert inside.notes == []
    outside = load_dataset("csv", {"path": "../out.csv"}, base_dir=project)
    assert outside.x.shape == (2, 1)  # resolved against the graph's folder
    assert len(outside.notes) == 1
    assert f"reads {tmp_path.resolve() / 'out.csv'}, outside the graph file's folder" \
        in outside.notes[0]
    absolute = load_dataset("csv", {"path": str(tmp_path / "out.csv")}, base_dir=project)
    assert "outside the graph file's folder" in absolute.notes[0]
