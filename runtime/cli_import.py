"""``layerloom import``: a PyTorch module or an ONNX file as a .loom file with its weights."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from runtime.cli import EXIT_OK, EXIT_UNREADABLE, CliError, SubParsers

if TYPE_CHECKING:
    from graph.importers.result import ImportedModel


def _add_import(subparsers: SubParsers) -> None:
    parser = subparsers.add_parser(
        "import", help="open a PyTorch module or an ONNX file as a .loom graph",
        description="Import MODEL.py:NAME (a torch.nn.Module class, or a function returning "
                    "one, built without arguments) or MODEL.onnx as an editable graph. "
                    "WARNING: importing a .py file runs its code, as 'python MODEL.py' "
                    "would; only import files you trust. The weights (the module's own, "
                    "or those of --weights) go to runs/<output name>/model.safetensors "
                    "beside the output, where evaluate, export and train --init-weights "
                    "find them. Exit status 1 names every call that has no layer.",
    )
    parser.add_argument("source", metavar="MODEL.py:NAME|MODEL.onnx",
                        help="the module's file and class (or factory function), or an "
                             "ONNX file")
    parser.add_argument("--input-shape", type=int, nargs="+", metavar="D",
                        help="shape of one input sample, without the batch (e.g. 1 28 28); "
                             "required for a .py module")
    parser.add_argument("--tokens", type=int, metavar="VOCAB",
                        help="the input is token ids below VOCAB (for embedding models)")
    parser.add_argument("-o", "--output", metavar="OUT.loom",
                        help="the graph file to write (default: the model file's name "
                             "with .loom, in the current folder)")
    parser.add_argument("--weights", metavar="FILE",
                        help="a state_dict to load into the module first (.pt/.pth read with "
                             "weights_only, or .safetensors)")
    parser.set_defaults(handler=_import)


def _import(args: argparse.Namespace) -> int:
    from graph.fileformat import save_graph
    from runtime.model_source import ModelSourceError, split_source, weights_folder, write_weights

    try:
        path, name = split_source(args.source)
        result = _from_onnx(path, args) if name is None else _from_python(path, name, args)
    except ModelSourceError as exc:
        raise CliError(str(exc), EXIT_UNREADABLE) from None
    out = Path(args.output) if args.output else Path(f"{path.stem}.loom")
    try:
        save_graph(result.document, out)
        weights = write_weights(result, weights_folder(out))
    except OSError as exc:
        raise CliError(f"cannot write {exc.filename or out}: {exc.strerror or exc}",
                       EXIT_UNREADABLE) from None
    nodes = len(result.document.network(result.network))
    print(f"{args.source}: {nodes} nodes → {out}; weights → {weights}")
    for note in result.notes:
        print(note)
    return EXIT_OK


def _from_python(path: Path, name: str, args: argparse.Namespace) -> ImportedModel:
    from graph.importers import ModelImportError, import_module
    from runtime.model_source import (
        example_input,
        load_python_model,
        load_weights_into,
        read_state_dict,
    )

    if not args.input_shape:
        raise CliError("give the shape of one input sample with --input-shape (e.g. 1 28 28)",
                       EXIT_UNREADABLE)
    if any(d < 1 for d in args.input_shape):
        raise CliError(f"--input-shape {' '.join(map(str, args.input_shape))}: every size "
                       "must be at least 1", EXIT_UNREADABLE)
    model = load_python_model(path, name)
    if args.weights:
        load_weights_into(model, read_state_dict(Path(args.weights)), Path(args.weights))
    try:
        return import_module(model, example_input(args.input_shape, args.tokens))
    except ModelImportError as exc:
        raise CliError(f"{path}:{name} cannot be imported:\n{exc}") from None


def _from_onnx(path: Path, args: argparse.Namespace) -> ImportedModel:
    from graph.importers import ModelImportError, import_onnx

    if args.weights or args.input_shape:
        raise CliError("an ONNX file holds its weights and shapes: drop --weights and "
                       "--input-shape", EXIT_UNREADABLE)
    try:
        return import_onnx(path)
    except ModelImportError as exc:
        raise CliError(str(exc)) from None


IMPORT_SUBCOMMANDS = (_add_import,)
