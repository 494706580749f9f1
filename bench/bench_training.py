"""Training throughput: Layerloom's runtime against a plain PyTorch loop, side by side.

Both train the same architecture (the plain loop uses the standalone code that
Layerloom generates, which is ordinary nn.Module source) on the same prepared
tensors with the same optimizer, schedule, batch size, epochs and thread count,
and evaluate on the validation split after every epoch. Layerloom runs with its
telemetry on: throttled step events, per-epoch metrics and activation probes.
Runs alternate (plain, Layerloom, plain, …); the ratio of medians and the ratio of
the best runs are reported (this machine is shared, so single runs vary by ±10%).

    .venv/bin/python bench/bench_training.py [FILE.loom ...] [--epochs N] [--repeats R]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from graph import Document, load_graph  # noqa: E402
from graph.codegen import generate_code  # noqa: E402
from graph.training import AugmentSpec  # noqa: E402
from runtime.optim import make_training  # noqa: E402
from runtime.run_data import load_run_data  # noqa: E402
from runtime.trainer import RunOptions, Trainer  # noqa: E402

DEFAULT_FILES = ["resources/examples/mlp_moons.loom", "resources/examples/cnn_digits.loom"]


def _load(path: Path) -> Document:
    """The document without augmentation: the plain loop has none, so neither pays for it."""
    doc = load_graph(path)
    data = doc.training.data.model_copy(update={"augment": AugmentSpec()})
    doc.set_training(doc.training.model_copy(update={"data": data}))
    return doc


def plain_loop(path: Path, epochs: int) -> tuple[float, int]:
    """Seconds and samples for an idiomatic hand-written loop on the same work."""
    doc = _load(path)
    training = doc.training.model_copy(update={"epochs": epochs})
    data = load_run_data(doc, training, torch.device("cpu"))
    namespace: dict[str, object] = {}
    exec(generate_code(doc, "main"), namespace)  # plain nn.Module source
    torch.manual_seed(training.seed)
    model = namespace["Main"]()  # type: ignore[operator]
    steps = -(-len(data.train_x) // training.batch_size)
    optimizer, schedule = make_training(model, training.networks["main"], epochs, steps)
    smoothing = training.loss.label_smoothing
    start = time.perf_counter()
    for _ in range(epochs):
        model.train()
        order = torch.randperm(len(data.train_x))
        for i in range(0, len(order), training.batch_size):
            index = order[i:i + training.batch_size]
            loss = F.cross_entropy(model(data.train_x[index]), data.train_y[index],
                                   label_smoothing=smoothing)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            schedule.after_batch()
        schedule.after_epoch(None)
        _evaluate(model, data.val_x, data.val_y)
    _evaluate(model, data.test_x, data.test_y)  # a careful user reports the test split too
    return time.perf_counter() - start, epochs * len(data.train_x)


def _evaluate(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor) -> None:
    model.eval()
    with torch.no_grad():
        out = model(x)
        float(F.cross_entropy(out, y))
        float((out.argmax(1) == y).float().mean())


def layerloom_run(path: Path, epochs: int) -> tuple[float, int]:
    doc = _load(path)
    marks: dict[str, float] = {}
    samples = [0]

    def sink(event: dict) -> None:
        if event["type"] in ("started", "finished"):
            marks[event["type"]] = time.perf_counter()
        if event["type"] == "started":
            samples[0] = event["samples"] * epochs

    Trainer(doc, RunOptions(epochs=epochs, activations=True), sink=sink).run()
    return marks["finished"] - marks["started"], samples[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="*", default=DEFAULT_FILES)
    parser.add_argument("--epochs", type=int, default=40)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(f"threads {args.threads}, {args.epochs} epochs, {args.repeats} runs each")
    print(f"{'model':<20} {'plain samples/s':>16} {'Layerloom samples/s':>20} "
          f"{'ratio (median)':>15} {'ratio (best)':>13}")
    for name in args.files:
        path = ROOT / name
        plain, ours = [], []
        for _ in range(args.repeats):
            seconds, n = plain_loop(path, args.epochs)
            plain.append(n / seconds)
            seconds, n = layerloom_run(path, args.epochs)
            ours.append(n / seconds)
        p, o = statistics.median(plain), statistics.median(ours)
        best = max(ours) / max(plain)
        print(f"{Path(name).stem:<20} {p:>16,.0f} {o:>20,.0f} {o / p:>15.3f} {best:>13.3f}")
    print("target: ratio ≥ 0.95")


if __name__ == "__main__":
    main()
