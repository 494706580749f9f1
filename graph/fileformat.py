"""The ``.loom`` file format: a document as JSON, read strictly and written atomically.

A file is ``Document.to_data()`` under a header::

    {"format": "layerloom", "version": 1, "app_version": "0.1.0",
     "networks": {name: {"nodes": [...], "edges": [...]}}, "training": {...}, "ui": {...}}

Loading goes in stages: read (UTF-8 JSON, nothing executed) → migrate (old format
versions, ``graph.migrations``) → check (the pydantic models below) → resolve layer
types (legacy ids, layer versions, parameter types) → build the document through its
public API. Any problem on the way is a ``GraphFileError`` naming where it is, e.g.
``networks.main.nodes[3].params.kernel_size: expected a positive integer, got 'x'``.
Only structure and types refuse a file: a well-typed value out of its bounds loads,
and validation reports it.

``graph.schema`` derives ``schema.json`` from the models here.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import tempfile
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from graph import limits, migrations
from graph.catalog import LayerSpec, ParamSpec, ParamTypeError, catalog
from graph.document import Document, EditError, Network, input_places
from graph.file_errors import GraphFileError, Location, location_of
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
    data = _parse(text)
    version = _check_header(data)
    data = _migrate(data, version)
    limits.check_counts(data)
    model = _check(data)
    return _build(model)


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


_EXPECTED = {
    "dict_type": "an object", "model_type": "an object", "model_attributes_type": "an object",
    "list_type": "a list", "tuple_type": "a list", "string_type": "a string",
    "int_type": "an integer", "int_from_float": "an integer", "float_type": "a number",
    "bool_type": "true or false",
}


def _from_pydantic(exc: ValidationError) -> GraphFileError:
    """The first of pydantic's errors, in our words, located as our messages locate."""
    errors = exc.errors(include_url=False)
    first = errors[0]
    kind = first["type"]
    if kind == "missing":
        item = isinstance(first["loc"][-1], int) if first["loc"] else False
        reason = f"required {'item' if item else 'field'} is missing"
    elif kind == "extra_forbidden":
        reason = "unknown field"
    elif kind in _EXPECTED:
        reason = f"expected {_EXPECTED[kind]}, got {_show(first['input'])}"
    else:
        reason = first["msg"].removeprefix("Value error, ")
        if reason.startswith("Input should be "):
            reason = f"should be {reason.removeprefix('Input should be ')}, " \
                     f"got {_show(first['input'])}"
    if len(errors) > 1:
        reason += f" (and {len(errors) - 1} more problem{'s' if len(errors) > 2 else ''})"
    return GraphFileError(reason, location_of(first["loc"]))


def _build(model: LoomFile) -> Document:
    """The document, built only through its public API (so every edit rule applies)."""
    doc = Document()
    for name, net in model.networks.items():
        at: list[str | int] = ["networks", name]
        try:
            doc.add_network(name)
        except EditError as exc:
            raise GraphFileError(str(exc), location_of(at)) from None
        _add_nodes(doc, name, net.nodes, at)
        _add_edges(doc, name, net.edges, at)
    doc.set_training(model.training)
    for key, value in model.ui.items():
        doc.set_ui(key, value)
    return doc


def _add_nodes(doc: Document, network: str, nodes: list[LoomNode], at: Location) -> None:
    ids: dict[str, int] = {}
    labels: dict[str, int] = {}
    for i, node in enumerate(nodes):
        here = [*at, "nodes", i]
        # Checked here, not left to add_node, to point at the field rather than the node.
        if node.id in ids:
            raise GraphFileError(f"the id {_show(node.id)} is already used by "
                                 f"nodes[{ids[node.id]}]", location_of([*here, "id"]))
        if node.label in labels:
            raise GraphFileError(f"the name {_show(node.label)} is already used by "
                                 f"nodes[{labels[node.label]}]", location_of([*here, "label"]))
        ids[node.id], labels[node.label] = i, i
        spec, params = _resolve(node, here)
        try:
            doc.add_node(network, spec.id, params, label=node.label, pos=node.pos,
                         node_id=node.id)
        except EditError as exc:
            where = [*here, "label"] if not node.label.strip() else here
            raise GraphFileError(str(exc), location_of(where)) from None


def _resolve(node: LoomNode, at: Location) -> tuple[LayerSpec, dict[str, Any]]:
    """The node's layer spec (legacy ids mapped) and its params, upgraded and typed."""
    spec = catalog().find(node.type)
    if spec is None:
        raise GraphFileError(f"unknown layer type {_show(node.type)}",
                             location_of([*at, "type"]))
    where = [*at, "version"]
    if node.version > spec.version:
        raise GraphFileError(f"this file uses {spec.id} version {node.version}; this "
                             f"Layerloom knows up to version {spec.version}", location_of(where))
    if node.version < 1:
        raise GraphFileError(f"expected a layer version of at least 1, got {node.version}",
                             location_of(where))
    try:
        params = migrations.upgrade_params(spec.id, node.params, node.version, spec.version)
    except migrations.MigrationError as exc:
        raise GraphFileError(str(exc), location_of(where)) from None
    except Exception as exc:  # a step tripped over malformed params: report, never crash
        raise GraphFileError(f"could not upgrade {spec.id} version {node.version}: {exc!r}",
                             location_of([*at, "params"])) from None
    return spec, {name: _coerce(spec, name, value, at) for name, value in params.items()}


def _coerce(spec: LayerSpec, name: str, value: Any, at: Location) -> Any:
    param: ParamSpec | None = next((p for p in spec.all_params if p.name == name), None)
    if param is None:
        known = ", ".join(p.name for p in spec.all_params) or "none"
        raise GraphFileError(f"{spec.display_name} has no parameter {_show(name)} "
                             f"(parameters: {known})", location_of([*at, "params", name]))
    try:
        return param.coerce(value)
    except ParamTypeError as exc:
        raise GraphFileError(str(exc), location_of([*at, "params", name])) from None


def _add_edges(doc: Document, network: str, edges: list[LoomEdge], at: Location) -> None:
    """Wire the network as the file says; the first wire in the file's order that cannot
    be made is the one reported, though the wires are made in another order (below)."""
    stop, problem = _first_refused(doc.network(network), edges, at)
    for j in [*_wiring_order(edges[:stop]), *range(stop, min(stop + 1, len(edges)))]:
        if j == stop and problem is not None:
            raise problem
        edge = edges[j]
        try:
            doc.connect(network, edge.source, edge.target, edge.port)
        except EditError as exc:  # a cycle, an input fed twice, a wire out of the Output
            raise GraphFileError(str(exc), location_of([*at, "edges", j])) from None


def _first_refused(net: Network, edges: list[LoomEdge], at: Location
                   ) -> tuple[int, GraphFileError | None]:
    """The index of the first wire that is wrong whatever came before it (with the error
    to raise, or None where connecting it says why), or ``len(edges)``."""
    fed: set[tuple[str, str]] = set()
    for j, edge in enumerate(edges):
        here = [*at, "edges", j]
        for end in ("source", "target"):
            node_id = getattr(edge, end)
            if node_id not in net:
                return j, GraphFileError(f"there is no node with id {_show(node_id)}",
                                         location_of([*here, end]))
        target = net.node(edge.target)
        if not input_places(target.type, edge.port):
            ports = ", ".join(target.spec.port_keys()) or "none"
            return j, GraphFileError(f"{target.spec.display_name} '{target.label}' has no "
                                     f"input {_show(edge.port)} (inputs: {ports})",
                                     location_of([*here, "port"]))
        if (edge.target, edge.port) in fed or net.node(edge.source).spec.role == "output":
            return j, None
        fed.add((edge.target, edge.port))
    return len(edges), None


def _wiring_order(edges: list[LoomEdge]) -> list[int]:
    """The indices of ``edges`` in the order to wire them: sources in topological order.

    Then no wire's target has outgoing wires yet, so the cycle check of each connect is
    free and loading stays linear. In a file with a cycle, the wires from the first one
    that closes it keep the file's order, so that wire is the one reported.
    """
    rank = _topological_rank(edges)
    if rank is not None:
        return sorted(range(len(edges)), key=lambda j: rank[edges[j].source])
    lo, hi = 0, len(edges) - 1  # the shortest cyclic prefix ends at edges[hi]
    while lo < hi:
        mid = (lo + hi) // 2
        if _topological_rank(edges[:mid + 1]) is None:
            hi = mid
        else:
            lo = mid + 1
    return _wiring_order(edges[:hi]) + list(range(hi, len(edges)))


def _topological_rank(edges: list[LoomEdge]) -> dict[str, int] | None:
    """Each wired node's place in a topological order, or None when the wires form a cycle."""
    after: dict[str, list[str]] = {}
    waiting: dict[str, int] = {}  # how many wires into a node are not yet ranked
    for e in edges:
        after.setdefault(e.source, []).append(e.target)
        waiting.setdefault(e.source, 0)
        waiting[e.target] = waiting.get(e.target, 0) + 1
    ready = [n for n, count in waiting.items() if count == 0]
    rank: dict[str, int] = {}
    while ready:
        node = ready.pop()
        rank[node] = len(rank)
        for succ in after.get(node, ()):
            waiting[succ] -= 1
            if waiting[succ] == 0:
                ready.append(succ)
    return rank if len(rank) == len(waiting) else None
