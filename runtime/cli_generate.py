"""``layerloom generate``: write text with a trained language model, streamed to stdout.

Registered in ``runtime.cli``; same conventions as ``runtime.cli_run``.
"""

from __future__ import annotations

import argparse
import sys

from runtime.cli import EXIT_OK, EXIT_UNREADABLE, CliError, SubParsers, load_document
from runtime.cli_checks import int_range, seed
from runtime.cli_run import user_errors, weights_argument, weights_of

new_tokens = int_range(0, 100_000)
top_k = int_range(1, 1 << 20)


def _temperature(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not 0 <= value <= 100:
        raise argparse.ArgumentTypeError(f"expected 0..100 (0: always the likeliest token), "
                                         f"got {text}")
    return value


def _add_generate(subparsers: SubParsers) -> None:
    parser = subparsers.add_parser(
        "generate", help="write text with a trained language model",
        description="Continue --prompt with --tokens new tokens sampled from the model "
                    "(task language_model), printing the text as it is made. The prompt is "
                    "turned into ids by the tokenizer stored with the weights; the model "
                    "reads at most its Input's length of the latest tokens.")
    parser.add_argument("file", metavar="FILE.loom", help="the Layerloom graph file")
    weights_argument(parser)
    parser.add_argument("--prompt", default="\n", help="the text to continue (default: a "
                        "line break)")
    parser.add_argument("--tokens", type=new_tokens, default=300, metavar="N",
                        help="how many tokens to write (default 300)")
    parser.add_argument("--temperature", type=_temperature, default=1.0, metavar="T",
                        help="below 1: safer choices; above 1: wilder; 0: always the likeliest")
    parser.add_argument("--top-k", type=top_k, default=None, metavar="K",
                        help="sample only among the K likeliest tokens")
    parser.add_argument("--seed", type=seed, default=None, metavar="S",
                        help="seed of the sampling: the same seed writes the same text")
    parser.add_argument("--skip-unknown", action="store_true",
                        help="leave out prompt characters the model never saw (default: refuse "
                             "the prompt, naming them)")
    parser.set_defaults(handler=_generate)


def _generate(args: argparse.Namespace) -> int:
    from runtime.generate import check_sampling, generate, load_text_model, prompt_ids

    doc = load_document(args.file)
    try:
        check_sampling(args.tokens, args.temperature, args.top_k)
    except user_errors() as exc:
        raise CliError(str(exc), EXIT_UNREADABLE) from None
    try:
        model = load_text_model(doc, weights_of(args))
        ids, note = prompt_ids(model.tokenizer, args.prompt, args.skip_unknown)
        if note:
            print(f"note: {note}", file=sys.stderr)
        sys.stdout.write(model.tokenizer.decode(ids))
        for piece in generate(model, ids, args.tokens, args.temperature, args.top_k,
                              args.seed):
            sys.stdout.write(piece)
            sys.stdout.flush()
    except user_errors() as exc:
        raise CliError(str(exc)) from None
    sys.stdout.write("\n")
    return EXIT_OK


GENERATE_SUBCOMMANDS = (_add_generate,)
