"""The command layer: every edit undoes to the exact earlier state and redoes."""

from __future__ import annotations

import random
import sys
from typing import Any

import pytest

from graph.builder import NetworkBuilder
from graph.catalog import ParamSpec
from graph.commands import (
    AddNetwork,
    AddNode,
    Connect,
    Disconnect,
    History,
    Macro,
    Move,
    Paste,
    RemoveNetwork,
    RemoveNodes,
    Rename,
    SetParam,
    SetTraining,
    copy_fragment,
    duplicate,
    fragment_problem,
)
from graph.document import Document, EditError


def _mlp() -> Document:
    doc = Document.new()
    b = NetworkBuilder(doc)
    x = b.add("Input", shape=[4], label="x")
    h = b.add("Linear", x, out_features=16, label="fc1")
    h = b.add("ReLU", h, label="act")
    b.add("Output", b.add("Linear", h, out_features=3, label="fc2"), label="out")
    return doc


def _random_value(p: ParamSpec, rng: random.Random) -> Any:
    if p.kind == "bool":
        return rng.random() < 0.5
    if p.kind == "choice":
        return rng.choice(p.choices)
    if p.kind == "float":
        return round(rng.uniform(p.minimum or 0.0, min(p.maximum or 10.0, 10.0)), 3)
    hi = int(min(p.maximum or 64, 64))
    lo = int(p.minimum or 0)
    if p.kind == "int":
        return rng.randint(lo, hi)
    return [rng.randint(max(lo, 1), min(hi, 8)) for _ in range(rng.randint(1, 3))]


_TYPES = ["Linear", "ReLU", "Conv2d", "Add", "Concat", "LSTM", "Dropout", "Reshape", "Output"]


def _random_command(doc: Document, rng: random.Random) -> Any:
    names = list(doc.networks)
    network = rng.choice(names)
    net = doc.network(network)
    ids = [n.id for n in net.nodes()]
    roll = rng.random()
    if roll < 0.2 or not ids:
        return AddNode(network, rng.choice(_TYPES), pos=(rng.random() * 500, rng.random() * 500))
    if roll < 0.35 and len(ids) >= 2:
        source, target = rng.sample(ids, 2)
        keys = net.node(target).spec.port_keys([e.port for e in net.in_edges(target)])
        return Connect(network, source, target, rng.choice(keys or ["x"]))
    if roll < 0.42 and net.edges():
        return Disconnect.of(network, rng.choice(net.edges()))
    if roll < 0.55:
        node = net.node(rng.choice(ids))
        params = node.spec.all_params
        if params:
            p = rng.choice(params)
            return SetParam(network, node.id, p.name, _random_value(p, rng))
    if roll < 0.62:
        return Rename(network, rng.choice(ids), f"renamed{rng.randint(0, 30)}")
    if roll < 0.7:
        chosen = rng.sample(ids, rng.randint(1, min(3, len(ids))))
        return Move(network, {i: (rng.random() * 900, rng.random() * 900) for i in chosen})
    if roll < 0.78:
        return RemoveNodes(network, rng.sample(ids, rng.randint(1, min(3, len(ids)))))
    if roll < 0.84:
        return duplicate(doc, network, rng.sample(ids, rng.randint(1, min(3, len(ids)))))
    if roll < 0.88:
        other = doc.network(rng.choice(names))
        pick = [n.id for n in other.nodes()][:3]
        return Paste(network, copy_fragment(doc, other.name, pick))
    if roll < 0.92:
        return SetTraining(doc.training.replaced("epochs", rng.randint(1, 100)))
    if roll < 0.96 and len(names) < 4:
        return AddNetwork(f"net{rng.randint(0, 99)}")
    if len(names) > 1:
        return RemoveNetwork(rng.choice(names))
    return Macro("Two moves", [Move(network, {ids[0]: (1.0, 2.0)}, mergeable=False),
                               Move(network, {ids[-1]: (3.0, 4.0)}, mergeable=False)])


def test_thousand_random_commands_undo_and_redo_exactly() -> None:
    rng = random.Random(1234)
    doc = _mlp()
    history = History(doc)
    original = doc.to_data()
    applied = refused = 0
    while applied < 1000:
        cmd = _random_command(doc, rng)
        before = doc.to_data()
        try:
            history.push(cmd)
            applied += 1
        except EditError:
            refused += 1
            assert doc.to_data() == before, f"refused {cmd} changed the document"
    edited = doc.to_data()
    assert edited != original
    assert refused > 0  # the generator exercises refusals too
    while history.can_undo:
        history.undo()
    assert doc.to_data() == original
    assert not history.dirty
    while history.can_redo:
        history.redo()
    assert doc.to_data() == edited


def test_every_command_kind_round_trips() -> None:
    doc = _mlp()
    net = doc.network("main")
    fc1 = net.by_label("fc1").id
    act = net.by_label("act").id
    steps = [
        AddNode("main", "Dropout", {"p": 0.3}, pos=(10, 20)),
        SetParam("main", fc1, "out_features", 32),
        Rename("main", fc1, "hidden"),
        Move("main", {fc1: (5.0, 6.0)}),
        Disconnect("main", fc1, act, "x"),
        Connect("main", fc1, act, "x"),
        RemoveNodes("main", [fc1]),
        duplicate(doc, "main", [act]),
        AddNetwork("critic"),
        RemoveNetwork("critic"),
        SetTraining(doc.training.replaced("data.split.seed", 7)),
    ]
    for cmd in steps:
        before = doc.to_data()
        history = History(doc)
        history.push(cmd)
        after = doc.to_data()
        assert after != before, cmd
        history.undo()
        assert doc.to_data() == before, cmd
        history.redo()
        assert doc.to_data() == after, cmd


def test_moves_during_a_drag_merge_into_one_step() -> None:
    doc = _mlp()
    history = History(doc)
    node = doc.network("main").by_label("fc1")
    start = node.pos
    for i in range(10):
        history.push(Move("main", {node.id: (float(i), float(i))}))
    assert len(history.undo_stack) == 1
    history.undo()
    assert node.pos == start


def test_dirty_tracking_follows_the_saved_state() -> None:
    doc = _mlp()
    history = History(doc)
    fc1 = doc.network("main").by_label("fc1").id
    assert not history.dirty
    history.push(SetParam("main", fc1, "out_features", 8))
    assert history.dirty
    history.mark_clean()
    assert not history.dirty
    history.undo()
    assert history.dirty
    history.redo()
    assert not history.dirty
    history.undo()
    history.push(SetParam("main", fc1, "bias", False))  # the saved state is now unreachable
    assert history.dirty
    history.undo()
    assert history.dirty


def test_refused_edits_say_why() -> None:
    doc = _mlp()
    net = doc.network("main")
    history = History(doc)
    x, fc1, out = (net.by_label(n).id for n in ("x", "fc1", "out"))
    with pytest.raises(EditError, match="cycle"):
        history.push(Connect("main", net.by_label("fc2").id, fc1, "x"))
    with pytest.raises(EditError, match="already fed by 'x'"):
        history.push(Connect("main", x, fc1, "x"))
    with pytest.raises(EditError, match="Output"):
        history.push(Connect("main", out, fc1, "x"))
    with pytest.raises(EditError, match="already called 'fc1'"):
        history.push(Rename("main", x, "fc1"))
    with pytest.raises(EditError, match="expected a positive integer"):
        history.push(SetParam("main", fc1, "out_features", "many"))
    with pytest.raises(EditError, match="no input 'query'"):
        history.push(Connect("main", x, fc1, "query"))
    assert not history.can_undo


def test_events_say_exactly_what_changed() -> None:
    doc = _mlp()
    seen: list[tuple[Any, ...]] = []
    ev = doc.events
    for name in ("node_added", "node_removed", "param_changed", "edge_added", "edge_removed"):
        getattr(ev, name).connect(lambda *args, name=name: seen.append((name, *args)))
    history = History(doc)
    fc1 = doc.network("main").by_label("fc1").id
    history.push(SetParam("main", fc1, "out_features", 8))
    assert seen == [("param_changed", "main", fc1, "out_features")]
    seen.clear()
    history.push(RemoveNodes("main", [fc1]))
    kinds = [s[0] for s in seen]
    assert kinds.count("edge_removed") == 2 and kinds[-1] == "node_removed"


def test_history_memory_grows_with_the_change_not_the_document() -> None:
    doc = Document.new()
    b = NetworkBuilder(doc)
    last = b.add("Input", shape=[8])
    for _ in range(400):
        last = b.add("Linear", last, out_features=8)
    history = History(doc)
    history.push(SetParam("main", last, "out_features", 4))
    history.push(Move("main", {last: (1.0, 1.0)}))
    for cmd in history.undo_stack:
        assert sys.getsizeof(repr(vars(cmd))) < 400, cmd


def test_a_damaged_fragment_inserts_nothing() -> None:
    doc = _mlp()
    before = doc.to_data()
    fragment = copy_fragment(doc, "main", [n.id for n in doc.network("main").nodes()])
    fragment["edges"].append({"source": "n1", "target": "n2", "port": "nope"})
    history = History(doc)
    with pytest.raises(EditError, match="no input 'nope'"):
        history.push(Paste("main", fragment))
    assert doc.to_data() == before
    fragment["nodes"].append({"id": "zz", "label": "bad"})  # no "type"
    with pytest.raises(EditError, match="damaged"):
        history.push(Paste("main", fragment))
    assert doc.to_data() == before and not history.can_undo


def test_setting_an_unknown_parameter_is_refused() -> None:
    doc = _mlp()
    fc1 = doc.network("main").by_label("fc1").id
    with pytest.raises(EditError, match="no parameter 'kernel_size'"):
        History(doc).push(SetParam("main", fc1, "kernel_size", 3))


def test_fragment_problem_answers_what_a_paste_would_meet_without_editing() -> None:
    doc = _mlp()
    before = doc.to_data()
    fragment = copy_fragment(doc, "main", [n.id for n in doc.network("main").nodes()])
    assert fragment_problem(fragment) is None
    fragment["edges"].append({"source": "n1", "target": "n2", "port": "nope"})
    problem = fragment_problem(fragment)
    assert problem is not None and "no input 'nope'" in problem
    damaged = fragment_problem({"nodes": [{"id": "zz", "pos": []}], "edges": []})
    assert damaged is not None and damaged.startswith("the copied nodes are damaged")
    assert doc.to_data() == before
