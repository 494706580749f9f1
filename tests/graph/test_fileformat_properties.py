"""Property tests of the .loom loader: random documents round-trip exactly, and random
or damaged input only ever raises GraphFileError, which names the damaged field."""

from __future__ import annotations

import contextlib
import copy
import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from graph.builder import NetworkBuilder
from graph.catalog import ParamSpec, catalog
from graph.document import Document
from graph.fileformat import GraphFileError, dumps, loads, location_of
from graph.training import TrainingSpec

FAST = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Single-input layers to chain, and multi-input ones to merge a chain with its start.
CHAIN = [s.id for s in catalog() if s.role == "layer" and [p.name for p in s.inputs] == ["x"]]
MERGES = ["Add", "Multiply", "Concat"]

Path = list[str | int]

json_by_kind: dict[str, st.SearchStrategy[Any]] = {
    "null": st.none(),
    "boolean": st.booleans(),
    "number": st.integers() | st.floats(allow_nan=False, allow_infinity=False),
    "string": st.text(max_size=8),
}
json_values = st.recursive(
    st.one_of(*json_by_kind.values()),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner,
                                                                max_size=3),
    max_leaves=8,
)
json_by_kind["array"] = st.lists(json_values, max_size=3)
json_by_kind["object"] = st.dictionaries(st.text(max_size=5), json_values, max_size=3)


def _other_kind(value: Any) -> st.SearchStrategy[Any]:
    """A JSON value of any type but the type of ``value``."""
    return st.one_of(*(s for kind, s in json_by_kind.items() if kind != _kind(value)))


def _param_value(p: ParamSpec) -> st.SearchStrategy[Any]:
    """Any well-typed value, in bounds or not: the file must keep it either way."""
    if p.kind == "int":
        return st.integers()
    if p.kind == "float":
        return st.floats(allow_nan=False, allow_infinity=False)
    if p.kind == "bool":
        return st.booleans()
    if p.kind == "choice":
        return st.sampled_from(p.choices)
    if p.kind == "node":  # any id: a dangling one is a validation matter, not the file's
        return st.text(max_size=8)
    return st.lists(st.integers(), max_size=5)


@st.composite
def _layer(draw: st.DrawFn, type_id: str) -> dict[str, Any]:
    spec = catalog().get(type_id)
    chosen = draw(st.lists(st.sampled_from(spec.all_params), unique=True)) \
        if spec.all_params else []
    return {p.name: draw(_param_value(p)) for p in chosen}


labels = st.text(min_size=1, max_size=12).filter(lambda s: bool(s.strip()))
positions = st.tuples(st.floats(-1e6, 1e6), st.floats(-1e6, 1e6))


def _label(draw: st.DrawFn, used: set[str]) -> str | None:
    """A random unique name, or None for the builder's own choice."""
    text = draw(st.none() | labels)
    if text is None or text in used:
        return None
    used.add(text)
    return text


def _network(draw: st.DrawFn, doc: Document, name: str) -> None:
    """Input → a chain of layers → maybe a merge with the input → maybe an Output."""
    b = NetworkBuilder(doc, name)
    used: set[str] = set()
    start = b.add("Input", label=_label(draw, used), pos=draw(positions),
                  **draw(_layer("Input")))
    head = start
    for type_id in draw(st.lists(st.sampled_from(CHAIN), max_size=5)):
        head = b.add(type_id, head, label=_label(draw, used), **draw(_layer(type_id)))
    if head != start and draw(st.booleans()):
        merge = draw(st.sampled_from(MERGES))
        head = b.add(merge, head, start, label=_label(draw, used), **draw(_layer(merge)))
    if draw(st.booleans()):
        b.add("Output", head, label=_label(draw, used))


@st.composite
def documents(draw: st.DrawFn) -> Document:
    """Valid documents built through NetworkBuilder, with any well-typed params."""
    doc = Document()
    names = draw(st.lists(st.from_regex(r"[A-Za-z_][A-Za-z0-9_ \-]{0,10}", fullmatch=True),
                          min_size=1, max_size=2, unique=True))
    for name in names:
        _network(draw, doc, name)
    training = TrainingSpec().replaced("epochs", draw(st.integers(1, 1000)))
    doc.set_training(training.replaced("data.options", draw(st.dictionaries(
        st.text(max_size=5), json_values, max_size=3))))
    for key, value in draw(st.dictionaries(st.text(max_size=6), json_values, max_size=3)).items():
        doc.set_ui(key, value)
    return doc


@FAST
@given(documents())
def test_random_documents_round_trip_exactly(doc: Document) -> None:
    text = dumps(doc)
    loaded = loads(text)
    assert loaded.to_data() == doc.to_data()
    assert dumps(loaded) == text


@FAST
@given(st.text(max_size=200) | json_values.map(json.dumps))
def test_random_text_only_raises_graph_file_errors(text: str) -> None:
    with contextlib.suppress(GraphFileError):
        loads(text)


@FAST
@given(st.dictionaries(st.sampled_from(["networks", "training", "ui", "app_version", "x"]),
                       json_values, max_size=5))
def test_random_bodies_under_a_valid_header_only_raise_graph_file_errors(
    body: dict[str, Any],
) -> None:
    try:
        loads(json.dumps({"format": "layerloom", "version": 1, **body}))
    except GraphFileError as exc:
        assert exc.location or exc.reason


# -- damage one field of a valid file -------------------------------------------------


def _paths(value: Any, at: Path) -> list[Path]:
    """Every place in a JSON tree, the root included."""
    out = [at]
    if isinstance(value, dict):
        for key, item in value.items():
            out += _paths(item, [*at, key])
    elif isinstance(value, list):
        for i, item in enumerate(value):
            out += _paths(item, [*at, i])
    return out


def _get(data: Any, path: Path) -> Any:
    for key in path:
        data = data[key]
    return data


def _kind(value: Any) -> str:
    """The JSON type of a value (integers and floats are both numbers)."""
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    return {str: "string", list: "array", dict: "object", type(None): "null"}[type(value)]


def _names(location: str, path: Path) -> bool:
    """Whether an error at ``location`` names the field at ``path``: the field itself,
    a part of it, or, for an item inside a layer parameter, that parameter."""
    if len(path) > 6 and path[4] == "params":
        path = path[:6]  # a param is checked as a whole: shape[1] is reported as shape
    here = location_of(path)
    return not here or location == here or location.startswith((here + ".", here + "["))


mutations = st.sampled_from(["delete", "retype", "string", "nest"])


@FAST
@given(documents(), st.data())
def test_damaging_one_field_raises_only_a_graph_file_error_naming_it(
    doc: Document, data: st.DataObject,
) -> None:
    original = json.loads(dumps(doc))
    damaged = copy.deepcopy(original)
    path = data.draw(st.sampled_from(_paths(damaged, [])), label="path")
    how = data.draw(mutations, label="mutation")
    old = _get(damaged, path)
    parent = _get(damaged, path[:-1]) if path else None
    if how == "delete" and isinstance(parent, dict):
        del parent[path[-1]]
        checked = True
    else:
        new = data.draw({"string": st.text(max_size=10), "nest": json_values}.get(
            how, _other_kind(old)), label="new")
        if parent is None:
            damaged = new
        else:
            parent[path[-1]] = new
        checked = _kind(new) != _kind(old)  # same-typed values may well be valid
    try:
        loads(json.dumps(damaged))
    except GraphFileError as exc:
        if checked:
            assert _names(exc.location, path), f"{exc} does not name {location_of(path)}"
