"""Fuzz targets for what a run writes: weights files (``model.safetensors``: its metadata,
its header, its bytes) read by predict and export, and checkpoints resumed by a trainer.
Only the project's errors (WeightsError, DataError, ExportError, TrainingFailed) may
come out. The mutators of metadata and checkpoints are those of tests/runtime/mutants.py.
"""

from __future__ import annotations

import atexit
import copy
import io
import json
import random
import shutil
import struct
import tempfile
from pathlib import Path
from typing import Any

from tests.fuzz.harness import Mutant, Seed, Target
from tests.fuzz.json_mutants import flip_bytes, mutate_json, truncate

OPTIONS = {"epochs": 2, "max_steps_per_epoch": 2, "activations": False}
_made: dict[str, Any] = {}  # the trained run and the resuming trainer, made once


def _doc() -> Any:
    from tests.runtime.helpers import moons_mlp

    # A one-cycle schedule and kept best weights: every part of a checkpoint is in use.
    return moons_mlp(networks={"main": {"optimizer": {"name": "adam", "lr": 0.02},
                                        "schedule": {"name": "onecycle"}}},
                     early_stopping={"enabled": True, "patience": 5, "restore_best": True})


def _run_folder() -> Path:
    """A run stopped after its first epoch of two: checkpoint.pt and model.safetensors."""
    if "run" not in _made:
        from runtime.control import RunControl
        from runtime.trainer import RunOptions, Trainer

        out = Path(tempfile.mkdtemp(prefix="fuzz-run-"))
        atexit.register(shutil.rmtree, out, True)
        control = RunControl()

        def stop(event: dict[str, Any]) -> None:
            if event["type"] == "checkpoint":
                control.stop()

        Trainer(_doc(), RunOptions(**OPTIONS, out_dir=out, checkpoint_share=None),
                sink=stop, control=control).run()
        (out / "points.csv").write_text("-1.0,0.5\n2.0,0.0\n")
        _made["run"] = out
    path: Path = _made["run"]
    return path


def _allowed() -> tuple[type[BaseException], ...]:
    from runtime.checkpoint import WeightsError
    from runtime.data import DataError
    from runtime.export import ExportError
    from runtime.trainer import TrainingFailed

    return (WeightsError, DataError, ExportError, TrainingFailed)


# -- weights files ----------------------------------------------------------------------


def _split(data: bytes) -> tuple[dict[str, Any], bytes]:
    size = struct.unpack("<Q", data[:8])[0]
    header: dict[str, Any] = json.loads(data[8:8 + size])
    return header, data[8 + size:]


def _join(header: bytes, body: bytes) -> bytes:
    header += b" " * (-len(header) % 8)
    return struct.pack("<Q", len(header)) + header + body


def _mutate_weights(seed: Seed, rng: random.Random) -> Mutant:
    from tests.runtime.mutants import metadata_mutants

    roll = rng.random()
    header, body = _split(seed.data)
    if roll < 0.5:
        what, metadata = next(metadata_mutants(header["__metadata__"], rng, 1))
        data = _join(json.dumps({**header, "__metadata__": metadata}).encode(), body)
        return Mutant(seed, f"metadata {what}", data)
    if roll < 0.75:
        what, text = mutate_json(json.dumps(header).encode(), rng)
        return Mutant(seed, f"header {what}", _join(text, body))
    what, data = truncate(seed.data, rng) if roll < 0.87 else flip_bytes(seed.data, rng)
    return Mutant(seed, what, data)


def _run_weights(path: Path) -> None:
    from runtime.checkpoint import read_weights
    from runtime.evaluate import predict
    from runtime.export import load_trained

    doc = _doc()
    read_weights(path)
    predict(doc, path, _run_folder() / "points.csv")
    load_trained(doc, "main", path)


def weights_target() -> Target:
    def seeds() -> list[Seed]:
        data = (_run_folder() / "model.safetensors").read_bytes()
        return [Seed("moons", data, "model.safetensors")]

    return Target("weights", seeds, _mutate_weights, _run_weights, _allowed(),
                  lambda: _run_weights(_run_folder() / "model.safetensors"))


# -- checkpoints ------------------------------------------------------------------------


def _mutate_checkpoint(seed: Seed, rng: random.Random) -> Mutant:
    import torch

    from tests.runtime.mutants import checkpoint_mutants

    roll = rng.random()
    if roll < 0.7:
        data = torch.load(io.BytesIO(seed.data), weights_only=True)
        what, tree = next(checkpoint_mutants(data, rng, 1))
        buffer = io.BytesIO()
        torch.save(tree, buffer)
        return Mutant(seed, what, buffer.getvalue())
    what, raw = truncate(seed.data, rng) if roll < 0.85 else flip_bytes(seed.data, rng)
    return Mutant(seed, what, raw)


def _trainer() -> Any:
    """One trainer for every case, its fresh state put back before each resume."""
    if "trainer" not in _made:
        from runtime.trainer import RunOptions, Trainer

        trainer = Trainer(_doc(), RunOptions(**OPTIONS, checkpoint_share=None))
        trainer.setup()
        _made["trainer"] = trainer
        _made["fresh"] = copy.deepcopy({
            "weights": trainer.networks["main"].state_dict(),
            "optimizer": trainer.optimizers["main"].state_dict(),
            "schedule": trainer.schedules["main"].state_dict()})
    return _made["trainer"]


def _run_checkpoint(path: Path) -> None:
    trainer = _trainer()
    fresh = _made["fresh"]
    trainer.networks["main"].load_state_dict(fresh["weights"])
    trainer.optimizers["main"].load_state_dict(copy.deepcopy(fresh["optimizer"]))
    trainer.schedules["main"].load_state_dict(copy.deepcopy(fresh["schedule"]))
    trainer.options.resume = path
    trainer.run()


def checkpoint_target() -> Target:
    def seeds() -> list[Seed]:
        return [Seed("moons", (_run_folder() / "checkpoint.pt").read_bytes(), "checkpoint.pt")]

    return Target("checkpoint", seeds, _mutate_checkpoint, _run_checkpoint, _allowed(),
                  lambda: _run_checkpoint(_run_folder() / "checkpoint.pt"))
