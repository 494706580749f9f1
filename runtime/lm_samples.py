"""A language model's sample at the end of each epoch, so a run shows it learn to write.

The sample continues a fixed prompt (the first whole line of the held-out text)
with a fixed seed, so epoch after epoch only the weights change what it writes:
first noise, then words, then verse. It is produced in the training process
under ``no_grad`` from its own seeded generator (the run's random numbers are
untouched) and sent as one compact ``text_sample`` event.

Each token costs a forward pass over the whole context, so the sample stops early
once it has taken ``SAMPLE_SHARE`` of the epoch's time (``MIN_SAMPLE_S`` at least):
a run with samples trains about as fast as one without.
"""

from __future__ import annotations

import time

import torch
from torch import nn

from graph.document import Document
from runtime.events import TextSampleEvent
from runtime.generate import TextModel, generate
from runtime.language import context_of
from runtime.run_data import RunData
from runtime.tokens import from_record

SAMPLE_TOKENS = 200
SAMPLE_SEED = 0
SAMPLE_TEMPERATURE = 0.8
PROMPT_CHARS = 80  # at most: a prompt is one line
HELD_CHARS = 400  # of the held-out text searched for that line
SAMPLE_SHARE = 0.025  # with the probes' 2.5%, telemetry stays within 5% of the run
MIN_SAMPLE_S = 0.15


def first_line(text: str) -> str:
    """The first whole, non-blank line of ``text`` (with its line break): the text before
    the first line break is usually the end of a line cut by the split. Without a whole
    line, the text's start."""
    lines = text.split("\n")[1:-1]  # the last may be cut at the end of what was read
    line = next((line for line in lines if line.strip()), None)
    if line is None:
        return text[:PROMPT_CHARS] or "\n"
    return line[:PROMPT_CHARS] + "\n"


class EpochSampler:
    """Writes ``SAMPLE_TOKENS`` tokens after the prompt with the network's current weights."""

    def __init__(self, doc: Document, network: str, module: nn.Module, data: RunData) -> None:
        assert data.tokenizer is not None, "a language model's data carries its tokenizer"
        tokenizer = from_record(data.tokenizer)
        self.model = TextModel(module, tokenizer, context_of(doc, network), network)
        rows = -(-HELD_CHARS // max(data.val_x.shape[-1], 1))  # windows follow each other
        held = tokenizer.decode(data.val_x[:rows].reshape(-1).cpu().numpy())
        self.prompt = first_line(held)
        self.ids = tokenizer.encode(self.prompt)

    def event(self, epoch: int, epoch_seconds: float) -> TextSampleEvent:
        """The ``text_sample`` event of ``epoch``, which took ``epoch_seconds`` to train."""
        began = time.perf_counter()
        deadline = began + max(SAMPLE_SHARE * epoch_seconds, MIN_SAMPLE_S)
        was_training = self.model.module.training
        threads = torch.get_num_threads()
        torch.set_num_threads(1)  # one short sequence: more threads mostly wait on each other
        pieces: list[str] = []
        cut_short = False
        try:
            for piece in generate(self.model, self.ids, SAMPLE_TOKENS, SAMPLE_TEMPERATURE,
                                  seed=SAMPLE_SEED):
                pieces.append(piece)
                if time.perf_counter() > deadline:
                    cut_short = True
                    break
        finally:
            self.model.module.train(was_training)
            torch.set_num_threads(threads)
        return TextSampleEvent(type="text_sample", epoch=epoch, prompt=self.prompt,
                               text="".join(pieces), cut_short=cut_short,
                               temperature=SAMPLE_TEMPERATURE, seed=SAMPLE_SEED,
                               seconds=time.perf_counter() - began)


def epoch_sampler(doc: Document, networks: dict[str, nn.Module],
                  data: RunData) -> EpochSampler | None:
    """The sampler of a language-model run (None for other tasks)."""
    if doc.training.task != "language_model" or data.tokenizer is None or not len(data.val_x):
        return None
    name = next(iter(doc.training.networks))
    return EpochSampler(doc, name, networks[name], data)
