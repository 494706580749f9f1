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
from graph.importers import import_module, import_onnx  # torch (onnx) load when called
from graph.training import TrainingSpec

if TYPE_CHECKING:
    from torch import nn

    from graph.compile import load_state_dict_by_id, state_dict_by_id
    from graph.state_dicts import load_torch_state_dict

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
    "import_module",
    "import_onnx",
    "load_graph",
    "load_state_dict_by_id",
    "load_torch_state_dict",
    "save_graph",
    "state_dict_by_id",
]

# Weight helpers need torch; they load on first use so ``import graph`` stays light.
_LAZY = {
    "load_state_dict_by_id": "graph.compile",
    "state_dict_by_id": "graph.compile",
    "load_torch_state_dict": "graph.state_dicts",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'graph' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module), name)


def compile_graph(doc: Document, network: str = "main", **kwargs: Any) -> nn.Module:
    """The network as a ``torch.fx.GraphModule`` (see ``graph.compile``)."""
    from graph.compile import compile_network

    return compile_network(doc, network, **kwargs)
