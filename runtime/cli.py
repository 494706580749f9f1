"""Layerloom's command line: ``layerloom SUBCOMMAND FILE.loom …``.

Each subcommand is two small functions: ``_add_<name>`` declares its arguments
and ``_<name>`` runs it, returning the exit status. To add one, write both and
list the first in ``SUBCOMMANDS``. Failures the user can fix are raised as
``CliError`` and printed as one ``error: …`` line on stderr; no traceback is
ever shown unless ``--traceback`` is given.

Exit status: 0 success, 1 the graph has errors (or the command failed),
2 the file cannot be read or the command line is wrong.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, TypeAlias

if TYPE_CHECKING:
    from graph.document import Document
    from graph.validate import Diagnostic

EXIT_OK = 0
EXIT_FAILED = 1  # the graph does not validate, or the command could not finish
EXIT_UNREADABLE = 2  # the file cannot be read, or the command line is wrong

# the object ``add_subparsers`` returns
SubParsers: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"


class CliError(Exception):
    """A failure reported as one ``error: …`` line, ending the command with ``code``."""

    def __init__(self, message: str, code: int = EXIT_FAILED) -> None:
        super().__init__(message)
        self.code = code


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line ``argv`` (default: ``sys.argv[1:]``); returns the exit status."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, or a usage error argparse has already printed
        return exc.code if isinstance(exc.code, int) else EXIT_UNREADABLE
    handler: Callable[[argparse.Namespace], int] | None = getattr(args, "handler", None)
    if handler is None:
        parser.print_usage(sys.stderr)
        _fail("choose a subcommand (see --help)")
        return EXIT_UNREADABLE
    try:
        return handler(args)
    except CliError as exc:
        _fail(str(exc))
        return exc.code
    except KeyboardInterrupt:
        _fail("interrupted")
        return 130
    except Exception as exc:  # a bug: say so in one line unless asked for the traceback
        if args.traceback:
            raise
        _fail(f"unexpected {type(exc).__name__}: {exc} (run again with --traceback for details)")
        return EXIT_FAILED


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every subcommand in ``SUBCOMMANDS``."""
    parser = argparse.ArgumentParser(
        prog="layerloom",
        description="Design, check and export neural networks saved as .loom files. "
                    "Run without a subcommand to open the editor.",
    )
    parser.add_argument("--traceback", action="store_true",
                        help="show the full Python traceback when something unexpected fails")
    subparsers = parser.add_subparsers(title="subcommands", metavar="SUBCOMMAND")
    from runtime.cli_generate import GENERATE_SUBCOMMANDS
    from runtime.cli_import import IMPORT_SUBCOMMANDS
    from runtime.cli_run import RUN_SUBCOMMANDS

    for add in (*SUBCOMMANDS, *RUN_SUBCOMMANDS, *GENERATE_SUBCOMMANDS, *IMPORT_SUBCOMMANDS):
        add(subparsers)
    return parser


# -- shared pieces ------------------------------------------------------------
def load_document(path: str) -> Document:
    """The document in ``path``; a ``CliError`` (exit 2) when it cannot be read."""
    from graph.fileformat import GraphFileError, load_graph

    try:
        return load_graph(path)
    except GraphFileError as exc:
        text = str(exc)
        raise CliError(text if path in text else f"{path}: {text}", EXIT_UNREADABLE) from None
    except OSError as exc:
        raise CliError(f"cannot read {path}: {exc.strerror or exc}", EXIT_UNREADABLE) from None


def format_diagnostic(doc: Document, diagnostic: Diagnostic) -> str:
    """One line ``network:label: message`` (warnings say so after the location)."""
    from graph.validate import location

    kind = "warning: " if diagnostic.severity == "warning" else ""
    return f"{location(doc, diagnostic)}: {kind}{diagnostic.message}"


def write_text(path: str, text: str) -> None:
    """Write ``text`` atomically (a temporary file in the same folder, then a rename)."""
    target = Path(path)
    tmp: str | None = None
    try:
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, target)
    except OSError as exc:
        if tmp is not None and os.path.exists(tmp):
            os.unlink(tmp)
        raise CliError(f"cannot write {path}: {exc.strerror or exc}", EXIT_UNREADABLE) from None


def _fail(message: str) -> None:
    print(f"error: {message}", file=sys.stderr)


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _file_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", metavar="FILE.loom", help="the Layerloom graph file")


# -- summary ------------------------------------------------------------------
def _add_summary(subparsers: SubParsers) -> None:
    parser = subparsers.add_parser(
        "summary", help="print each network's layers, shapes, parameters and FLOPs",
        description="Print a table per network: every node's output shape, parameter count "
                    "and FLOPs per sample, then the totals.",
    )
    _file_argument(parser)
    parser.set_defaults(handler=_summary)


def _summary(args: argparse.Namespace) -> int:
    from graph.summary import format_summary

    print(format_summary(load_document(args.file)))
    return EXIT_OK


# -- validate -----------------------------------------------------------------
def _add_validate(subparsers: SubParsers) -> None:
    parser = subparsers.add_parser(
        "validate", help="check a graph file and list its problems",
        description="Check wiring, parameters, shapes and the training settings, and that "
                    "the network's Output fits the data set's targets and the run fits in "
                    "the device's memory. Prints one "
                    "line per problem as network:node: message. Exit status 0 when there are "
                    "no errors (warnings are shown but allowed), 1 when there are errors, 2 "
                    "when the file cannot be read.",
    )
    from runtime import cli_checks

    _file_argument(parser)
    parser.add_argument("--sample-shape", type=cli_checks.shape, metavar="D,D,…",
                        help="also check that samples of this shape (e.g. 1,8,8) fit the Input")
    parser.set_defaults(handler=_validate)


def _validate(args: argparse.Namespace) -> int:
    from runtime.preflight import check_document

    doc = load_document(args.file)
    # Also against the data set and the device: an Output that does not fit the targets,
    # or a run that cannot fit in memory, fails here rather than minutes into training.
    found = check_document(doc, Path(args.file).resolve().parent,
                           sample_shape=args.sample_shape)
    for diagnostic in found:
        print(format_diagnostic(doc, diagnostic))
    errors = sum(1 for d in found if d.is_error)
    warnings = len(found) - errors
    if errors:
        print(f"{args.file}: invalid ({_plural(errors, 'error')}, "
              f"{_plural(warnings, 'warning')})")
        return EXIT_FAILED
    nodes = sum(len(net) for net in doc.networks.values())
    print(f"{args.file}: valid ({_plural(len(doc.networks), 'network')}, "
          f"{_plural(nodes, 'node')})")
    return EXIT_OK


# -- export-code --------------------------------------------------------------
def _add_export_code(subparsers: SubParsers) -> None:
    parser = subparsers.add_parser(
        "export-code", help="write a network as a standalone PyTorch module",
        description="Generate Python source for one network: a torch.nn.Module that needs "
                    "only torch. Exit status 1 when the network has errors.",
    )
    _file_argument(parser)
    parser.add_argument("-o", "--output", metavar="MODEL.py",
                        help="file to write (default: print to standard output)")
    parser.add_argument("--network", metavar="NAME",
                        help="which network to export (default: the only one, or 'main')")
    parser.set_defaults(handler=_export_code)


def _export_code(args: argparse.Namespace) -> int:
    from graph.codegen import generate_code
    from graph.compile import CompileError
    from graph.validate import validate

    doc = load_document(args.file)
    network = _pick_network(doc, args.network)
    errors = [d for d in validate(doc) if d.is_error and d.network == network]
    if errors:
        for diagnostic in errors:
            print(format_diagnostic(doc, diagnostic))
        raise CliError(f"network '{network}' has {_plural(len(errors), 'error')}; fix them "
                       "before exporting")
    try:
        code = generate_code(doc, network)
    except CompileError as exc:
        raise CliError(f"cannot export '{network}': {exc}") from None
    if args.output in (None, "-"):
        sys.stdout.write(code)
    else:
        write_text(args.output, code)
        print(f"wrote network '{network}' to {args.output}")
    return EXIT_OK


def _pick_network(doc: Document, name: str | None) -> str:
    names = list(doc.networks)
    if name is not None:
        if name not in doc.networks:
            raise CliError(f"there is no network '{name}' (networks: {', '.join(names)})",
                           EXIT_UNREADABLE)
        return name
    if len(names) == 1:
        return names[0]
    if "main" in doc.networks:
        return "main"
    raise CliError(f"the file has {len(names)} networks ({', '.join(names)}); choose one "
                   "with --network NAME", EXIT_UNREADABLE)


SUBCOMMANDS: tuple[Callable[[SubParsers], None], ...] = (
    _add_summary,
    _add_validate,
    _add_export_code,
)

if __name__ == "__main__":
    raise SystemExit(main())
