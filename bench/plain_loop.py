"""A plain, hand-written PyTorch training loop for an example, as a careful user writes it.

The model is the standalone source Layerloom generates (ordinary nn.Module code);
the data are the same prepared splits, already on the device as tensors (no
DataLoader, no per-batch conversion); optimizer and schedule are built from the
file's settings. The loop is what a careful PyTorch user writes: batches gathered
with ``index_select`` from a per-epoch permutation, ``zero_grad(set_to_none=True)``,
no ``.item()`` or other host synchronisation inside the epoch, one validation pass
per epoch (one synchronisation: its loss), and the same thread count as the run it
is compared with. Run as a script it trains one seed and prints one JSON object:

    .venv/bin/python bench/plain_loop.py FILE.loom --seed 0 --threads 2

``train_document`` runs the same loop in-process (``bench_training`` times it beside
Layerloom's trainer in one process).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


def train_plain(path: Path, seed: int, threads: int,
                save: Path | None = None) -> dict[str, Any]:
    """Wall seconds (start-up included, like ``main.py train``) and test metrics.

    With ``save``, the trained state dicts are written there (``torch.save``), so that
    ``main.py evaluate`` can judge the plain loop's model exactly as it judges Layerloom's.
    """
    start = time.perf_counter()
    extra = ["--save", str(save)] if save else []
    done = subprocess.run([sys.executable, __file__, str(path), "--seed", str(seed),
                           "--threads", str(threads), *extra], capture_output=True, text=True,
                          check=False, cwd=ROOT)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(f"plain loop on {path.name} failed:\n{done.stderr[-2000:]}")
    return {"seconds": seconds, "metrics": json.loads(done.stdout.strip().splitlines()[-1])}


def _models(doc: Any, seed: int) -> dict[str, Any]:
    import torch

    from graph.codegen import generate_code
    from graph.compile import class_name_for

    torch.manual_seed(seed)
    models = {}
    for name in doc.training.networks:
        namespace: dict[str, Any] = {}
        exec(compile(generate_code(doc, name), f"<{name}>", "exec"), namespace)
        models[name] = namespace[class_name_for(name)]()
    return models


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("file")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--save", help="write the trained state dicts here (torch.save)")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    import torch

    from graph import load_graph

    torch.set_num_threads(args.threads)
    path = Path(args.file)
    result = train_document(load_graph(path), path.parent, args.seed)
    print(json.dumps(result["metrics"]))
    if args.save:
        torch.save({n: m.state_dict() for n, m in result["models"].items()}, args.save)


def train_document(doc: Any, base_dir: Path | None, seed: int) -> dict[str, Any]:
    """Train ``doc``'s networks with its own settings; the loop's seconds (data and models
    prepared before the clock starts, as Layerloom's ``started`` event), samples seen,
    test metrics and the trained models."""
    import torch
    import torch.nn.functional as F

    from runtime.data.augment import shift_images
    from runtime.optim import make_training
    from runtime.run_data import load_run_data

    t = doc.training
    data = load_run_data(doc, t, torch.device("cpu"), base_dir)
    models = _models(doc, seed)
    steps = -(-len(data.train_x) // t.batch_size)
    opts = {n: make_training(m, t.networks[n], t.epochs, steps) for n, m in models.items()}
    gen = torch.Generator().manual_seed(seed)
    shift = t.data.augment.shift
    start = time.perf_counter()
    for _ in range(t.epochs):
        for m in models.values():
            m.train()
        order = torch.randperm(len(data.train_x), generator=gen)
        for index in order.split(t.batch_size):
            x = data.train_x.index_select(0, index)
            y = data.train_y.index_select(0, index) if data.train_y is not None else None
            if shift:
                d = torch.randint(-shift, shift + 1, (2, len(x)), generator=gen)
                x = shift_images(x, d[0], d[1])
            _step(t, models, opts, x, y, data, F)
        _validate(t, models, data, F)  # a careful user watches the validation loss
        for _, schedule in opts.values():
            schedule.after_epoch(None)
    metrics = _test_metrics(t, models, data, F)
    return {"seconds": time.perf_counter() - start, "samples": t.epochs * len(data.train_x),
            "metrics": metrics, "models": models}


def save_as_weights(graph: Path, state_dicts: Path, weights: Path) -> None:
    """The plain loop's state dicts as a Layerloom ``model.safetensors`` for ``evaluate``.

    The generated code names its layers as the compiled networks do, so the state dicts
    load into compiled networks as they are.
    """
    sys.path.insert(0, str(ROOT))
    import torch

    from graph import load_graph
    from graph.compile import compile_network
    from runtime.checkpoint import save_weights
    from runtime.run_data import load_run_data

    doc = load_graph(graph)
    networks: dict[str, torch.nn.Module] = {}
    for name, state in torch.load(state_dicts, weights_only=True).items():
        networks[name] = compile_network(doc, name)
        networks[name].load_state_dict(state)
    data = load_run_data(doc, doc.training, torch.device("cpu"), graph.parent)
    save_weights(weights, networks, data)


def _validate(t: Any, models: dict[str, Any], data: Any, F: Any) -> float | None:
    import torch

    if t.task == "gan" or not len(data.val_x):
        return None
    (model,) = models.values()
    model.eval()
    with torch.no_grad():
        if t.task == "language_model":
            return _text_loss(model, data.val_x, data.val_y, F)
        out = model(data.val_x)
        return float(_loss(t, out, data.val_x if t.task == "autoencoder" else data.val_y, F))


def _text_loss(model: Any, x: Any, y: Any, F: Any, batch: int = 256) -> float:
    """Mean next-character cross-entropy (nats), in batches: N×T×V scores are large."""
    total = 0.0
    for i in range(0, len(x), batch):
        out = model(x[i:i + batch])
        total += float(F.cross_entropy(out.reshape(-1, out.shape[-1]), y[i:i + batch].reshape(-1),
                                       reduction="sum"))
    return total / y.numel()


def _step(t: Any, models: dict[str, Any], opts: dict[str, Any], x: Any, y: Any, data: Any,
          F: Any) -> None:
    import torch

    def update(name: str, loss: Any) -> None:
        optimizer, schedule = opts[name]
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        clip = t.networks[name].grad_clip
        if clip:
            torch.nn.utils.clip_grad_norm_(models[name].parameters(), clip)
        optimizer.step()
        schedule.after_batch()

    if t.task == "gan":
        g, d = models[t.gan.generator], models[t.gan.discriminator]
        ones, zeros = torch.ones(len(x), 1), torch.zeros(len(x), 1)
        fake = g(torch.randn(len(x), data.latent_size)).detach()
        d_loss = F.binary_cross_entropy_with_logits(d(x.reshape(fake.shape)), ones) + \
            F.binary_cross_entropy_with_logits(d(fake), zeros)
        update(t.gan.discriminator, d_loss)
        g_loss = F.binary_cross_entropy_with_logits(d(g(torch.randn(len(x), data.latent_size))),
                                                    ones)
        update(t.gan.generator, g_loss)
        return
    (name, model), = models.items()
    out = model(x)
    update(name, _loss(t, out, x if t.task == "autoencoder" else y, F))


def _loss(t: Any, out: Any, target: Any, F: Any) -> Any:
    name = t.loss.name
    if t.task == "language_model":  # every position predicts the next token
        return F.cross_entropy(out.reshape(-1, out.shape[-1]), target.reshape(-1))
    if t.task == "classification":
        if out.dim() == 3:
            out, target = out.reshape(-1, out.shape[-1]), target.reshape(-1)
        if name == "nll":
            return F.nll_loss(out, target)
        if name == "bce_logits":
            return F.binary_cross_entropy_with_logits(out.reshape(-1), target.float())
        return F.cross_entropy(out, target, label_smoothing=t.loss.label_smoothing)
    target = target.reshape(out.shape)
    if name == "l1":
        return F.l1_loss(out, target)
    if name == "huber":
        return F.huber_loss(out, target, delta=t.loss.huber_delta)
    if name == "bce_logits":
        return F.binary_cross_entropy_with_logits(out, target)
    return F.mse_loss(out, target)


def _test_metrics(t: Any, models: dict[str, Any], data: Any, F: Any) -> dict[str, float]:
    import numpy as np
    import torch

    from runtime.metrics import mode_coverage

    with torch.no_grad():
        for m in models.values():
            m.eval()
        if t.task == "gan":
            fake = models[t.gan.generator](torch.randn(len(data.test_x), data.latent_size))
            meta = data.prepared.dataset.metadata
            if "modes" in meta:
                return mode_coverage(fake.numpy(), np.asarray(meta["modes"]), meta["sigma"])
            return {}
        (model,) = models.values()
        if t.task == "language_model":  # nats per token on the held-out windows
            return {"val_loss": _text_loss(model, data.test_x, data.test_y, F)}
        out = model(data.test_x)
        if t.task == "classification":
            pred = out.argmax(-1) if out.shape[-1] > 1 else (out.reshape(-1) > 0).long()
            return {"test_accuracy": float((pred == data.test_y).float().mean())}
        target = data.test_x if t.task == "autoencoder" else data.test_y
        mse = float(F.mse_loss(out, target.reshape(out.shape)))
        return {"test_mse": mse, "reconstruction_mse": mse}


if __name__ == "__main__":
    main()
