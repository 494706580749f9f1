"""Weight tying: a Linear that reads its weight from an Embedding is one tensor after
compile, after save/load (graph and weights) and in generated code; counted once; a tie
that cannot hold is a located error."""

from __future__ import annotations

from pathlib import Path

import torch
from safetensors.torch import save_file
from torch import nn

from graph.builder import NetworkBuilder
from graph.codegen import generate_code
from graph.commands import History, Paste, Rename, SetParam
from graph.compile import (
    CompileError,
    compile_network,
    load_state_dict_by_id,
    state_dict_by_id,
)
from graph.document import Document
from graph.fileformat import load_graph, save_graph
from graph.memory import BYTES_PER_VALUE, estimate_memory
from graph.summary import summarize
from graph.validate import validate

VOCAB, WIDTH = 17, 8


def tied_doc(out_features: int = VOCAB, width: int = WIDTH) -> Document:
    """tokens → embed → encoder → head, the head's weight tied to the embedding."""
    doc = Document.new()
    b = NetworkBuilder(doc)
    x = b.add("Input", shape=[6], kind="tokens", vocab_size=VOCAB, label="tokens")
    e = b.add("Embedding", x, embedding_dim=WIDTH, label="embed")
    h = b.add("TransformerEncoderLayer", e, nhead=2, dim_feedforward=16, causal=True,
              label="block")
    if width != WIDTH:
        h = b.add("Linear", h, out_features=width, label="narrow")
    b.add("Output", b.add("Linear", h, out_features=out_features, tie_weight_to=e,
                          label="head"), label="logits")
    return doc


class PlainTied(nn.Module):
    """The same network written with plain torch, tied the usual way."""

    def __init__(self) -> None:
        super().__init__()
        self.embed = nn.Embedding(VOCAB, WIDTH)
        self.block = nn.TransformerEncoderLayer(WIDTH, 2, 16, batch_first=True, norm_first=True)
        self.head = nn.Linear(WIDTH, VOCAB)
        self.head.weight = self.embed.weight

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        mask = nn.Transformer.generate_square_subsequent_mask(x.shape[1])
        return self.head(self.block(self.embed(x), src_mask=mask))


def test_compile_shares_one_parameter_and_equals_plain_torch() -> None:
    torch.manual_seed(0)
    module = compile_network(tied_doc()).eval()
    assert module.head.weight is module.embed.weight
    assert len(list(module.parameters())) == len(module.state_dict()) - 1
    plain = PlainTied().eval()
    with torch.no_grad():
        plain.embed.weight.copy_(module.embed.weight)
        plain.head.bias.copy_(module.head.bias)
        for p, q in zip(plain.block.parameters(), module.block.layer.parameters(), strict=True):
            p.copy_(q)
    x = torch.randint(0, VOCAB, (3, 6))
    with torch.no_grad():
        torch.testing.assert_close(module(x), plain(x), rtol=0, atol=1e-6)
    # a training step moves the one tensor for both uses
    module.train()
    module(x).sum().backward()
    torch.optim.SGD(module.parameters(), lr=0.1).step()
    assert module.head.weight is module.embed.weight


def test_weights_are_saved_once_and_load_back_tied(tmp_path: Path) -> None:
    doc = tied_doc()
    net = doc.network("main")
    embed, head = net.by_label("embed"), net.by_label("head")
    assert embed is not None and head is not None
    torch.manual_seed(0)
    module = compile_network(doc)
    state = state_dict_by_id(module)
    assert f"{embed.id}.weight" in state and f"{head.id}.weight" not in state
    save_file({k: v.contiguous() for k, v in state.items()}, tmp_path / "w.safetensors")
    save_graph(doc, tmp_path / "tied.loom")
    again = load_graph(tmp_path / "tied.loom")
    assert again.network("main").node(head.id).params["tie_weight_to"] == embed.id
    torch.manual_seed(1)
    loaded = compile_network(again)
    from safetensors.torch import load_file

    result = load_state_dict_by_id(loaded, load_file(tmp_path / "w.safetensors"))
    assert result == ([], [])
    assert loaded.head.weight is loaded.embed.weight
    assert torch.equal(loaded.head.weight, module.embed.weight)
    # the Linear's own copy of the weight (from an untied past) is not taken silently
    stale = {**state, f"{head.id}.weight": torch.zeros(VOCAB, WIDTH)}
    assert load_state_dict_by_id(loaded, stale, strict=False).unexpected == [f"{head.id}.weight"]
    assert torch.equal(loaded.embed.weight, module.embed.weight)


def test_generated_code_keeps_the_tie_and_loads_weights_saved_once(tmp_path: Path) -> None:
    doc = tied_doc()
    torch.manual_seed(0)
    module = compile_network(doc).eval()
    source = generate_code(doc, class_name="Tied")
    assert "self.head.weight = self.embed.weight  # tied: one tensor" in source
    namespace: dict[str, object] = {}
    exec(compile(source, "<generated>", "exec"), namespace)
    model: nn.Module = namespace["Tied"]()  # type: ignore[operator]
    assert model.head.weight is model.embed.weight
    save_file({k: v.contiguous() for k, v in state_dict_by_id(module).items()},
              tmp_path / "w.safetensors")
    namespace["load_weights"](model, str(tmp_path / "w.safetensors"))  # type: ignore[operator]
    assert model.head.weight is model.embed.weight
    x = torch.randint(0, VOCAB, (2, 6))
    with torch.no_grad():
        assert torch.equal(model.eval()(x), module(x))


def test_the_summary_counts_a_tied_weight_once() -> None:
    doc = tied_doc()
    rows = {r.label: r for r in summarize(doc, "main")}
    assert rows["head"].params == VOCAB  # its bias only
    assert rows["embed"].params == VOCAB * WIDTH
    module = compile_network(doc)
    assert sum(r.params for r in rows.values()) == sum(p.numel() for p in module.parameters())


def test_the_tie_follows_renames_and_undo() -> None:
    doc = tied_doc()
    net = doc.network("main")
    embed, head = net.by_label("embed"), net.by_label("head")
    assert embed is not None and head is not None
    history = History(doc)
    history.push(Rename("main", embed.id, "token table"))
    module = compile_network(doc)
    assert module.head.weight is module.token_table.weight
    history.push(SetParam("main", head.id, "tie_weight_to", ""))
    module = compile_network(doc)
    assert module.head.weight is not module.token_table.weight
    history.undo()
    assert net.node(head.id).params["tie_weight_to"] == embed.id


def test_a_tie_that_cannot_hold_is_a_located_error() -> None:
    doc = tied_doc(out_features=5)
    net = doc.network("main")
    head = net.by_label("head")
    assert head is not None
    errors = [d for d in validate(doc) if d.is_error]
    assert [(d.node, d.message) for d in errors] == [(head.id, (
        "Linear 'head' ties its weight to Embedding 'embed', whose table is 17×8 (vocabulary "
        "× width), but its own weight would be 5×8 (out_features × input features): set "
        "out_features to 17 and feed it 8 features, or clear 'tie_weight_to'"))]
    try:
        compile_network(doc)
    except CompileError as exc:
        assert exc.node_id == head.id and str(exc) == errors[0].message
    else:
        raise AssertionError("a broken tie compiled")
    assert [d.is_error for d in validate(tied_doc(width=4))] == [True]


def test_a_tie_to_a_missing_or_wrong_node_is_a_located_error() -> None:
    doc = tied_doc()
    net = doc.network("main")
    head, block = net.by_label("head"), net.by_label("block")
    assert head is not None and block is not None
    doc.set_param("main", head.id, "tie_weight_to", block.id)
    assert [d.message for d in validate(doc) if d.is_error] == [
        "Linear 'head' ties its weight to TransformerEncoderLayer 'block', which is not an "
        "Embedding: choose an Embedding in its 'tie_weight_to' or clear it"]
    doc.set_param("main", head.id, "tie_weight_to", "n99")
    assert [d.message for d in validate(doc) if d.is_error] == [
        "Linear 'head' ties its weight to node 'n99', which is not in network 'main': choose "
        "an Embedding in its 'tie_weight_to' or clear it"]


def test_a_pasted_pair_is_tied_to_its_own_copy_and_a_lone_copy_to_the_original() -> None:
    doc = tied_doc()
    net = doc.network("main")
    embed, head = net.by_label("embed"), net.by_label("head")
    assert embed is not None and head is not None
    history = History(doc)
    pair = Paste("main", net.to_data([embed.id, head.id]))
    history.push(pair)
    copies = {net.node(i).type: net.node(i) for i in pair.added}
    assert copies["Linear"].params["tie_weight_to"] == copies["Embedding"].id != embed.id
    history.undo()
    history.redo()  # the same ids again, still tied to each other
    assert net.node(copies["Linear"].id).params["tie_weight_to"] == copies["Embedding"].id
    lone = Paste("main", net.to_data([head.id]))
    history.push(lone)
    assert net.node(lone.added[0]).params["tie_weight_to"] == embed.id


def test_the_memory_estimate_stores_a_tied_weight_once() -> None:
    doc = tied_doc()
    head = doc.network("main").by_label("head")
    assert head is not None
    tied = estimate_memory(doc)
    doc.set_param("main", head.id, "tie_weight_to", "")
    untied = estimate_memory(doc)
    assert untied.weights - tied.weights == VOCAB * WIDTH * BYTES_PER_VALUE
    assert untied.gradients - tied.gradients == VOCAB * WIDTH * BYTES_PER_VALUE


def test_a_tie_to_an_embedding_that_does_not_feed_the_output_is_a_located_error() -> None:
    doc = Document.new()
    b = NetworkBuilder(doc)
    x = b.add("Input", shape=[6], kind="tokens", vocab_size=VOCAB, label="tokens")
    unused = b.add("Embedding", x, embedding_dim=WIDTH, label="unused")
    h = b.add("Embedding", x, embedding_dim=WIDTH, label="embed")
    head = b.add("Linear", h, out_features=VOCAB, tie_weight_to=unused, label="head")
    b.add("Output", head, label="logits")
    message = ("Linear 'head' ties its weight to Embedding 'unused', which does not feed the "
               "Output: wire the Embedding into the network or clear 'tie_weight_to'")
    assert [(d.node, d.message) for d in validate(doc) if d.is_error] == [(head, message)]
    try:
        compile_network(doc)
    except CompileError as exc:
        assert (exc.node_id, str(exc)) == (head, message)
    else:
        raise AssertionError("a tie to a layer that is not compiled compiled")


def test_a_tied_weight_is_trained_or_frozen_as_its_embedding_is() -> None:
    doc = tied_doc()
    net = doc.network("main")
    embed, head = net.by_label("embed"), net.by_label("head")
    assert embed is not None and head is not None
    doc.set_param("main", head.id, "trainable", False)
    module = compile_network(doc)
    assert module.head.weight.requires_grad and not module.head.bias.requires_grad
    doc.set_param("main", embed.id, "trainable", False)
    doc.set_param("main", head.id, "trainable", True)
    module = compile_network(doc)
    assert not module.head.weight.requires_grad and module.head.bias.requires_grad
