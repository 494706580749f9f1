"""Upgrades of old ``.loom`` data to the current format, as pure ``dict -> dict`` steps.

Two kinds of step, both registered by the version they upgrade *from*:

* a format migration (``@migration(1)``) turns a whole file of format version 1
  into version 2; the loader applies them in order until the file is current;
* a layer migration (``@layer_migration("Linear", 1)``) turns the params of one
  node of layer version 1 into those of version 2, for when a single layer type
  changes its parameters.

Steps run before the data is checked, so they must cope with malformed input:
whatever they raise is reported as a file error. They receive a deep copy, so
they may change it in place, but they must return the result. Changing the
format means bumping ``FORMAT_VERSION``, registering the step here and adding a
sample of the old version to ``tests/data/``.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

FORMAT_VERSION = 1
"""The format version this Layerloom writes, and the newest it reads."""

Migration = Callable[[dict[str, Any]], dict[str, Any]]

MIGRATIONS: dict[int, Migration] = {}
"""Format steps by the version they upgrade from (``n`` → ``n + 1``)."""

LAYER_MIGRATIONS: dict[tuple[str, int], Migration] = {}
"""Params steps by (layer type id, layer version they upgrade from)."""


class MigrationError(ValueError):
    """No chain of registered steps leads from the data's version to the current one."""


def migration(from_version: int) -> Callable[[Migration], Migration]:
    """Register a format step from ``from_version`` to ``from_version + 1``."""

    def register(fn: Migration) -> Migration:
        if from_version in MIGRATIONS:
            raise ValueError(f"a migration from format version {from_version} already exists")
        MIGRATIONS[from_version] = fn
        return fn

    return register


def layer_migration(type_id: str, from_version: int) -> Callable[[Migration], Migration]:
    """Register a params step for layer ``type_id`` from ``from_version`` to the next."""

    def register(fn: Migration) -> Migration:
        key = (type_id, from_version)
        if key in LAYER_MIGRATIONS:
            raise ValueError(f"a migration of {type_id} version {from_version} already exists")
        LAYER_MIGRATIONS[key] = fn
        return fn

    return register


def migrate(
    data: dict[str, Any], version: int, target: int | None = None,
    steps: dict[int, Migration] | None = None,
) -> dict[str, Any]:
    """``data`` (of format ``version``) upgraded to ``target`` (default: the current
    format), with its ``version`` field updated. ``data`` itself is left unchanged."""
    # Read the registry at call time so tests can substitute a fake history.
    target = FORMAT_VERSION if target is None else target
    steps = MIGRATIONS if steps is None else steps
    if version == target:
        return data
    data = copy.deepcopy(data)
    for v in range(version, target):
        step = steps.get(v)
        if step is None:
            raise MigrationError(f"format version {v} can no longer be read")
        data = step(data)
        if not isinstance(data, dict):
            raise MigrationError(f"the upgrade from format version {v} did not give an object")
        data["version"] = v + 1
    return data


def upgrade_params(
    type_id: str, params: dict[str, Any], version: int, target: int,
    steps: dict[tuple[str, int], Migration] | None = None,
) -> dict[str, Any]:
    """The params of a ``type_id`` node of layer ``version`` upgraded to ``target``."""
    steps = LAYER_MIGRATIONS if steps is None else steps
    if version == target:
        return params
    params = copy.deepcopy(params)
    for v in range(version, target):
        step = steps.get((type_id, v))
        if step is None:
            raise MigrationError(f"{type_id} version {v} can no longer be read")
        params = step(params)
        if not isinstance(params, dict):
            raise MigrationError(f"the upgrade of {type_id} version {v} did not give an object")
    return params
