"""The error every data problem raises (its own module so the limit checks can use it)."""

from __future__ import annotations


class DataError(ValueError):
    """A data set cannot be loaded or prepared; the message names the culprit."""
