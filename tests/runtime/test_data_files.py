"""User data from disk: CSV, NPZ, image folders and IDX files, and their error messages."""

from __future__ import annotations

import gzip
import struct
from pathlib import Path

import numpy as np
import pytest

from runtime.data import DataError, load_dataset


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_csv_defaults_last_column_is_a_categorical_target(tmp_path: Path) -> None:
    csv = _write(tmp_path / "flowers.csv",
                 "length,width,species\n1.5,0.2,setosa\n4.7,1.4,versicolor\n1.3,0.3,setosa\n\n")
    ds = load_dataset("csv", {"path": str(csv)})
    assert ds.x.shape == (3, 2) and ds.x.dtype == np.float32
    assert ds.target_kind == "class" and ds.class_names == ("setosa", "versicolor")
    assert ds.y.tolist() == [0, 1, 0]
    assert ds.metadata["feature_names"] == ["length", "width"]


def test_csv_columns_by_name_and_numeric_target(tmp_path: Path) -> None:
    _write(tmp_path / "houses.csv", "rooms,price,area,city\n3,250.5,80,a\n5,410,120,b\n")
    # a relative path is resolved against base_dir (the document's folder)
    ds = load_dataset("csv", {"path": "houses.csv", "features": "area, rooms", "target": "price"},
                      base_dir=tmp_path)
    assert ds.x.tolist() == [[80, 3], [120, 5]]
    assert ds.target_kind == "value" and ds.y.shape == (2, 1) and ds.y[0, 0] == 250.5
    as_class = load_dataset("csv", {"path": str(tmp_path / "houses.csv"), "features": ["area"],
                                    "target": "rooms", "target_type": "class"})
    assert as_class.target_kind == "class" and as_class.class_names == ("3", "5")
    unsupervised = load_dataset("csv", {"path": str(tmp_path / "houses.csv"),
                                        "features": ["rooms", "area"], "target_type": "none"})
    assert unsupervised.y is None and unsupervised.x.shape == (2, 2)


@pytest.mark.parametrize(("row", "message"), [
    ("1.0,,a", r"row 3, column 'width': missing value"),
    ("1.0,wide,a", r"row 3, column 'width': non-numeric value 'wide'"),
    ("1.0,nan,a", r"row 3, column 'width': missing"),
    ("1.0,2.0", r"row 3: 2 cells but the header has 3 columns"),
    ("1.0,2.0,", r"row 3, column 'kind': missing target"),
])
def test_bad_csv_cells_name_row_and_column(tmp_path: Path, row: str, message: str) -> None:
    csv = _write(tmp_path / "bad.csv", f"length,width,kind\n1.0,2.0,a\n{row}\n")
    with pytest.raises(DataError, match=message) as info:
        load_dataset("csv", {"path": str(csv)})
    assert "bad.csv" in str(info.value)


def test_csv_unknown_column_lists_the_columns(tmp_path: Path) -> None:
    csv = _write(tmp_path / "t.csv", "a,b,c\n1,2,3\n")
    with pytest.raises(DataError, match=r"unknown column 'd'; columns: a, b, c"):
        load_dataset("csv", {"path": str(csv), "target": "d"})
    with pytest.raises(DataError, match=r"unknown column 'z'"):
        load_dataset("csv", {"path": str(csv), "features": ["a", "z"]})
    with pytest.raises(DataError, match="file not found"):
        load_dataset("csv", {"path": str(tmp_path / "missing.csv")})
    with pytest.raises(DataError, match="no file chosen"):
        load_dataset("csv")


def test_npz_with_default_and_custom_keys(tmp_path: Path) -> None:
    path = tmp_path / "d.npz"
    x = np.arange(24, dtype=np.float64).reshape(6, 4)
    np.savez(path, x=x, y=np.array([0, 1, 2, 0, 1, 2]), inputs=x * 2, price=np.arange(6.0))
    ds = load_dataset("npz", {"path": str(path)})
    assert ds.x.dtype == np.float32 and np.array_equal(ds.x, x)
    assert ds.target_kind == "class" and ds.num_classes == 3
    custom = load_dataset("npz", {"path": str(path), "x_key": "inputs", "y_key": "price"})
    assert custom.target_kind == "value" and custom.y.shape == (6, 1)
    assert np.array_equal(custom.x, x * 2)
    unlabelled = load_dataset("npz", {"path": str(path), "y_key": ""})
    assert unlabelled.y is None and unlabelled.target_kind is None
    with pytest.raises(DataError, match=r"no array named 'images'; arrays: x, y, inputs, price"):
        load_dataset("npz", {"path": str(path), "x_key": "images"})


def test_npz_tokens(tmp_path: Path) -> None:
    path = tmp_path / "tok.npz"
    x = np.array([[1, 2, 3], [4, 5, 0]])
    np.savez(path, x=x, y=x[:, ::-1])
    ds = load_dataset("npz", {"path": str(path), "tokens": True})
    assert ds.x.dtype == np.int64 and ds.vocab_size == 6
    assert ds.target_kind == "sequence_class" and ds.num_classes == 6
    (tmp_path / "junk.npz").write_bytes(b"not a zip file")
    with pytest.raises(DataError, match=r"junk\.npz: cannot read"):
        load_dataset("npz", {"path": str(tmp_path / "junk.npz")})


def _image_folder(root: Path) -> Path:
    from PIL import Image

    for label, value in (("cat", 40), ("dog", 200)):
        (root / label).mkdir(parents=True)
        for i in range(3):
            pixels = np.full((10, 12, 3), value, dtype=np.uint8)
            pixels[0, 0] = (255, 0, 0)
            Image.fromarray(pixels).save(root / label / f"{i}.png")
    return root


def test_image_folder_grey_and_rgb(tmp_path: Path) -> None:
    pytest.importorskip("PIL")
    root = _image_folder(tmp_path / "pets")
    grey = load_dataset("image_folder", {"path": str(root), "size": 8})
    assert grey.x.shape == (6, 1, 8, 8) and grey.class_names == ("cat", "dog")
    assert grey.y.tolist() == [0, 0, 0, 1, 1, 1] and grey.value_range == (0.0, 255.0)
    assert grey.x[0, 0, 4, 4] == pytest.approx(40, abs=1)
    assert grey.x[3, 0, 4, 4] == pytest.approx(200, abs=1)
    rgb = load_dataset("image_folder", {"path": str(root), "size": 16, "color": "rgb"})
    assert rgb.x.shape == (6, 3, 16, 16)
    assert rgb.x[0, 0, 0, 0] > rgb.x[0, 1, 0, 0]  # the red corner survives as red


def test_image_folder_corrupt_image_names_the_file(tmp_path: Path) -> None:
    pytest.importorskip("PIL")
    root = _image_folder(tmp_path / "pets")
    (root / "dog" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\nthis is not a png")
    with pytest.raises(DataError, match=r"cannot read image .*broken\.png"):
        load_dataset("image_folder", {"path": str(root)})
    with pytest.raises(DataError, match="no class sub-folders"):
        load_dataset("image_folder", {"path": str(tmp_path / "pets" / "cat")})


def _idx(path: Path, array: np.ndarray, magic: bytes | None = None, gz: bool = False) -> Path:
    header = magic or bytes([0, 0, 0x08, array.ndim])
    data = header + b"".join(struct.pack(">I", d) for d in array.shape) + array.tobytes()
    path.write_bytes(gzip.compress(data) if gz else data)
    return path


def test_idx_images_and_labels(tmp_path: Path) -> None:
    images = np.random.default_rng(0).integers(0, 256, (5, 4, 3), dtype=np.uint8)
    labels = np.array([3, 1, 4, 1, 5], dtype=np.uint8)
    img = _idx(tmp_path / "train-images-idx3-ubyte.gz", images, gz=True)
    lab = _idx(tmp_path / "train-labels-idx1-ubyte", labels)
    ds = load_dataset("idx", {"images": str(img), "labels": str(lab)})
    assert ds.x.shape == (5, 1, 4, 3) and np.array_equal(ds.x[:, 0], images)
    assert ds.y.tolist() == [3, 1, 4, 1, 5] and ds.num_classes == 6  # label ids kept
    assert load_dataset("idx", {"images": str(img)}).y is None


def test_idx_errors(tmp_path: Path) -> None:
    images = np.zeros((4, 2, 2), dtype=np.uint8)
    bad = _idx(tmp_path / "bad-magic", images, magic=b"\x12\x34\x08\x03")
    with pytest.raises(DataError, match="bad-magic: not an IDX file"):
        load_dataset("idx", {"images": str(bad)})
    short = tmp_path / "short"
    short.write_bytes(_idx(tmp_path / "x", images).read_bytes()[:-3])
    with pytest.raises(DataError, match=r"short: header says shape \(4, 2, 2\)"):
        load_dataset("idx", {"images": str(short)})
    img = _idx(tmp_path / "img", images)
    few = _idx(tmp_path / "few", np.array([1, 2, 3], dtype=np.uint8))
    with pytest.raises(DataError, match="3 labels for 4 images"):
        load_dataset("idx", {"images": str(img), "labels": str(few)})
    flat = _idx(tmp_path / "flat", np.zeros(4, dtype=np.uint8))
    with pytest.raises(DataError, match="3 dimensions"):
        load_dataset("idx", {"images": str(flat)})
