"""Choosing the device and the mixed-precision mode for a run."""

from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class DevicePlan:
    device: torch.device
    amp_dtype: torch.dtype | None  # None: full precision
    note: str = ""  # why a request was not honoured, shown to the user

    @property
    def uses_scaler(self) -> bool:
        return self.amp_dtype == torch.float16


def pick_device(requested: str = "auto", precision: str = "fp32") -> DevicePlan:
    """``auto`` picks CUDA, then Apple MPS, then CPU. Mixed precision only on CUDA."""
    notes = []
    if requested == "auto":
        if torch.cuda.is_available():
            requested = "cuda"
        elif torch.backends.mps.is_available():
            requested = "mps"
        else:
            requested = "cpu"
    elif requested == "cuda" and not torch.cuda.is_available():
        raise RuntimeError("device 'cuda' was asked for, but this PyTorch sees no CUDA GPU")
    elif requested == "mps" and not torch.backends.mps.is_available():
        raise RuntimeError("device 'mps' was asked for, but this machine has no Apple MPS")
    device = torch.device(requested)
    amp: torch.dtype | None = None
    if precision != "fp32":
        if device.type == "cuda":
            amp = torch.bfloat16 if precision == "bf16" else torch.float16
            if amp == torch.bfloat16 and not torch.cuda.is_bf16_supported():
                amp = torch.float16
                notes.append("this GPU lacks bf16; using fp16")
        else:
            notes.append(f"{precision} mixed precision needs CUDA; training in fp32 on {device}")
    return DevicePlan(device, amp, "; ".join(notes))
