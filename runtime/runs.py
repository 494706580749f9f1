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

import contextlib
import json
import shutil
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from graph.document import Document, Network

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


# -- the runs of a file, as the Runs panel lists them ---------------------------------
LOG = "metrics.jsonl"
CHECKPOINT = "checkpoint.pt"
GRAPH = "graph.loom"
OUTCOME = "outcome.json"  # how the run ended, written by the trainer as it finishes
STAMP = "%Y%m%d-%H%M%S"
HEADLINES = ("val_accuracy", "train_accuracy", "val_loss", "train_loss")


@dataclass
class RunInfo:
    """One run folder as the Runs panel shows it (read from its files, never executed)."""

    folder: Path
    started: str  # "2026-12-06 22:10:04", from the folder's name, else its time
    epochs: int  # epochs logged
    planned: int | None  # the epochs its graph.loom asked for
    status: str
    headline: tuple[str, float] | None  # e.g. ("val_accuracy", 0.97), at the last epoch
    settings: str  # its training section in a line, or why it cannot be read
    has_weights: bool
    has_checkpoint: bool


def read_log(folder: Path) -> list[dict[str, Any]]:
    """The run's per-epoch records (``metrics.jsonl``); lines that are not a JSON object
    are passed over (a run killed mid-write leaves half a line)."""
    try:
        lines = (folder / LOG).read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        return []
    records = []
    for line in lines:
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if isinstance(record, dict) and isinstance(record.get("epoch"), int):
            records.append(record)
    return records


def _started(folder: Path) -> str:
    try:
        stamp = time.strptime(folder.name[:15], STAMP)
    except ValueError:
        try:
            stamp = time.localtime(folder.stat().st_mtime)
        except OSError:
            return "?"
    return time.strftime("%Y-%m-%d %H:%M:%S", stamp)


def _settings(folder: Path) -> tuple[str, int | None]:
    """The run's training section in one line, and its planned epochs."""
    from graph.fileformat import GraphFileError, load_graph

    try:
        training = load_graph(folder / GRAPH).training
    except (GraphFileError, OSError) as exc:
        return f"graph.loom unreadable: {exc}", None
    optimisers = ", ".join(
        f"{n.optimizer.name} lr {n.optimizer.lr:g}"
        + (f" ({n.schedule.name})" if n.schedule.name != "none" else "")
        for n in training.networks.values())
    return (f"{training.data.name}, {training.epochs} epochs, batch {training.batch_size}, "
            f"{optimisers}, {training.loss.name}"), training.epochs


def _outcome_text(folder: Path) -> str | None:
    """The status ``checkpoint.write_outcome`` recorded, in words; None for a run without
    one (made before it was written, or killed) or one that cannot be read (never trusted
    blindly: a field of the wrong kind reads as no outcome)."""
    try:
        record = json.loads((folder / OUTCOME).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        return None
    if not isinstance(record, dict):
        return None
    status, epochs, planned = record.get("status"), record.get("epochs"), record.get("planned")
    if not isinstance(epochs, int) or not isinstance(planned, int):
        return None
    if status == "completed":
        return "completed"
    if status == "stopped":
        return f"stopped by you after {epochs} of {planned} epochs"
    if status != "early_stopped":
        return None
    text = f"stopped early after {epochs} of {planned} epochs"
    monitor, patience, best = (record.get(k) for k in ("monitor", "patience", "best_epoch"))
    if isinstance(monitor, str) and isinstance(patience, int):
        text += f": {monitor} did not improve for {patience} epoch{'s' * (patience != 1)}"
    if isinstance(best, int) and record.get("restored") is True:
        text += f"; the weights of epoch {best}, its best, were kept"
    return text


def _status(epochs: int, planned: int | None, weights: bool, checkpoint: bool) -> str:
    if weights and planned is not None and epochs >= planned:
        return "completed"
    if weights:
        return f"stopped after {epochs} of {planned} epochs" if planned else "stopped"
    if checkpoint:
        return "ended without weights (its checkpoint can be continued)"
    return "no weights (failed, stopped at once, or still running)"


def run_info(folder: Path) -> RunInfo:
    log = read_log(folder)
    settings, planned = _settings(folder)
    weights, checkpoint = (folder / WEIGHTS).is_file(), (folder / CHECKPOINT).is_file()
    last = log[-1] if log else {}
    key = next((k for k in HEADLINES if isinstance(last.get(k), float)), None)
    outcome = _outcome_text(folder) if weights else None
    return RunInfo(folder, _started(folder), len(log), planned,
                   outcome or _status(len(log), planned, weights, checkpoint),
                   (key, float(last[key])) if key else None, settings, weights, checkpoint)


def list_runs(graph_file: Path | None, extra: Sequence[Path] = ()) -> list[RunInfo]:
    """Every run of ``graph_file`` (folders under ``runs/<name>/`` holding a graph.loom),
    and the ``extra`` folders (runs of the document before it was saved), newest first."""
    folders = [f for f in extra if f.is_dir()]
    if graph_file is not None:
        with contextlib.suppress(OSError):  # no runs yet
            folders += [p for p in runs_root(graph_file).iterdir()
                        if p.is_dir() and (p / GRAPH).is_file()]
    runs = [run_info(f) for f in dict.fromkeys(folders)]
    return sorted(runs, key=lambda r: (r.started, str(r.folder)), reverse=True)


def delete_run(folder: Path, graph_file: Path | None, extra: Sequence[Path] = ()) -> None:
    """Remove a run folder: only one that ``list_runs`` would list, never anything else."""
    inside = graph_file is not None and folder.parent == runs_root(graph_file)
    if not (inside or folder in extra) or not (folder / GRAPH).is_file():
        raise OSError(f"{folder} is not a run folder of this document")
    shutil.rmtree(folder)


def adopt_runs(folders: Sequence[Path], graph_file: Path) -> dict[Path, Path]:
    """Move runs made before ``graph_file`` was first saved (temporary folders) to
    ``runs/<name>/<date-time>/`` beside it; each moved folder's new place."""
    moved = {}
    for folder in folders:
        if not folder.is_dir():
            continue
        stamp = time.strftime(STAMP, time.localtime(folder.stat().st_mtime))
        target = runs_root(graph_file) / stamp
        for n in range(2, 1000):
            if not target.exists():
                break
            target = target.with_name(f"{stamp}-{n}")
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(str(folder), str(target))
        moved[folder] = target
    return moved


def resume_problem(doc: Document, folder: Path) -> str | None:
    """Why ``doc`` cannot continue the run in ``folder`` from its checkpoint, if it cannot:
    the checkpoint holds weights and optimiser state for the networks as they were."""
    from graph.fileformat import GraphFileError, load_graph

    if not (folder / CHECKPOINT).is_file():
        return (f"the run in {folder} has no checkpoint.pt to continue from (it ended before "
                "its first checkpoint)")
    try:
        then = load_graph(folder / GRAPH)
    except (GraphFileError, OSError) as exc:
        return f"the run's graph.loom cannot be read: {exc}"
    advice = (f"; undo the changes, or open the run's own graph.loom ({folder / GRAPH}) and "
              "continue from there")
    for name, spec in then.training.networks.items():
        if name not in doc.networks:
            return f"network '{name}' of the run is no longer in the document{advice}"
        changed = _first_change(then.network(name), doc.network(name))
        if changed is not None:
            return f"the document changed since this run: {changed}, so its checkpoint no " \
                   f"longer fits{advice}"
        now = doc.training.networks.get(name)
        if now is None or now.optimizer.name != spec.optimizer.name \
                or now.schedule.name != spec.schedule.name:
            return (f"network '{name}' is now trained with other settings (optimiser or "
                    f"schedule) than the run's {spec.optimizer.name} / {spec.schedule.name}, "
                    f"so its optimiser state no longer fits{advice}")
    return None


def _first_change(then: Network, now: Network) -> str | None:
    """The first layer added, removed or re-parameterised, or a wire changed (by label)."""
    before = {n.id: n for n in then.nodes()}
    after = {n.id: n for n in now.nodes()}
    for node_id, node in before.items():
        if node_id not in after:
            return f"layer '{node.label}' ({node.type}) was removed"
        current = after[node_id]
        if current.type != node.type or current.params != node.params:
            names = sorted(k for k in {*node.params, *current.params}
                           if node.params.get(k) != current.params.get(k))
            return f"layer '{current.label}' ({current.type}) has other settings " \
                   f"({', '.join(names) or 'its type'})"
    for node_id in after.keys() - before.keys():
        return f"layer '{after[node_id].label}' ({after[node_id].type}) was added"
    if set(then.edges()) != set(now.edges()):
        return "its wiring changed"
    return None


def continued_epochs(doc: Document, folder: Path) -> int:
    """How many epochs a continued run ends at: the document's, or, for a run that got
    that far already, as many again."""
    done, planned = len(read_log(folder)), doc.training.epochs
    return planned if done < planned else done + planned
