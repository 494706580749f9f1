"""Load a plain PyTorch ``state_dict`` into a compiled network.

A PyTorch user who rebuilds a published network as a graph already has its
weights as ``model.state_dict()``, keyed by the original attribute names
(``conv1.weight``), which mean nothing to the graph. Both sides list their
tensors layer by layer, weight before bias, so they are paired by position and
each pair must agree in shape; the first disagreement is named on both sides.
"""

from __future__ import annotations

from collections.abc import Mapping

import torch
from torch import nn

from graph.compile import WeightsMismatch, compiled_info


def _size(shape: torch.Size) -> str:
    return "×".join(str(d) for d in shape) or "1"


def load_torch_state_dict(module: nn.Module, state: Mapping[str, torch.Tensor]) -> dict[str, str]:
    """Copy ``state`` (a plain ``state_dict``) into ``module`` (made by ``compile_network``).

    Returns which key of ``state`` went where (``{"conv1.weight": "Conv2d 'c1' weight"}``).
    Raises ``WeightsMismatch`` naming the first tensor whose shape differs, or the
    count of tensors when one side has more; nothing is copied then.
    """
    titles: dict[str, str] = compiled_info(module, "node_titles")
    mine = module.state_dict(keep_vars=True)
    if len(mine) != len(state):
        raise WeightsMismatch(
            f"the state_dict holds {len(state)} tensors but the network has {len(mine)} "
            "(weights, biases and norm statistics); the two networks have different layers")
    where: dict[str, str] = {}
    for position, ((their_key, tensor), (key, target)) in enumerate(
            zip(state.items(), mine.items(), strict=True), start=1):
        attr, _, rest = key.partition(".")
        name = f"{titles.get(attr, attr)} {rest}"
        if tensor.shape != target.shape:
            raise WeightsMismatch(
                f"tensor {position}: the state_dict's {their_key!r} is {_size(tensor.shape)} "
                f"but {name} is {_size(target.shape)}; the layers differ here, or the "
                "original module registers its layers in another order than they run")
        where[their_key] = name
    with torch.no_grad():
        for tensor, target in zip(state.values(), mine.values(), strict=True):
            target.copy_(tensor)
    return where
