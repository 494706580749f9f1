"""The Step tab's words: what each stage shows, with the step's own numbers."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from gui.canvas.step_drawing import number

STAGE_NAMES = {"forward": "Forward", "loss": "Loss", "backward": "Backward", "update": "Update"}
VANISHING = 1e-6  # a gradient norm below this barely moves anything upstream
EXPLODING = 1e3


def weights_text(weights: str) -> str:
    if not weights:
        return "fresh weights (no trained weights yet)"
    return f"the weights of run {Path(weights).parent.name}"


def stage_text(record: dict[str, Any], stage: str, upto: int | None,
               long: bool = False) -> str:
    """One line naming the stage (``long``: what it shows and what the numbers say)."""
    order = record["order"]
    number_of = list(STAGE_NAMES).index(stage) + 1
    head = f"Stage {number_of} of 4: {STAGE_NAMES[stage]}"
    if upto is not None and upto < len(order):
        head += f" (node {upto} of {len(order)})"
    if not long:
        return head
    return f"{head}. " + {"forward": _forward, "loss": _loss, "backward": _backward,
                          "update": _update}[stage](record)


def _forward(record: dict[str, Any]) -> str:
    label = f" ({record['label']})" if record["label"] else ""
    return (f"Sample {record['index']}{label} goes through the network node by node; under "
            "each node, its output for this sample: feature maps as small images, vectors "
            "as bars (blue positive, orange negative), sequences as a heat-map, with the "
            "mean and standard deviation.")


def _loss(record: dict[str, Any]) -> str:
    loss = record["loss"]
    text = (f"The {loss['name']} compares the prediction ({loss['prediction']}) with the "
            f"target ({loss['target']}): loss = {number(loss['value'])}. Training lowers it.")
    return text + (" " + BATCH_NORM_ALONE if record.get("batch_norm_alone") else "")


BATCH_NORM_ALONE = ("With a batch of 1, batch norm (in training mode) normalises this sample "
                    "by its own statistics, so even a trained network predicts it poorly "
                    "here: set Batch to 32 or more to step as training does.")


def _backward(record: dict[str, Any]) -> str:
    norms = [v for v in record["backward"]["outputs"].values() if math.isfinite(v)]
    text = ("The gradient of the loss flows back along the wires: a wire's colour and "
            "thickness show the gradient's norm on a log scale (blue small, red large); "
            "the card under each node gives it for the node's output and weights.")
    if norms:
        low, high = min(norms), max(norms)
        text += f" Norms range from {number(low)} to {number(high)}."
        if 0 < low < VANISHING or (low > 0 and high / low > 1e6):
            text += " Some are vanishingly small: layers before them barely learn."
        if high > EXPLODING:
            text += " Some are very large (exploding): try a lower learning rate or clipping."
    return text


def _update(record: dict[str, Any]) -> str:
    update = record["update"]
    return (f"{update['optimizer']} with learning rate {number(update['lr'])} moved each "
            "weighted node's weights by ‖Δw‖/‖w‖ (the change's size relative to the "
            "weights), shown under it. Loss on the same "
            f"sample: {number(update['loss_before'])} → {number(update['loss_after'])}. "
            + record["note"].capitalize() + "."
            + (" " + BATCH_NORM_ALONE if record.get("batch_norm_alone") else ""))
