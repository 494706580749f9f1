"""Loading, validating and summarising generated 10,000-node graph files.

Four shapes that once took quadratic time or stress one stage each:

* ``chain``: Input → (Linear, ReLU/GELU, Add skip) blocks → Output, as saved;
* ``chain_backwards``: a chain of distinct-width Linear / ReLU layers whose wires are
  listed from the last to the first (each wire's cycle check walked the whole chain);
* ``fan_in``: Input → thousands of ReLUs side by side → one Concat → Output (each wire
  into the Concat scanned all wires before it);
* ``networks``: 64 networks of Linear / ReLU chains.

Figures are CPU seconds of this process (``time.process_time``, the best of
``--repeats``), so other work on the machine disturbs them less than wall time: ``load``
(``loads`` of the file's text), ``validate`` (a fresh shape inference, caches warm) and
``summary`` (``format_summary``; its first run, FLOP counts not yet cached, is reported as
``summary_cold``). One stamped row per shape is appended to the results file (rows before
the stamps carry only the commit and a note on the machine).

    .venv/bin/python bench/bench_graph_scale.py [--nodes 10000] [--repeats 3]
        [--only chain fan_in] [--label after] [--results bench/results/graph_scale.jsonl]
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from record import Recorder  # noqa: E402

from graph.fileformat import loads  # noqa: E402
from graph.summary import format_summary  # noqa: E402
from graph.training import TrainingSpec  # noqa: E402
from graph.validate import validate  # noqa: E402

Net = dict[str, list[dict[str, Any]]]


def _node(i: int, type_id: str, **params: Any) -> dict[str, Any]:
    return {"id": f"n{i}", "type": type_id, "version": 1, "label": f"{type_id.lower()}{i}",
            "params": params, "pos": [float(i), 0.0]}


def _wire(source: int, target: int, port: str = "x") -> dict[str, str]:
    return {"source": f"n{source}", "target": f"n{target}", "port": port}


def chain(n: int, rng: random.Random) -> dict[str, Net]:
    nodes, edges, x = [_node(0, "Input", shape=[64])], [], 0
    while len(nodes) + 3 < n:
        i = len(nodes)
        nodes += [_node(i, "Linear", out_features=64), _node(i + 1, rng.choice(["ReLU", "GELU"])),
                  _node(i + 2, "Add")]
        edges += [_wire(x, i), _wire(i, i + 1), _wire(x, i + 2, "in0"),
                  _wire(i + 1, i + 2, "in1")]
        x = i + 2
    nodes.append(_node(len(nodes), "Output"))
    edges.append(_wire(x, len(nodes) - 1))
    return {"main": {"nodes": nodes, "edges": edges}}


def chain_backwards(n: int, rng: random.Random) -> dict[str, Net]:
    nodes = [_node(0, "Input", shape=[8])]
    for i in range(1, n - 1):
        layer = _node(i, "Linear", out_features=rng.randint(2, 300)) if i % 2 else _node(i, "ReLU")
        nodes.append(layer)
    nodes.append(_node(n - 1, "Output"))
    return {"main": {"nodes": nodes, "edges": [_wire(i, i + 1) for i in reversed(range(n - 1))]}}


def fan_in(n: int, rng: random.Random) -> dict[str, Net]:
    relus = range(1, n - 2)
    nodes = [_node(0, "Input", shape=[8]), *(_node(i, "ReLU") for i in relus),
             _node(n - 2, "Concat"), _node(n - 1, "Output")]
    edges = [_wire(0, i) for i in relus] + [_wire(i, n - 2, f"in{i - 1}") for i in relus]
    return {"main": {"nodes": nodes, "edges": [*edges, _wire(n - 2, n - 1)]}}


def networks(n: int, rng: random.Random) -> dict[str, Net]:
    per, out = n // 64, {}
    for k in range(64):
        nodes = [_node(0, "Input", shape=[8])]
        nodes += [_node(i, "Linear", out_features=16) if i % 2 else _node(i, "ReLU")
                  for i in range(1, per - 1)]
        nodes.append(_node(per - 1, "Output"))
        out["main" if k == 0 else f"net{k}"] = {
            "nodes": nodes, "edges": [_wire(i, i + 1) for i in range(per - 1)]}
    return out


SHAPES: dict[str, Callable[[int, random.Random], dict[str, Net]]] = {
    "chain": chain, "chain_backwards": chain_backwards, "fan_in": fan_in, "networks": networks,
}


def _text(shape: str, nodes: int) -> str:
    data = {"format": "layerloom", "version": 1, "app_version": "0.1.0",
            "networks": SHAPES[shape](nodes, random.Random(0)),
            "training": TrainingSpec().to_data(), "ui": {}}
    return json.dumps(data, indent=2)


def _best(run: Callable[[], object], repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        start = time.process_time()
        run()
        best = min(best, time.process_time() - start)
    return best


def measure(shape: str, nodes: int, repeats: int) -> dict[str, Any]:
    text = _text(shape, nodes)
    start = time.process_time()
    doc = loads(text)
    validate(doc)
    first = time.process_time() - start
    start = time.process_time()
    format_summary(doc)
    summary_cold = time.process_time() - start
    return {
        "shape": shape, "nodes": nodes, "bytes": len(text.encode()),
        "load_validate_first_s": round(first, 3),
        "load_s": round(_best(lambda: loads(text), repeats), 3),
        "validate_s": round(_best(lambda: validate(doc), repeats), 3),
        "summary_cold_s": round(summary_cold, 3),
        "summary_s": round(_best(lambda: format_summary(doc), repeats), 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--nodes", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--only", nargs="*", choices=sorted(SHAPES), default=list(SHAPES))
    parser.add_argument("--label", default="", help="e.g. before / after, kept in each row")
    parser.add_argument("--results", type=Path, default=ROOT / "bench/results/graph_scale.jsonl")
    args = parser.parse_args()
    import torch  # noqa: F401  (its import is not what is measured)

    validate(loads(_text("chain", 50)))  # one-time start-up of shape inference
    with Recorder("graph_scale", args.results) as rec:
        for shape in args.only:
            row = {"label": args.label, "case": shape,
                   **measure(shape, args.nodes, args.repeats)}
            print(json.dumps(row))
            rec.row(**row)


if __name__ == "__main__":
    main()
