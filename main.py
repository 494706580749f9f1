"""Layerloom: design, train, inspect and export neural networks.

    python main.py [FILE.loom] [--screenshot OUT.png]   the editor (default: an example)
    python main.py SUBCOMMAND ...                       headless use (see --help)
"""

from __future__ import annotations

import argparse
import os
import sys

HEADLESS = ("summary", "validate", "export-code", "train", "evaluate", "predict", "export",
            "import", "generate")


def _gui_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="layerloom",
        description=(
            "Open the Layerloom editor. Headless subcommands: " + ", ".join(HEADLESS)
            + " (run 'layerloom SUBCOMMAND --help')."
        ),
    )
    parser.add_argument("file", nargs="?", help="a .loom graph file (default: an example)")
    parser.add_argument(
        "--screenshot", metavar="PNG",
        help="render the window with FILE loaded to this PNG and exit (works without a display)",
    )
    return parser.parse_args(argv)


def _start_gui(args: argparse.Namespace) -> int:
    from gui import system_check

    if args.screenshot and not system_check.has_display():
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    offscreen = os.environ.get("QT_QPA_PLATFORM", "") in ("offscreen", "minimal")
    if not offscreen and not system_check.has_display():
        print(
            "layerloom: no display found, so the editor cannot open; for headless use run "
            "'layerloom summary|validate|export-code|train|evaluate|predict|export FILE.loom' "
            "(see 'layerloom --help').",
            file=sys.stderr,
        )
        return 2
    missing = system_check.missing_packages(offscreen)
    if missing:
        print(
            "layerloom: Qt cannot open a window because system libraries are missing. "
            f"Install them with: {system_check.install_hint(missing)}",
            file=sys.stderr,
        )
        return 2
    from gui.app import run

    return run(args.file, screenshot=args.screenshot)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    command = [arg for arg in argv if arg != "--traceback"]
    if command and command[0] in HEADLESS:
        from runtime.cli import main as cli_main

        # "Run again with --traceback" is answered wherever the option is typed.
        return cli_main(["--traceback"] * (command != argv) + command)
    return _start_gui(_gui_args(argv))


if __name__ == "__main__":
    raise SystemExit(main())
