"""Output paths checked before any work, so a typo in ``--out`` or ``-o`` costs nothing
and leaves nothing behind."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


class OutputPathError(ValueError):
    """An output path that cannot be written; the message names it and says why."""


def check_output_folder(path: str | os.PathLike[str]) -> None:
    """``path`` is a folder, or can be made one, and files can be created in it."""
    target = Path(path)
    if target.exists() and not target.is_dir():
        raise OutputPathError(f"{target} is a file, not a folder; choose a folder for the "
                              "run's files")
    _check_creatable(target)


def check_output_file(path: str | os.PathLike[str]) -> None:
    """``path`` names a file (not a folder) that can be created or replaced."""
    target = Path(path)
    if target.is_dir():
        raise OutputPathError(f"{target} is a folder; give a file name, e.g. "
                              f"{target / 'model'}")
    _check_creatable(target.parent)


def _check_creatable(folder: Path) -> None:
    """Files can be created in ``folder`` (or in the folders that would be made for it)."""
    existing = folder
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        if existing == folder:
            raise OutputPathError(f"{folder} is a file, not a folder")
        raise OutputPathError(f"{existing} is a file, so {folder} cannot be made")
    try:  # os.access says yes to root even where nothing can be created: try it
        Path(tempfile.mkdtemp(prefix=".layerloom-check-", dir=existing)).rmdir()
    except OSError as exc:
        raise OutputPathError(f"cannot create files in {existing} "
                              f"({exc.strerror or exc}); choose another place") from None
