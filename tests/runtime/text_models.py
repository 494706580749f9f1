"""Tiny language models and a slice of Tiny Shakespeare for the text tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from helpers import training

from graph import Document, NetworkBuilder
from runtime.data.text import SHAKESPEARE

SLICE_CHARS = 12_000  # 10,800 train, 1,200 held out
VOCAB = 64  # the slice has fewer characters: spare scores only warn


def shakespeare_slice(folder: Path, chars: int = SLICE_CHARS) -> Path:
    path = folder / "shakespeare_slice.txt"
    path.write_text(SHAKESPEARE.read_text(encoding="utf-8")[:chars], encoding="utf-8")
    return path


def lm_training(path: Path | str, **fields: Any) -> Any:
    settings: dict[str, Any] = {
        "task": "language_model", "batch_size": 16, "epochs": 2,
        "data": {"name": "text", "options": {"path": str(path)}},
        "networks": {"main": {"optimizer": {"name": "adam", "lr": 0.01}}},
    }
    settings.update(fields)
    return training(**settings)


def char_gpt(path: Path | str, context: int = 32, causal: bool = True,
             vocab: int = VOCAB, **fields: Any) -> Document:
    """Embedding → learned positions → causal Transformer block → Linear(V)."""
    doc = Document.new()
    b = NetworkBuilder(doc)
    x = b.add("Input", shape=[context], kind="tokens", vocab_size=vocab, label="text")
    h = b.add("Embedding", x, embedding_dim=32, label="embed")
    h = b.add("PositionalEncoding", h, kind="learned", label="positions")
    h = b.add("TransformerEncoderLayer", h, nhead=4, dim_feedforward=64, dropout=0.0,
              causal=causal, label="block")
    b.add("Output", b.add("Linear", h, out_features=vocab, label="head"), label="next")
    doc.set_training(lm_training(path, **fields))
    return doc


def char_lstm(path: Path | str, context: int = 32, **fields: Any) -> Document:
    """Embedding → LSTM (every step) → Linear(V)."""
    doc = Document.new()
    b = NetworkBuilder(doc)
    x = b.add("Input", shape=[context], kind="tokens", vocab_size=VOCAB, label="text")
    h = b.add("Embedding", x, embedding_dim=32, label="embed")
    h = b.add("LSTM", h, hidden_size=64, output="sequence", label="lstm")
    b.add("Output", b.add("Linear", h, out_features=VOCAB, label="head"), label="next")
    doc.set_training(lm_training(path, **fields))
    return doc
