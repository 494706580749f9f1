"""Weight tying: a Linear that shares its weight with an Embedding (one tensor, two uses).

A language model's output layer often reuses the token embedding as its weight
(vocabulary × width), which halves those parameters and usually helps. The Linear's
``tie_weight_to`` parameter names the Embedding by node id, so renaming either node
keeps the tie. Compilation makes both layers hold the same ``Parameter``; weights are
saved once, under the Embedding's key (``state_dict_by_id`` leaves out the Linear's).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass

import networkx as nx

from graph.document import Network, Node
from graph.shapes import NodeShape

TIE_PARAM = "tie_weight_to"
TIED_TENSOR = "weight"  # the Linear's tensor that the Embedding's replaces


@dataclass(frozen=True)
class Tie:
    """The Linear ``user`` reads its weight from the Embedding ``owner`` (node ids)."""

    user: str
    owner: str


def ties(net: Network) -> Iterator[Tie]:
    """Every tie that a node of ``net`` asks for, valid or not, in node order."""
    for node in net.nodes():
        owner = node.params.get(TIE_PARAM) if node.spec.role == "layer" else None
        if owner:
            yield Tie(node.id, owner)


def _title(node: Node) -> str:
    return f"{node.spec.display_name} '{node.label}'"


def tie_problem(net: Network, tie: Tie, results: Mapping[str, NodeShape]) -> str | None:
    """Why ``tie`` cannot be made (a full sentence naming both nodes), or None.

    Shapes that are not known yet are not held against it: the node whose shape is
    unknown reports its own problem.
    """
    user = net.node(tie.user)
    fix = f"choose an Embedding in its '{TIE_PARAM}' or clear it"
    if tie.owner not in net:
        return (f"{_title(user)} ties its weight to node '{tie.owner}', which is not in "
                f"network '{net.name}': {fix}")
    owner = net.node(tie.owner)
    spec = user.spec.param(TIE_PARAM)
    if owner.type != spec.node_type:
        return (f"{_title(user)} ties its weight to {_title(owner)}, which is not an "
                f"{spec.node_type}: {fix}")
    vocab, width = _embedding_size(net, owner, results)
    inputs = _input_width(net, user, results)
    if vocab is None or width is None or inputs is None:
        return None
    outputs = user.params["out_features"]
    if (outputs, inputs) != (vocab, width):
        return (f"{_title(user)} ties its weight to {_title(owner)}, whose table is "
                f"{vocab}×{width} (vocabulary × width), but its own weight would be "
                f"{outputs}×{inputs} (out_features × input features): set out_features to "
                f"{vocab} and feed it {width} features, or clear '{TIE_PARAM}'")
    return None


def _embedding_size(net: Network, node: Node, results: Mapping[str, NodeShape]
                    ) -> tuple[int | None, int | None]:
    sources = net.inputs_of(node.id)
    shape = results.get(sources[0][1]) if sources else None
    vocab = shape.out.vocab if shape is not None and shape.out is not None else None
    return vocab, node.params["embedding_dim"]


def _input_width(net: Network, node: Node, results: Mapping[str, NodeShape]) -> int | None:
    sources = net.inputs_of(node.id)
    shape = results.get(sources[0][1]) if sources else None
    if shape is None or shape.out is None or not shape.out.shape:
        return None
    return shape.out.shape[-1]


def unfed_problem(net: Network, tie: Tie) -> str:
    """The message for a compiled Linear tied to an Embedding that is not compiled."""
    return (f"{_title(net.node(tie.user))} ties its weight to {_title(net.node(tie.owner))}, "
            f"which does not feed the Output: wire the Embedding into the network or clear "
            f"'{TIE_PARAM}'")


def tie_problems(net: Network, results: Mapping[str, NodeShape]) -> Iterator[tuple[str, str]]:
    """(Linear's node id, message) for every tie in ``net`` that cannot be made."""
    outputs = [n.id for n in net.nodes() if n.spec.role == "output"]
    fed: set[str] = set().union(*(nx.ancestors(net.graph, o) for o in outputs))
    for tie in ties(net):
        problem = tie_problem(net, tie, results)
        if problem is None and tie.user in fed and tie.owner not in fed:
            problem = unfed_problem(net, tie)
        if problem:
            yield tie.user, problem


def valid_ties(net: Network, results: Mapping[str, NodeShape]) -> list[Tie]:
    """The ties of ``net`` that hold (what the canvas draws and the summary counts)."""
    return [t for t in ties(net) if tie_problem(net, t, results) is None]


def shared_counts(net: Network, results: Mapping[str, NodeShape]) -> dict[str, int]:
    """Per tied Linear, how many of its counted parameters are the Embedding's (which
    counts them): totals subtract these so a tied weight counts once."""
    counts: dict[str, int] = {}
    for tie in valid_ties(net, results):
        shape = results.get(tie.user)
        width = _input_width(net, net.node(tie.user), results)
        if shape is not None and shape.params and shape.out is not None and width:
            counts[tie.user] = shape.out.shape[-1] * width
    return counts
