"""Build documents in code: ``NetworkBuilder`` chains layers with readable calls.

    doc = Document.new()
    b = NetworkBuilder(doc, "main")
    x = b.add("Input", shape=[4])
    h = b.add("Linear", x, out_features=16, label="fc1")
    b.add("Output", b.add("ReLU", h))
"""

from __future__ import annotations

from typing import Any

from graph.document import Document


class NetworkBuilder:
    """Adds nodes to one network and wires each to the inputs given, in port order."""

    def __init__(self, doc: Document, network: str = "main", spacing: float = 220.0) -> None:
        if network not in doc.networks:
            doc.add_network(network)
        self.doc = doc
        self.network = network
        self.spacing = spacing

    def add(
        self, type_id: str, *inputs: str, label: str | None = None,
        pos: tuple[float, float] | None = None, **params: Any,
    ) -> str:
        """Add a node fed by ``inputs`` (node ids) and return its id.

        Inputs fill the layer's ports in order: fixed ports by name, then a
        variadic port's ``in0``, ``in1``, …
        """
        net = self.doc.network(self.network)
        if pos is None:
            pos = (len(net) * self.spacing, 0.0)
        node_id = self.doc.add_node(self.network, type_id, params, label=label, pos=pos)
        spec = net.node(node_id).spec
        keys = iter(spec.port_keys())
        for source in inputs:
            port = next(keys, None)
            if port is None:
                variadic = next((p for p in spec.inputs if p.variadic), None)
                if variadic is None:
                    raise ValueError(f"{spec.display_name} takes {len(spec.inputs)} input(s)")
                port = f"{variadic.name}{len(net.inputs_of(node_id))}"
            self.doc.connect(self.network, source, node_id, port)
        return node_id

    def chain(self, source: str, *layers: tuple[str, dict[str, Any]]) -> str:
        """Add layers one after another starting from ``source``; returns the last id."""
        for type_id, params in layers:
            source = self.add(type_id, source, **params)
        return source
