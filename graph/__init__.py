"""Layerloom's graph core: documents, the layer catalog, shapes, validation,
compilation and the file format. Imports no Qt, and no torch until a function
that needs it is called.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from graph.builder import NetworkBuilder
from graph.catalog import LayerSpec, TensorSpec, catalog
from graph.document import Document, EditError, Network, Node
from graph.fileformat import GraphFileError, load_graph, save_graph
from graph.training import TrainingSpec

if TYPE_CHECKING:
    from torch import nn

__all__ = [
    "Document",
    "EditError",
    "GraphFileError",
    "LayerSpec",
    "Network",
    "NetworkBuilder",
    "Node",
    "TensorSpec",
    "TrainingSpec",
    "catalog",
    "compile_graph",
    "load_graph",
    "save_graph",
]


def compile_graph(doc: Document, network: str = "main", **kwargs: Any) -> nn.Module:
    """The network as a ``torch.fx.GraphModule`` (see ``graph.compile``)."""
    from graph.compile import compile_network

    return compile_network(doc, network, **kwargs)
