"""A network drawn for a context of T tokens runs on shorter ones unless a layer was sized
from the whole length; that layer is named (generation and dynamic exports ask)."""

from __future__ import annotations

from graph.builder import NetworkBuilder
from graph.context import shorter_context_problem
from graph.document import Document


def _tokens_to(*layers: tuple[str, dict[str, object]]) -> Document:
    doc = Document.new()
    b = NetworkBuilder(doc)
    h = b.add("Input", shape=[12], kind="tokens", vocab_size=9, label="tokens")
    h = b.add("Embedding", h, embedding_dim=4, label="embed")
    for i, (layer, params) in enumerate(layers):
        h = b.add(layer, h, label=f"l{i}", **params)
    b.add("Output", h, label="out")
    return doc


def test_attention_positions_and_recurrence_run_on_any_shorter_context() -> None:
    doc = _tokens_to(("PositionalEncoding", {"kind": "learned"}),
                     ("TransformerEncoderLayer", {"nhead": 2, "causal": True}),
                     ("MultiheadAttention", {"num_heads": 2, "causal": True}),
                     ("LSTM", {"hidden_size": 4, "output": "sequence"}),
                     ("Linear", {"out_features": 9}))
    assert [shorter_context_problem(doc, length=n) for n in (1, 5, 12)] == [None] * 3


def test_a_layer_sized_from_the_whole_length_is_named() -> None:
    doc = _tokens_to(("Flatten", {}), ("Linear", {"out_features": 3}))
    assert shorter_context_problem(doc, length=5) == (
        "network 'main' runs only on sequences of 12 steps: Linear 'l1' cannot take 5 (a and "
        "b must have same reduction dim, but got [1, 20] X [48, 3].)")
    assert shorter_context_problem(doc, length=12) is None
    doc = _tokens_to(("Reshape", {"shape": [48]}))
    problem = shorter_context_problem(doc, length=1)
    assert problem is not None and problem.startswith(
        "network 'main' runs only on sequences of 12 steps: Reshape 'l0' cannot take 1")


def test_a_network_without_sequences_has_nothing_to_shorten() -> None:
    doc = Document.new()
    b = NetworkBuilder(doc)
    b.add("Output", b.add("Linear", b.add("Input", shape=[4]), out_features=2))
    assert shorter_context_problem(doc) is None
