"""Running out of memory during a run: recognise it, and say which node asked for it."""

from __future__ import annotations

from typing import NamedTuple

from torch import nn

from graph.compile import locate_error

# How PyTorch words a failed allocation: the CPU allocator, CUDA and MPS.
_OOM_WORDS = ("out of memory", "can't allocate memory", "DefaultCPUAllocator: can't allocate")


class OutOfMemory(NamedTuple):
    """What the trainer raises as a ``TrainingFailed``."""

    message: str
    node_id: str | None
    network: str | None


def is_out_of_memory(exc: BaseException) -> bool:
    """True for ``MemoryError``, ``torch.OutOfMemoryError`` and the allocators' RuntimeErrors."""
    if isinstance(exc, MemoryError):
        return True
    return isinstance(exc, RuntimeError) and any(word in str(exc) for word in _OOM_WORDS)


def out_of_memory(exc: BaseException, networks: dict[str, nn.Module], where: str,
                  batch_size: int) -> OutOfMemory:
    """The message for an allocation that failed ``where`` ("in epoch 3"), naming the node
    that asked for the memory when the traceback passes through one."""
    detail = _first_line(exc)
    for name, module in networks.items():
        located = locate_error(module, exc)
        if located is not None:
            return OutOfMemory(
                f"ran out of memory in {located.title} {where} ({detail}): lower the batch "
                f"size ({batch_size}) or make {located.title} smaller",
                located.node_id, name)
    return OutOfMemory(f"ran out of memory {where} ({detail}): lower the batch size "
                       f"({batch_size}) or the layer sizes", None, None)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text and text[0] else type(exc).__name__
