"""Data set names → loaders, each with documented, typed options.

The GUI and the command line list data sets and build option editors from
:func:`list_datasets`; the runtime loads by name with :func:`load_dataset`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from runtime.data.dataset import DataError, Dataset
from runtime.data.limits import quote

OptionType = Literal["int", "float", "bool", "str", "path", "choice", "list"]
Loader = Callable[..., Dataset]


@dataclass(frozen=True)
class OptionSpec:
    """One option of a data set: what an editor shows and what a loader receives."""

    name: str
    type: OptionType
    default: Any
    description: str
    choices: tuple[str, ...] = ()
    minimum: float | None = None
    maximum: float | None = None

    def to_dict(self) -> dict[str, Any]:
        default = list(self.default) if isinstance(self.default, tuple) else self.default
        data: dict[str, Any] = {"name": self.name, "type": self.type,
                                "default": default, "description": self.description}
        if self.choices:
            data["choices"] = list(self.choices)
        if self.minimum is not None:
            data["minimum"] = self.minimum
        if self.maximum is not None:
            data["maximum"] = self.maximum
        return data

    def coerce(self, dataset: str, value: Any) -> Any:
        """The value in the option's type, or a :class:`DataError` naming the option."""
        where = f"{dataset}: option {self.name!r}"
        result = _COERCERS[self.type](where, value, self)
        if isinstance(result, int | float) and not isinstance(result, bool):
            if self.minimum is not None and result < self.minimum:
                raise DataError(f"{where} must be at least {self.minimum:g}, got {result}")
            if self.maximum is not None and result > self.maximum:
                raise DataError(f"{where} must be at most {self.maximum:g}, got {result}")
        return result


@dataclass(frozen=True)
class DatasetInfo:
    """A registered data set: its name, what it is, its options and which tasks suit it."""

    name: str
    title: str
    category: str
    description: str
    options: tuple[OptionSpec, ...]
    tasks: tuple[str, ...]
    loader: Loader

    def option(self, name: str) -> OptionSpec:
        for opt in self.options:
            if opt.name == name:
                return opt
        raise DataError(f"{self.name}: unknown option {quote(name)}; valid options: "
                        f"{_listing(o.name for o in self.options)}")

    def resolve(self, options: Mapping[str, Any], base_dir: Path | None = None) -> dict[str, Any]:
        """Defaults filled in, values checked and typed, relative paths made absolute."""
        for key in options:
            self.option(key)
        resolved = {}
        for opt in self.options:
            value = opt.coerce(self.name, options.get(opt.name, opt.default))
            if opt.type == "path" and value:
                path = Path(value).expanduser()
                if base_dir is not None and not path.is_absolute():
                    path = base_dir / path
                value = str(path)
            resolved[opt.name] = value
        return resolved

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "title": self.title, "category": self.category,
                "description": self.description, "tasks": list(self.tasks),
                "options": [o.to_dict() for o in self.options]}


_REGISTRY: dict[str, DatasetInfo] = {}


def register(name: str, *, title: str, category: str, description: str,
             options: tuple[OptionSpec, ...] = (),
             tasks: tuple[str, ...] = ("classification",)) -> Callable[[Loader], Loader]:
    """Decorator registering ``loader(**options) -> Dataset`` under ``name``; refuses duplicates."""

    def decorate(loader: Loader) -> Loader:
        if name in _REGISTRY:
            raise ValueError(f"data set {name!r} is already registered")
        _REGISTRY[name] = DatasetInfo(name, title, category, description, options, tasks, loader)
        return loader

    return decorate


CATEGORIES = ("built-in", "generated", "sequence", "file")


def list_datasets() -> list[DatasetInfo]:
    """Every registered data set, grouped by :data:`CATEGORIES`, registration order within."""
    rank = {category: i for i, category in enumerate(CATEGORIES)}
    return sorted(_REGISTRY.values(), key=lambda info: rank.get(info.category, len(rank)))


def get_dataset_info(name: str) -> DatasetInfo:
    try:
        return _REGISTRY[name]
    except KeyError:
        raise DataError(f"unknown data set {quote(name)}; available: "
                        f"{_listing(_REGISTRY)}") from None


def load_dataset(name: str, options: Mapping[str, Any] | None = None,
                 base_dir: Path | None = None) -> Dataset:
    """Load a data set by name; ``base_dir`` anchors relative file paths (the document's folder)."""
    info = get_dataset_info(name)
    resolved = info.resolve(options or {}, base_dir)
    dataset = info.loader(**resolved)
    notes = outside_folder(info, resolved, base_dir)
    if notes:
        dataset.metadata["notes"] = [*dataset.metadata.get("notes", []), *notes]
    return dataset


def outside_folder(info: DatasetInfo, resolved: Mapping[str, Any],
                   base_dir: Path | None) -> list[str]:
    """A warning for each data path that leads out of the graph file's folder.

    A shared ``.loom`` file can name any file on disk; saying so lets the user see
    that a graph they were sent reads, say, a file in their home folder.
    """
    if base_dir is None:
        return []
    folder = base_dir.resolve()
    notes = []
    for opt in info.options:
        value = resolved.get(opt.name)
        if opt.type != "path" or not value:
            continue
        target = Path(value).resolve()
        if not target.is_relative_to(folder):
            notes.append(f"data option {opt.name!r} reads {target}, outside the graph file's "
                         f"folder {folder}")
    return notes


def _listing(names: Any) -> str:
    return ", ".join(sorted(names)) or "(none)"


def _to_int(where: str, value: Any, spec: OptionSpec) -> int:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise DataError(f"{where} must be an integer, got {quote(value)}")
    if int(value) != value:
        raise DataError(f"{where} must be an integer, got {quote(value)}")
    return int(value)


def _to_float(where: str, value: Any, spec: OptionSpec) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise DataError(f"{where} must be a number, got {quote(value)}")
    return float(value)


def _to_bool(where: str, value: Any, spec: OptionSpec) -> bool:
    if not isinstance(value, bool):
        raise DataError(f"{where} must be true or false, got {quote(value)}")
    return value


def _to_str(where: str, value: Any, spec: OptionSpec) -> str:
    if not isinstance(value, str):
        raise DataError(f"{where} must be text, got {quote(value)}")
    return value


def _to_choice(where: str, value: Any, spec: OptionSpec) -> str:
    if value not in spec.choices:
        raise DataError(f"{where} must be one of {', '.join(spec.choices)}; got {quote(value)}")
    return str(value)


def _to_list(where: str, value: Any, spec: OptionSpec) -> tuple[str, ...]:
    # A comma-separated string is accepted because that is what a text field gives.
    if isinstance(value, str):
        return tuple(part.strip() for part in value.split(",") if part.strip())
    if isinstance(value, list | tuple) and all(isinstance(v, str) for v in value):
        return tuple(value)
    raise DataError(f"{where} must be a list of names, got {quote(value)}")


_COERCERS: dict[str, Callable[[str, Any, OptionSpec], Any]] = {
    "int": _to_int, "float": _to_float, "bool": _to_bool, "str": _to_str,
    "path": _to_str, "choice": _to_choice, "list": _to_list,
}


def seed_option(default: int = 0) -> OptionSpec:
    """The data seed every generated set takes (independent of split and training seeds)."""
    return OptionSpec("seed", "int", default, "Seed of the generator that makes the data.",
                      minimum=0)


def samples_option(default: int) -> OptionSpec:
    return OptionSpec("n_samples", "int", default, "Number of samples to generate.",
                      minimum=4, maximum=1_000_000)
