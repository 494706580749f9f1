"""What an importer hands back: an ordinary document and its weights keyed by node id.

Nothing downstream knows a graph was imported: the document is built through the
same API as any other, and the weights use ``graph.compile.state_dict_by_id``'s keys
(``"<node id>.<tensor path>"``), so ``load_state_dict_by_id`` loads them into the
compiled network.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch

    from graph.document import Document


class ModelImportError(ValueError):
    """A model that cannot be imported; the message names each call or op at fault."""


@dataclass
class ImportedModel:
    document: Document
    network: str
    weights: dict[str, torch.Tensor] = field(default_factory=dict)
    # what the user should know but that did not stop the import (one line each)
    notes: list[str] = field(default_factory=list)
