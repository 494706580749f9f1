"""Text ↔ token ids: characters, or byte-pair encoding (the ``tokenizers`` package).

Both are fitted on the training text only and stored with the weights as a
:class:`~runtime.records.TokenizerRecord`, so generation, evaluation and exported
models turn text into ids exactly as training did.
"""

from __future__ import annotations

from typing import Any, Protocol

import numpy as np

from graph.training import TokenizerSpec
from runtime.data.dataset import DataError
from runtime.records import TOKENIZER_VERSION, TokenizerRecord

EXTRA_HINT = ("byte-pair encoding needs the 'tokenizers' package; install the 'text' extra: "
              "pip install 'layerloom[text]'")
SHOWN_UNKNOWN = 8


class UnknownCharacters(DataError):
    """Text holds characters outside the vocabulary; the message names them."""

    def __init__(self, message: str, characters: tuple[str, ...]) -> None:
        super().__init__(message)
        self.characters = characters


class Tokenizer(Protocol):
    kind: str

    @property
    def vocab_size(self) -> int: ...

    def encode(self, text: str) -> np.ndarray: ...

    def decode(self, ids: Any) -> str: ...

    def record(self) -> TokenizerRecord: ...


def describe_char(char: str) -> str:
    """``'é' (U+00E9)``: visible even for a tab or an invisible character."""
    shown = char if char.isprintable() and not char.isspace() else repr(char)[1:-1]
    return f"'{shown}' (U+{ord(char):04X})"


class CharTokenizer:
    """One id per character, in the order of ``characters``."""

    kind = "characters"

    def __init__(self, characters: str) -> None:
        self.characters = characters
        self.codes = np.frombuffer(characters.encode("utf-32-le"), dtype=np.uint32)
        self.order = np.argsort(self.codes)
        self.sorted_codes = self.codes[self.order]

    @classmethod
    def fit(cls, text: str) -> CharTokenizer:
        return cls("".join(sorted(set(text))))

    @property
    def vocab_size(self) -> int:
        return len(self.characters)

    def unknown(self, text: str) -> tuple[str, ...]:
        """The characters of ``text`` outside the vocabulary, in order of first use."""
        known = set(self.characters)
        return tuple(dict.fromkeys(c for c in text if c not in known))

    def encode(self, text: str) -> np.ndarray:
        codes = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32)
        where = np.searchsorted(self.sorted_codes, codes).clip(0, len(self.codes) - 1)
        if not np.array_equal(self.sorted_codes[where], codes):
            missing = self.unknown(text)
            shown = ", ".join(describe_char(c) for c in missing[:SHOWN_UNKNOWN])
            more = f" and {len(missing) - SHOWN_UNKNOWN} more" if len(missing) > SHOWN_UNKNOWN \
                else ""
            raise UnknownCharacters(
                f"the text has {len(missing)} character(s) the model never saw in training: "
                f"{shown}{more}; its vocabulary has {self.vocab_size} characters", missing)
        return self.order[where].astype(np.int64)

    def decode(self, ids: Any) -> str:
        return "".join(self.characters[int(i)] for i in np.asarray(ids).reshape(-1))

    def record(self) -> TokenizerRecord:
        return TokenizerRecord(version=TOKENIZER_VERSION, kind="characters",
                               vocab_size=self.vocab_size, characters=self.characters)


def _tokenizers() -> Any:
    try:
        import tokenizers
    except ImportError as exc:
        raise DataError(EXTRA_HINT) from exc
    return tokenizers


class BpeTokenizer:
    """Byte-level byte-pair encoding: any text encodes (no unknown characters) and
    decodes back exactly."""

    kind = "bpe"

    def __init__(self, tokenizer: Any) -> None:
        self.tokenizer = tokenizer

    @classmethod
    def fit(cls, text: str, vocab_size: int) -> BpeTokenizer:
        lib = _tokenizers()
        tokenizer = lib.Tokenizer(lib.models.BPE())
        tokenizer.pre_tokenizer = lib.pre_tokenizers.ByteLevel(add_prefix_space=False)
        tokenizer.decoder = lib.decoders.ByteLevel()
        trainer = lib.trainers.BpeTrainer(
            vocab_size=vocab_size, show_progress=False,
            initial_alphabet=lib.pre_tokenizers.ByteLevel.alphabet())
        tokenizer.train_from_iterator([text], trainer=trainer)
        return cls(tokenizer)

    @classmethod
    def from_json(cls, text: str) -> BpeTokenizer:
        lib = _tokenizers()
        try:
            return cls(lib.Tokenizer.from_str(text))
        except Exception as exc:  # the library raises its own exception types
            raise DataError(f"the stored byte-pair encoding cannot be read: {exc}") from None

    @property
    def vocab_size(self) -> int:
        return int(self.tokenizer.get_vocab_size())

    def encode(self, text: str) -> np.ndarray:
        return np.asarray(self.tokenizer.encode(text).ids, dtype=np.int64)

    def decode(self, ids: Any) -> str:
        return str(self.tokenizer.decode([int(i) for i in np.asarray(ids).reshape(-1)]))

    def record(self) -> TokenizerRecord:
        return TokenizerRecord(version=TOKENIZER_VERSION, kind="bpe",
                               vocab_size=self.vocab_size, bpe=self.tokenizer.to_str())


def fit_tokenizer(spec: TokenizerSpec, train_text: str) -> Tokenizer:
    """The tokenizer ``spec`` asks for, learned from the training text only."""
    if spec.kind == "bpe":
        return BpeTokenizer.fit(train_text, spec.vocab_size)
    return CharTokenizer.fit(train_text)


def from_record(record: TokenizerRecord) -> Tokenizer:
    if record.kind == "bpe" and record.bpe is not None:
        return BpeTokenizer.from_json(record.bpe)
    return CharTokenizer(record.characters or "")
