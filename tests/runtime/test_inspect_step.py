"""A training step walked through: the same numbers as a plain torch step."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from helpers import digits_cnn
from torch import nn

from graph import Document, NetworkBuilder
from graph.compile import state_dict_by_id
from graph.fileformat import load_graph
from runtime.inspect.model import inspect_model
from runtime.inspect.step import StepError, walk_step

EXAMPLES = Path(__file__).resolve().parents[2] / "resources" / "examples"


def _close(a: float, b: float) -> bool:
    return abs(a - b) <= 1e-6 * max(1.0, abs(b))


def test_mlp_moons_step_equals_a_plain_torch_step() -> None:
    doc = load_graph(EXAMPLES / "mlp_moons.loom")
    model = inspect_model(doc)
    module = model.main
    weights = {k: v.clone() for k, v in module.state_dict().items()}
    random_state = torch.get_rng_state()
    result = walk_step(doc, model.training, model.networks, model.data, index=7)
    assert torch.equal(torch.get_rng_state(), random_state)  # a paused run's draws go on
    rec = result.record

    layers = [nn.Linear(2, 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 2)]
    plain = nn.Sequential(*layers)
    plain.load_state_dict({k.replace("fc1", "0").replace("fc2", "2").replace("scores", "4"): v
                           for k, v in weights.items()})
    x, y = model.data.train_x[7:8], model.data.train_y[7:8]
    outs, h = [], x
    for layer in layers:
        h = layer(h)
        h.retain_grad()
        outs.append(h)
    loss = F.cross_entropy(h, y)
    optimizer = torch.optim.Adam(plain.parameters(), lr=0.01, betas=(0.9, 0.999))
    loss.backward()
    before = [p.detach().clone() for p in plain.parameters()]
    optimizer.step()
    with torch.no_grad():
        after = float(F.cross_entropy(plain(x), y))

    ids = ["n2", "n3", "n4", "n5", "n6"]
    assert rec["order"] == ["n1", *ids, "n7"]
    for node_id, out in zip(ids, outs, strict=True):
        assert all(_close(a, b) for a, b in zip(rec["forward"][node_id]["values"],
                                                out[0].tolist(), strict=True))
        assert _close(rec["backward"]["outputs"][node_id], float(out.grad.norm()))
    assert rec["forward"]["n7"]["values"] == rec["forward"]["n6"]["values"]
    assert _close(rec["loss"]["value"], float(loss.detach()))
    assert rec["loss"]["name"] == "cross-entropy"
    assert rec["loss"]["target"] == f"class {int(y[0])}" and rec["label"] == rec["loss"]["target"]
    assert _close(rec["backward"]["wires"]["n6>n7"], float(outs[-1].grad.norm()))
    params = list(plain.parameters())
    for k, node_id in enumerate(("n2", "n4", "n6")):
        w, b = params[2 * k], params[2 * k + 1]
        grad = torch.cat([w.grad.reshape(-1), b.grad.reshape(-1)]).norm()
        assert _close(rec["backward"]["params"][node_id], float(grad))
        old = torch.cat([before[2 * k].reshape(-1), before[2 * k + 1].reshape(-1)])
        new = torch.cat([w.detach().reshape(-1), b.detach().reshape(-1)])
        assert _close(rec["update"]["relative"][node_id], float((new - old).norm() / old.norm()))
    assert rec["update"]["optimizer"] == "adam" and rec["update"]["lr"] == pytest.approx(0.01)
    assert _close(rec["update"]["loss_before"], float(loss.detach()))
    assert _close(rec["update"]["loss_after"], after) and after < float(loss.detach())
    kept = result.states["main"]
    assert torch.allclose(kept["scores.weight"], plain[4].weight, atol=1e-6)
    # the networks passed in are untouched: keeping the step is the caller's choice
    assert all(torch.equal(weights[k], v) for k, v in module.state_dict().items())


def test_a_cnn_step_shows_feature_maps_and_moves_batch_norm_once() -> None:
    doc = digits_cnn()
    model = inspect_model(doc)
    result = walk_step(doc, model.training, model.networks, model.data, index=0, batch=4)
    rec = result.record
    net = doc.network("main")
    kinds = {net.node(i).type: r["kind"] for i, r in rec["forward"].items()}
    assert kinds["Conv2d"] == "image" and kinds["Flatten"] == "vector"
    conv = next(r for i, r in rec["forward"].items() if net.node(i).type == "Conv2d")
    assert len(conv["values"]) == 4 and len(conv["values"][0]) == 8  # 4 maps of 8×8
    assert rec["batch"] == 4 and rec["update"]["optimizer"] == "sgd"
    assert all(v > 0 for v in rec["backward"]["outputs"].values())
    assert set(rec["update"]["relative"]) == {n for n in rec["forward"]
                                              if net.node(n).type in
                                              ("Conv2d", "BatchNorm2d", "Linear")}
    old = state_dict_by_id(model.main)
    stepped = result.states["main"]
    bn = next(k for k in stepped if k.endswith("num_batches_tracked"))
    assert int(stepped[bn]) == int(model.main.state_dict()[bn]) + 1
    assert len(old) == len(stepped)


def test_a_sequence_model_step_shows_heat_maps_and_token_targets() -> None:
    doc = load_graph(EXAMPLES / "transformer_reverse.loom")
    model = inspect_model(doc)
    rec = walk_step(doc, model.training, model.networks, model.data, index=2).record
    kinds = [r["kind"] for r in rec["forward"].values()]
    assert kinds.count("sequence") >= 3
    assert rec["loss"]["target"].startswith("ids [") and "right" in rec["loss"]["prediction"]
    assert rec["update"]["loss_after"] < rec["update"]["loss_before"]


def test_a_gan_walks_its_discriminator_step() -> None:
    doc = load_graph(EXAMPLES / "gan_ring.loom")
    model = inspect_model(doc)
    result = walk_step(doc, model.training, model.networks, model.data, index=0, batch=8)
    rec = result.record
    assert rec["network"] == model.training.gan.discriminator
    assert "discriminator" in rec["note"] and "real" in rec["loss"]["name"]
    generator = model.networks[model.training.gan.generator]
    kept = result.states[model.training.gan.generator]
    assert all(torch.equal(kept[k], v) for k, v in generator.state_dict().items())


def test_failures_are_explained() -> None:
    doc = Document.new()
    b = NetworkBuilder(doc)
    h = b.add("BatchNorm1d", b.add("Linear", b.add("Input", shape=[2]), out_features=4))
    b.add("Output", b.add("Linear", h, out_features=2))
    from helpers import training

    doc.set_training(training(task="classification", data={"name": "moons"}))
    model = inspect_model(doc)
    with pytest.raises(StepError, match="batch of 2 or more"):
        walk_step(doc, model.training, model.networks, model.data, index=0, batch=1)
    with pytest.raises(StepError, match="samples 0 to"):
        walk_step(doc, model.training, model.networks, model.data, index=10**6)


def test_a_language_model_step_predicts_every_next_token(tmp_path: Path) -> None:
    from text_models import char_gpt, shakespeare_slice

    doc = char_gpt(shakespeare_slice(tmp_path, 3000), context=16)
    model = inspect_model(doc)
    rec = walk_step(doc, model.training, model.networks, model.data, index=4).record
    x, y = model.data.train_x[4:5], model.data.train_y[4:5]
    with torch.no_grad():
        scores = model.main(x)
    expected = F.cross_entropy(scores.reshape(-1, scores.shape[-1]), y.reshape(-1))
    assert _close(rec["loss"]["value"], float(expected))
    assert rec["loss"]["name"] == "cross-entropy (next token)"
    assert "of 16 right" in rec["loss"]["prediction"]
    net = doc.network("main")
    kinds = {net.node(i).label: r["kind"] for i, r in rec["forward"].items()}
    assert kinds["text"] == "vector" and kinds["embed"] == "sequence"
    assert rec["backward"]["params"]["n2"] > 0  # the embedding learns too
