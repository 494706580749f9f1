"""Shape inference on a generated 1,000-node network: full and incremental.

The network mixes what users build: a residual MLP tower (Linear / ReLU /
LayerNorm / Dropout with Add skips), a convolutional tower (Conv2d /
BatchNorm2d / ReLU with Add skips and pooling), and a small Transformer branch,
joined by Concat into a head. Figures:

* full, cold: ``graph.shapes`` caches each (type, params, inputs) result, so the
  cache is cleared first (``_infer_layer.cache_clear()``); the process is warmed
  on another small network so one-time torch start-up is not counted;
* full, warm: a fresh ``ShapeInference`` with the cache filled;
* one edit + ``update()`` at the root of a long chain: the image size of the
  conv tower's Input (every conv node downstream changes shape), and the width
  of the MLP tower's first hidden Linear; first with new shapes (cold), then
  toggling back and forth (warm).

The raw times go to ``bench/results/shapes.jsonl`` as one stamped row.

    .venv/bin/python bench/bench_shapes.py [--nodes 1000] [--repeats 5]
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from record import Recorder, add_results_argument

from graph.builder import NetworkBuilder
from graph.document import Document
from graph.shapes import ShapeInference, _infer_layer

TARGETS_MS = {"full_cold": 200.0, "edit": 20.0}


def _mlp_block(b: NetworkBuilder, x: str, width: int, rng: random.Random) -> str:
    h = b.add("Linear", x, out_features=rng.choice((64, 96, 128, 192, 256)))
    h = b.add(rng.choice(("ReLU", "GELU", "SiLU")), h)
    if rng.random() < 0.5:
        h = b.add("Dropout", h, p=0.1)
    h = b.add("Linear", h, out_features=width)
    return b.add("LayerNorm", b.add("Add", x, h))


def _conv_block(b: NetworkBuilder, x: str, channels: int, rng: random.Random) -> str:
    h = b.add("Conv2d", x, out_channels=rng.choice((16, 24, 32)), kernel_size=3, padding=1)
    h = b.add("ReLU", b.add("BatchNorm2d", h))
    h = b.add("Conv2d", h, out_channels=channels, kernel_size=3, padding=1)
    return b.add("ReLU", b.add("Add", x, b.add("BatchNorm2d", h)))


def build_network(nodes: int, seed: int = 0) -> tuple[Document, dict[str, str]]:
    """A network of about ``nodes`` nodes; returns it and the ids of the edit targets."""
    rng = random.Random(seed)
    doc = Document.new()
    b = NetworkBuilder(doc)
    image = b.add("Input", shape=[3, 32, 32], label="image")
    features = b.add("Input", shape=[48], label="features")
    tokens = b.add("Input", shape=[16], kind="tokens", vocab_size=500, label="tokens")
    c = b.add("Conv2d", image, out_channels=32, kernel_size=3, padding=1)
    stem = b.add("Linear", features, out_features=128, label="stem")
    m = stem
    s = b.add("PositionalEncoding", b.add("Embedding", tokens, embedding_dim=64))
    for _ in range(3):
        s = b.add("TransformerEncoderLayer", s, nhead=4, dim_feedforward=128)
    s = b.add("SequencePool", s)
    budget, pools = nodes - 12, 0
    while len(doc.network("main")) < budget:
        if rng.random() < 0.5:
            c = _conv_block(b, c, 32, rng)
            if pools < 3 and rng.random() < 0.04:  # 32×32 → 4×4 at most
                c = b.add("MaxPool2d", c, kernel_size=2)
                pools += 1
        else:
            m = _mlp_block(b, m, 128, rng)
    c = b.add("Flatten", b.add("AdaptiveAvgPool2d", c, output_size=1))
    head = b.add("Concat", c, m, s, dim=0)
    b.add("Output", b.add("Linear", b.add("ReLU", b.add("Linear", head, out_features=64)),
                          out_features=10))
    first_hidden = next(t for _, t, _ in doc.network("main").out_edges(stem))
    return doc, {"image": image, "hidden": first_hidden}


def _time(action: Callable[[], object]) -> float:
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def _full(doc: Document, cold: bool) -> float:
    def run() -> None:
        ShapeInference(doc).update()

    if cold:
        _infer_layer.cache_clear()
    return _time(run)


def _edit(doc: Document, shapes: ShapeInference, node: str, name: str, value: object) -> float:
    def run() -> None:
        doc.set_param("main", node, name, value)
        shapes.update()

    return _time(run)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=5)
    add_results_argument(parser, "shapes")
    args = parser.parse_args()
    with Recorder("shapes", args.results) as rec:
        rec.row(case=f"{args.nodes} nodes", **measure(args.nodes, args.repeats),
                targets_ms=TARGETS_MS)


def measure(nodes: int, repeats: int) -> dict[str, object]:
    """Milliseconds of every run, printed as they come; returns the row's fields."""
    warmup, _ = build_network(120, seed=1)
    ShapeInference(warmup).update()  # torch's one-time start-up, not part of the figures

    doc, targets = build_network(nodes)
    net = doc.network("main")
    cold = [_full(doc, cold=True) * 1e3 for _ in range(repeats)]
    warm = [_full(doc, cold=False) * 1e3 for _ in range(repeats)]
    print(f"network: {len(net)} nodes, {len(net.edges())} edges; cache holds "
          f"{_infer_layer.cache_info().currsize} distinct layer results")
    print(f"full inference, cold cache : {statistics.median(cold):8.1f} ms (target < 200)")
    print(f"full inference, warm cache : {statistics.median(warm):8.1f} ms")

    shapes = ShapeInference(doc)
    shapes.update()
    edits: dict[str, dict[str, object]] = {}
    for target, name, (new, old) in (("image", "shape", [(3, 28, 28), (3, 32, 32)]),
                                     ("hidden", "out_features", [80, 64])):
        node = targets[target]
        if name == "out_features":
            old = net.node(node).params[name]
        first = _edit(doc, shapes, node, name, new) * 1e3
        count = shapes.reinferred
        toggles = [_edit(doc, shapes, node, name, v) * 1e3 for v in [old, new] * repeats]
        label = f"{net.node(node).label}.{name}"
        edits[label] = {"first_ms": first, "again_ms": toggles, "reinferred": count}
        print(f"edit {label:<22}: {first:8.1f} ms cold, {statistics.median(toggles):6.1f} ms "
              f"warm; {count} nodes re-inferred (target < 20)")
    return {"nodes": len(net), "edges": len(net.edges()), "unit": "ms",
            "full_cold_ms": cold, "full_warm_ms": warm, "edits": edits}


if __name__ == "__main__":
    main()
