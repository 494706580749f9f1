"""Text from a trained language model, one token at a time (the CLI's ``generate``).

The prompt is turned into ids with the tokenizer stored beside the weights; each
step feeds the last ``T`` ids (the model's context, its Input's length), samples
the next id from the scores at the last position (temperature, top-k, a seeded
generator, so a seed repeats a sample) and yields the new text as soon as it is
whole characters.

A prompt shorter than ``T`` is padded on the right: a causal model's score at a
position depends only on the positions before it (validation refuses non-causal
language models), so the padding changes nothing and models whose positional table
has a fixed length run too.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from graph.document import Document
from runtime.data import DataError
from runtime.evaluate import load_trained
from runtime.language import context_of
from runtime.records import WeightsError
from runtime.tokens import CharTokenizer, Tokenizer, UnknownCharacters, from_record

MAX_NEW_TOKENS = 100_000
MAX_TEMPERATURE = 100.0


@dataclass
class TextModel:
    """A trained language model ready to write: the network, its tokenizer, its context."""

    module: nn.Module
    tokenizer: Tokenizer
    context: int
    network: str


def load_text_model(doc: Document, weights: str | Path) -> TextModel:
    """The document's network with ``weights`` and the tokenizer stored beside them."""
    if doc.training.task != "language_model":
        raise DataError(f"generating text needs a language model, but the training section's "
                        f"task is {doc.training.task}; set the task to language_model and "
                        "train on text")
    trained = load_trained(doc, weights)
    if trained.tokenizer is None:
        raise WeightsError(f"{weights}: metadata 'tokenizer': required field is missing (these "
                           "weights were not trained on text); train the language model again")
    network, module = next(iter(trained.networks.items()))
    return TextModel(module, from_record(trained.tokenizer), context_of(doc, network), network)


def prompt_ids(tokenizer: Tokenizer, prompt: str, skip_unknown: bool = False,
               remedy: str = "pass --skip-unknown") -> tuple[np.ndarray, str | None]:
    """The prompt's ids, and a note when characters outside the vocabulary were left out.

    Without ``skip_unknown`` such characters are refused by name (``UnknownCharacters``);
    the message ends with ``remedy``, how this caller leaves them out.
    """
    if not prompt:
        raise DataError("the prompt is empty: give at least one character to start from")
    note = None
    if skip_unknown and isinstance(tokenizer, CharTokenizer):
        unknown = tokenizer.unknown(prompt)
        if unknown:
            prompt = "".join(c for c in prompt if c not in set(unknown))
            note = (f"left out of the prompt, as the model never saw them in training: "
                    f"{', '.join(map(repr, unknown[:8]))}")
            if not prompt:
                raise DataError("no character of the prompt is in the model's vocabulary; "
                                f"it knows: {tokenizer.characters[:80]!r}")
    try:
        ids = tokenizer.encode(prompt)
    except UnknownCharacters as exc:
        raise UnknownCharacters(f"the prompt cannot be written in the model's vocabulary: {exc}"
                                f"; change those characters or {remedy}",
                                exc.characters) from None
    return ids, note


def check_sampling(tokens: int, temperature: float, top_k: int | None) -> None:
    if not 0 <= tokens <= MAX_NEW_TOKENS:
        raise DataError(f"the number of tokens must be 0..{MAX_NEW_TOKENS:,}, got {tokens}")
    if not 0 <= temperature <= MAX_TEMPERATURE:
        raise DataError(f"the temperature must be 0..{MAX_TEMPERATURE:g} (0: always the most "
                        f"likely token), got {temperature}")
    if top_k is not None and top_k < 1:
        raise DataError(f"top-k must be at least 1, got {top_k}")


@torch.no_grad()
def generate(model: TextModel, ids: np.ndarray, tokens: int, temperature: float = 1.0,
             top_k: int | None = None, seed: int | None = None) -> Iterator[str]:
    """Yield the text of ``tokens`` new tokens after ``ids``, piece by piece."""
    check_sampling(tokens, temperature, top_k)
    # Without a seed, a fresh one: torch.seed() would also reseed the caller's global RNG.
    generator = torch.Generator().manual_seed(seed if seed is not None else
                                              secrets.randbits(63))
    model.module.eval()
    device = next((p.device for p in model.module.parameters()), torch.device("cpu"))
    history = [int(i) for i in ids]
    made: list[int] = []
    shown = ""
    vocab = model.tokenizer.vocab_size
    for _ in range(tokens):
        scores = _next_scores(model, history, device, vocab)
        choice = _sample(scores, temperature, top_k, generator)
        history.append(choice)
        made.append(choice)
        text = model.tokenizer.decode(made)
        if text.endswith("\ufffd"):  # part of a character's bytes (byte-pair tokens): wait
            continue
        yield text[len(shown):]
        shown = text
    if len(shown) < len(text := model.tokenizer.decode(made)):
        yield text[len(shown):]


def _next_scores(model: TextModel, history: list[int], device: torch.device,
                 vocab: int) -> torch.Tensor:
    window = history[-model.context:]
    x = torch.zeros(1, model.context, dtype=torch.long, device=device)
    x[0, :len(window)] = torch.as_tensor(window, dtype=torch.long)
    out = model.module(x).float()
    if out.dim() != 3 or out.shape[-1] < vocab:
        raise DataError(f"network '{model.network}' gives scores shaped "
                        f"{'×'.join(map(str, out.shape[1:]))}, not one score per token of its "
                        f"vocabulary ({vocab}) at each position")
    return out[0, len(window) - 1, :vocab].cpu()


def _sample(scores: torch.Tensor, temperature: float, top_k: int | None,
            generator: torch.Generator) -> int:
    if temperature == 0:
        return int(scores.argmax())
    scores = scores / temperature
    if top_k is not None and top_k < len(scores):
        cutoff = torch.topk(scores, top_k).values[-1]
        scores = scores.masked_fill(scores < cutoff, float("-inf"))
    probs = torch.softmax(scores, dim=-1)
    return int(torch.multinomial(probs, 1, generator=generator))
