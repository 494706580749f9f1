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

``python -m graph.fileformat --write-schema`` regenerates ``graph/schema.json``;
``python -m graph.fileformat FILE...`` checks files.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import re
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from graph import migrations
from graph.catalog import LayerSpec, ParamSpec, ParamTypeError, catalog
from graph.document import Document, EditError
from graph.training import TrainingSpec

FORMAT = "layerloom"
APP_VERSION = "0.1.0"  # kept equal to pyproject's version by a test
SCHEMA_PATH = Path(__file__).with_name("schema.json")
MAX_DEPTH = 64  # real files nest < 10 levels; this keeps later stages far from recursion limits
MAX_BYTES = 256 << 20  # a graph is small; a bigger file is certainly something else

Location = Sequence[str | int]


class GraphFileError(ValueError):
    """A graph file cannot be loaded. The message reads ``location: reason``.

    ``location`` is the path of the offending value, e.g.
    ``networks.main.edges[2].port`` ("" when the file as a whole is the problem),
    ``reason`` the message without it, and ``file`` the path read, when known.
    """

    def __init__(self, reason: str, location: str = "", file: str | None = None) -> None:
        self.reason = reason
        self.location = location
        self.file = file
        super().__init__(f"{location}: {reason}" if location else reason)


_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def location_of(parts: Location) -> str:
    """A path as messages write it: ``networks.main.nodes[3].params.kernel_size``.

    Keys that are not identifiers are quoted: ``networks["my net"].nodes[0]``.
    """
    out = ""
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        elif _IDENTIFIER.fullmatch(part):
            out += f".{part}" if out else part
        else:
            out += f"[{json.dumps(part, ensure_ascii=False)}]"
    return out


def _show(value: Any) -> str:
    """A short JSON rendering of a value for a message."""
    text = json.dumps(value, ensure_ascii=False, default=repr)
    return text if len(text) <= 60 else text[:57] + "…"


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
        raw = Path(path).read_bytes() if size <= MAX_BYTES else b""
    except OSError as exc:
        raise GraphFileError(f"cannot read {name}: {exc.strerror or exc}", file=name) from None
    if size > MAX_BYTES:
        raise GraphFileError(f"not a Layerloom graph file: it is too large ({size} bytes)",
                             file=name)
    try:
        text = raw.decode("utf-8-sig")  # tolerate the BOM some Windows editors add
    except UnicodeDecodeError as exc:
        reason = (f"not a Layerloom graph file: it is not UTF-8 text "
                  f"(byte {raw[exc.start]:#04x} at offset {exc.start})")
        raise GraphFileError(reason, file=name) from None
    try:
        return loads(text)
    except GraphFileError as exc:
        exc.file = name
        raise


def loads(text: str) -> Document:
    """The document in ``.loom`` text. Raises ``GraphFileError`` for any problem."""
    data = _parse(text)
    version = _check_header(data)
    data = _migrate(data, version)
    model = _check(data)
    return _build(model)


class _JSONProblem(ValueError):
    """Raised by the parser hooks for JSON that Python would accept but we do not."""


def _parse(text: str) -> Any:
    """Plain JSON only: no NaN or Infinity, no repeated keys, no lone surrogates."""
    if not isinstance(text, str):
        raise GraphFileError(f"expected the file's text, got {type(text).__name__}")
    try:
        data = json.loads(
            text, parse_constant=_no_constant, parse_float=_finite_float,
            object_pairs_hook=_unique_keys,
        )
    except json.JSONDecodeError as exc:
        raise GraphFileError(
            f"not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})"
        ) from None
    except _JSONProblem as exc:
        raise GraphFileError(str(exc)) from None
    except (ValueError, RecursionError) as exc:  # e.g. an integer past Python's digit limit
        raise GraphFileError(f"not valid JSON: {exc}") from None
    _check_plain(data, [])
    return data


def _no_constant(name: str) -> Any:
    raise _JSONProblem(f"{name} is not a number JSON allows")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise _JSONProblem(f"the number {text} is too large")
    return value


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj: dict[str, Any] = {}
    for key, value in pairs:
        if key in obj:
            raise _JSONProblem(f"the key {_show(key)} appears twice in one object")
        obj[key] = value
    return obj


def _check_plain(value: Any, at: list[str | int]) -> None:
    """Refuse absurd nesting and strings that cannot be written back as UTF-8."""
    if len(at) > MAX_DEPTH:
        raise GraphFileError(f"nested more than {MAX_DEPTH} levels deep", location_of(at))
    if isinstance(value, str):
        _check_text(value, at)
    elif isinstance(value, dict):
        for key, item in value.items():
            _check_text(key, [*at, key])
            _check_plain(item, [*at, key])
    elif isinstance(value, list):
        for i, item in enumerate(value):
            _check_plain(item, [*at, i])


def _check_text(text: str, at: list[str | int]) -> None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        bad = f"\\u{ord(text[exc.start]):04x}"
        raise GraphFileError(f"contains {bad}, half of a character", location_of(at)) from None


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
    where = location_of([*at, "version"])
    if node.version > spec.version:
        raise GraphFileError(f"this file uses {spec.id} version {node.version}; this "
                             f"Layerloom knows up to version {spec.version}", where)
    if node.version < 1:
        raise GraphFileError(f"expected a layer version of at least 1, got {node.version}",
                             where)
    try:
        params = migrations.upgrade_params(spec.id, node.params, node.version, spec.version)
    except migrations.MigrationError as exc:
        raise GraphFileError(str(exc), where) from None
    except Exception as exc:  # a step tripped over malformed params: report, never crash
        raise GraphFileError(f"could not upgrade {spec.id} version {node.version}: {exc!r}",
                             location_of([*at, "params"])) from None
    return spec, {name: _coerce(spec, name, value, at) for name, value in params.items()}


def _coerce(spec: LayerSpec, name: str, value: Any, at: Location) -> Any:
    where = location_of([*at, "params", name])
    param: ParamSpec | None = next((p for p in spec.all_params if p.name == name), None)
    if param is None:
        known = ", ".join(p.name for p in spec.all_params) or "none"
        raise GraphFileError(f"{spec.display_name} has no parameter {_show(name)} "
                             f"(parameters: {known})", where)
    try:
        return param.coerce(value)
    except ParamTypeError as exc:
        raise GraphFileError(str(exc), where) from None


def _add_edges(doc: Document, network: str, edges: list[LoomEdge], at: Location) -> None:
    net = doc.network(network)
    for j, edge in enumerate(edges):
        here = [*at, "edges", j]
        for end in ("source", "target"):
            node_id = getattr(edge, end)
            if node_id not in net:
                raise GraphFileError(f"there is no node with id {_show(node_id)}",
                                     location_of([*here, end]))
        target = net.node(edge.target)
        if target.spec.port(edge.port) is None:
            ports = ", ".join(target.spec.port_keys()) or "none"
            raise GraphFileError(f"{target.spec.display_name} '{target.label}' has no input "
                                 f"{_show(edge.port)} (inputs: {ports})",
                                 location_of([*here, "port"]))
        try:
            doc.connect(network, edge.source, edge.target, edge.port)
        except EditError as exc:  # a cycle, an input fed twice, a wire out of the Output
            raise GraphFileError(str(exc), location_of(here)) from None


# -- the JSON Schema ------------------------------------------------------------------


def json_schema() -> dict[str, Any]:
    """A JSON Schema (2020-12) for ``.loom`` files, with each layer type's params.

    Types only, no bounds: an out-of-range value still loads (validation reports
    it). Derived from the models above and the catalog; ``schema.json`` ships it.
    """
    schema = LoomFile.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["properties"]["version"] = {"const": migrations.FORMAT_VERSION, "title": "Version"}
    defs: dict[str, Any] = schema["$defs"]
    branches = []
    for spec in catalog():
        name = f"{spec.id}Params"
        if name in defs:
            raise AssertionError(f"schema definition {name} is defined twice")
        defs[name] = {
            "title": f"{spec.display_name} parameters",
            "type": "object",
            "properties": {p.name: _param_schema(p) for p in spec.all_params},
            "additionalProperties": False,
        }
        branches.append({
            "properties": {
                "type": {"enum": [spec.id, *spec.legacy_ids]},
                "version": {"maximum": spec.version},
                "params": {"$ref": f"#/$defs/{name}"},
            },
        })
    # The "type" values are disjoint, so exactly one branch applies to a valid node.
    defs["LoomNode"]["oneOf"] = branches
    return schema


def _param_schema(p: ParamSpec) -> dict[str, Any]:
    kinds: dict[str, dict[str, Any]] = {
        "int": {"type": "integer"},
        "float": {"type": "number"},
        "bool": {"type": "boolean"},
        "choice": {"enum": list(p.choices)},
        "ints": {"type": "array", "items": {"type": "integer"}},
    }
    return {**kinds[p.kind], "description": p.doc, "default": p.to_json(p.coerce(p.default))}


def schema_text() -> str:
    """``json_schema()`` as ``schema.json`` holds it."""
    return json.dumps(json_schema(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    """``--write-schema`` regenerates schema.json; file arguments are checked."""
    parser = argparse.ArgumentParser(prog="python -m graph.fileformat", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--write-schema", action="store_true",
                        help=f"regenerate {SCHEMA_PATH} from the code")
    parser.add_argument("files", nargs="*", help=".loom files to check")
    args = parser.parse_args(argv)
    if args.write_schema:
        SCHEMA_PATH.write_text(schema_text(), encoding="utf-8")
    failed = False
    for name in args.files:
        try:
            load_graph(name)
        except GraphFileError as exc:
            sys.stderr.write(f"{name}: {exc}\n")
            failed = True
        else:
            sys.stdout.write(f"{name}: ok\n")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
