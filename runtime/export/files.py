"""The torch.export program (.pt2), Layerloom weights (.safetensors + .loom) and
standalone PyTorch source (.py + weights); each is reloaded and checked after writing."""

from __future__ import annotations

import ast
import importlib.machinery
import importlib.util
import json
import math
from pathlib import Path
from typing import Any

import torch
from torch import nn

from graph.codegen import generate_code
from graph.compile import CompileError, compile_network, state_dict_by_id
from graph.document import Document
from graph.fileformat import load_graph, save_graph
from runtime.checkpoint import WeightsError, load_weights
from runtime.export.base import (
    TRACE_BATCH,
    ExportError,
    ExportReport,
    Signature,
    atomic_path,
    compare,
    discard_on_error,
    dynamic_shapes,
    export_metadata,
    first_line,
    quiet,
    require_checks,
)
from runtime.records import NETWORK_WEIGHTS_FORMAT, WEIGHTS_FORMAT, WeightsMetadata

PT2_EXTRA_FILE = "layerloom.json"  # the export record inside the .pt2 archive
_WIDTH = 100  # generated lines fit the project's line length


# -- torch.export program ---------------------------------------------------------
def export_pt2(module: nn.Module, signature: Signature, preprocessing: dict[str, Any] | None,
               out_path: Path) -> ExportReport:
    """``torch.export`` the module with a dynamic batch and save it with the record inside."""
    try:
        with quiet():
            program = torch.export.export(
                module, signature.sample(TRACE_BATCH), dynamic_shapes=dynamic_shapes(signature))
    except Exception as exc:
        raise ExportError(f"torch.export cannot capture network '{signature.network}': "
                          f"{first_line(exc)}") from None
    record = json.dumps(export_metadata(signature, preprocessing, "torch.export"))
    with atomic_path(out_path) as tmp:  # replaced only once the saved program passes
        torch.export.save(program, str(tmp), extra_files={PT2_EXTRA_FILE: record})
        loaded = torch.export.load(str(tmp)).module()
        checks = require_checks(compare(module, lambda xs: loaded(*xs), signature),
                                f"the saved program {out_path.name}")
    return ExportReport("pt2", signature.network, [out_path], "torch.export", checks)


def read_pt2_metadata(path: str | Path) -> dict[str, Any]:
    """The export record stored in a .pt2 written by ``export_pt2``."""
    extra = {PT2_EXTRA_FILE: ""}
    torch.export.load(str(path), extra_files=extra)
    return dict(json.loads(extra[PT2_EXTRA_FILE]))


# -- Layerloom weights ------------------------------------------------------------
def export_safetensors(doc: Document, module: nn.Module, signature: Signature,
                       preprocessing: dict[str, Any] | None, out_path: Path) -> ExportReport:
    """One network's weights in Layerloom's format, and the graph beside them as .loom.

    Keys are ``<network>.<node id>.<parameter>`` like a run's ``model.safetensors``,
    so ``runtime.checkpoint.load_weights`` (evaluate, continue training) reads it.
    """
    from safetensors.torch import save_file

    network = signature.network
    tensors = {f"{network}.{key}": value.detach().cpu().contiguous()
               for key, value in state_dict_by_id(module).items()}
    metadata = WeightsMetadata.model_validate({
        "format": WEIGHTS_FORMAT, "networks": [network], "preprocessing": preprocessing,
        "export": export_metadata(signature, preprocessing, "safetensors")}).to_safetensors()
    loom = out_path.with_suffix(".loom")
    with discard_on_error(out_path, loom):
        with atomic_path(out_path) as tmp:
            save_file(tensors, str(tmp), metadata=metadata)
        save_graph(doc, loom)
        fresh = _reloaded(loom, out_path, network)
        checks = require_checks(compare(module, lambda xs: fresh(*xs), signature),
                                f"the weights in {out_path.name} reloaded")
    notes = [f"{loom.name} is the graph these weights belong to; open it in Layerloom to "
             "evaluate or continue training"]
    return ExportReport("safetensors", network, [out_path, loom], "safetensors", checks, notes)


def _reloaded(loom: Path, weights: Path, network: str) -> nn.Module:
    """The network compiled afresh from the saved graph, with the saved weights."""
    try:
        fresh = compile_network(load_graph(loom), network)
        if fresh.state_dict():  # a network without weights has no entry to load
            load_weights(weights, {network: fresh})
    except (CompileError, WeightsError) as exc:
        raise ExportError(f"the exported files do not reload: {exc}") from None
    return fresh.eval()


# -- standalone PyTorch source ----------------------------------------------------
_LOADER = '''

# -- added by Layerloom's export ----------------------------------------------------------
# How Layerloom turned raw samples into this network's inputs while training
# (normalisation constants, sample shape, class names); None when it has no record.
PREPROCESSING = {record}
CLASS_NAMES = PREPROCESSING["class_names"] if PREPROCESSING else None
WEIGHTS_FILE = {weights}


def preprocess(x: torch.Tensor) -> torch.Tensor:
    """Raw samples → network inputs: (x - offset) / scale, as during training."""
    if not PREPROCESSING or PREPROCESSING["kind"] == "none" or not x.is_floating_point():
        return x
    offset = torch.tensor(PREPROCESSING["offset"], dtype=x.dtype, device=x.device)
    scale = torch.tensor(PREPROCESSING["scale"], dtype=x.dtype, device=x.device)
    return (x - offset) / scale


def load(path: str | None = None) -> {cls}:
    """The model with its trained weights, in eval mode (default: WEIGHTS_FILE beside this file)."""
    import os

    model = {cls}()
    here = os.path.dirname(os.path.abspath(__file__))
    load_weights(model, path or os.path.join(here, WEIGHTS_FILE))
    return model.eval()
'''


def python_paths(out_path: Path, network: str) -> tuple[Path, Path]:
    """The .py file to write and its weights beside it (named after the network).

    ``out_path`` is the .py file, or else a folder to write ``model.py`` into.
    """
    source = out_path if out_path.suffix == ".py" else out_path / "model.py"
    return source, source.with_name(f"{network}.safetensors")


def export_python(doc: Document, module: nn.Module, signature: Signature,
                  preprocessing: dict[str, Any] | None, out_path: Path) -> ExportReport:
    """``generate_code``'s module plus ``load()`` / ``preprocess()``, and the weights file."""
    from safetensors.torch import save_file

    source_path, weights_path = python_paths(out_path, signature.network)
    if source_path.stem == weights_path.stem:
        weights_path = source_path.with_name(f"{source_path.stem}_weights.safetensors")
    try:
        source = generate_code(doc, signature.network)
    except CompileError as exc:
        raise ExportError(f"network '{signature.network}' cannot be exported: {exc}") from None
    source += _LOADER.format(record=_literal(preprocessing), weights=json.dumps(weights_path.name),
                             cls=_model_class(source))
    extra_files: list[Path] = []
    if signature.tokenizer is not None:
        source_text, extra_files = text_source(signature.tokenizer, source_path)
        source += source_text
    tensors = {key: value.detach().cpu().contiguous()
               for key, value in state_dict_by_id(module).items()}
    metadata = WeightsMetadata.model_validate({
        "format": NETWORK_WEIGHTS_FORMAT, "network": signature.network,
        "preprocessing": preprocessing,
        "export": export_metadata(signature, preprocessing, "codegen")}).to_safetensors()
    with discard_on_error(source_path, weights_path):
        with atomic_path(weights_path) as tmp:
            save_file(tensors, str(tmp), metadata=metadata)
        with atomic_path(source_path) as tmp:
            tmp.write_text(source, encoding="utf-8")
        model = _import_file(source_path).load()
        checks = require_checks(compare(module, lambda xs: model(*xs), signature),
                                f"the generated {source_path.name}")
    notes = [f"use it with: import {source_path.stem}; m = {source_path.stem}.load()"]
    if extra_files:
        notes.append("encode(text) / decode(ids) turn text into token ids and back as in "
                     "training")
    return ExportReport("python", signature.network, [source_path, weights_path, *extra_files],
                        "codegen", checks, notes)


_CHARACTERS = '''

# How Layerloom turned text into token ids while training: one id per character.
VOCABULARY = {characters}
_IDS = {{c: i for i, c in enumerate(VOCABULARY)}}


def encode(text: str) -> torch.Tensor:
    """Text → token ids (a ValueError names characters the model never saw)."""
    unknown = sorted(set(text) - set(_IDS))
    if unknown:
        raise ValueError(f"characters outside the vocabulary: {{unknown}}")
    return torch.tensor([_IDS[c] for c in text], dtype=torch.long)


def decode(ids: torch.Tensor) -> str:
    return "".join(VOCABULARY[int(i)] for i in ids.reshape(-1))
'''

_BPE = '''

# How Layerloom turned text into token ids while training: byte-pair encoding, read from
# TOKENIZER_FILE beside this file with the 'tokenizers' package.
TOKENIZER_FILE = {file}


def _tokenizer():
    import os

    from tokenizers import Tokenizer

    return Tokenizer.from_file(os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                            TOKENIZER_FILE))


def encode(text: str) -> torch.Tensor:
    return torch.tensor(_tokenizer().encode(text).ids, dtype=torch.long)


def decode(ids: torch.Tensor) -> str:
    return _tokenizer().decode([int(i) for i in ids.reshape(-1)])
'''


def text_source(tokenizer: dict[str, Any], source_path: Path) -> tuple[str, list[Path]]:
    """``encode`` / ``decode`` for the generated module, and the files they need."""
    if tokenizer["kind"] == "characters":
        return _CHARACTERS.format(characters=repr(tokenizer["characters"])), []
    path = source_path.with_name(f"{source_path.stem}_tokenizer.json")
    with atomic_path(path) as tmp:
        tmp.write_text(tokenizer["bpe"], encoding="utf-8")
    return _BPE.format(file=json.dumps(path.name)), [path]


def _literal(value: Any, indent: int = 0) -> str:
    """``value`` (JSON data) as a Python literal in the generated file's style."""
    if isinstance(value, dict):
        if not value:
            return "{}"
        pad = " " * (indent + 4)
        items = "".join(f"{pad}{json.dumps(str(k))}: {_literal(v, indent + 4)},\n"
                        for k, v in value.items())
        return "{\n" + items + " " * indent + "}"
    if isinstance(value, list | tuple):
        return _list_literal([_literal(v, indent + 4) for v in value], indent)
    if isinstance(value, str):
        return json.dumps(value)  # JSON's escapes are Python's too
    if isinstance(value, float) and not math.isfinite(value):
        return f'float("{value}")'
    if value is None or isinstance(value, bool | int | float):
        return repr(value)
    raise TypeError(f"cannot write {value!r} as Python source")


def _list_literal(items: list[str], indent: int) -> str:
    """A list on one line when it fits, else packed onto indented lines."""
    flat = "[" + ", ".join(items) + "]"
    if indent + len(flat) <= _WIDTH - 8 or not items:
        return flat
    pad = " " * (indent + 4)
    rows: list[list[str]] = [[]]
    for item in items:
        if rows[-1] and len(pad + ", ".join([*rows[-1], item])) + 1 > _WIDTH:
            rows.append([])
        rows[-1].append(item)
    body = "".join(f"{pad}{', '.join(row)},\n" for row in rows)
    return "[\n" + body + " " * indent + "]"


def _model_class(source: str) -> str:
    """The network's class in generated source: the last class it defines."""
    classes = [n.name for n in ast.parse(source).body if isinstance(n, ast.ClassDef)]
    assert classes, "generate_code wrote no class"
    return classes[-1]


def _import_file(path: Path) -> Any:
    """Import a generated file by path (not added to ``sys.modules``)."""
    loader = importlib.machinery.SourceFileLoader(f"_layerloom_export_{path.stem}", str(path))
    spec = importlib.util.spec_from_loader(loader.name, loader)
    assert spec is not None
    code = importlib.util.module_from_spec(spec)
    loader.exec_module(code)
    return code
