"""The compiler: compiled networks equal hand-written modules, errors name the node."""

from __future__ import annotations

import copy
import pickle
from collections.abc import Iterator
from typing import Any

import pytest
import torch
from models import MODELS, Model, copy_weights, mlp_doc, one_thread, randomise_state
from torch import nn

from graph.builder import NetworkBuilder
from graph.catalog import TensorSpec
from graph.compile import (
    CompileError,
    NodeRuntimeError,
    WeightsMismatch,
    compile_network,
    load_state_dict_by_id,
    locate_error,
    node_lines,
    run_with_node_errors,
    state_dict_by_id,
    unique_names,
)
from graph.document import Document
from graph.modules import init_weights
from graph.shapes import build_module, infer_network

IDS = [m.name for m in MODELS]


@pytest.fixture(autouse=True, scope="module")
def _single_thread() -> Iterator[None]:
    with one_thread():
        yield


def _pair(model: Model) -> tuple[nn.Module, nn.Module]:
    gm = compile_network(model.doc(), model.network)
    reference = model.reference()
    randomise_state(gm)
    copy_weights(gm, reference)
    return gm, reference


def _count(module: nn.Module, trainable: bool = False) -> int:
    return sum(p.numel() for p in module.parameters() if p.requires_grad or not trainable)


@pytest.mark.parametrize("model", MODELS, ids=IDS)
def test_compiled_equals_hand_written_module(model: Model) -> None:
    gm, reference = _pair(model)
    assert _count(gm) == _count(reference) > 0
    assert _count(gm, trainable=True) == _count(reference, trainable=True)
    xs = model.inputs(torch.Generator().manual_seed(1))
    gm.eval()
    reference.eval()
    with torch.no_grad():
        ours, theirs = gm(*xs), reference(*xs)
    assert ours.shape[0] == xs[0].shape[0]
    assert torch.equal(ours, theirs)


@pytest.mark.parametrize("model", MODELS, ids=IDS)
def test_training_step_equals_hand_written_module(model: Model) -> None:
    """Same dropout draws, batch statistics and gradients as the hand-written module."""
    gm, reference = _pair(model)
    xs = model.inputs(torch.Generator().manual_seed(2))
    outputs = []
    for module in (gm, reference):
        module.train()
        torch.manual_seed(7)
        out = module(*xs)
        out.square().mean().backward()
        outputs.append(out)
    assert torch.equal(outputs[0], outputs[1])
    for a, b in zip(gm.parameters(), reference.parameters(), strict=True):
        assert a.grad is not None and b.grad is not None
        assert torch.equal(a.grad, b.grad)


@pytest.mark.parametrize("model", MODELS, ids=IDS)
def test_inferred_shapes_match_torch_on_every_edge(model: Model) -> None:
    doc = model.doc()
    net = doc.network(model.network)
    shapes = infer_network(net)
    gm = compile_network(doc, model.network)
    seen: dict[str, tuple[torch.Size, torch.dtype]] = {}

    def record(name: str) -> Any:
        def hook(module: nn.Module, args: Any, out: torch.Tensor) -> None:
            seen[gm.node_ids[name]] = (out.shape, out.dtype)
        return hook

    for name, child in gm.named_children():
        child.register_forward_hook(record(name))
    xs = model.inputs(torch.Generator().manual_seed(3))
    for node_id, x in zip(gm.input_ids, xs, strict=True):
        seen[node_id] = (x.shape, x.dtype)
    gm.eval()
    with torch.no_grad():
        gm(*xs)
    edges = net.edges()
    assert edges and {e.source for e in edges} <= set(seen)
    for e in edges:
        spec = shapes[e.source].out
        assert spec is not None
        shape, dtype = seen[e.source]
        assert (x.shape[0], *spec.shape) == tuple(shape), net.node(e.source).label
        assert (spec.dtype == "long") == (dtype == torch.long)


def test_compiled_module_is_only_plain_submodule_calls() -> None:
    gm = compile_network(mlp_doc())
    ops = [n.op for n in gm.graph.nodes]
    assert set(ops) == {"placeholder", "call_module", "output"}
    assert ops.count("call_module") == len(dict(gm.named_children())) == 7
    assert type(gm.fc1) is nn.Linear and type(gm.act1) is nn.ReLU
    assert "def forward(self, x : torch.Tensor)" in gm.code
    assert type(gm).__name__ == "Main"


def test_init_and_trainable_are_honoured() -> None:
    doc = Document.new()
    b = NetworkBuilder(doc)
    x = b.add("Input", shape=[256])
    for scheme in ("default", "xavier", "kaiming", "normal"):
        x = b.add("Linear", x, out_features=256, init=scheme, label=scheme)
    x = b.add("Linear", x, out_features=4, trainable=False, label="frozen")
    b.add("Output", x)
    torch.manual_seed(0)
    gm = compile_network(doc)
    bound = (6 / 512) ** 0.5
    assert gm.default.bias.abs().sum() > 0
    assert gm.xavier.weight.abs().max() <= bound and gm.xavier.weight.std() > 0.8 * bound / 3**0.5
    assert abs(gm.kaiming.weight.std().item() - (2 / 256) ** 0.5) < 0.005
    assert abs(gm.normal.weight.std().item() - 0.02) < 0.001
    for name in ("xavier", "kaiming", "normal"):
        assert torch.count_nonzero(getattr(gm, name).bias) == 0
    assert not any(p.requires_grad for p in gm.frozen.parameters())
    assert all(p.requires_grad for p in gm.normal.parameters())


def test_compiler_initialises_with_the_init_weights_the_code_copies() -> None:
    doc = Document.new()
    b = NetworkBuilder(doc)
    conv = b.add("Conv2d", b.add("Input", shape=[3, 6, 6]), out_channels=8)
    node = doc.network("main").node(conv)
    for scheme in ("default", "xavier", "kaiming", "normal"):
        doc.set_param("main", conv, "init", scheme)
        torch.manual_seed(5)
        built = build_module(node, [TensorSpec((3, 6, 6))])
        torch.manual_seed(5)
        plain = nn.Conv2d(3, 8, 3, padding=1)
        init_weights(plain, scheme)
        assert all(torch.equal(p, q)
                   for p, q in zip(built.parameters(), plain.parameters(), strict=True))


def test_renaming_keeps_weights_keyed_by_node_id() -> None:
    doc = mlp_doc()
    net = doc.network("main")
    gm = compile_network(doc)
    randomise_state(gm)
    saved = state_dict_by_id(gm)
    assert {k.split(".")[0] for k in saved} == {net.by_label(n).id for n in ("fc1", "fc2", "head")}
    doc.set_label("main", net.by_label("fc1").id, "First Layer")
    renamed = compile_network(doc)
    assert hasattr(renamed, "first_layer") and not hasattr(renamed, "fc1")
    assert set(state_dict_by_id(renamed)) == set(saved)
    assert load_state_dict_by_id(renamed, saved) == ([], [])
    x = torch.randn(3, 8)
    gm.eval()
    renamed.eval()
    assert torch.equal(gm(x), renamed(x))


def test_loading_weights_of_unknown_nodes() -> None:
    gm = compile_network(mlp_doc())
    state = dict(state_dict_by_id(gm))
    state["n99.weight"] = torch.zeros(1)
    dropped = next(k for k in state if k.endswith(".bias"))
    del state[dropped]
    with pytest.raises(KeyError, match=r"n99\.weight"):
        load_state_dict_by_id(gm, state)
    assert load_state_dict_by_id(gm, state, strict=False) == ([dropped], ["n99.weight"])


def test_copies_and_pickles_keep_the_node_map() -> None:
    gm = compile_network(mlp_doc())
    for other in (copy.deepcopy(gm), pickle.loads(pickle.dumps(gm))):
        assert other.node_ids == gm.node_ids and other.input_ids == gm.input_ids
        assert set(state_dict_by_id(other)) == set(state_dict_by_id(gm))


def test_arguments_follow_creation_order_and_labels_become_names() -> None:
    doc = Document.new()
    b = NetworkBuilder(doc)
    first = b.add("Input", shape=[4], label="zeta")
    second = b.add("Input", shape=[4], label="alpha")
    total = b.add("Add", second, first, label="eval")
    b.add("Output", b.add("Linear", total, out_features=2, label="1st Conv-Block"))
    gm = compile_network(doc)
    assert gm.input_ids == (first, second)
    assert "def forward(self, zeta : torch.Tensor, alpha : torch.Tensor)" in gm.code
    assert set(gm.node_ids) == {"eval_1", "layer_1st_conv_block"}
    x, y = torch.randn(2, 4), torch.randn(2, 4)
    assert torch.equal(gm(x, y), gm.layer_1st_conv_block(x + y))


def test_unique_names_are_legal_and_distinct() -> None:
    labels = ["fc 1", "fc_1", "forward", "input", "ConvBlock", "myLSTM", "", "é", "class", "x"]
    names = unique_names(labels)
    assert names == ["fc_1", "fc_1_1", "forward_1", "input_1", "conv_block", "my_lstm", "layer",
                     "layer_1", "class_1", "x"]
    assert all(n.isidentifier() for n in names)


def _broken(kind: str) -> Document:
    doc = Document.new()
    b = NetworkBuilder(doc)
    x = b.add("Input", shape=[8], label="x")
    if kind == "unwired":
        b.add("Output", b.add("Linear", label="fc1"), label="out")
    elif kind == "shape":
        b.add("Output", b.add("Conv2d", x, label="conv"), label="out")
    elif kind == "two outputs":
        b.add("Output", x, label="a")
        b.add("Output", x, label="b")
    elif kind == "bad param":
        b.add("Output", b.add("Linear", x, out_features=0, label="fc1"), label="out")
    return doc


@pytest.mark.parametrize(("kind", "message"), [
    ("unwired", "Linear 'fc1': input 'x' is not connected"),
    ("shape", "Conv2d 'conv': expects images shaped C×H×W but receives N×8"),
    ("no output", "network 'main' has no Output"),
    ("two outputs", "network 'main' has 2 Outputs ('a', 'b'); keep exactly one"),
    ("bad param", "Linear 'fc1': parameter 'out_features' must be at least 1, got 0"),
])
def test_invalid_networks_raise_compile_error_naming_the_node(kind: str, message: str) -> None:
    with pytest.raises(CompileError) as info:
        compile_network(_broken(kind))
    assert isinstance(info.value, ValueError)
    assert str(info.value).startswith(message)


def test_a_loop_is_reported_by_label() -> None:
    doc = mlp_doc()
    net = doc.network("main")
    # Document.connect refuses loops; a hand-edited file could still hold one.
    net.graph.add_edge(net.by_label("fc2").id, net.by_label("fc1").id, ports=("x",))
    with pytest.raises(CompileError, match="form a loop"):
        compile_network(doc)


def test_a_branch_that_leads_nowhere_is_left_out() -> None:
    doc = mlp_doc()
    b = NetworkBuilder(doc)
    b.add("Conv2d", doc.network("main").by_label("x").id, label="dangling")  # would not infer
    gm = compile_network(doc)
    assert "dangling" not in gm.node_ids


def test_runtime_error_names_the_node() -> None:
    gm = compile_network(mlp_doc())
    with pytest.raises(NodeRuntimeError) as info:
        run_with_node_errors(gm, torch.randn(2, 5))
    assert str(info.value).startswith("Linear 'fc1': mat1 and mat2 shapes cannot be multiplied")
    assert info.value.node_id == gm.node_ids["fc1"]
    assert isinstance(info.value.__cause__, RuntimeError)
    try:
        gm(torch.randn(2, 8), torch.randn(2, 8))  # a call error, in no layer
    except TypeError as exc:
        assert locate_error(gm, exc) is None
    out = run_with_node_errors(gm.eval(), torch.ones(2, 8))
    assert torch.equal(out, gm(torch.ones(2, 8)))


@pytest.mark.parametrize("model", MODELS, ids=IDS)
def test_code_lines_map_to_nodes(model: Model) -> None:
    gm = compile_network(model.doc(), model.network)
    lines = node_lines(gm)
    code = gm.code.splitlines()
    assert sorted(lines.values()) == sorted(gm.node_ids.values())
    for attr, node_id in gm.node_ids.items():  # each node's line is the one calling it
        (number,) = [n for n, i in lines.items() if i == node_id]
        assert f" = self.{attr}(" in code[number - 1]


def test_a_plain_state_dict_loads_by_position_and_names_the_first_mismatch() -> None:
    import graph

    model = MODELS[1]  # the CNN: convolutions, norms with running statistics, linear head
    gm = compile_network(model.doc(), model.network)
    reference = model.reference()
    randomise_state(reference, seed=3)
    where = graph.load_torch_state_dict(gm, reference.state_dict())
    assert len(where) == len(reference.state_dict())
    xs = model.inputs(torch.Generator().manual_seed(1))
    gm.eval()
    reference.eval()
    torch.testing.assert_close(gm(*xs), reference(*xs), rtol=0, atol=1e-6)

    shuffled = dict(reversed(list(reference.state_dict().items())))
    before = {k: v.clone() for k, v in gm.state_dict().items()}
    with pytest.raises(WeightsMismatch, match=r"tensor 1: the state_dict's '[\w.]+' is"):
        graph.load_torch_state_dict(gm, shuffled)
    with pytest.raises(WeightsMismatch, match="holds 1 tensors but the network has"):
        graph.load_torch_state_dict(gm, dict(list(shuffled.items())[:1]))
    for key, value in gm.state_dict().items():  # a refused load copies nothing
        assert torch.equal(value, before[key])
