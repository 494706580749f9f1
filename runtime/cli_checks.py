"""Range checks for the command line's numeric arguments, as argparse ``type`` functions,
so a bad one is argparse's usual one-line usage error (exit 2).

Kept free of torch: the parser is built for every subcommand, even ``validate``.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable

from graph.training import MAX_EPOCHS

MAX_SEED = (1 << 32) - 1  # the widest seed every random generator a run uses accepts
MAX_THREADS = 4096
MAX_SHAPE_RANK = 8
MAX_SHAPE_SIZE = 1 << 16  # an Input's largest size (graph/layers/io.py)


def int_range(low: int, high: int) -> Callable[[str], int]:
    """An argparse type: a whole number from ``low`` to ``high``."""
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = None
        if value is None or not low <= value <= high:
            raise argparse.ArgumentTypeError(f"expected a whole number from {low} to "
                                             f"{high}, got '{text}'")
        return value

    parse.__name__ = "number"  # what argparse calls the type in its messages
    return parse


epochs = int_range(1, MAX_EPOCHS)
seed = int_range(0, MAX_SEED)
threads = int_range(1, MAX_THREADS)


def shape(text: str) -> tuple[int, ...]:
    """An argparse type: a sample shape such as ``1,8,8`` (or ``1x8x8``)."""
    try:
        sizes = tuple(int(d) for d in text.replace("x", ",").replace("×", ",").split(","))
    except ValueError:
        sizes = ()
    if not 1 <= len(sizes) <= MAX_SHAPE_RANK or not all(1 <= d <= MAX_SHAPE_SIZE for d in sizes):
        raise argparse.ArgumentTypeError(
            f"'{text}' is not a shape like 1,8,8 (at most {MAX_SHAPE_RANK} sizes, each from 1 "
            f"to {MAX_SHAPE_SIZE})")
    return sizes
