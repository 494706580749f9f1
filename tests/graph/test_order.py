"""One topological order per network, shared by shapes, validation, summary and compile."""

from __future__ import annotations

from collections.abc import Iterable

import networkx as nx

from graph import Document, NetworkBuilder
from graph.compile import compile_network
from graph.document import Network
from graph.shapes import ShapeInference
from graph.summary import summarize
from graph.validate import validate


def _fan() -> Document:
    """An Input feeding ten Linears (ids n2…n11) joined by a Concat: ties everywhere."""
    doc = Document.new()
    b = NetworkBuilder(doc, "main")
    x = b.add("Input", shape=[4])
    branches = [b.add("Linear", x, out_features=3 + i, label=f"fc{i}") for i in range(10)]
    b.add("Output", b.add("Concat", *branches, label="join"))
    return doc


def test_ties_are_broken_by_id_in_natural_order() -> None:
    net = _fan().network("main")
    assert net.topological_order() == [f"n{i}" for i in range(1, 14)]  # "n2" before "n10"
    assert net.topological_order(["n12", "n3", "n1", "n2"]) == ["n1", "n2", "n3", "n12"]


def test_a_branch_runs_to_its_end_before_the_next_one_starts() -> None:
    doc = Document.new()
    b = NetworkBuilder(doc, "main")
    x = b.add("Input", shape=[4])
    deep = b.add("ReLU", b.add("Linear", x, out_features=4))
    b.add("Output", b.add("Add", deep, b.add("Linear", x, out_features=4)))
    net = doc.network("main")
    # networkx's plain sort goes by depth (n1, n2, n4, n3, …), the compiler by id: the
    # shared order is the compiler's, so the summary lists what the code runs, in order
    assert list(nx.topological_sort(net.graph)) == ["n1", "n2", "n4", "n3", "n5", "n6"]
    assert net.topological_order() == ["n1", "n2", "n3", "n4", "n5", "n6"]
    assert [row.node for row in summarize(doc, "main")] == net.topological_order()


def test_shapes_summary_validation_and_compile_walk_the_same_order() -> None:
    doc = _fan()
    net = doc.network("main")
    order = net.topological_order()
    assert [row.node for row in summarize(doc, "main")] == order
    gm = compile_network(doc, "main")
    called = [gm.node_ids[n.target] for n in gm.graph.nodes if n.op == "call_module"]
    assert called == [i for i in order if i in called]
    shapes = ShapeInference(doc)
    shapes.update()
    assert shapes._topological_rank(net) == {node_id: i for i, node_id in enumerate(order)}
    for node_id in order[1:11]:  # every Linear a warning: validation lists them in order
        doc.set_param("main", node_id, "out_features", 0)
    flagged = [d.node for d in validate(doc) if d.node in order[1:11]]
    assert flagged == order[1:11]


def test_a_loop_still_gives_every_node_once() -> None:
    doc = _fan()
    doc.network("main").graph.add_edge("n12", "n2", ports=["x"])  # a loop (a damaged file)
    net = doc.network("main")
    assert sorted(net.topological_order()) == sorted(net.graph)


def test_the_walk_gives_each_node_its_inputs_and_keeps_the_order() -> None:
    net = _fan().network("main")
    sources = net.walk(lambda node, inputs: [src for _, src in inputs])
    assert list(sources) == net.topological_order()
    assert sources["n12"] == [f"n{i}" for i in range(2, 12)]  # the Concat's, in port order
    assert list(net.walk(lambda node, _: node.label, among=["n1", "n3"]).values()) == \
        ["input1", "fc1"]


def test_shapes_summary_validation_and_compile_each_walk_a_network_once(monkeypatch) -> None:
    doc = _fan()
    walks: list[str] = []
    order = Network.topological_order

    def counted(self: Network, among: Iterable[str] | None = None) -> list[str]:
        walks.append(self.name)
        return order(self, among)

    monkeypatch.setattr(Network, "topological_order", counted)
    shapes = ShapeInference(doc)
    shapes.update()
    assert walks == ["main"]
    for job in (lambda: summarize(doc, "main", shapes), lambda: validate(doc, shapes),
                lambda: compile_network(doc, "main", shapes=shapes.results["main"])):
        walks.clear()
        job()
        assert walks == ["main"], job
