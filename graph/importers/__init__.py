"""Open existing models as editable networks: PyTorch modules (torch.fx) and ONNX files.

``import_module(model, example_input)`` and ``import_onnx(path)`` both return an
``ImportedModel``: an ordinary document and the weights keyed by node id. Each
importer loads torch (and onnx) only when called, so this package stays light.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from graph.importers.result import ImportedModel, ModelImportError

if TYPE_CHECKING:
    import torch
    from torch import nn

__all__ = ["ImportedModel", "ModelImportError", "import_module", "import_onnx"]


def import_module(model: nn.Module, example_input: torch.Tensor | tuple[torch.Tensor, ...]
                  ) -> ImportedModel:
    """A PyTorch module as a document (see ``graph.importers.fx_import``)."""
    from graph.importers.fx_import import import_module as run

    return run(model, example_input)


def import_onnx(path: str | os.PathLike[str]) -> ImportedModel:
    """An ONNX file as a document (see ``graph.importers.onnx_import``)."""
    from graph.importers.onnx_import import import_onnx as run

    return run(path)
