"""Graph files beyond the bounds of graph.limits are refused at once, naming where; files
within them load and validate in time linear in their size; repeated keys name their line."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from graph import limits
from graph.fileformat import GraphFileError, dumps, load_graph, loads
from graph.training import TrainingSpec
from graph.validate import validate


def _node(i: int, type_id: str, **params: Any) -> dict[str, Any]:
    return {"id": f"n{i}", "type": type_id, "version": 1, "label": f"{type_id.lower()}{i}",
            "params": params, "pos": [float(i), 0.0]}


def _wire(source: int, target: int, port: str = "x") -> dict[str, str]:
    return {"source": f"n{source}", "target": f"n{target}", "port": port}


def _file(networks: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"format": "layerloom", "version": 1, "app_version": "0.1.0",
            "networks": networks, "training": TrainingSpec().to_data(), "ui": {}, **extra}


def _chain(n: int) -> dict[str, Any]:
    """Input → (n - 2) ReLUs → Output, its wires listed from the last to the first."""
    nodes = [_node(0, "Input", shape=[4]), *(_node(i, "ReLU") for i in range(1, n - 1)),
             _node(n - 1, "Output")]
    return {"nodes": nodes, "edges": [_wire(i, i + 1) for i in reversed(range(n - 1))]}


def _fan_in(n: int) -> dict[str, Any]:
    """Input → (n - 3) ReLUs side by side → one Concat → Output."""
    relus = range(1, n - 2)
    nodes = [_node(0, "Input", shape=[4]), *(_node(i, "ReLU") for i in relus),
             _node(n - 2, "Concat"), _node(n - 1, "Output")]
    edges = [_wire(0, i) for i in relus] + [_wire(i, n - 2, f"in{i - 1}") for i in relus]
    return {"nodes": nodes, "edges": [*edges, _wire(n - 2, n - 1)]}


def _refused(data: dict[str, Any]) -> GraphFileError:
    with pytest.raises(GraphFileError) as info:
        loads(json.dumps(data))
    return info.value


# -- limits ---------------------------------------------------------------------------


def _many_networks(data: dict[str, Any]) -> None:
    for k in range(limits.MAX_NETWORKS):
        data["networks"][f"net{k}"] = {"nodes": [], "edges": []}


def _set_nodes(count: int, network: str = "main") -> Callable[[dict[str, Any]], None]:
    def mutate(data: dict[str, Any]) -> None:
        data["networks"][network] = {"nodes": [{}] * count, "edges": []}
    return mutate


def _nodes_in_all(data: dict[str, Any]) -> None:
    _set_nodes(limits.MAX_NODES)(data)
    _set_nodes(limits.MAX_TOTAL_NODES - limits.MAX_NODES, "second")(data)
    _set_nodes(1, "third")(data)


def _set_node(key: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def mutate(data: dict[str, Any]) -> None:
        data["networks"]["main"]["nodes"][0][key] = value
    return mutate


def _edges(data: dict[str, Any]) -> None:
    data["networks"]["main"]["edges"] = [{}] * (limits.MAX_EDGES + 1)


def _long_path(data: dict[str, Any]) -> None:
    data["training"]["data"]["options"]["path"] = "/data/" + "x" * limits.MAX_STRING_CHARS


def _quoted_path(data: dict[str, Any]) -> None:
    data["training"]["data"]["options"]["path"] = 'say "hi" ' * 500


def _ui(data: dict[str, Any]) -> None:
    data["ui"] = {f"k{i}": 1 for i in range(limits.MAX_UI_KEYS + 1)}


BEYOND: list[tuple[str, Callable[[dict[str, Any]], None], str, str]] = [
    ("networks", _many_networks, "networks", "65 networks; a file may have at most 64"),
    ("nodes", _set_nodes(limits.MAX_NODES + 1), "networks.main.nodes",
     "10,001 nodes; a network may have at most 10,000"),
    ("nodes in all", _nodes_in_all, "networks.third.nodes",
     "20,001 nodes together; a file may have at most 20,000"),
    ("edges", _edges, "networks.main.edges", "40,001 wires; a network may have at most 40,000"),
    ("label", _set_node("label", "a" * 201), "networks.main.nodes[0].label",
     "the name is 201 characters long; it may have at most 200"),
    ("id", _set_node("id", "n" * 300), "networks.main.nodes[0].id", "the id is 300 characters"),
    ("text", _long_path, "training.data.options.path", "at most 4,096"),
    ("text with quotes", _quoted_path, "training.data.options.path", "at most 4,096"),
    ("list parameter", _set_node("params", {"shape": [1] * 65}),
     "networks.main.nodes[0].params.shape", "the list has 65 items; a layer parameter takes "
     "at most 64"),
    ("editor state", _ui, "ui", "1,001 entries"),
]


@pytest.mark.parametrize(("mutate", "location", "words"), [c[1:] for c in BEYOND],
                         ids=[c[0] for c in BEYOND])
def test_files_beyond_a_limit_are_refused_naming_where(
    mutate: Callable[[dict[str, Any]], None], location: str, words: str,
) -> None:
    data = _file({"main": _chain(3)})
    mutate(data)
    error = _refused(data)
    assert (error.location, words in error.reason) == (location, True), str(error)


def test_a_file_at_the_limits_loads() -> None:
    data = _file({"main": _chain(3)})
    data["networks"]["main"]["nodes"][0]["label"] = "a" * limits.MAX_NAME_CHARS
    data["training"]["data"]["options"]["path"] = "x" * limits.MAX_STRING_CHARS
    data["ui"] = {f"k{i}": 1 for i in range(limits.MAX_UI_KEYS)}
    assert loads(json.dumps(data)).network("main").by_label("a" * 200) is not None


def test_too_large_a_file_is_refused_before_it_is_read(tmp_path: Path) -> None:
    path = tmp_path / "huge.loom"
    with path.open("wb") as f:
        f.truncate(limits.MAX_FILE_BYTES + 1)  # sparse: no disk used
    with pytest.raises(GraphFileError, match=r"too large.*at most 16,777,216") as info:
        load_graph(path)
    assert info.value.file == str(path)
    with pytest.raises(GraphFileError, match="too large"):
        loads(" " * (limits.MAX_FILE_BYTES + 1))


@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="needs /dev/zero")
def test_an_endless_file_is_read_no_further_than_the_limit() -> None:
    with pytest.raises(GraphFileError, match="too large"):
        load_graph("/dev/zero")


# -- repeated keys ----------------------------------------------------------------------


def test_a_repeated_key_names_its_line_and_field() -> None:
    text = json.dumps(_file({"main": _chain(3)}), indent=2)
    lines = text.splitlines()
    at = next(i for i, line in enumerate(lines) if '"label": "relu1"' in line)
    lines.insert(at + 1, '        "label": "again",')
    with pytest.raises(GraphFileError) as info:
        loads("\n".join(lines))
    assert info.value.location == "networks.main.nodes[1].label"
    assert f'the key "label" appears twice in this object (line {at + 2})' in info.value.reason


# -- linear time --------------------------------------------------------------------------


def _calls(run: Callable[[], object]) -> int:
    """Python and C function calls made by ``run``: a measure of work that, unlike a
    timing, does not depend on the machine or its load."""
    count = 0

    def profile(frame: object, event: str, arg: object) -> None:
        nonlocal count
        if event in ("call", "c_call"):
            count += 1

    sys.setprofile(profile)
    try:
        run()
    finally:
        sys.setprofile(None)
    return count


def _load_and_validate(network: dict[str, Any]) -> Callable[[], object]:
    text = json.dumps(_file({"main": network}))
    return lambda: validate(loads(text))


@pytest.mark.parametrize("shape", [_chain, _fan_in], ids=["chain wired backwards", "fan-in"])
def test_loading_and_validating_take_work_linear_in_the_nodes(
    shape: Callable[[int], dict[str, Any]],
) -> None:
    _load_and_validate(shape(50))()  # fill the caches of shape inference first
    small, large = (_calls(_load_and_validate(shape(n))) for n in (250, 1000))
    assert large < 5 * small, (small, large)  # 4× the nodes: 4× the work, not 16×


def test_saved_files_still_load() -> None:
    doc = loads(json.dumps(_file({"main": _fan_in(6)})))
    assert dumps(loads(dumps(doc))) == dumps(doc)


def test_the_editor_cannot_make_a_name_that_the_file_would_refuse() -> None:
    from graph.document import Document, EditError

    doc = Document.new()
    node = doc.add_node("main", "ReLU", label="a" * limits.MAX_NAME_CHARS)
    with pytest.raises(EditError, match="at most 200 characters"):
        doc.set_label("main", node, "b" * (limits.MAX_NAME_CHARS + 1))
    pasted = doc.insert_fragment("main", doc.network("main").to_data([node]), fresh=True)
    assert len(doc.network("main").node(pasted[0]).label) <= limits.MAX_NAME_CHARS
    assert loads(dumps(doc)).to_data() == doc.to_data()
