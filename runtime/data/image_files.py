"""One guarded way to read an image file, shared by image folders and ``predict``.

The header's width and height are checked against
:data:`~runtime.data.limits.MAX_IMAGE_PIXELS` before any pixel is decoded, so a
small file claiming 10^10 pixels (a decompression bomb) is refused at once, and
every decoder failure becomes a :class:`DataError` naming the file.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import numpy as np

from runtime.data.errors import DataError
from runtime.data.limits import MAX_IMAGE_PIXELS

IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp"})


def pillow() -> Any:
    """``PIL.Image``, or a :class:`DataError` saying how to install it."""
    try:
        from PIL import Image
    except ImportError as exc:
        raise DataError("reading images needs Pillow: pip install pillow") from exc
    return Image


def read_image(file: Path, size: tuple[int, int], color: str) -> np.ndarray:
    """``file`` decoded, converted to ``grey`` (H×W) or ``rgb`` (H×W×3), resized to
    ``size`` = (width, height), as float32 values 0..255."""
    image_module = pillow()
    try:
        with warnings.catch_warnings():
            # Pillow only warns between its own two limits; ours is lower, so refuse instead.
            warnings.simplefilter("error", image_module.DecompressionBombWarning)
            with image_module.open(file) as image:
                _check_size(file, image.size)
                converted = image.convert("L" if color == "grey" else "RGB")
                resized = converted.resize(size, image_module.Resampling.BILINEAR)
                return np.asarray(resized, dtype=np.float32)
    except (image_module.DecompressionBombError, image_module.DecompressionBombWarning) as exc:
        raise DataError(f"{file}: the image is too large ({exc}); the limit is "
                        f"{MAX_IMAGE_PIXELS:,} pixels") from None
    except DataError:
        raise
    # Pillow's decoders raise all of these for damaged files.
    except (OSError, ValueError, SyntaxError, EOFError, MemoryError) as exc:
        raise DataError(f"cannot read image {file}: {exc}") from None


def _check_size(file: Path, size: tuple[int, int]) -> None:
    width, height = size
    if width <= 0 or height <= 0:
        raise DataError(f"{file}: the image header claims {width}×{height} pixels")
    if width * height > MAX_IMAGE_PIXELS:
        raise DataError(f"{file}: the image header claims {width:,}×{height:,} pixels, more "
                        f"than the limit of {MAX_IMAGE_PIXELS:,} pixels; use a smaller image")
