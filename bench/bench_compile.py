"""Compiled network vs hand-written modules: training-step time, side by side.

For the MLP, CNN, LSTM and Transformer of ``tests/graph/models.py`` each round
times a block of forward+backward steps (same weights, same batch) of:

* compiled: the ``GraphModule`` from ``graph.compile``;
* same layers: a hand-written class with the same submodules, one line per
  layer in ``forward`` (the class ``graph.codegen`` writes, executed as source);
  the compiler's own overhead is ``compiled / same layers`` (target ≤ 1.02);
* functional: the references in ``tests/graph/models.py``, which call
  ``torch.relu`` and ``+`` inline where the graph has ReLU and Add nodes, so
  they also save the nn.Module call of each parameter-free layer.

The order rotates every round; the table reports medians per step.

    .venv/bin/python bench/bench_compile.py [--rounds 40] [--steps 10] [--batch 64] [--threads 1]

One thread by default: the compiler can only add Python overhead, and a single
thread keeps the timing steady on a shared machine (OpenMP threads that wait
for a busy core make small steps vary several-fold).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import torch
from torch import nn

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from graph.codegen import generate_code  # noqa: E402
from graph.compile import compile_network  # noqa: E402
from tests.graph.models import MODELS, Model, copy_weights  # noqa: E402

BENCHED = ("mlp", "cnn", "lstm", "transformer")


def _batch(model: Model, size: int) -> tuple[torch.Tensor, ...]:
    """The model's sample inputs, repeated up to ``size`` rows."""
    xs = model.inputs(torch.Generator().manual_seed(0))
    reps = -(-size // xs[0].shape[0])
    return tuple(x.repeat(reps, *([1] * (x.dim() - 1)))[:size] for x in xs)


def _steps(module: nn.Module, xs: tuple[torch.Tensor, ...], steps: int) -> float:
    """CPU seconds per forward+backward step, over ``steps`` steps.

    CPU time rather than wall time: other processes on a shared machine then
    only disturb the figures through the caches, not by taking the core away.
    """
    start = time.process_time()
    for _ in range(steps):
        for p in module.parameters():
            p.grad = None
        module(*xs).float().square().mean().backward()
    return (time.process_time() - start) / steps


def _same_layers(model: Model, compiled: nn.Module) -> nn.Module:
    """The generated class, executed from its source, holding the compiled weights."""
    namespace: dict[str, object] = {}
    exec(compile(generate_code(model.doc(), model.network), "<generated>", "exec"), namespace)
    module: nn.Module = namespace[type(compiled).__name__]()  # type: ignore[operator]
    module.load_state_dict(compiled.state_dict())
    return module


def bench(model: Model, rounds: int, steps: int, batch: int) -> list[list[float]]:
    """Seconds per step, one list per round: compiled, same layers, functional."""
    compiled = compile_network(model.doc(), model.network)
    functional = model.reference()
    copy_weights(compiled, functional)
    modules = [compiled, _same_layers(model, compiled), functional]
    xs = _batch(model, batch)
    for module in modules:  # warm up the allocator and kernels
        module.train()
        _steps(module, xs, steps)
    rows = []
    for r in range(rounds):
        row = [0.0] * len(modules)
        for k in range(len(modules)):
            i = (k + r) % len(modules)
            row[i] = _steps(modules[i], xs, steps)
        rows.append(row)
    return rows


def _ratio(rows: list[list[float]], a: int, b: int) -> tuple[float, float]:
    """Median and interquartile range of the per-round ratios ``a / b``.

    Within a round the two ran moments apart, so a ratio per round cancels
    most of the drift in machine load that a ratio of medians would keep.
    """
    q1, q2, q3 = statistics.quantiles([row[a] / row[b] for row in rows], n=4)
    return q2, q3 - q1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=40)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, batch {args.batch}, "
          f"{args.rounds} rounds × {args.steps} steps (forward+backward)")
    print("median ms per step; ratios: median of per-round ratios (interquartile range)")
    print(f"{'model':<12} {'compiled':>9} {'same layers':>12} {'functional':>11} "
          f"{'ratio (IQR)':>15} {'vs functional (IQR)':>20}")
    worst = 0.0
    for model in (m for m in MODELS if m.name in BENCHED):
        rows = bench(model, args.rounds, args.steps, args.batch)
        ms = [statistics.median(column) * 1e3 for column in zip(*rows, strict=True)]
        (ratio, spread), (vs_f, spread_f) = _ratio(rows, 0, 1), _ratio(rows, 0, 2)
        worst = max(worst, ratio)
        print(f"{model.name:<12} {ms[0]:>9.3f} {ms[1]:>12.3f} {ms[2]:>11.3f} "
              f"{ratio:>8.3f} ({spread:.3f}) {vs_f:>13.3f} ({spread_f:.3f})")
    print(f"worst ratio compiled / same layers: {worst:.3f} (target ≤ 1.02)")


if __name__ == "__main__":
    main()
