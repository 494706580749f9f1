"""Subcommands that run networks: train, evaluate, predict, export.

Registered in ``runtime.cli.SUBCOMMANDS``; same conventions (``_add_<name>`` /
``_<name>``, ``CliError`` for user-facing failures, no tracebacks).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from runtime import cli_checks
from runtime.cli import (
    EXIT_FAILED,
    EXIT_OK,
    EXIT_UNREADABLE,
    CliError,
    SubParsers,
    load_document,
)
from runtime.events import TelemetryEvent, metrics_of, run_event
from runtime.inspect.health import HealthMonitor
from runtime.out_paths import OutputPathError, check_output_folder


def _file(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", metavar="FILE.loom", help="the Layerloom graph file")


def weights_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--weights", metavar="DIR/model.safetensors",
                        help="trained weights (default: the newest model.safetensors under "
                             "runs/<file name>/ beside the file)")


def weights_of(args: argparse.Namespace) -> str:
    """``--weights``, else the newest weights a run (or an import) wrote for the file."""
    from runtime.runs import latest_weights, runs_root

    if args.weights:
        return str(args.weights)
    found = latest_weights(Path(args.file))
    if found is None:
        raise CliError(f"no trained weights for {args.file} under "
                       f"{runs_root(Path(args.file))}: train it first "
                       f"(layerloom train {args.file}) or name them with --weights",
                       EXIT_UNREADABLE)
    return str(found)


def user_errors() -> tuple[type[Exception], ...]:
    """The exceptions that mean bad input, told to the user as they are (not bugs)."""
    from runtime.checkpoint import WeightsError
    from runtime.data import DataError
    from runtime.preflight import RunRefused
    from runtime.run_data import DataMismatch
    from runtime.trainer import TrainingFailed

    return (TrainingFailed, WeightsError, DataError, DataMismatch, RunRefused)


# -- train --------------------------------------------------------------------
def _add_train(subparsers: SubParsers) -> None:
    parser = subparsers.add_parser(
        "train", help="train the networks of a graph file",
        description="Train with the file's training section. Writes to --out the metrics log "
                    "(metrics.jsonl), checkpoint.pt (every epoch), model.safetensors, how the "
                    "run ended (outcome.json) and a copy of the graph. Under torchrun it trains "
                    "with DistributedDataParallel.")
    _file(parser)
    parser.add_argument("--epochs", type=cli_checks.epochs, metavar="N",
                        help="override the epoch budget")
    parser.add_argument("--seed", type=cli_checks.seed, metavar="S",
                        help="override the training seed")
    parser.add_argument("--device", choices=("auto", "cpu", "cuda", "mps"),
                        help="override the device (auto: CUDA, then MPS, then CPU)")
    parser.add_argument("--out", metavar="DIR", default=None,
                        help="output folder (default: a new runs/<file name>/<date-time>/ "
                             "beside the file)")
    parser.add_argument("--resume", metavar="CKPT", help="continue from a checkpoint.pt")
    parser.add_argument("--init-weights", metavar="FILE",
                        help="start from these weights (a model.safetensors, e.g. an imported "
                             "model's); layers they do not fit start fresh")
    parser.add_argument("--threads", type=cli_checks.threads, metavar="N",
                        help="CPU threads for torch")
    parser.add_argument("--json", action="store_true",
                        help="print the final metrics as one JSON object on the last line")
    parser.set_defaults(handler=_train)


def _train(args: argparse.Namespace) -> int:
    from runtime import distributed
    from runtime.run_options import RunOptions
    from runtime.runs import runs_root
    from runtime.trainer import Trainer

    doc = load_document(args.file)
    dist = distributed.from_environment()
    if args.out:
        out = Path(args.out)
        _check_output(check_output_folder, out)
    elif dist is not None:  # every rank must agree on one folder: torchrun names the run
        run_id = os.environ.get("TORCHELASTIC_RUN_ID", "run")
        out = runs_root(Path(args.file)) / f"torchrun-{run_id}"
        _check_output(check_output_folder, out)
    else:
        out = _claimed_run_folder(Path(args.file))
    # Activation probes feed the GUI's live plots; nothing reads them here.
    options = RunOptions(epochs=args.epochs, seed=args.seed, device=args.device, out_dir=out,
                         resume=args.resume, threads=args.threads, activations=False,
                         init_weights=args.init_weights,
                         base_dir=Path(args.file).resolve().parent,
                         rank=dist.rank if dist else 0, world_size=dist.world_size if dist else 1)
    if dist is not None and dist.device is not None and args.device is None:
        options.device = dist.device
    main_rank = options.rank == 0
    progress = Progress(quiet=args.json or not main_rank, health=HealthMonitor(doc))
    finished = False
    try:
        result = Trainer(doc, options, sink=progress if main_rank else None).run()
        finished = True
    except user_errors() as exc:
        raise CliError(str(exc)) from None
    finally:
        if dist is not None:
            distributed.shutdown(clean=finished)
    if main_rank:
        final = {"status": result.status, "epochs": result.epochs_done, "out": str(out),
                 **{k: v for k, v in result.metrics.items() if isinstance(v, int | float)}}
        print(json.dumps(final) if args.json else _final_text(final))
    return EXIT_OK


def _claimed_run_folder(graph_file: Path) -> Path:
    """A new runs/<name>/<date-time>/ beside ``graph_file``; a place where none can be made
    is one line (exit 2), as a bad --out is."""
    from runtime.runs import claim_run_folder

    try:
        return claim_run_folder(graph_file)
    except OSError as exc:
        raise CliError(f"cannot make a run folder beside {graph_file}: "
                       f"{exc.strerror or exc}; name one with --out", EXIT_UNREADABLE) from None


def _check_output(check: Callable[[Path], None], path: Path) -> None:
    """Before any work: a bad output path is a wrong command line (exit 2)."""
    try:
        check(path)
    except OutputPathError as exc:
        raise CliError(str(exc), EXIT_UNREADABLE) from None


def _final_text(final: dict[str, Any]) -> str:
    shown = {k: v for k, v in final.items() if k.startswith(("test_", "val_"))}
    parts = [f"{k} {v:.4g}" for k, v in shown.items()]
    return (f"{final['status']} after {final['epochs']} epochs; " + ", ".join(parts)
            + f"\nsaved to {final['out']}")


class Progress:
    """A progress line from telemetry events: a bar on a terminal, a line per epoch elsewhere."""

    def __init__(self, quiet: bool = False, health: HealthMonitor | None = None) -> None:
        self.quiet = quiet
        self.health = health or HealthMonitor()  # its warnings are printed once each
        self.tty = sys.stderr.isatty()
        self.epochs = 0
        self.start = time.perf_counter()

    def __call__(self, telemetry: TelemetryEvent) -> None:
        event = run_event(telemetry)
        if self.quiet or event is None:
            return
        if event["type"] == "started":
            self.epochs = event["epochs"]
            note = f" ({event['note']})" if event.get("note") else ""
            print(f"training on {event['device']}{note}: {event['samples']} samples, "
                  f"{self.epochs} epochs", file=sys.stderr)
            if event.get("baselines"):
                print(baseline_text(event["baselines"]), file=sys.stderr)
        elif event["type"] == "step" and self.tty:
            done = (event["step"] / event["steps"])
            bar = "#" * int(done * 20)
            print(f"\repoch {event['epoch']}/{self.epochs} [{bar:<20}] loss {event['loss']:.4f} "
                  f"{event['samples_per_s']:,.0f} samples/s ETA {_clock(event['eta_s'])}  ",
                  end="", file=sys.stderr, flush=True)
        elif event["type"] == "epoch":
            metrics = "  ".join(f"{k} {v:.4f}" for k, v in metrics_of(event).items())
            prefix = "\r" if self.tty else ""
            print(f"{prefix}epoch {event['epoch']}/{self.epochs}  {metrics}  "
                  f"({event['samples_per_s']:,.0f} samples/s)" + " " * 10, file=sys.stderr)
        for warning in self.health.feed(event):
            below_bar = "\n" if self.tty and event["type"] == "step" else ""
            print(f"{below_bar}warning, epoch {warning.epoch}: {warning.message}",
                  file=sys.stderr)


def baseline_text(baselines: dict[str, float]) -> str:
    """The n-gram losses a language model's validation loss is compared with."""
    shown = ", ".join(f"{name.removesuffix('_loss')} {value:.3f}"
                      for name, value in baselines.items())
    return f"baselines on the held-out text (nats per token): {shown}"


def _clock(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    return f"{minutes}:{secs:02d}"


# -- evaluate -----------------------------------------------------------------
def _add_evaluate(subparsers: SubParsers) -> None:
    parser = subparsers.add_parser(
        "evaluate", help="measure a trained model on a data split",
        description="Accuracy, per-class precision/recall/F1 and the confusion matrix for "
                    "classification; MSE/MAE/R² for regression; reconstruction error for "
                    "autoencoders; mode coverage for GANs on 2-D data.")
    _file(parser)
    weights_argument(parser)
    parser.add_argument("--split", choices=("train", "val", "test"), default="test")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.set_defaults(handler=_evaluate)


def _evaluate(args: argparse.Namespace) -> int:
    from runtime.evaluate import evaluate_document

    doc = load_document(args.file)
    try:
        report = evaluate_document(doc, weights_of(args), args.split,
                                   Path(args.file).resolve().parent)
    except user_errors() as exc:
        raise CliError(str(exc)) from None
    print(json.dumps(report) if args.json else format_report(report))
    return EXIT_OK


def format_report(report: dict[str, Any]) -> str:
    lines = [f"{report['task']} on the {report['split']} split ({report['samples']} samples)"]
    for key, value in report.items():
        if isinstance(value, float):
            lines.append(f"  {key:<26} {value:.4f}")
        elif isinstance(value, int) and key not in ("samples",):
            lines.append(f"  {key:<26} {value}")
    if "per_class" in report:
        lines.append(f"  {'class':<12} {'precision':>9} {'recall':>7} {'f1':>7} {'support':>8}"
                     f" {'roc auc':>8} {'avg prec':>8}")
        for row in report["per_class"]:
            lines.append(f"  {row['class'][:12]:<12} {row['precision']:>9.3f} "
                         f"{row['recall']:>7.3f} {row['f1']:>7.3f} {row['support']:>8}"
                         f" {_area(row.get('auc')):>8} {_area(row.get('average_precision')):>8}")
        lines.append("  confusion matrix (rows: true, columns: predicted)")
        lines.extend("  " + " ".join(f"{v:>4}" for v in row) for row in report["confusion"])
    if "note" in report:
        lines.append(f"  note: {report['note']}")
    return "\n".join(lines)


def _area(value: float | None) -> str:
    """An AUC or average precision; '-' where the split leaves it undefined (no sample of
    the class, or only that class) or the report has none (binary: the second class)."""
    return "-" if value is None else f"{value:.3f}"


# -- predict ------------------------------------------------------------------
def _add_predict(subparsers: SubParsers) -> None:
    parser = subparsers.add_parser(
        "predict", help="run a trained model on new inputs",
        description="INPUT is an image file, a CSV of rows (one sample per row) or a .npy "
                    "array; the training preprocessing is applied first.")
    _file(parser)
    weights_argument(parser)
    parser.add_argument("input", metavar="INPUT")
    parser.add_argument("--json", action="store_true", help="print predictions as JSON")
    parser.set_defaults(handler=_predict)


def _predict(args: argparse.Namespace) -> int:
    from runtime.cli import EXIT_UNREADABLE
    from runtime.data.inputs import InputError
    from runtime.evaluate import predict

    doc = load_document(args.file)
    try:
        results = predict(doc, weights_of(args), args.input)
    except InputError as exc:  # INPUT cannot be read: exit 2, like an unreadable FILE
        raise CliError(str(exc), EXIT_UNREADABLE) from None
    except user_errors() as exc:
        raise CliError(str(exc)) from None
    if args.json:
        print(json.dumps(results))
        return EXIT_OK
    for i, result in enumerate(results):
        if "classes" in result:
            text = ", ".join(f"{c['class']} {c['probability']:.1%}" for c in result["classes"])
        else:
            text = " ".join(f"{v:.4g}" for v in result["values"])
        print(f"{i}: {text}")
    return EXIT_OK


# -- export -------------------------------------------------------------------
def _add_export(subparsers: SubParsers) -> None:
    parser = subparsers.add_parser(
        "export", help="export a trained network (ONNX, torch.export, code, safetensors)",
        description="ONNX exports are checked against PyTorch with onnxruntime.")
    _file(parser)
    weights_argument(parser)
    parser.add_argument("--network", metavar="NAME", help="which network (needed for a GAN)")
    parser.add_argument("--format", required=True,
                        choices=("onnx", "pt2", "python", "safetensors"))
    parser.add_argument("-o", "--output", required=True, metavar="PATH")
    parser.set_defaults(handler=_export)


def _export(args: argparse.Namespace) -> int:
    from runtime.export import ExportError, check_output, export_model

    doc = load_document(args.file)
    try:
        check_output(args.format, args.output)
    except ExportError as exc:  # a wrong -o is a wrong command line: exit 2
        raise CliError(str(exc), EXIT_UNREADABLE) from None
    refusals: tuple[type[Exception], ...] = (ExportError, *user_errors())
    try:
        report = export_model(doc, weights_of(args), args.format, args.output, args.network)
    except refusals as exc:
        raise CliError(str(exc)) from None
    print(report.describe() if hasattr(report, "describe") else f"wrote {args.output}")
    return EXIT_OK if report else EXIT_FAILED


RUN_SUBCOMMANDS = (_add_train, _add_evaluate, _add_predict, _add_export)
