"""Attention maps: the layer's own weights for the probe input, causal and padding masks
respected, the model's forward left as it was."""

from __future__ import annotations

import json
from pathlib import Path

import torch
from torch import nn

from graph.builder import NetworkBuilder
from graph.compile import compile_network
from graph.document import Document
from graph.fileformat import load_graph
from graph.modules import causal_mask
from runtime.inspect.attention import attention_record, attention_sites, attention_weights
from runtime.trainer import RunOptions, Trainer

EXAMPLES = Path(__file__).resolve().parents[2] / "resources" / "examples"


def _stack() -> Document:
    """A causal MultiheadAttention, a plain encoder layer, a causal encoder layer."""
    doc = Document.new("main")
    b = NetworkBuilder(doc, "main")
    h = b.add("Input", shape=[6, 8], label="x")
    h = b.add("MultiheadAttention", h, num_heads=2, causal=True, label="mha")
    h = b.add("TransformerEncoderLayer", h, nhead=2, dim_feedforward=16, label="enc")
    h = b.add("TransformerEncoderLayer", h, nhead=4, dim_feedforward=16, causal=True,
              label="gpt")
    b.add("Output", h, label="out")
    return doc


def _inputs(module: nn.Module, attrs: list[str], x: torch.Tensor) -> dict[str, torch.Tensor]:
    seen: dict[str, torch.Tensor] = {}

    def keep(attr: str) -> object:
        def hook(_m: nn.Module, args: tuple[torch.Tensor, ...], _out: object) -> None:
            seen[attr] = args[0]  # returns None: a hook's return value replaces the output

        return hook

    handles = [module.get_submodule(a).register_forward_hook(keep(a)) for a in attrs]
    with torch.no_grad():
        module(x)
    for h in handles:
        h.remove()
    return seen


def test_maps_are_the_layers_own_weights_and_sum_to_one_over_keys() -> None:
    torch.manual_seed(0)
    doc = _stack()
    module = compile_network(doc).eval()
    x = torch.randn(3, 6, 8)
    before = module(x)
    record = attention_record(module, x, doc)
    ids = {n.label: n.id for n in doc.network("main").nodes()}
    layers = {entry["node"]: torch.tensor(entry["weights"]) for entry in record["layers"]}
    assert list(layers) == [ids["mha"], ids["enc"], ids["gpt"]]
    assert record["samples"] == 3 and record["tokens"] is None and record["grid"] is None
    for weights in layers.values():
        assert torch.allclose(weights.sum(-1), torch.ones(weights.shape[:-1]), atol=1e-3)

    # the same weights from nn.MultiheadAttention itself, called on the layer's inputs
    seen = _inputs(module, ["mha", "enc", "gpt"], x)
    mha = module.get_submodule("mha").attn
    _, expected = mha(seen["mha"], seen["mha"], seen["mha"], attn_mask=causal_mask(seen["mha"]),
                      need_weights=True, average_attn_weights=False)
    assert torch.allclose(layers[ids["mha"]], expected, atol=1e-4)
    enc = module.get_submodule("enc")  # pre-norm: attention reads norm1(x)
    n = enc.norm1(seen["enc"])
    _, expected = enc.self_attn(n, n, n, need_weights=True, average_attn_weights=False)
    assert torch.allclose(layers[ids["enc"]], expected, atol=1e-4)
    assert not torch.allclose(layers[ids["enc"]], layers[ids["mha"]], atol=1e-2)

    # causal layers give no weight at all to later keys; the plain one does
    later = torch.triu(torch.ones(6, 6, dtype=torch.bool), diagonal=1)
    assert layers[ids["gpt"]].shape == (3, 4, 6, 6)
    for node in (ids["mha"], ids["gpt"]):
        assert float(layers[node][..., later].abs().max()) == 0.0
    assert float(layers[ids["enc"]][..., later].min()) > 0.0

    # the model's forward is untouched: no hooks left, same output, weights not asked for
    assert all(not site.module._forward_pre_hooks for site in attention_sites(module))
    assert torch.equal(module(x), before)


def test_padding_keys_get_no_attention() -> None:
    torch.manual_seed(0)
    doc = Document.new("main")
    b = NetworkBuilder(doc, "main")
    x = b.add("Input", shape=[5], kind="tokens", vocab_size=7, label="tokens")
    mask = b.add("PaddingMask", x, padding_idx=0, label="mask")
    h = b.add("Embedding", x, embedding_dim=8, label="embed")
    h = b.add("TransformerEncoderLayer", h, nhead=2, dim_feedforward=16, label="enc")
    doc.connect("main", mask, h, "mask")
    b.add("Output", b.add("SequencePool", h, label="pool"), label="out")
    module = compile_network(doc).eval()
    tokens = torch.tensor([[3, 4, 5, 0, 0], [1, 2, 3, 4, 6], [0, 0, 0, 0, 0]])
    record = attention_record(module, tokens, doc)
    weights = torch.tensor(record["layers"][0]["weights"])  # 3 × heads × 5 × 5
    assert float(weights[0, :, :, 3:].abs().max()) == 0.0  # padding keys of sample 1
    assert float(weights[1, :, :, 3:].min()) > 0.0  # sample 2 has none
    assert torch.allclose(weights[:2].sum(-1), torch.ones(2, 2, 5), atol=1e-3)
    assert float(weights[2].abs().max()) == 0.0  # all padding: nothing to attend to, no NaN
    assert record["tokens"][:2] == [["3", "4", "5", "0", "0"], ["1", "2", "3", "4", "6"]]


def test_a_vision_transformer_names_its_patches_and_keeps_the_probe_images() -> None:
    doc = load_graph(EXAMPLES / "transformer_digits.loom")
    torch.manual_seed(0)
    module = compile_network(doc).train()  # the probe must not depend on the mode left
    x = torch.rand(2, 1, 8, 8)
    found = attention_weights(module, x)
    assert module.training  # and it leaves the mode as it found it
    record = attention_record(module, x, doc)
    assert record["grid"] == [2, 2, 4]  # 8×8 in 4×4 patches
    assert torch.allclose(torch.tensor(record["images"]), x, atol=1e-4)
    assert [w.shape for _, w in found] == [torch.Size([2, 4, 4, 4])] * 2
    again = attention_record(module, x, doc)  # eval mode: dropout never changes the maps
    assert again["layers"] == record["layers"]


def test_a_run_streams_attention_maps() -> None:
    doc = load_graph(EXAMPLES / "transformer_digits.loom")
    events: list[dict] = []
    Trainer(doc, RunOptions(epochs=1, max_steps_per_epoch=1, step_interval=0),
            sink=events.append).run()
    maps = [e for e in events if e["type"] == "attention"]
    assert [e["epoch"] for e in maps] == [1]  # each epoch: the window's test sees two
    assert [entry["node"] for entry in maps[-1]["layers"]] == ["n5", "n6"]
    weights = torch.tensor(maps[-1]["layers"][0]["weights"])
    assert torch.allclose(weights.sum(-1), torch.ones(weights.shape[:-1]), atol=1e-3)


def test_long_sequences_are_cut_to_a_small_record() -> None:
    doc = Document.new("main")
    b = NetworkBuilder(doc, "main")
    h = b.add("Input", shape=[100, 8], label="x")
    for n in range(3):
        h = b.add("TransformerEncoderLayer", h, nhead=4, dim_feedforward=16, causal=True,
                  label=f"block {n}")
    b.add("Output", h, label="out")
    record = attention_record(compile_network(doc), torch.randn(4, 100, 8), doc)
    assert json.dumps(record).count(",") < 9_000  # a few thousand numbers
    assert record["samples"] == 1
    for entry in record["layers"]:
        weights = torch.tensor(entry["weights"])
        assert entry["queries"] == entry["keys"] == 100 and weights.shape == (1, 4, 25, 25)
        # a causal row's keys are all among the first positions: the cut loses none
        assert torch.allclose(weights.sum(-1), torch.ones(1, 4, 25), atol=1e-3)


def test_a_decoder_layer_shows_its_self_and_its_cross_attention() -> None:
    doc = Document.new("main")
    b = NetworkBuilder(doc, "main")
    x = b.add("Input", shape=[5, 8], label="x")
    memory = b.add("TransformerEncoderLayer", x, nhead=2, dim_feedforward=16, label="enc")
    dec = b.add("TransformerDecoderLayer", x, nhead=2, dim_feedforward=16, label="dec")
    doc.connect("main", memory, dec, "memory")
    b.add("Output", dec, label="out")
    torch.manual_seed(0)
    record = attention_record(compile_network(doc), torch.randn(2, 5, 8), doc)
    roles = [(entry["node"], entry["role"]) for entry in record["layers"]]
    assert roles == [(memory, ""), (dec, "self-attention"), (dec, "cross-attention")]
    own, cross = (torch.tensor(e["weights"]) for e in record["layers"][1:])
    later = torch.triu(torch.ones(5, 5, dtype=torch.bool), diagonal=1)
    assert float(own[..., later].abs().max()) == 0.0  # a decoder hides later positions
    assert float(cross[..., later].min()) > 0.0  # but sees all of the memory
