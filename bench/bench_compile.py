"""Compiled network vs plain modules: training-step time, side by side.

For the MLP, CNN, LSTM and Transformer of ``tests/graph/models.py`` each round
times a block of forward+backward steps (same weights, same batch) of:

* compiled: the ``GraphModule`` from ``graph.compile``;
* generated code: Layerloom's own generated source (``graph.codegen``, what
  ``export-code`` writes: a class with the same submodules, one line per layer
  in ``forward``), executed as source; the compiler's own overhead is
  ``compiled / generated code`` (target ≤ 1.02);
* hand-written: the functional references in ``tests/graph/models.py``, the
  modules a person would write (``torch.relu`` and ``+`` inline where the graph
  has ReLU and Add nodes), so they also save the nn.Module call of each
  parameter-free layer.

The order rotates every round; ratios are medians of the per-round ratios, with
their range. Each model's per-round times are appended as a stamped row to
``bench/results/compile.jsonl``.

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
sys.path.insert(0, str(ROOT / "bench"))

from record import Recorder, add_results_argument, paired_ratio  # noqa: E402

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
    """Seconds per step, one list per round: compiled, generated code, hand-written."""
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


TARGET = 1.02  # compiled / generated code


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=40)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--threads", type=int, default=1)
    add_results_argument(parser, "compile")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, batch {args.batch}, "
          f"{args.rounds} rounds × {args.steps} steps (forward+backward)")
    print("median ms per step; ratios: median of per-round ratios (min–max)")
    print(f"{'model':<12} {'compiled':>9} {'generated':>10} {'hand-written':>13} "
          f"{'vs generated':>22} {'vs hand-written':>22}")
    with Recorder("compile", args.results) as rec:
        for model in (m for m in MODELS if m.name in BENCHED):
            rows = bench(model, args.rounds, args.steps, args.batch)
            compiled, generated, written = ([r[i] * 1e3 for r in rows] for i in range(3))
            vs_g, vs_w = paired_ratio(compiled, generated), paired_ratio(compiled, written)
            rec.row(case=model.name, batch=args.batch, rounds=args.rounds, steps=args.steps,
                    unit="ms per step", runs={"compiled": compiled, "generated": generated,
                                              "hand_written": written},
                    ratio_generated=vs_g, ratio_hand_written=vs_w, target=["≤", TARGET])
            ms = [statistics.median(c) for c in (compiled, generated, written)]
            print(f"{model.name:<12} {ms[0]:>9.3f} {ms[1]:>10.3f} {ms[2]:>13.3f} "
                  f"{_range(vs_g):>22} {_range(vs_w):>22}")
    print(f"target: compiled / generated code ≤ {TARGET}")


def _range(ratio: dict[str, float]) -> str:
    return f"{ratio['median']:.3f} ({ratio['min']:.3f}–{ratio['max']:.3f})"


if __name__ == "__main__":
    main()
