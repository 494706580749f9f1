"""Tokenizers: exact round trips, the stored record, unknown characters, n-gram baselines."""

from __future__ import annotations

import math

import numpy as np
import pytest
from helpers import training

from graph.training import TokenizerSpec
from runtime import language
from runtime.data.text import shakespeare_text, split_point
from runtime.language import ngram_baselines, tokenise
from runtime.records import WEIGHTS_FORMAT, WeightsError, WeightsMetadata
from runtime.tokens import (
    BpeTokenizer,
    CharTokenizer,
    UnknownCharacters,
    fit_tokenizer,
    from_record,
)


def _parts() -> tuple[str, str]:
    text = shakespeare_text()
    cut = split_point(len(text))
    return text[:cut], text[cut:]


def _stored(tokenizer: CharTokenizer | BpeTokenizer) -> CharTokenizer | BpeTokenizer:
    """Through a weights file's metadata, as generate reads it back."""
    raw = WeightsMetadata(format=WEIGHTS_FORMAT, networks=["main"],
                          tokenizer=tokenizer.record()).to_safetensors()
    record = WeightsMetadata.read(raw, "model.safetensors").tokenizer
    assert record is not None
    restored = from_record(record)
    assert isinstance(restored, type(tokenizer))
    return restored


def test_characters_round_trip_the_validation_text_exactly() -> None:
    train, held = _parts()
    tokenizer = fit_tokenizer(TokenizerSpec(kind="characters"), train)
    assert tokenizer.vocab_size == 65
    ids = _stored(tokenizer).encode(held)
    assert len(ids) == len(held) and ids.max() < 65
    assert _stored(tokenizer).decode(ids) == held


def test_byte_pairs_round_trip_the_validation_text_exactly() -> None:
    train, held = _parts()
    tokenizer = fit_tokenizer(TokenizerSpec(kind="bpe", vocab_size=300), train)
    assert tokenizer.vocab_size == 300
    ids = _stored(tokenizer).encode(held)
    assert len(ids) < len(held)  # pairs were merged
    assert _stored(tokenizer).decode(ids) == held
    assert _stored(tokenizer).decode(_stored(tokenizer).encode("Ωmega — ünïcode")) == \
        "Ωmega — ünïcode"  # bytes: nothing is unknown


def test_unknown_characters_are_named() -> None:
    tokenizer = CharTokenizer.fit("abc \n")
    with pytest.raises(UnknownCharacters) as info:
        tokenizer.encode("a\tcé")
    assert info.value.characters == ("\t", "é")
    assert "'\\t' (U+0009), 'é' (U+00E9)" in str(info.value)
    assert "vocabulary has 5 characters" in str(info.value)


def test_a_damaged_tokenizer_record_names_the_field() -> None:
    raw = WeightsMetadata(format=WEIGHTS_FORMAT, networks=["main"],
                          tokenizer=CharTokenizer.fit("ab").record()).to_safetensors()
    raw["tokenizer"] = raw["tokenizer"].replace('"ab"', '"aa"')
    with pytest.raises(WeightsError, match=r"metadata 'tokenizer\.characters': a character "
                                           "appears twice"):
        WeightsMetadata.read(raw, "model.safetensors")
    raw["tokenizer"] = '{"version": 2, "kind": "characters", "vocab_size": 1, "characters": "a"}'
    with pytest.raises(WeightsError, match=r"'tokenizer\.version'"):
        WeightsMetadata.read(raw, "model.safetensors")


@pytest.mark.parametrize("dense", [4096, 1])
def test_baselines_equal_a_hand_computation(dense: int, monkeypatch) -> None:
    monkeypatch.setattr(language, "DENSE_BIGRAMS", dense)  # a table, or counted pairs
    # train "abab", held "abba"; V = 2; add-one smoothing
    train, held = np.array([0, 1, 0, 1]), np.array([0, 1, 1, 0])
    found = ngram_baselines(train, held, 2)
    # unigram: counts a 2+1, b 2+1 → ½ each for the 3 predicted tokens (b, b, a)
    assert found["unigram_loss"] == pytest.approx(math.log(2))
    # bigram counts: a→b 2, b→a 1 (+1 each cell): P(b|a) = 3/4, P(b|b) = 1/3, P(a|b) = 2/3
    hand = -(math.log(3 / 4) + math.log(1 / 3) + math.log(2 / 3)) / 3
    assert found["bigram_loss"] == pytest.approx(hand)


def test_baselines_of_tiny_shakespeare_are_the_published_ones() -> None:
    lang = tokenise(shakespeare_text(), training(task="language_model"))
    assert lang.baselines["unigram_loss"] == pytest.approx(3.35, abs=0.005)
    assert lang.baselines["bigram_loss"] == pytest.approx(2.48, abs=0.005)


def test_held_out_characters_the_training_text_lacks_are_left_out_and_said() -> None:
    lang = tokenise("ab" * 45 + "abzb" + "ab" * 3, training(task="language_model"))
    assert lang.tokenizer.decode(lang.held_ids) == "abbababab"
    assert "'z' (U+007A)" in lang.notes[0]
