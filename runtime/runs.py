"""Where a run's files go, and where trained weights are found again: one policy for
the command line, the window, Evaluate, Export and import.

Every training run of ``net.loom`` writes to a folder of its own beside the file,
``runs/net/<date-time>/`` (claimed when chosen, so two runs never share one and no run
overwrites another's weights); a run of a document never saved writes to a fresh
temporary folder. Weights that come without a run (an imported model's) go to
``runs/net/`` itself. ``latest_weights`` finds the newest ``model.safetensors`` among
all of these, which is what Evaluate, Export and the commands that take ``--weights``
use when none is named.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

WEIGHTS = "model.safetensors"


def runs_root(graph_file: Path) -> Path:
    """``runs/<file name>/`` beside ``graph_file``: every run of it lives below."""
    return graph_file.parent / "runs" / graph_file.stem


def claim_run_folder(graph_file: Path | None) -> Path:
    """A new, empty folder for one run of ``graph_file`` (a temporary one when None)."""
    if graph_file is None:
        return Path(tempfile.mkdtemp(prefix="layerloom-run-"))
    root = runs_root(graph_file)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    root.mkdir(parents=True, exist_ok=True)
    for n in range(1, 1000):
        folder = root / (stamp if n == 1 else f"{stamp}-{n}")
        try:
            folder.mkdir()  # claimed here, so two runs started in one second never share it
        except FileExistsError:
            continue
        return folder
    raise OSError(f"no free run folder under {root}")


def latest_weights(graph_file: Path) -> Path | None:
    """The newest ``model.safetensors`` of ``graph_file``'s runs (or its import), if any."""
    root = runs_root(graph_file)
    try:
        folders = [root, *(p for p in root.iterdir() if p.is_dir())]
    except OSError:  # no runs yet, or the folder cannot be read
        return None
    found = [f / WEIGHTS for f in folders if (f / WEIGHTS).is_file()]
    return max(found, key=lambda p: (p.stat().st_mtime, str(p)), default=None)
