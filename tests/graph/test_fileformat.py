"""The .loom format: round trips, old samples, strict loading with located errors,
migrations, atomic saving and the shipped JSON Schema."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from graph import migrations
from graph.builder import NetworkBuilder
from graph.catalog import CATALOG, catalog
from graph.document import Document, EditError
from graph.fileformat import (
    APP_VERSION,
    GraphFileError,
    dumps,
    load_graph,
    loads,
    location_of,
    save_graph,
)
from graph.schema import SCHEMA_PATH, json_schema, main, schema_text
from graph.training import TrainingSpec

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "tests" / "data"


def _doc() -> Document:
    """Two networks; node ids n1… in the order added, which is their order in the file."""
    doc = Document.new()
    b = NetworkBuilder(doc)
    x = b.add("Input", shape=[4], label="x")  # nodes[0]
    h = b.add("Linear", x, out_features=16, label="fc1")  # nodes[1]
    h = b.add("Add", h, x, label="skip")  # nodes[2]
    b.add("Output", h, label="out")  # nodes[3]
    c = NetworkBuilder(doc, "conv")
    img = c.add("Input", shape=[1, 8, 8], label="image")
    k = c.add("Conv2d", img, out_channels=4, kernel_size=3, label="conv")  # conv nodes[1]
    c.add("Output", c.add("Flatten", k, label="flat"), label="out")
    doc.set_training(TrainingSpec().replaced("epochs", 3))
    doc.set_ui("view", {"zoom": 1.5, "center": [10.0, -2.5]})
    return doc


def _data() -> dict[str, Any]:
    return json.loads(dumps(_doc()))


def _refused(data: Any) -> GraphFileError:
    text = data if isinstance(data, str) else json.dumps(data)
    with pytest.raises(GraphFileError) as info:
        loads(text)
    return info.value


# -- round trips ----------------------------------------------------------------------


def test_save_then_load_gives_the_same_document(tmp_path: Path) -> None:
    doc = _doc()
    path = tmp_path / "model.loom"
    save_graph(doc, path)
    loaded = load_graph(path)
    assert loaded.to_data() == doc.to_data()
    assert dumps(loaded) == path.read_text(encoding="utf-8")


def test_saving_writes_document_data_under_the_header() -> None:
    data = _data()
    assert list(data)[:3] == ["format", "version", "app_version"]
    assert (data["format"], data["version"], data["app_version"]) == (
        "layerloom", migrations.FORMAT_VERSION, APP_VERSION)
    assert {k: v for k, v in data.items() if k not in ("format", "version", "app_version")} \
        == json.loads(json.dumps(_doc().to_data()))


def test_dumps_is_stable_and_sorted() -> None:
    doc, other = _doc(), _doc()
    other.set_ui("view", None)
    other.set_ui("a_first", 1)
    other.set_ui("view", {"center": [10.0, -2.5], "zoom": 1.5})  # other insertion order
    doc.set_ui("a_first", 1)
    assert dumps(doc) == dumps(other)
    text = dumps(doc)
    assert text.endswith("}\n")
    assert '"pos": [220.0, 0.0]' in text  # short scalar lists stay on one line
    node = json.loads(text)["networks"]["main"]["nodes"][1]
    assert list(node) == sorted(node)


def test_non_ascii_names_are_written_readably() -> None:
    doc = Document.new()
    NetworkBuilder(doc).add("Input", label="entrée ✓")
    assert "entrée ✓" in dumps(doc)
    assert loads(dumps(doc)).to_data() == doc.to_data()


def test_the_empty_document_round_trips() -> None:
    assert loads(dumps(Document())).to_data() == Document().to_data()


# -- samples of every format version --------------------------------------------------


def test_every_format_version_has_a_sample() -> None:
    for version in range(1, migrations.FORMAT_VERSION + 1):
        assert (DATA / f"format_v{version}.loom").is_file(), f"add a sample of version {version}"


@pytest.mark.parametrize("path", sorted(DATA.glob("*.loom")), ids=lambda p: p.name)
def test_sample_files_load(path: Path) -> None:
    doc = load_graph(path)
    assert doc.networks
    assert loads(dumps(doc)).to_data() == doc.to_data()


def test_the_version_1_sample_has_what_it_was_written_with() -> None:
    doc = load_graph(DATA / "format_v1.loom")
    assert list(doc.networks) == ["discriminator", "generator", "seq model"]
    seq = doc.network("seq model")
    attn = seq.by_label("attn")
    assert attn is not None and attn.params["causal"] is True
    assert sorted(port for port, _ in seq.inputs_of(attn.id)) == ["key_value", "query"]
    image = doc.network("generator").by_label("image")
    assert image is not None and image.params["shape"] == (1, 8, 8)
    assert doc.training.task == "gan" and doc.training.gan is not None
    assert doc.training.networks["generator"].optimizer.betas == (0.5, 0.999)
    assert doc.ui["current_network"] == "generator"


# -- what loads although validation will complain -------------------------------------


def test_out_of_bounds_values_load_and_are_left_to_validation() -> None:
    data = _data()
    conv = data["networks"]["conv"]["nodes"][1]["params"]
    conv["kernel_size"], conv["out_channels"] = 0, 10**30
    data["networks"]["main"]["nodes"][0]["params"]["shape"] = [-3, 0, 1, 1, 1, 1, 1]
    doc = loads(json.dumps(data))
    node = doc.network("conv").node("n2")
    assert node.params["kernel_size"] == 0 and node.params["out_channels"] == 10**30
    assert node.spec.param("kernel_size").problem(0) is not None
    x = doc.network("main").node("n1")
    assert x.spec.param("shape").problem(x.params["shape"]) is not None
    assert loads(dumps(doc)).to_data() == doc.to_data()


def test_missing_params_take_their_defaults() -> None:
    data = _data()
    del data["networks"]["conv"]["nodes"][1]["params"]["padding"]
    data["networks"]["main"]["nodes"][1]["params"] = {}
    doc = loads(json.dumps(data))
    conv = doc.network("conv").node("n2")
    assert conv.params["padding"] == conv.spec.param("padding").default
    assert doc.network("main").node("n2").params == catalog().get("Linear").defaults()


def test_integers_are_accepted_where_numbers_are_expected() -> None:
    data = _data()
    data["networks"]["main"]["nodes"][0]["pos"] = [3, -4]
    data["training"]["networks"]["main"]["optimizer"]["lr"] = 1
    doc = loads(json.dumps(data))
    assert doc.network("main").node("n1").pos == (3.0, -4.0)
    assert doc.training.networks["main"].optimizer.lr == 1.0


def test_legacy_layer_ids_load_as_the_current_type(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(CATALOG._legacy, "Dense", "Linear")
    data = _data()
    data["networks"]["main"]["nodes"][1]["type"] = "Dense"
    doc = loads(json.dumps(data))
    assert doc.network("main").node("n2").type == "Linear"
    assert json.loads(dumps(doc))["networks"]["main"]["nodes"][1]["type"] == "Linear"


def test_a_byte_order_mark_is_tolerated(tmp_path: Path) -> None:
    path = tmp_path / "bom.loom"
    path.write_bytes(b"\xef\xbb\xbf" + dumps(_doc()).encode())
    assert load_graph(path).to_data() == _doc().to_data()


# -- what is refused, and where -------------------------------------------------------

Mutation = Callable[[dict[str, Any]], Any]
MAIN, CONV = "networks.main", "networks.conv"


def _set(path: str, value: Any) -> Mutation:
    """Set a value at a path of keys and indexes separated by '/'."""

    def mutate(data: dict[str, Any]) -> Any:
        *parents, last = [int(k) if k.isdigit() else k for k in path.split("/")]
        target: Any = data
        for key in parents:
            target = target[key]
        target[last] = value
        return data

    return mutate


def _delete(path: str) -> Mutation:
    def mutate(data: dict[str, Any]) -> Any:
        *parents, last = path.split("/")
        target: Any = data
        for key in parents:
            target = target[int(key) if key.isdigit() else key]
        del target[last]
        return data

    return mutate


def _append_edge(source: str, target: str, port: str, network: str = "main") -> Mutation:
    def mutate(data: dict[str, Any]) -> Any:
        data["networks"][network]["edges"].append(
            {"source": source, "target": target, "port": port})
        return data

    return mutate


def _rename_network(old: str, new: str) -> Mutation:
    def mutate(data: dict[str, Any]) -> Any:
        data["networks"][new] = data["networks"].pop(old)
        return data

    return mutate


REFUSED: list[tuple[str, Mutation, str, str]] = [
    # (case, mutation, location, words in the reason)
    ("top level is a list", lambda d: [d], "", "expected a JSON object, got a list"),
    ("format missing", _delete("format"), "format", "not a Layerloom graph file"),
    ("other format", _set("format", "keras"), "format", 'got "keras"'),
    ("version missing", _delete("version"), "version", "missing"),
    ("version as text", _set("version", "1"), "version", 'expected an integer, got "1"'),
    ("version as bool", _set("version", True), "version", "expected an integer"),
    ("version 0", _set("version", 0), "version", "at least 1"),
    ("app_version missing", _delete("app_version"), "app_version", "missing"),
    ("unknown top-level field", _set("colour", "red"), "colour", "unknown field"),
    ("networks missing", _delete("networks"), "networks", "required field is missing"),
    ("networks is a list", _set("networks", []), "networks", "expected an object, got []"),
    ("network is a string", _set("networks/main", "x"), MAIN, "expected an object"),
    ("bad network name", _rename_network("conv", "1 conv"), 'networks["1 conv"]',
     "not a usable network name"),
    ("nodes missing", _delete("networks/main/nodes"), f"{MAIN}.nodes", "missing"),
    ("edges not a list", _set("networks/main/edges", {}), f"{MAIN}.edges", "expected a list"),
    ("node is a number", _set("networks/main/nodes/2", 7), f"{MAIN}.nodes[2]", "an object"),
    ("node id missing", _delete("networks/main/nodes/2/id"), f"{MAIN}.nodes[2].id", "missing"),
    ("node id empty", _set("networks/main/nodes/2/id", ""), f"{MAIN}.nodes[2].id",
     "at least 1 character"),
    ("node id a number", _set("networks/main/nodes/2/id", 3), f"{MAIN}.nodes[2].id",
     "expected a string, got 3"),
    ("duplicate node id", _set("networks/main/nodes/2/id", "n1"), f"{MAIN}.nodes[2].id",
     'the id "n1" is already used by nodes[0]'),
    ("duplicate label", _set("networks/main/nodes/2/label", "x"), f"{MAIN}.nodes[2].label",
     'the name "x" is already used by nodes[0]'),
    ("blank label", _set("networks/main/nodes/2/label", "  "), f"{MAIN}.nodes[2].label",
     "cannot be empty"),
    ("unknown field on a node", _set("networks/main/nodes/1/colour", "red"),
     f"{MAIN}.nodes[1].colour", "unknown field"),
    ("unknown layer type", _set("networks/main/nodes/1/type", "Dense"),
     f"{MAIN}.nodes[1].type", 'unknown layer type "Dense"'),
    ("newer layer version", _set("networks/main/nodes/1/version", 2),
     f"{MAIN}.nodes[1].version", "Linear version 2; this Layerloom knows up to version 1"),
    ("layer version 0", _set("networks/main/nodes/1/version", 0),
     f"{MAIN}.nodes[1].version", "at least 1"),
    ("version as float", _set("networks/main/nodes/1/version", 1.0),
     f"{MAIN}.nodes[1].version", "expected an integer, got 1.0"),
    ("params a list", _set("networks/main/nodes/1/params", []), f"{MAIN}.nodes[1].params",
     "expected an object"),
    ("unknown param", _set("networks/main/nodes/1/params/units", 3),
     f"{MAIN}.nodes[1].params.units", 'Linear has no parameter "units"'),
    ("param of wrong type", _set("networks/conv/nodes/1/params/kernel_size", "x"),
     f"{CONV}.nodes[1].params.kernel_size", "expected a positive integer, got 'x'"),
    ("float for an int param", _set("networks/conv/nodes/1/params/kernel_size", 3.0),
     f"{CONV}.nodes[1].params.kernel_size", "got 3.0"),
    ("number for a bool param", _set("networks/main/nodes/1/params/bias", 1),
     f"{MAIN}.nodes[1].params.bias", "expected true or false, got 1"),
    ("unknown choice", _set("networks/main/nodes/1/params/init", "zeros"),
     f"{MAIN}.nodes[1].params.init", "expected one of 'default', 'xavier'"),
    ("text in a shape", _set("networks/main/nodes/0/params/shape", [4, "4"]),
     f"{MAIN}.nodes[0].params.shape", "expected a list of integers"),
    ("null param", _set("networks/main/nodes/1/params/out_features", None),
     f"{MAIN}.nodes[1].params.out_features", "got None"),
    ("pos too short", _set("networks/main/nodes/0/pos", [1.0]), f"{MAIN}.nodes[0].pos[1]",
     "required item is missing"),
    ("pos too long", _set("networks/main/nodes/0/pos", [1, 2, 3]), f"{MAIN}.nodes[0].pos",
     "at most 2 items"),
    ("pos with text", _set("networks/main/nodes/0/pos", ["1", 2]), f"{MAIN}.nodes[0].pos[0]",
     'expected a number, got "1"'),
    ("edge source missing", _delete("networks/main/edges/0/source"),
     f"{MAIN}.edges[0].source", "missing"),
    ("edge to a missing node", _set("networks/main/edges/0/target", "n9"),
     f"{MAIN}.edges[0].target", 'no node with id "n9"'),
    ("edge from a missing node", _set("networks/conv/edges/1/source", "n1 "),
     f"{CONV}.edges[1].source", 'no node with id "n1 "'),
    ("edge to a missing port", _set("networks/main/edges/0/port", "y"),
     f"{MAIN}.edges[0].port", "Linear 'fc1' has no input \"y\" (inputs: x)"),
    ("port fed twice", _append_edge("n2", "n4", "x"), f"{MAIN}.edges[4]", "already fed"),
    ("a cycle", _append_edge("n3", "n2", "x", "main"), f"{MAIN}.edges[4]", "cycle"),
    ("wire out of the Output", _append_edge("n4", "n3", "in2"), f"{MAIN}.edges[4]",
     "nothing can follow it"),
    ("edge with extra field", _set("networks/main/edges/0/weight", 1.0),
     f"{MAIN}.edges[0].weight", "unknown field"),
    ("training missing", _delete("training"), "training", "missing"),
    ("epochs as text", _set("training/epochs", "20"), "training.epochs",
     'expected an integer, got "20"'),
    ("epochs out of range", _set("training/epochs", 0), "training.epochs",
     "should be greater than or equal to 1, got 0"),
    ("unknown training field", _set("training/optimizer", {}), "training.optimizer",
     "unknown field"),
    ("unknown loss", _set("training/loss/name", "hinge"), "training.loss.name",
     'got "hinge"'),
    ("split not summing to one", _set("training/data/split/train", 0.5),
     "training.data.split", "train + val + test must be 1"),
    ("betas of three", _set("training/networks/main/optimizer/betas", [0.9, 0.9, 0.9]),
     "training.networks.main.optimizer.betas", "at most 2 items"),
    ("ui a list", _set("ui", []), "ui", "expected an object"),
]


@pytest.mark.parametrize(("mutate", "location", "words"),
                         [case[1:] for case in REFUSED], ids=[case[0] for case in REFUSED])
def test_malformed_files_are_refused_naming_the_place(
    mutate: Mutation, location: str, words: str,
) -> None:
    error = _refused(mutate(_data()))
    assert error.location == location, str(error)
    assert words in error.reason
    assert str(error) == (f"{location}: {error.reason}" if location else error.reason)


def test_a_newer_format_is_refused_by_name() -> None:
    error = _refused(_set("version", 3)(_data()))
    assert error.reason == ("this file was written by a newer Layerloom (format version 3); "
                            "this version reads up to 1")


def test_several_problems_are_counted() -> None:
    data = _set("training/epochs", "x")(_set("training/seed", "y")(_data()))
    assert _refused(data).reason.endswith("(and 1 more problem)")


TEXT_REFUSED: list[tuple[str, str, str, str]] = [
    ("empty", "", "", "not valid JSON"),
    ("truncated", '{"format": "layerloom", ', "", "line 1, column 25"),
    ("NaN", '{"format": "layerloom", "version": NaN}', "", "NaN is not a number JSON allows"),
    ("huge float", '{"x": 1e999}', "", "the number 1e999 is too large"),
    ("huge integer", '{"x": ' + "9" * 5000 + "}", "", "not valid JSON"),
    ("repeated key", '{"format": "layerloom", "format": "layerloom"}', "format",
     'the key "format" appears twice in this object (line 1)'),
    ("deep nesting", '{"ui": {"a": ' + "[" * 200 + "]" * 200 + "}}", "ui.a" + "[0]" * 63,
     "nested more than 64 levels"),
    ("absurd nesting", "[" * 100_000 + "]" * 100_000, "", "not valid JSON"),
    ("lone surrogate", '{"format": "layerloom", "version": 1, "networks": {"\\ud800": 1}}',
     'networks["\ud800"]', "contains \\ud800"),
    ("a string", '"layerloom"', "", 'expected a JSON object, got "layerloom"'),
]


@pytest.mark.parametrize(("text", "location", "words"),
                         [case[1:] for case in TEXT_REFUSED], ids=[c[0] for c in TEXT_REFUSED])
def test_text_that_is_not_plain_json_is_refused(text: str, location: str, words: str) -> None:
    error = _refused(text)
    assert error.location == location
    assert words in error.reason


def test_unreadable_files_raise_graph_file_errors(tmp_path: Path) -> None:
    missing = tmp_path / "missing.loom"
    with pytest.raises(GraphFileError, match="cannot read") as info:
        load_graph(missing)
    assert info.value.file == str(missing)
    with pytest.raises(GraphFileError, match="cannot read"):
        load_graph(tmp_path)
    binary = tmp_path / "picture.loom"
    binary.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00")
    with pytest.raises(GraphFileError, match=r"not UTF-8 text \(byte 0x89 at offset 0\)"):
        load_graph(binary)
    bad = tmp_path / "bad.loom"
    bad.write_text(json.dumps(_set("version", "1")(_data())), encoding="utf-8")
    with pytest.raises(GraphFileError) as info:
        load_graph(bad)
    assert (info.value.file, info.value.location) == (str(bad), "version")


def test_huge_files_are_not_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "big.loom"
    save_graph(_doc(), path)
    monkeypatch.setattr("graph.fileformat.MAX_BYTES", 100)
    with pytest.raises(GraphFileError, match="too large"):
        load_graph(path)


def test_loads_wants_text() -> None:
    with pytest.raises(GraphFileError, match="got bytes"):
        loads(dumps(_doc()).encode())  # type: ignore[arg-type]


def test_locations_quote_keys_that_are_not_names() -> None:
    assert location_of(["networks", "main", "nodes", 3, "params", "kernel_size"]) == \
        "networks.main.nodes[3].params.kernel_size"
    assert location_of(["networks", "my net", "edges", 0]) == 'networks["my net"].edges[0]'
    assert location_of([]) == ""


# -- migrations -----------------------------------------------------------------------


def test_migrations_apply_in_order_without_touching_their_input() -> None:
    seen: list[int] = []

    def step(n: int) -> migrations.Migration:
        def run(data: dict[str, Any]) -> dict[str, Any]:
            seen.append(n)
            data["trail"] = [*data.get("trail", []), n]
            return data

        return run

    original = {"version": 1}
    out = migrations.migrate(original, 1, target=4, steps={3: step(3), 1: step(1), 2: step(2)})
    assert out == {"version": 4, "trail": [1, 2, 3]} and seen == [1, 2, 3]
    assert original == {"version": 1}
    assert migrations.migrate(original, 4, target=4, steps={}) is original
    with pytest.raises(migrations.MigrationError, match="format version 2 can no longer"):
        migrations.migrate(original, 1, target=3, steps={1: step(1)})


def test_registering_a_step_twice_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(migrations, "MIGRATIONS", {})
    migrations.migration(1)(dict)
    with pytest.raises(ValueError, match="already exists"):
        migrations.migration(1)(dict)


def test_a_fake_next_format_reads_the_version_1_sample(monkeypatch: pytest.MonkeyPatch) -> None:
    """Pretend format 2 moved ``ui`` under ``editor``: a step upgrades version 1 files."""

    def ui_to_editor(data: dict[str, Any]) -> dict[str, Any]:
        data["ui"] = {"editor": data.pop("ui")}
        return data

    monkeypatch.setattr(migrations, "FORMAT_VERSION", 2)
    monkeypatch.setattr(migrations, "MIGRATIONS", {1: ui_to_editor})
    text = (DATA / "format_v1.loom").read_text(encoding="utf-8")
    doc = loads(text)
    assert doc.ui["editor"]["current_network"] == "generator"
    saved = json.loads(dumps(doc))
    assert saved["version"] == 2
    assert loads(dumps(doc)).to_data() == doc.to_data()  # a version 2 file needs no step
    assert "reads up to 2" in _refused(_set("version", 3)(saved)).reason


def test_a_step_failing_on_malformed_data_is_a_file_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(migrations, "FORMAT_VERSION", 2)
    monkeypatch.setattr(migrations, "MIGRATIONS", {1: lambda data: data["no such key"]})
    version_1 = _set("version", 1)(_data())
    error = _refused(version_1)
    assert "could not upgrade this file from format version 1" in error.reason
    monkeypatch.setattr(migrations, "MIGRATIONS", {})
    assert _refused(version_1).location == "version"


def test_a_layer_migration_upgrades_old_nodes(monkeypatch: pytest.MonkeyPatch) -> None:
    """Pretend Linear version 2 renamed ``units`` to ``out_features``."""
    linear_v2 = dataclasses.replace(CATALOG.get("Linear"), version=2)
    monkeypatch.setitem(CATALOG._specs, "Linear", linear_v2)

    def units_renamed(params: dict[str, Any]) -> dict[str, Any]:
        params["out_features"] = params.pop("units")
        return params

    monkeypatch.setattr(migrations, "LAYER_MIGRATIONS", {("Linear", 1): units_renamed})
    data = _data()
    data["networks"]["main"]["nodes"][1]["version"] = 1
    data["networks"]["main"]["nodes"][1]["params"] = {"units": 7}
    doc = loads(json.dumps(data))
    assert doc.network("main").node("n2").params["out_features"] == 7
    assert json.loads(dumps(doc))["networks"]["main"]["nodes"][1]["version"] == 2
    data["networks"]["main"]["nodes"][1]["params"] = {}
    assert "could not upgrade Linear version 1" in _refused(data).reason
    monkeypatch.setattr(migrations, "LAYER_MIGRATIONS", {})
    assert "Linear version 1 can no longer be read" in _refused(data).reason


# -- atomic saving --------------------------------------------------------------------


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name != "model.loom")


@pytest.mark.parametrize("failing", ["replace", "fsync"])
def test_a_failed_save_leaves_the_old_file_and_no_temp(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, failing: str,
) -> None:
    path = tmp_path / "model.loom"
    path.write_text("old", encoding="utf-8")

    def fail(*args: Any) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, failing, fail)
    with pytest.raises(OSError, match="No space left"):
        save_graph(_doc(), path)
    assert path.read_text(encoding="utf-8") == "old"
    assert _leftovers(tmp_path) == []


def test_saving_replaces_the_file_and_keeps_its_mode(tmp_path: Path) -> None:
    path = tmp_path / "model.loom"
    path.write_text("old", encoding="utf-8")
    path.chmod(0o640)
    save_graph(_doc(), path)
    assert load_graph(path).to_data() == _doc().to_data()
    assert path.stat().st_mode & 0o777 == 0o640
    assert _leftovers(tmp_path) == []
    new = tmp_path / "new.loom"
    save_graph(_doc(), new)
    assert new.stat().st_mode & 0o777 == 0o644


def test_saving_through_a_symlink_writes_its_target(tmp_path: Path) -> None:
    target = tmp_path / "real.loom"
    target.write_text("old", encoding="utf-8")
    link = tmp_path / "link.loom"
    link.symlink_to(target)
    save_graph(_doc(), link)
    assert link.is_symlink()
    assert load_graph(target).to_data() == _doc().to_data()


def test_saving_into_a_missing_folder_raises_os_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        save_graph(_doc(), tmp_path / "nowhere" / "model.loom")


def test_a_position_that_is_not_a_number_never_enters_the_document() -> None:
    doc = _doc()
    before = doc.network("main").node("n1").pos
    with pytest.raises(EditError, match="cannot be placed at"):
        doc.move_node("main", "n1", (float("nan"), 0.0))
    assert doc.network("main").node("n1").pos == before


# -- the schema, the command line, the import cost ------------------------------------


def test_the_shipped_schema_is_the_generated_one() -> None:
    assert SCHEMA_PATH.read_text(encoding="utf-8") == schema_text(), \
        "run: python -m graph.schema --write-schema"


def test_the_schema_describes_every_layer_types_params_without_bounds() -> None:
    schema = json_schema()
    branches = schema["$defs"]["LoomNode"]["oneOf"]
    assert [b["properties"]["type"]["enum"][0] for b in branches] == [s.id for s in catalog()]
    for spec in catalog():
        params = schema["$defs"][f"{spec.id}Params"]
        assert list(params["properties"]) == [p.name for p in spec.all_params]
        assert params["additionalProperties"] is False
        for p in params["properties"].values():
            assert not {"minimum", "maximum", "minItems", "maxItems"} & set(p)
    assert schema["properties"]["version"] == {"const": 1, "title": "Version"}


def test_the_schema_accepts_the_sample_and_rejects_a_bad_param() -> None:
    jsonschema = pytest.importorskip("jsonschema")
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    sample = json.loads((DATA / "format_v1.loom").read_text(encoding="utf-8"))
    jsonschema.validate(sample, schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(_set("networks/main/nodes/1/params/units", 3)(_data()), schema)


def test_the_command_line_checks_files_and_writes_the_schema(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    bad = tmp_path / "bad.loom"
    bad.write_text("{}", encoding="utf-8")
    assert main([str(DATA / "format_v1.loom")]) == 0
    assert main([str(DATA / "format_v1.loom"), str(bad)]) == 1
    assert "bad.loom: format: not a Layerloom graph file" in capsys.readouterr().err
    schema = tmp_path / "schema.json"
    monkeypatch.setattr("graph.schema.SCHEMA_PATH", schema)
    assert main(["--write-schema"]) == 0
    assert schema.read_text(encoding="utf-8") == schema_text()


def test_app_version_matches_the_package() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert project["project"]["version"] == APP_VERSION


def test_loading_and_saving_do_not_import_torch(tmp_path: Path) -> None:
    script = (
        "import sys, graph\n"
        "from graph.fileformat import load_graph, save_graph\n"
        f"doc = load_graph({str(DATA / 'format_v1.loom')!r})\n"
        f"save_graph(doc, {str(tmp_path / 'out.loom')!r})\n"
        "assert 'torch' not in sys.modules, 'torch was imported'\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          cwd=ROOT, timeout=120)
    assert done.returncode == 0, done.stderr


@pytest.mark.parametrize("path", [("training", "seed"), ("training", "data", "split", "seed")])
def test_a_seed_beyond_32_bits_is_refused_by_its_field(path: tuple[str, ...]) -> None:
    data = json.loads(dumps(_doc()))
    section = data
    for key in path[:-1]:
        section = section.setdefault(key, {})
    section[path[-1]] = 2**70  # numpy and torch would overflow deep inside a run
    with pytest.raises(GraphFileError, match=".".join(path) + r".*4294967295"):
        loads(json.dumps(data))
