"""The records a run stores beside its weights, as typed models that writer and reader share.

A weights file (``model.safetensors``, or an exported one) carries string metadata::

    {"format": "layerloom-weights", "networks": "[\\"main\\"]",
     "preprocessing": "{\\"version\\": 1, \\"kind\\": \\"standard\\", …}"}

``WeightsMetadata.to_safetensors`` writes it and ``WeightsMetadata.read`` checks it,
so the two cannot drift. Whatever is wrong in a file is one ``WeightsError`` that
names the file and the field, e.g.
``model.safetensors: metadata 'preprocessing.offset': required field is missing``.
Every size read here has an upper bound, checked before anything is sized by it.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, Literal

import numpy as np
import pydantic_core
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    JsonValue,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from graph.file_errors import pydantic_problem, show_value
from runtime.data.dataset import TargetKind
from runtime.data.preprocess import NORMALIZATIONS

if TYPE_CHECKING:
    from graph.document import Document
    from runtime.data.preprocess import Preprocessing

# a run's model.safetensors: "<network>.<node id>.<param>"
WEIGHTS_FORMAT: Final = "layerloom-weights"
NETWORK_WEIGHTS_FORMAT: Final = "layerloom-network-weights"  # one network, "<node id>.<param>"
MAX_SAMPLE_VALUES = 1 << 26  # values in one sample (a 3×4096×4096 image fits)
MAX_SAMPLE_RANK = 8
MAX_CLASSES = 1 << 20
MAX_VOCABULARY = 1 << 24
HINT = ("the file was changed or not written by Layerloom; use the files a Layerloom run "
        "wrote, or train again")


class WeightsError(ValueError):
    """A weights or checkpoint file cannot be used with this document."""


# -- telling a validation error ------------------------------------------------------
def describe(exc: ValidationError) -> tuple[str, str]:
    """The first problem pydantic found, as (field path, reason in our words)."""
    return pydantic_problem(exc, _show)


def _show(value: Any) -> str:
    if type(value).__module__.startswith("torch"):
        return f"a {type(value).__name__}"  # a tensor's repr is long and says little
    return show_value(value)


def located(file: str, what: str, exc: ValidationError) -> WeightsError:
    """``file: what 'field.path': reason; what to do``."""
    where, reason = describe(exc)
    return WeightsError(f"{file}: {what} '{where}': {reason}; {HINT}")


# -- the preprocessing record --------------------------------------------------------
class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class PreprocessingExtra(_Strict):
    value_range: list[float] | None = Field(None, min_length=2, max_length=2)


class PreprocessingRecord(_Strict):
    """``runtime.data.preprocess.Preprocessing.to_dict()``, checked field by field."""

    version: Literal[1]  # runtime.data.preprocess.FORMAT_VERSION (a test keeps them equal)
    kind: str
    sample_shape: list[int] = Field(min_length=1, max_length=MAX_SAMPLE_RANK)
    dtype: Literal["float32", "int64"] = "float32"
    offset: list[Any]
    scale: list[Any]
    dataset: str = ""
    target_kind: TargetKind | None = None
    num_classes: int | None = Field(None, ge=1, le=MAX_CLASSES)
    class_names: list[str] | None = Field(None, max_length=MAX_CLASSES)
    vocab_size: int | None = Field(None, ge=1, le=MAX_VOCABULARY)
    feature_names: list[str] | None = Field(None, max_length=MAX_SAMPLE_VALUES)
    extra: PreprocessingExtra = PreprocessingExtra()

    @field_validator("kind")
    @classmethod
    def _known_kind(cls, kind: str) -> str:
        if kind not in NORMALIZATIONS:
            raise ValueError(f"unknown normalisation {show_value(kind)}; expected one of "
                             f"{', '.join(NORMALIZATIONS)}")
        return kind

    @field_validator("sample_shape")
    @classmethod
    def _bounded_shape(cls, shape: list[int]) -> list[int]:
        if min(shape) < 1:
            raise ValueError(f"expected sizes of at least 1, got {shape}")
        if math.prod(shape) > MAX_SAMPLE_VALUES:
            raise ValueError(f"a sample of {'×'.join(map(str, shape))} values is larger than "
                             f"the limit of {MAX_SAMPLE_VALUES}")
        return shape

    @field_validator("offset", "scale")
    @classmethod
    def _constants_fit(cls, value: list[Any], info: ValidationInfo) -> list[Any]:
        array = _numbers(value)
        shape = info.data.get("sample_shape")
        if shape is not None and _broadcast(array.shape, tuple(shape)) != tuple(shape):
            raise ValueError(f"constants of shape {list(array.shape)} do not fit samples of "
                             f"shape {shape}")
        if info.field_name == "scale" and not (np.isfinite(array).all() and (array > 0).all()):
            raise ValueError("expected positive finite numbers")
        return value

    @field_validator("class_names")
    @classmethod
    def _one_name_per_class(cls, names: list[str] | None,
                            info: ValidationInfo) -> list[str] | None:
        count = info.data.get("num_classes")
        if names is not None and count is not None and len(names) != count:
            raise ValueError(f"{len(names)} names for num_classes {count}")
        return names

    @classmethod
    def of(cls, preprocessing: Preprocessing) -> PreprocessingRecord:
        """The record of ``preprocessing``, checked as a reader will check it."""
        try:
            return cls.model_validate(preprocessing.to_dict())
        except ValidationError as exc:  # our own writer's fault: say what, not a traceback
            where, reason = describe(exc)
            raise WeightsError(f"cannot save the preprocessing record: '{where}': "
                               f"{reason}") from None

    @classmethod
    def read(cls, data: Any, file: str, what: str = "preprocessing record") -> PreprocessingRecord:
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            raise located(file, what, exc) from None

    def to_dict(self) -> dict[str, Any]:
        """The record as ``Preprocessing.to_dict`` writes it (plain JSON data)."""
        return {**self.model_dump(exclude={"extra"}),
                "extra": self.extra.model_dump(exclude_none=True)}

    def check_fits(self, doc: Document, file: str) -> None:
        """Samples of ``sample_shape`` must fill the Input of the network that reads the data."""
        from runtime.run_data import data_network, input_shape

        network = data_network(doc, doc.training)
        wanted = input_shape(doc, network) if network in doc.networks else None
        if wanted is not None and math.prod(self.sample_shape) != math.prod(wanted):
            shown = "×".join(map(str, self.sample_shape))
            raise WeightsError(f"{file}: metadata 'preprocessing.sample_shape': samples of "
                               f"{shown} do not fit the Input of network '{network}' "
                               f"({'×'.join(map(str, wanted))}); were these weights trained "
                               "with another graph?")

    def to_preprocessing(self) -> Preprocessing:
        from runtime.data.preprocess import Preprocessing

        return Preprocessing.from_dict(self.to_dict())


def read_record_file(path: Path) -> PreprocessingRecord:
    """The record a run writes as ``preprocessing.json`` beside its checkpoint."""
    try:
        data = pydantic_core.from_json(path.read_bytes(), allow_inf_nan=True)
    except OSError as exc:
        raise WeightsError(f"cannot read {path}: {exc.strerror or exc}") from None
    except ValueError as exc:
        raise WeightsError(f"{path} is not valid JSON ({exc}); {HINT}") from None
    return PreprocessingRecord.read(data, str(path), "field")


def _numbers(value: list[Any]) -> np.ndarray:
    """A nested list of numbers as an array; ValueError when it is anything else."""
    def walk(item: Any) -> None:
        if isinstance(item, list):
            for inner in item:
                walk(inner)
        elif isinstance(item, bool) or not isinstance(item, int | float):
            raise ValueError(f"expected numbers, got {show_value(item)}")

    walk(value)
    try:
        return np.asarray(value, dtype=np.float64)
    except ValueError:  # ragged nesting
        raise ValueError("expected a regular (not ragged) list of numbers") from None


def _broadcast(a: tuple[int, ...], b: tuple[int, ...]) -> tuple[int, ...] | None:
    try:
        return tuple(np.broadcast_shapes(a, b))
    except ValueError:
        return None



# -- the tokenizer record -------------------------------------------------------------
MAX_TOKENIZER_CHARS = 16 * 2**20  # a byte-pair encoding's JSON (a 50,000-token one is ~2 MB)
TOKENIZER_VERSION: Final = 1


class TokenizerRecord(_Strict):
    """How text became token ids in training, so generation and export do the same.

    ``characters``: the vocabulary in id order, one character per id. ``bpe``: the
    byte-pair encoding as the ``tokenizers`` package writes it (JSON, never code).
    """

    version: Literal[1]
    kind: Literal["characters", "bpe"]
    vocab_size: int = Field(ge=1, le=MAX_VOCABULARY)
    characters: str | None = Field(None, max_length=MAX_VOCABULARY)
    bpe: str | None = Field(None, max_length=MAX_TOKENIZER_CHARS)

    @field_validator("characters")
    @classmethod
    def _one_id_per_character(cls, chars: str | None, info: ValidationInfo) -> str | None:
        if chars is None:
            return None
        if len(set(chars)) != len(chars):
            raise ValueError("a character appears twice in the vocabulary")
        if len(chars) != info.data.get("vocab_size"):
            raise ValueError(f"{len(chars)} characters for vocab_size "
                             f"{info.data.get('vocab_size')}")
        return chars

    @model_validator(mode="after")
    def _holds_its_kind(self) -> TokenizerRecord:
        if self.kind == "characters" and self.characters is None:
            raise ValueError("a character tokenizer needs its 'characters'")
        if self.kind == "bpe" and self.bpe is None:
            raise ValueError("a byte-pair tokenizer needs its 'bpe'")
        return self


TOKENIZER_FILE: Final = "tokenizer.json"  # beside a run's checkpoint.pt


def read_tokenizer_file(path: Path) -> TokenizerRecord:
    """The tokenizer a run writes beside its checkpoint (``TOKENIZER_FILE``), checked."""
    try:
        if path.stat().st_size > 2 * MAX_TOKENIZER_CHARS:
            raise WeightsError(f"{path} is larger than a tokenizer can be; {HINT}")
        data = pydantic_core.from_json(path.read_bytes())
    except OSError as exc:
        raise WeightsError(f"cannot read {path}: {exc.strerror or exc}") from None
    except ValueError as exc:
        if isinstance(exc, WeightsError):
            raise
        raise WeightsError(f"{path} is not valid JSON ({exc}); {HINT}") from None
    try:
        return TokenizerRecord.model_validate(data)
    except ValidationError as exc:
        raise located(str(path), "field", exc) from None


# -- the metadata of a weights file --------------------------------------------------
_JSON_KEYS = ("networks", "preprocessing", "export", "tokenizer")


class WeightsMetadata(BaseModel):
    """What a Layerloom weights file says about itself, besides its tensors.

    Keys other tools may add to a safetensors file are ignored; Layerloom's own are
    checked strictly.
    """

    model_config = ConfigDict(extra="ignore", strict=True, frozen=True)

    format: Literal["layerloom-weights", "layerloom-network-weights"]
    networks: list[str] | None = None  # layerloom-weights: the networks held
    network: str | None = None  # layerloom-network-weights: the one network held
    preprocessing: PreprocessingRecord | None = None
    export: dict[str, JsonValue] | None = None  # the export record of an exported file
    tokenizer: TokenizerRecord | None = None  # text models: how text becomes ids

    def to_safetensors(self) -> dict[str, str]:
        """The metadata as safetensors stores it: a string per key, JSON where structured."""
        out: dict[str, str] = {"format": self.format}
        if self.network is not None:
            out["network"] = self.network
        if self.networks is not None:
            out["networks"] = json.dumps(self.networks)
        if self.preprocessing is not None:
            out["preprocessing"] = json.dumps(self.preprocessing.to_dict())
        if self.export is not None:
            out["export"] = json.dumps(self.export)
        if self.tokenizer is not None:
            out["tokenizer"] = self.tokenizer.model_dump_json(exclude_none=True)
        return out

    @classmethod
    def read(cls, raw: Mapping[str, str] | None, file: str) -> WeightsMetadata:
        """The checked metadata of ``file``; a ``WeightsError`` naming the field if not."""
        raw = raw or {}
        if raw.get("format") not in (WEIGHTS_FORMAT, NETWORK_WEIGHTS_FORMAT):
            found = f"format {show_value(raw['format'])}" if "format" in raw else "no format"
            raise WeightsError(f"{file} is not a Layerloom weights file (its metadata has "
                               f"{found}, not \"{WEIGHTS_FORMAT}\"); {HINT}")
        data: dict[str, Any] = dict(raw)
        for key in _JSON_KEYS:
            if key in raw:
                try:
                    data[key] = pydantic_core.from_json(raw[key], allow_inf_nan=True)
                except ValueError as exc:
                    raise WeightsError(f"{file}: metadata '{key}': not valid JSON ({exc}); "
                                       f"{HINT}") from None
                if data[key] is None:  # the writer leaves a key out rather than write null
                    raise WeightsError(f"{file}: metadata '{key}': expected a value, got "
                                       f"null; {HINT}")
        try:
            metadata = cls.model_validate(data)
        except ValidationError as exc:
            raise located(file, "metadata", exc) from None
        if metadata.format == NETWORK_WEIGHTS_FORMAT and metadata.network is None:
            raise WeightsError(f"{file}: metadata 'network': required field is missing; {HINT}")
        return metadata
