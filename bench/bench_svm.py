"""A classical baseline for ``cnn_digits``: scikit-learn's RBF SVM on the same split.

The data are exactly what the example trains on (``load_run_data`` with the file's
own split seed and normalisation, no augmentation), flattened to 64 values. ``C`` is
chosen on the validation split from a small grid (``gamma="scale"``), then the SVM
is trained on the training split alone and scored once on the test split, as the
network is. One stamped row goes to ``bench/results/svm.jsonl``.

    .venv/bin/python bench/bench_svm.py [--file resources/examples/cnn_digits.loom]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
from sklearn.svm import SVC

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from record import Recorder, add_results_argument  # noqa: E402

from graph import load_graph  # noqa: E402
from graph.training import AugmentSpec  # noqa: E402
from runtime.run_data import load_run_data  # noqa: E402

GRID = (0.5, 1.0, 2.0, 5.0, 10.0, 20.0)


def _flat(x: torch.Tensor) -> np.ndarray:
    return x.reshape(len(x), -1).numpy().astype(np.float64)


def measure(path: Path) -> dict[str, Any]:
    """The validation accuracy of each ``C``, the chosen one and its test accuracy."""
    doc = load_graph(path)
    data_spec = doc.training.data.model_copy(update={"augment": AugmentSpec()})
    training = doc.training.model_copy(update={"data": data_spec})
    data = load_run_data(doc, training, torch.device("cpu"), path.parent)
    assert data.train_y is not None and data.val_y is not None and data.test_y is not None
    train_x, train_y = _flat(data.train_x), data.train_y.numpy()
    val = {}
    for c in GRID:
        svm = SVC(kernel="rbf", C=c, gamma="scale").fit(train_x, train_y)
        val[c] = float(svm.score(_flat(data.val_x), data.val_y.numpy()))
    best = max(GRID, key=lambda c: (val[c], -c))  # ties: the smoother (smaller C)
    start = time.perf_counter()
    svm = SVC(kernel="rbf", C=best, gamma="scale").fit(train_x, train_y)
    fit_s = time.perf_counter() - start
    test = float(svm.score(_flat(data.test_x), data.test_y.numpy()))
    return {"case": path.stem, "model": "SVC(kernel='rbf', gamma='scale')",
            "split": {"train": len(train_x), "val": len(data.val_x), "test": len(data.test_x)},
            "val_accuracy_by_C": {str(c): a for c, a in val.items()}, "C": best,
            "test_accuracy": test, "fit_s": fit_s}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--file", type=Path, default=ROOT / "resources/examples/cnn_digits.loom")
    add_results_argument(parser, "svm")
    args = parser.parse_args()
    with Recorder("svm", args.results) as rec:
        row = rec.row(**measure(args.file))
    print(f"{row['case']}: RBF SVM, C={row['C']} (chosen on validation), test accuracy "
          f"{row['test_accuracy']:.2%} on {row['split']['test']} images")


if __name__ == "__main__":
    main()
