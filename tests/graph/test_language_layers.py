"""Catalog pieces for language models: a context length free at run time, Squeeze and
Unsqueeze, padding masks, and the 'normal' / 'uniform' initialisations with their
parameters."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from torch import nn

from graph.builder import NetworkBuilder
from graph.catalog import TensorSpec
from graph.codegen import generate_code
from graph.compile import compile_network
from graph.document import Document
from graph.fileformat import load_graph, loads, save_graph
from graph.modules import init_weights
from graph.shapes import build_module, infer_network
from graph.validate import validate

DATA = Path(__file__).resolve().parents[1] / "data"
VOCAB = 13


def _generated(doc: Document, module: nn.Module) -> nn.Module:
    namespace: dict[str, object] = {}
    exec(compile(generate_code(doc, class_name="Generated"), "<generated>", "exec"), namespace)
    generated: nn.Module = namespace["Generated"]()  # type: ignore[operator]
    generated.load_state_dict(module.state_dict())
    return generated.eval()


# -- a context length free at run time ------------------------------------------------
def _gpt(kind: str) -> Document:
    """A decoder-only model drawn for a context of 128 tokens."""
    doc = Document.new()
    b = NetworkBuilder(doc)
    x = b.add("Input", shape=[128], kind="tokens", vocab_size=VOCAB, label="tokens")
    h = b.add("Embedding", x, embedding_dim=8, label="embed")
    h = b.add("PositionalEncoding", h, kind=kind, label="position")
    h = b.add("TransformerEncoderLayer", h, nhead=2, dim_feedforward=16, causal=True,
              label="block")
    h = b.add("MultiheadAttention", h, num_heads=2, causal=True, label="attention")
    b.add("Output", b.add("Linear", h, out_features=VOCAB, label="head"), label="logits")
    return doc


@pytest.mark.parametrize("kind", ["learned", "sinusoidal"])
def test_a_model_built_for_context_128_runs_on_contexts_1_7_and_128(kind: str) -> None:
    torch.manual_seed(0)
    doc = _gpt(kind)
    module = compile_network(doc).eval()
    generated = _generated(doc, module)
    tokens = torch.randint(0, VOCAB, (2, 128))
    with torch.no_grad():
        full = module(tokens)
        for length in (1, 7, 128):
            ours = module(tokens[:, :length])
            assert ours.shape == (2, length, VOCAB)
            # causal: a prefix gives the first outputs of the whole sequence
            torch.testing.assert_close(ours, full[:, :length], rtol=0, atol=1e-5)
            torch.testing.assert_close(generated(tokens[:, :length]), ours, rtol=0, atol=1e-6)


def test_a_learned_position_table_keeps_the_longest_context_and_slices_it() -> None:
    module = compile_network(_gpt("learned"))
    assert module.position.table.shape == (1, 128, 8)
    x = torch.randn(2, 7, 8)
    assert torch.equal(module.position(x), x + module.position.table[:, :7])


# -- Squeeze / Unsqueeze ----------------------------------------------------------
def _one_layer(layer: str, shape: list[int], **params: object) -> Document:
    doc = Document.new()
    b = NetworkBuilder(doc)
    b.add("Output", b.add(layer, b.add("Input", shape=shape, label="x"), label="subject",
                          **params), label="out")
    return doc


@pytest.mark.parametrize(("layer", "shape", "dim", "out", "plain"), [
    ("Squeeze", [5, 1], -1, (5,), lambda x: x.squeeze(2)),
    ("Squeeze", [1, 3, 4], 0, (3, 4), lambda x: x.squeeze(1)),
    ("Unsqueeze", [5], 1, (5, 1), lambda x: x.unsqueeze(2)),
    ("Unsqueeze", [3, 4], -3, (1, 3, 4), lambda x: x.unsqueeze(-3)),
])
def test_squeeze_and_unsqueeze_count_dims_within_a_sample(
        layer: str, shape: list[int], dim: int, out: tuple[int, ...], plain: object) -> None:
    doc = _one_layer(layer, shape, dim=dim)
    subject = doc.network("main").by_label("subject")
    assert subject is not None
    assert infer_network(doc.network("main"))[subject.id].out == TensorSpec(out)
    x = torch.randn(3, *shape)
    module = compile_network(doc)
    assert torch.equal(module(x), plain(x))  # type: ignore[operator]
    assert torch.equal(_generated(doc, module)(x), module(x))


def test_squeezing_a_dimension_that_is_not_1_is_a_located_error() -> None:
    problems = validate(_one_layer("Squeeze", [5, 3], dim=0))
    assert [p.message for p in problems if p.is_error] == [
        "Squeeze 'subject' can only remove a dimension of size 1, but dim 0 of N×5×3 has "
        "size 5; pick the dim whose size is 1"]
    problems = validate(_one_layer("Unsqueeze", [5, 3], dim=3))
    assert any("dim 3 cannot be inserted into N×5×3 (valid: -3…2" in p.message
               for p in problems)


# -- padding masks --------------------------------------------------------------------
PAD = 0


def _classifier(length: int, mode: str) -> Document:
    """A text classifier that ignores padding: tokens → embed → encoder → pool → head."""
    doc = Document.new()
    b = NetworkBuilder(doc)
    x = b.add("Input", shape=[length], kind="tokens", vocab_size=VOCAB, label="tokens")
    mask = b.add("PaddingMask", x, padding_idx=PAD, label="mask")
    h = b.add("Embedding", x, embedding_dim=8, label="embed")
    h = b.add("PositionalEncoding", h, label="position")
    net = doc.network("main")
    h = b.add("TransformerEncoderLayer", h, nhead=2, dim_feedforward=16, label="encoder")
    doc.connect("main", mask, h, "mask")
    h = b.add("TransformerEncoderLayer", h, nhead=2, dim_feedforward=16, label="encoder2")
    doc.connect("main", mask, h, "mask")
    pool = b.add("SequencePool", h, mode=mode, label="pool")
    doc.connect("main", mask, pool, "mask")
    b.add("Output", b.add("Linear", pool, out_features=3, label="head"), label="out")
    assert net.source_of(pool, "mask") == mask
    return doc


@pytest.mark.parametrize("mode", ["mean", "last"])
def test_a_padded_sequence_is_classified_the_same_whatever_its_padding(mode: str) -> None:
    torch.manual_seed(0)
    doc = _classifier(12, mode)
    module = compile_network(doc).eval()
    generated = _generated(doc, module)
    real = torch.tensor([[4, 7, 1, 9, 3], [2, 5, 8, 11, 6]])
    with torch.no_grad():
        alone = module(real)
        for padding in (1, 4, 7):
            padded = torch.cat((real, torch.full((2, padding), PAD)), dim=1)
            torch.testing.assert_close(module(padded), alone, rtol=0, atol=1e-6)
            torch.testing.assert_close(generated(padded), alone, rtol=0, atol=1e-6)
        # a shorter sentence in the same batch is not disturbed by its padding either
        short = torch.tensor([[4, 7, PAD, PAD, PAD]])
        torch.testing.assert_close(module(short)[0], module(real[:1, :2])[0], rtol=0,
                                   atol=1e-6)
    unmasked = compile_network(_classifier(12, mode)).eval()
    unmasked.load_state_dict(module.state_dict())
    with torch.no_grad():  # the masks are what makes the difference
        assert not torch.allclose(module(torch.cat((real, torch.zeros(2, 4, dtype=torch.long)),
                                                   dim=1)), _unmasked(unmasked, real), atol=1e-3)


def _unmasked(module: nn.Module, real: torch.Tensor) -> torch.Tensor:
    """The classifier's layers run on the padded tokens without any mask."""
    padded = torch.cat((real, torch.zeros(2, 4, dtype=torch.long)), dim=1)
    h = module.position(module.embed(padded))
    h = nn.TransformerEncoderLayer.forward(module.encoder, h)
    h = nn.TransformerEncoderLayer.forward(module.encoder2, h)
    pooled = h.mean(dim=1) if module.pool.mode == "mean" else h[:, -1]
    return module.head(pooled)


def test_a_mask_of_the_wrong_length_or_raw_tokens_on_mask_are_located_errors() -> None:
    doc = Document.new()
    b = NetworkBuilder(doc)
    x = b.add("Input", shape=[6], kind="tokens", vocab_size=VOCAB, label="tokens")
    other = b.add("Input", shape=[4], kind="tokens", vocab_size=VOCAB, label="other")
    h = b.add("Embedding", x, embedding_dim=8, label="embed")
    pool = b.add("SequencePool", h, label="pool")
    doc.connect("main", b.add("PaddingMask", other, label="mask"), pool, "mask")
    encoder = b.add("TransformerEncoderLayer", h, nhead=2, label="encoder")
    doc.connect("main", x, encoder, "mask")
    b.add("Output", b.add("Add", pool, b.add("SequencePool", encoder, label="p2")), label="out")
    messages = [p.message for p in validate(doc) if p.is_error]
    assert ("SequencePool 'pool' needs a mask with one value per position (N×6) but its mask "
            "is N×4: wire in the PaddingMask of the tokens this sequence comes from") in messages
    assert ("TransformerEncoderLayer 'encoder' receives token ids on 'mask': put a PaddingMask "
            "between the tokens and 'mask'") in messages


def test_a_padding_mask_survives_save_and_load(tmp_path: Path) -> None:
    doc = _classifier(12, "mean")
    save_graph(doc, tmp_path / "text.loom")
    again = load_graph(tmp_path / "text.loom")
    pool = again.network("main").by_label("pool")
    mask = again.network("main").by_label("mask")
    assert pool is not None and mask is not None
    assert again.network("main").source_of(pool.id, "mask") == mask.id
    torch.manual_seed(0)
    a = compile_network(doc).eval()
    b = compile_network(again).eval()
    b.load_state_dict(a.state_dict())
    tokens = torch.tensor([[3, 4, PAD, PAD]])
    with torch.no_grad():
        assert torch.equal(a(tokens), b(tokens))


# -- initialisations --------------------------------------------------------------
def _norm_net(**params: object) -> Document:
    doc = Document.new()
    b = NetworkBuilder(doc)
    h = b.add("BatchNorm1d", b.add("Input", shape=[20000], label="x"), label="bn", **params)
    b.add("Output", h, label="out")
    return doc


def test_normal_init_draws_a_norm_scale_around_its_mean_like_dcgan() -> None:
    torch.manual_seed(0)
    bn = compile_network(_norm_net(init="normal")).bn  # init_mean defaults to 1 here
    assert abs(bn.weight.mean().item() - 1.0) < 0.002
    assert abs(bn.weight.std().item() - 0.02) < 0.002
    assert torch.count_nonzero(bn.bias) == 0
    bn = compile_network(_norm_net(init="normal", init_mean=0.5, init_std=0.1)).bn
    assert abs(bn.weight.mean().item() - 0.5) < 0.005
    assert abs(bn.weight.std().item() - 0.1) < 0.005


def test_uniform_init_draws_within_plus_minus_its_bound() -> None:
    torch.manual_seed(0)
    doc = Document.new()
    b = NetworkBuilder(doc)
    h = b.add("Linear", b.add("Input", shape=[200], label="x"), out_features=300,
              init="uniform", init_bound=0.25, label="fc")
    b.add("Output", h, label="out")
    fc = compile_network(doc).fc
    assert fc.weight.abs().max().item() <= 0.25
    assert fc.weight.abs().max().item() > 0.249  # 60,000 draws reach the edge
    assert abs(fc.weight.std().item() - 0.25 / 3 ** 0.5) < 0.002
    assert torch.count_nonzero(fc.bias) == 0


@pytest.mark.parametrize("params", [
    {"init": "normal", "init_mean": 0.3, "init_std": 0.05},
    {"init": "uniform", "init_bound": 0.2},
])
def test_compile_and_code_initialise_alike(params: dict[str, object]) -> None:
    doc = Document.new()
    b = NetworkBuilder(doc)
    conv = b.add("Conv2d", b.add("Input", shape=[3, 6, 6]), out_channels=8, **params)
    node = doc.network("main").node(conv)
    torch.manual_seed(5)
    built = build_module(node, [TensorSpec((3, 6, 6))])
    torch.manual_seed(5)
    plain = nn.Conv2d(3, 8, 3, padding=1)
    init_weights(plain, str(params["init"]), mean=float(params.get("init_mean", 0.0)),
                 std=float(params.get("init_std", 0.02)),
                 bound=float(params.get("init_bound", 0.1)))
    assert all(torch.equal(p, q) for p, q in zip(built.parameters(), plain.parameters(),
                                                  strict=True))
    b.add("Output", conv)
    source = generate_code(doc)
    expected = ('"normal", mean=0.3, std=0.05' if params["init"] == "normal"
                else '"uniform", bound=0.2')
    assert f"init_weights(self.conv2d1, {expected})" in source


def test_a_norm_layer_of_version_1_keeps_its_normal_init_meaning(tmp_path: Path) -> None:
    """Version 1's 'normal' left a norm layer's scale at 1 and drew only the others."""
    doc = load_graph(DATA / "batchnorm_normal_init_v1.loom")
    net = doc.network("main")
    bn, conv = net.by_label("bn"), net.by_label("conv")
    assert bn is not None and conv is not None
    assert (bn.params["init_mean"], bn.params["init_std"]) == (1.0, 0.0)
    assert (conv.params["init_mean"], conv.params["init_std"]) == (0.0, 0.02)
    torch.manual_seed(0)
    module = compile_network(doc)
    assert torch.equal(module.bn.weight, torch.ones(16))
    assert abs(module.conv.weight.std().item() - 0.02) < 0.002
    save_graph(doc, tmp_path / "again.loom")
    again = loads((tmp_path / "again.loom").read_text(encoding="utf-8"))
    node = again.network("main").by_label("bn")
    assert node is not None and node.params == bn.params


def test_an_embedding_padding_vector_stays_zero_and_untrained_whatever_the_init() -> None:
    for init in ("default", "normal", "uniform", "xavier"):
        doc = Document.new()
        b = NetworkBuilder(doc)
        x = b.add("Input", shape=[4], kind="tokens", vocab_size=VOCAB, label="tokens")
        b.add("Output", b.add("Embedding", x, embedding_dim=6, padding_idx=3, init=init,
                              label="embed"), label="out")
        module = compile_network(doc)
        assert module.embed.padding_idx == 3
        assert torch.count_nonzero(module.embed.weight[3]) == 0, init
        assert torch.count_nonzero(module.embed.weight) == (VOCAB - 1) * 6, init
        module(torch.tensor([[3, 1, 3, 2]])).sum().backward()
        assert torch.count_nonzero(module.embed.weight.grad[3]) == 0
        assert "padding_idx=3" in generate_code(doc)
    embed = doc.network("main").by_label("embed")
    assert embed is not None
    doc.set_param("main", embed.id, "padding_idx", VOCAB)
    assert [p.message for p in validate(doc) if p.is_error] == [
        f"Embedding 'embed' has padding_idx {VOCAB}, which is not a token id of its vocabulary "
        f"(0…{VOCAB - 1}); set it below {VOCAB}, or -1 for none"]
