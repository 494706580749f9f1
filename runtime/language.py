"""Language-model data: a corpus, tokenised, cut into context windows, with baselines.

The split is fixed (``runtime.data.text.split_point``): the first 90% of the
characters train, the last 10% are held out. Validation and test are both that
held-out 10% (the same windows), so the validation loss is the number published
char-level results report; there is no third split.

Each window is ``T`` token ids and its targets the same ids shifted by one, so a
network reading ``T`` ids predicts the next token at every position. Windows do
not overlap: an epoch predicts every training token once.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from graph.document import Document
from graph.training import TrainingSpec
from runtime.data import DataError, Dataset, PreparedData, Split, load_dataset
from runtime.data.preprocess import fit_preprocessing
from runtime.data.text import is_corpus, split_point
from runtime.preflight import check_output, facts_of
from runtime.records import TokenizerRecord, WeightsError
from runtime.run_data import DataMismatch, RunData, data_network
from runtime.tokens import CharTokenizer, Tokenizer, describe_char, fit_tokenizer

DENSE_BIGRAMS = 4096  # up to this vocabulary, bigrams are counted in a V×V table


@dataclass
class LanguageData:
    """A tokenised corpus: the tokenizer, both parts as ids, the held-out baselines."""

    tokenizer: Tokenizer
    train_ids: np.ndarray
    held_ids: np.ndarray
    baselines: dict[str, float]
    notes: list[str]


def ngram_baselines(train: np.ndarray, held: np.ndarray, vocab: int) -> dict[str, float]:
    """Cross-entropy (nats per token) of the held-out tokens under add-one (Laplace)
    smoothed unigram and bigram models counted on the training tokens.

    Every held-out token after the first is predicted once: the unigram model from
    nothing, the bigram model from the token before it.
    """
    targets, before = held[1:], held[:-1]
    if len(targets) == 0:
        return {}
    unigram = np.bincount(train, minlength=vocab).astype(np.float64) + 1.0
    unigram_loss = -np.log(unigram[targets] / unigram.sum()).mean()
    pairs = np.ones((vocab, vocab), dtype=np.float64) if vocab <= DENSE_BIGRAMS else None
    if pairs is None:  # a big vocabulary: count only the pairs that occur
        pair_ids = train[:-1] * vocab + train[1:]
        keys, counts = np.unique(pair_ids, return_counts=True)
        wanted = before * vocab + targets
        place = np.searchsorted(keys, wanted).clip(0, max(len(keys) - 1, 0))
        found = np.where(keys[place] == wanted, counts[place], 0) if len(keys) else 0
        rows = np.bincount(train[:-1], minlength=vocab).astype(np.float64) + vocab
        bigram_loss = -np.log((found + 1.0) / rows[before]).mean()
    else:
        np.add.at(pairs, (train[:-1], train[1:]), 1.0)
        bigram_loss = -np.log(pairs[before, targets] / pairs[before].sum(axis=1)).mean()
    return {"unigram_loss": float(unigram_loss), "bigram_loss": float(bigram_loss)}


def tokenise(text: str, training: TrainingSpec) -> LanguageData:
    """Fit the tokenizer on the training part, encode both parts, count the baselines."""
    cut = split_point(len(text))
    train_text, held_text = text[:cut], text[cut:]
    tokenizer = fit_tokenizer(training.tokenizer, train_text)
    notes = []
    if isinstance(tokenizer, CharTokenizer):
        unknown = tokenizer.unknown(held_text)
        if unknown:
            # The vocabulary is the training text's: held-out characters it lacks cannot
            # be predicted by any model, so they are left out of validation, and said so.
            known = set(tokenizer.characters)
            held_text = "".join(c for c in held_text if c in known)
            shown = ", ".join(describe_char(c) for c in unknown[:8])
            notes.append(f"{len(unknown)} character(s) of the held-out text never occur in the "
                         f"training text and are left out of validation: {shown}")
    train_ids, held_ids = tokenizer.encode(train_text), tokenizer.encode(held_text)
    baselines = ngram_baselines(train_ids, held_ids, tokenizer.vocab_size)
    return LanguageData(tokenizer, train_ids, held_ids, baselines, notes)


def windows(ids: np.ndarray, context: int) -> tuple[np.ndarray, np.ndarray]:
    """Non-overlapping windows of ``context`` ids and their next-token targets."""
    count = (len(ids) - 1) // context
    x = ids[:count * context].reshape(count, context)
    y = ids[1:count * context + 1].reshape(count, context)
    return x, y


def context_of(doc: Document, network: str) -> int:
    """``T``: the length of the token sequences the network's Input reads."""
    node = next((n for n in doc.network(network).nodes() if n.type == "Input"), None)
    if node is None:
        raise DataMismatch(f"network '{network}' has no Input to read the text's token ids")
    shape = tuple(node.params["shape"])
    if node.params["kind"] != "tokens" or len(shape) != 1:
        raise DataMismatch(
            f"a language model reads a sequence of token ids: set Input '{node.label}' of "
            f"network '{network}' to kind 'tokens' and shape [T] (T: the context length), "
            f"not kind '{node.params['kind']}' and shape {list(shape)}")
    return int(shape[0])


def prepare_language(dataset: Dataset, training: TrainingSpec,
                     context: int) -> tuple[PreparedData, LanguageData]:
    """Splits of context windows (val and test: the same held-out windows)."""
    if not is_corpus(dataset):
        raise DataError(f"{dataset.name} is not text, so it cannot train a language model; "
                        "choose Tiny Shakespeare or a text file")
    lang = tokenise(str(dataset.metadata["text"]), training)
    parts = {}
    for name, ids in (("training", lang.train_ids), ("held-out", lang.held_ids)):
        if len(ids) < context + 1:
            raise DataError(f"{dataset.name}: the {name} text has {len(ids):,} tokens, too few "
                            f"for one window of {context} tokens and its next token; use "
                            "more text or a shorter Input")
        parts[name] = windows(ids, context)
    (train_x, train_y), (held_x, held_y) = parts["training"], parts["held-out"]
    vocab = lang.tokenizer.vocab_size
    whole = Dataset(
        name=dataset.name, x=np.concatenate([train_x, held_x]),
        y=np.concatenate([train_y, held_y]), target_kind="sequence_class",
        num_classes=vocab, vocab_size=vocab,
        description=f"{dataset.description}; {lang.tokenizer.kind} tokens, vocabulary "
                    f"{vocab}, {len(train_x):,} training and {len(held_x):,} held-out "
                    f"windows of {context}",
        metadata={"notes": [*dataset.notes, *lang.notes],
                  **({"path": dataset.metadata["path"]} if "path" in dataset.metadata else {})})
    train_rows = np.arange(len(train_x))
    held_rows = np.arange(len(train_x), len(whole))
    record = fit_preprocessing(whole, train_rows, "none")
    held = Split(held_x, held_y, held_rows)
    prepared = PreparedData(whole, Split(train_x, train_y, train_rows), held, held, record,
                            {})
    return prepared, lang


def load_language_data(doc: Document, training: TrainingSpec, device: torch.device,
                       base_dir: Path | None = None) -> RunData:
    """:func:`runtime.run_data.load_run_data` for the language-model task."""
    network = data_network(doc, training)
    if network not in doc.networks:
        raise DataError(f"the training section names network '{network}', which the "
                        "document does not have")
    context = context_of(doc, network)
    dataset = load_dataset(training.data.name, training.data.options, base_dir)
    prepared, lang = prepare_language(dataset, training, context)
    check_output(doc, facts_of(prepared.dataset), training)
    def tensor(values: np.ndarray | None) -> torch.Tensor:
        return torch.as_tensor(values).to(device)

    train, held = prepared.train, prepared.val  # test is the same held-out windows
    held_x, held_y = tensor(held.x), tensor(held.y)
    return RunData(prepared, tensor(train.x), tensor(train.y), held_x, held_y, held_x, held_y,
                   tokenizer=lang.tokenizer.record(), text_baselines=lang.baselines)


@torch.no_grad()
def language_report(module: torch.nn.Module, x: torch.Tensor, y: torch.Tensor,
                    data: RunData, training: TrainingSpec,
                    stored: TokenizerRecord | None, weights: str) -> dict[str, Any]:
    """Loss (nats per token), perplexity, bits per character and the n-gram baselines."""
    from runtime.recipes.language import text_metrics

    if stored is not None and data.tokenizer is not None and stored != data.tokenizer:
        raise WeightsError(f"{weights}: metadata 'tokenizer': the weights were trained with "
                           f"another tokenizer ({stored.kind}, {stored.vocab_size} tokens) than "
                           f"this text and training section give ({data.tokenizer.kind}, "
                           f"{data.tokenizer.vocab_size} tokens)")
    total, count = 0.0, 0
    for start in range(0, len(x), 64):
        out = module(x[start:start + 64]).float()
        total += float(F.cross_entropy(out.reshape(-1, out.shape[-1]),
                                       y[start:start + 64].reshape(-1), reduction="sum"))
        count += y[start:start + 64].numel()
    report: dict[str, Any] = {"tokens": count}
    report.update(text_metrics(total / max(count, 1), training.tokenizer.kind == "characters"))
    for name, value in data.text_baselines.items():
        report[f"baseline_{name}"] = value
    return report
