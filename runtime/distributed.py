"""Training on several processes with ``torchrun``: DistributedDataParallel.

``torchrun --nproc_per_node=K main.py train FILE.loom`` starts K copies of the
command; each joins the process group (gloo on CPU, NCCL on CUDA), trains on its
own shard of every epoch, and DDP averages gradients so all ranks keep the same
weights. Only rank 0 logs and writes files.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist
from torch import nn


@dataclass(frozen=True)
class DistInfo:
    rank: int
    world_size: int
    device: str | None  # "cuda:<local rank>" when each rank has a GPU


def from_environment() -> DistInfo | None:
    """Join the process group when launched by torchrun (WORLD_SIZE > 1), else None."""
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    if world_size <= 1:
        return None
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    cuda = torch.cuda.is_available() and torch.cuda.device_count() > local_rank
    if cuda:
        torch.cuda.set_device(local_rank)
    if not dist.is_initialized():
        dist.init_process_group("nccl" if cuda else "gloo")
    return DistInfo(dist.get_rank(), dist.get_world_size(), f"cuda:{local_rank}" if cuda else None)


def wrap_ddp(module: nn.Module, device: torch.device) -> nn.Module:
    """The module wrapped for gradient averaging across ranks."""
    from torch.nn.parallel import DistributedDataParallel

    ids = [device.index] if device.type == "cuda" else None
    return DistributedDataParallel(module, device_ids=ids)


def weights_in_sync(networks: dict[str, nn.Module]) -> bool:
    """Whether every rank holds exactly the same weights (checked on all ranks)."""
    flat = torch.cat([p.detach().reshape(-1).double().cpu()
                      for m in networks.values() for p in m.state_dict().values()
                      if p.is_floating_point()])
    digest = torch.stack([flat.sum(), (flat * torch.arange(len(flat), dtype=flat.dtype)).sum()])
    gathered = [torch.zeros_like(digest) for _ in range(dist.get_world_size())]
    dist.all_gather(gathered, digest)
    return all(torch.equal(g, gathered[0]) for g in gathered)


def shards_disjoint(indices: torch.Tensor, total: int) -> bool:
    """Whether the ranks' sample indices of one epoch are disjoint (ignoring the padding
    that evens out the last shard) and together cover every sample."""
    size = torch.tensor([len(indices)])
    sizes = [torch.zeros_like(size) for _ in range(dist.get_world_size())]
    dist.all_gather(sizes, size)
    gathered = [torch.zeros(int(s), dtype=indices.dtype) for s in sizes]
    dist.all_gather(gathered, indices.cpu())
    seen = torch.cat(gathered)
    unique = torch.unique(seen)
    padding = len(seen) - total
    return len(unique) == total and 0 <= padding < dist.get_world_size()


def shutdown(clean: bool = True) -> None:
    """Leave the process group. After a clean run every rank first waits for the others:
    a rank that tears down its connections while a peer is still writing files or
    finishing its last collective can make gloo abort that peer ("connection closed
    by peer"). After a failure the peers may never arrive, so nobody waits."""
    if not dist.is_initialized():
        return
    if clean:
        dist.barrier()
    dist.destroy_process_group()
