"""The ``.loom`` file format: a document as JSON, read strictly and written atomically.

A file is ``Document.to_data()`` under a header::

    {"format": "layerloom", "version": 1, "app_version": "0.1.0",
     "networks": {name: {"nodes": [...], "edges": [...]}}, "training": {...}, "ui": {...}}

Loading goes in stages: read (UTF-8 JSON, nothing executed) → migrate (old format
versions, ``graph.migrations``) → check (the pydantic models below) → resolve layer
types (legacy ids, layer versions, parameter types) → build the document through its
public API (the last two in ``graph.file_build``). Any problem on the way is a
``GraphFileError`` naming where it is, e.g.
``networks.main.nodes[3].params.kernel_size: expected a positive integer, got 'x'``.
Only structure and types refuse a file: a well-typed value out of its bounds loads,
and validation reports it.

Files beyond the bounds of ``graph.limits`` (size, networks, nodes, wires, texts) are
refused before they are checked.

``graph.schema`` derives ``schema.json`` from the models here.
"""

from __future__ import annotations

import contextlib
import gc
import json
import os
import re
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from graph import limits, migrations
from graph.document import Document
from graph.file_build import build
from graph.file_errors import GraphFileError, location_of, pydantic_problem
from graph.file_errors import show_value as _show
from graph.strict_json import parse as _parse
from graph.training import TrainingSpec

__all__ = ["GraphFileError", "dumps", "load_graph", "loads", "location_of", "save_graph"]

FORMAT = "layerloom"
APP_VERSION = "0.1.0"  # kept equal to pyproject's version by a test
MAX_BYTES = limits.MAX_FILE_BYTES  # a graph is small; a bigger file is something else


# -- the format, as pydantic models (also the source of schema.json) ------------------


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class LoomEdge(_Strict):
    """A wire from ``source``'s output to input ``port`` of ``target`` (node ids)."""

    source: str
    target: str
    port: str


class LoomNode(_Strict):
    """A layer: its type (and that type's version), name, parameters and position."""

    id: str = Field(min_length=1)
    type: str
    version: int
    label: str
    params: dict[str, Any]
    pos: tuple[float, float]


class LoomNetwork(_Strict):
    nodes: list[LoomNode]
    edges: list[LoomEdge]


class LoomFile(_Strict):
    """A Layerloom graph file (``.loom``)."""

    format: Literal["layerloom"]
    version: int
    app_version: str
    networks: dict[str, LoomNetwork]
    training: TrainingSpec
    ui: dict[str, Any]


# -- saving ---------------------------------------------------------------------------


def dumps(doc: Document) -> str:
    """The document as ``.loom`` text: pretty JSON, keys sorted so files diff well."""
    header = {"format": FORMAT, "version": migrations.FORMAT_VERSION, "app_version": APP_VERSION}
    body = _sorted(doc.to_data())
    # allow_nan=False: refuse to write a file that this module would refuse to read.
    text = json.dumps({**header, **body}, indent=2, ensure_ascii=False, allow_nan=False)
    return _SCALAR_LIST.sub(_one_line, text) + "\n"


# A list of numbers, booleans or nulls spread over lines by json.dumps. JSON strings
# cannot hold a raw newline, so this never matches inside one.
_SCALAR_LIST = re.compile(r"\[\n\s+([-\w.+]+(?:,\n\s+[-\w.+]+)*)\n\s*\]")


def _one_line(match: re.Match[str]) -> str:
    """``pos`` and shapes on one line each: shorter files, and one changed line per edit."""
    return "[" + re.sub(r",\n\s+", ", ", match.group(1)) + "]"


def _sorted(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _sorted(value[k]) for k in sorted(value)}
    if isinstance(value, list | tuple):
        return [_sorted(v) for v in value]
    return value


def save_graph(doc: Document, path: str | os.PathLike[str]) -> None:
    """Write ``doc`` to ``path`` atomically.

    The text goes to a temporary file in the same folder, is flushed to disk and
    then renamed over ``path``, so a crash or a full disk leaves either the old
    file or the new one, never half of one. On failure the temporary file is removed
    and the error (an ``OSError``) propagates.
    """
    data = dumps(doc).encode("utf-8")
    target = Path(os.path.realpath(path))  # through a symlink, replace what it points to
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        # mkstemp makes the file private; keep the old file's mode, or a usual one.
        # Some file systems refuse modes altogether; that must not stop a save.
        mode = target.stat().st_mode & 0o7777 if target.exists() else 0o644
        with contextlib.suppress(OSError):
            os.chmod(tmp, mode)
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    _sync_folder(target.parent)


def _sync_folder(folder: Path) -> None:
    """Make the rename itself durable (POSIX; elsewhere there is nothing to open)."""
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


# -- loading --------------------------------------------------------------------------


def load_graph(path: str | os.PathLike[str]) -> Document:
    """Read a ``.loom`` file. Raises ``GraphFileError`` (with ``file`` set) for any
    problem, a missing or unreadable file included."""
    name = os.fspath(path)
    try:
        size = os.stat(path).st_size
        # Read at most one byte past the limit: a device such as /dev/zero has no size.
        with open(path, "rb") as f:
            raw = f.read(MAX_BYTES + 1) if size <= MAX_BYTES else b""
        size = max(size, len(raw))
    except OSError as exc:
        raise GraphFileError(f"cannot read {name}: {exc.strerror or exc}", file=name) from None
    try:
        text = raw.decode("utf-8-sig")  # tolerate the BOM some Windows editors add
    except UnicodeDecodeError as exc:
        reason = (f"not a Layerloom graph file: it is not UTF-8 text "
                  f"(byte {raw[exc.start]:#04x} at offset {exc.start})")
        raise GraphFileError(reason, file=name) from None
    try:
        limits.check_file_size(size, MAX_BYTES)
        return loads(text)
    except GraphFileError as exc:
        exc.file = name
        raise


def loads(text: str) -> Document:
    """The document in ``.loom`` text. Raises ``GraphFileError`` for any problem."""
    if isinstance(text, str):
        limits.check_text_size(len(text))
    with _collector_paused():
        data = _parse(text)
        version = _check_header(data)
        data = _migrate(data, version)
        limits.check_counts(data)
        model = _check(data)
        return build(model)


@contextlib.contextmanager
def _collector_paused() -> Iterator[None]:
    """Loading makes tens of thousands of containers and no garbage: the cyclic collector
    would only scan them again and again (a third of the time of a 10,000-node file)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _check_header(data: Any) -> int:
    """The file's format version, once the file is known to be a Layerloom graph."""
    current = migrations.FORMAT_VERSION
    if not isinstance(data, dict):
        kind = "a list" if isinstance(data, list) else _show(data)
        raise GraphFileError(f"not a Layerloom graph file: expected a JSON object, got {kind}")
    if "format" not in data:
        raise GraphFileError('not a Layerloom graph file (there is no "format": "layerloom")',
                             "format")
    if data["format"] != FORMAT:
        raise GraphFileError(f'not a Layerloom graph file: expected "{FORMAT}", '
                             f"got {_show(data['format'])}", "format")
    version = data.get("version")
    if "version" not in data:
        raise GraphFileError("required field is missing", "version")
    if not isinstance(version, int) or isinstance(version, bool):
        raise GraphFileError(f"expected an integer, got {_show(version)}", "version")
    if version > current:
        raise GraphFileError(f"this file was written by a newer Layerloom (format version "
                             f"{version}); this version reads up to {current}", "version")
    if version < 1:
        raise GraphFileError(f"expected a format version of at least 1, got {version}",
                             "version")
    return version


def _migrate(data: dict[str, Any], version: int) -> dict[str, Any]:
    try:
        return migrations.migrate(data, version)
    except migrations.MigrationError as exc:
        raise GraphFileError(str(exc), "version") from None
    except Exception as exc:  # a step tripped over malformed data: report it, never crash
        raise GraphFileError(
            f"could not upgrade this file from format version {version}: {exc!r}"
        ) from None


def _check(data: dict[str, Any]) -> LoomFile:
    """The data checked against the models, strictly (no "3" for 3, no 3.0 for 3)."""
    try:
        # Validating JSON text rather than Python objects lets strict mode accept
        # lists for tuples; the dump is exact because _parse admitted only plain JSON.
        text = json.dumps(data, allow_nan=False)
    except (TypeError, ValueError) as exc:  # only a faulty migration gets here
        raise GraphFileError(f"the upgraded file is not plain JSON: {exc}") from None
    try:
        return LoomFile.model_validate_json(text, strict=True)
    except ValidationError as exc:
        raise _from_pydantic(exc) from None


def _from_pydantic(exc: ValidationError) -> GraphFileError:
    """The first of pydantic's errors, in our words, located as our messages locate."""
    location, reason = pydantic_problem(exc)
    return GraphFileError(reason, location)
