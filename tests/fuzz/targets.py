"""Every fuzz target by name; each is built on first use (its imports can be heavy)."""

from __future__ import annotations

from collections.abc import Callable

from tests.fuzz import graph_target
from tests.fuzz.harness import Target

TARGETS: dict[str, Callable[[], Target]] = {
    "graph": graph_target.target,
}
