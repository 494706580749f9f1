"""The layer catalog: every layer type described once.

The palette, inspector, validator, shape inference, compiler, code generator and
file format all read these specs. This module must not import torch: a spec's
``build`` function imports it when it is called.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

# "node": the id of another node of the same network ("" for none), e.g. a tied weight's source
ParamKind = Literal["int", "float", "bool", "choice", "ints", "node"]


@dataclass(frozen=True)
class TensorSpec:
    """What flows along a wire, per sample (the batch dimension is implied)."""

    shape: tuple[int, ...]
    dtype: Literal["float", "long"] = "float"
    vocab: int | None = None  # token ids carry their vocabulary size

    def describe(self) -> str:
        return "×".join(["N", *(str(d) for d in self.shape)])


class ParamTypeError(ValueError):
    """A parameter value has the wrong type: the file cannot be loaded as it is."""


@dataclass(frozen=True)
class ParamSpec:
    """A typed parameter with a default, bounds and a one-line explanation."""

    name: str
    kind: ParamKind
    default: Any
    doc: str
    minimum: float | None = None
    maximum: float | None = None
    choices: tuple[str, ...] = ()
    min_length: int = 1
    max_length: int | None = None
    allow_minus_one: bool = False  # for shapes: one -1 dimension is inferred
    # torch.nn's default where it differs from ours ("" when they agree or torch has none)
    torch_default: str = ""
    # only meaningful while another parameter has one of these values: (name, values);
    # editors hide it otherwise (the value is kept, and still saved)
    applies_when: tuple[str, tuple[Any, ...]] | None = None

    def applies(self, params: Mapping[str, Any]) -> bool:
        """Whether this parameter means anything with these values of the others."""
        if self.applies_when is None:
            return True
        name, values = self.applies_when
        return params.get(name) in values
    node_type: str = ""  # kind "node": the layer type the chosen node must have

    def coerce(self, value: Any) -> Any:
        """Return ``value`` in canonical form, or raise ``ParamTypeError``.

        Only the type is checked here; bounds are a validation matter, so a file
        with an out-of-range value still opens and can be fixed.
        """
        if self.kind == "bool":
            if isinstance(value, bool):
                return value
            raise ParamTypeError(f"expected true or false, got {value!r}")
        if self.kind == "int":
            if isinstance(value, int) and not isinstance(value, bool):
                return value
            raise ParamTypeError(f"expected {self._int_phrase()}, got {value!r}")
        if self.kind == "float":
            if isinstance(value, int | float) and not isinstance(value, bool):
                if not math.isfinite(value):
                    raise ParamTypeError(f"expected a finite number, got {value!r}")
                return float(value)
            raise ParamTypeError(f"expected a number, got {value!r}")
        if self.kind == "choice":
            if isinstance(value, str) and value in self.choices:
                return value
            options = ", ".join(repr(c) for c in self.choices)
            raise ParamTypeError(f"expected one of {options}, got {value!r}")
        if self.kind == "ints":
            if isinstance(value, list | tuple) and all(
                isinstance(v, int) and not isinstance(v, bool) for v in value
            ):
                return tuple(value)
            raise ParamTypeError(f"expected a list of integers, got {value!r}")
        if self.kind == "node":
            if isinstance(value, str):
                return value
            raise ParamTypeError(f"expected a node id (text, \"\" for none), got {value!r}")
        raise AssertionError(self.kind)

    def _int_phrase(self) -> str:
        if self.minimum == 1:
            return "a positive integer"
        if self.minimum == 0:
            return "a non-negative integer"
        return "an integer"

    def problem(self, value: Any) -> str | None:
        """Why a well-typed ``value`` is out of bounds, or None when it is fine."""
        values: tuple[Any, ...] = (value,)
        if self.kind == "ints":
            if len(value) < self.min_length:
                return f"needs at least {self.min_length} value(s), has {len(value)}"
            if self.max_length is not None and len(value) > self.max_length:
                return f"takes at most {self.max_length} value(s), has {len(value)}"
            values = tuple(v for v in value if not (self.allow_minus_one and v == -1))
            if self.allow_minus_one and len(value) - len(values) > 1:
                return "only one dimension can be -1"
        if self.kind in ("int", "float", "ints"):
            for v in values:
                if self.minimum is not None and v < self.minimum:
                    return f"must be at least {_fmt(self.minimum)}, got {_fmt(v)}"
                if self.maximum is not None and v > self.maximum:
                    return f"must be at most {_fmt(self.maximum)}, got {_fmt(v)}"
        return None

    def to_json(self, value: Any) -> Any:
        return list(value) if self.kind == "ints" else value


def _fmt(v: float) -> str:
    return str(int(v)) if float(v).is_integer() else f"{v:g}"


@dataclass(frozen=True)
class PortSpec:
    """A named input. A variadic port accepts ``name0``, ``name1``, … in order."""

    name: str
    doc: str = ""
    variadic: bool = False
    min_count: int = 1
    optional: bool = False

    def matches(self, key: str) -> bool:
        if not self.variadic:
            return key == self.name
        return re.fullmatch(rf"{re.escape(self.name)}\d+", key) is not None

    def index(self, key: str) -> int:
        return int(key[len(self.name) :]) if self.variadic else 0


@dataclass(frozen=True)
class ModuleCall:
    """A torch module to construct: its class and keyword arguments.

    Keeping the constructor call as data lets the compiler build the module and
    the code generator print the same call as source.
    """

    cls: type
    kwargs: Mapping[str, Any]

    def build(self) -> Any:
        return self.cls(**self.kwargs)


Params = Mapping[str, Any]
BuildFn = Callable[[Params, list[TensorSpec]], ModuleCall]
ShapeFn = Callable[[Params, list[TensorSpec]], tuple[int, ...]]
CheckFn = Callable[[Params, list[TensorSpec]], str | None]

def weight_params(mean: float = 0.0) -> tuple[ParamSpec, ...]:
    """The parameters every layer with weights has; ``mean`` is init_mean's default."""
    return (
        ParamSpec(
            "init", "choice", "default",
            "How the weights start: PyTorch's default, Xavier (Glorot), Kaiming (He), "
            "normal N(init_mean, init_std²) or uniform in ±init_bound.",
            choices=("default", "xavier", "kaiming", "normal", "uniform"),
        ),
        ParamSpec("init_mean", "float", mean, "Mean of the 'normal' init.",
                  minimum=-10.0, maximum=10.0, applies_when=("init", ("normal",))),
        ParamSpec("init_std", "float", 0.02, "Standard deviation of the 'normal' init.",
                  minimum=0.0, maximum=10.0, applies_when=("init", ("normal",))),
        ParamSpec("init_bound", "float", 0.1, "The 'uniform' init draws from -a to a.",
                  minimum=0.0, maximum=10.0, applies_when=("init", ("uniform",))),
        ParamSpec("trainable", "bool", True,
                  "Untick to freeze this layer's weights during training."),
    )


WEIGHT_PARAMS: tuple[ParamSpec, ...] = weight_params()


@dataclass(frozen=True)
class LayerSpec:
    """Everything Layerloom knows about one layer type."""

    id: str
    category: str
    display_name: str
    description: str
    params: tuple[ParamSpec, ...] = ()
    inputs: tuple[PortSpec, ...] = (PortSpec("x"),)
    build: BuildFn | None = None
    check: CheckFn | None = None
    # Output shape by formula, for layers whose meta-device run is slow (a recurrent layer
    # unrolls every time step); without it the module is run on the meta device.
    shape: ShapeFn | None = None
    role: Literal["layer", "input", "output"] = "layer"
    has_weights: bool = False
    # a norm layer's weight is a scale around 1, so its 'normal' init is centred there
    init_mean: float = 0.0
    version: int = 1
    legacy_ids: tuple[str, ...] = ()
    key_params: tuple[str, ...] = ()  # shown on the canvas node
    doc: str = ""
    # how the layer behaves unlike its torch.nn namesake beyond parameter defaults
    torch_note: str = ""
    all_params: tuple[ParamSpec, ...] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        extra = weight_params(self.init_mean) if self.has_weights else ()
        object.__setattr__(self, "all_params", self.params + extra)
        names = [p.name for p in self.all_params]
        if len(names) != len(set(names)):
            raise ValueError(f"layer {self.id!r} declares a parameter twice")

    def param(self, name: str) -> ParamSpec:
        for p in self.all_params:
            if p.name == name:
                return p
        raise KeyError(f"{self.display_name} has no parameter {name!r}")

    def defaults(self) -> dict[str, Any]:
        return {p.name: p.coerce(p.default) for p in self.all_params}

    def port(self, key: str) -> PortSpec | None:
        for p in self.inputs:
            if p.matches(key):
                return p
        return None

    @property
    def variadic(self) -> bool:
        return any(p.variadic for p in self.inputs)

    def port_keys(self, connected: list[str] | None = None) -> list[str]:
        """Input keys to draw: fixed ports, plus the variadic ones in use and one free."""
        keys: list[str] = []
        for p in self.inputs:
            if not p.variadic:
                keys.append(p.name)
                continue
            used = sorted(p.index(k) for k in connected or [] if p.matches(k))
            count = max(p.min_count, (used[-1] + 2) if used else 0)
            keys.extend(f"{p.name}{i}" for i in range(count))
        return keys


class Catalog:
    """The registry of layer specs; refuses duplicate ids."""

    def __init__(self) -> None:
        self._specs: dict[str, LayerSpec] = {}
        self._legacy: dict[str, str] = {}

    def register(self, spec: LayerSpec) -> LayerSpec:
        if spec.id in self._specs or spec.id in self._legacy:
            raise ValueError(f"layer id {spec.id!r} is registered twice")
        for old in spec.legacy_ids:
            # a legacy id equal to a live id would silently redirect that layer's nodes
            taken = old in self._specs or old == spec.id
            if taken or self._legacy.get(old, spec.id) != spec.id:
                owner = old if taken else self._legacy[old]
                raise ValueError(
                    f"legacy id {old!r} of {spec.id!r} is already taken by {owner!r}")
        self._specs[spec.id] = spec
        for old in spec.legacy_ids:
            self._legacy[old] = spec.id
        return spec

    def get(self, type_id: str) -> LayerSpec:
        spec = self.find(type_id)
        if spec is None:
            raise KeyError(f"unknown layer type {type_id!r}")
        return spec

    def find(self, type_id: str) -> LayerSpec | None:
        return self._specs.get(self._legacy.get(type_id, type_id))

    def __contains__(self, type_id: object) -> bool:
        return isinstance(type_id, str) and self.find(type_id) is not None

    def __iter__(self) -> Iterator[LayerSpec]:
        return iter(self._specs.values())

    def __len__(self) -> int:
        return len(self._specs)

    def categories(self) -> dict[str, list[LayerSpec]]:
        out: dict[str, list[LayerSpec]] = {}
        for spec in self._specs.values():
            out.setdefault(spec.category, []).append(spec)
        return out


CATALOG = Catalog()


_POPULATED = False


def catalog() -> Catalog:
    """The populated catalog (layer families register on first use)."""
    global _POPULATED
    if not _POPULATED:  # an import statement per call is costly: this runs per node
        from graph import layers  # noqa: F401  (registers every family)

        _POPULATED = True
    return CATALOG
