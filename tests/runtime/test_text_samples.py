"""A language model's sample at each epoch's end: its prompt, its text, its cost."""

from __future__ import annotations

from pathlib import Path

import torch
from text_models import char_lstm, shakespeare_slice

from runtime.generate import generate, load_text_model
from runtime.lm_samples import SAMPLE_SEED, SAMPLE_TEMPERATURE, SAMPLE_TOKENS, first_line
from runtime.trainer import RunOptions, Trainer


def test_the_prompt_is_the_first_whole_line_of_the_held_out_text() -> None:
    assert first_line("is a lion\nThat I am proud to hunt.\n\nFirst Senator:\n") == \
        "That I am proud to hunt.\n"
    assert first_line("d.\n\n  \nROMEO:\nBut soft") == "ROMEO:\n"  # blank lines skipped
    assert first_line("no line break at all") == "no line break at all"
    assert first_line("cut\nthe only line, cut at the end") == \
        "cut\nthe only line, cut at the end"  # no whole line: the text's start
    assert first_line("") == "\n"


def test_each_epoch_ends_with_a_sample_of_the_weights_of_that_epoch(tmp_path: Path) -> None:
    corpus = shakespeare_slice(tmp_path)
    doc = char_lstm(corpus, epochs=2)
    events: list[dict] = []
    trainer = Trainer(doc, RunOptions(out_dir=tmp_path / "run", max_steps_per_epoch=3),
                      sink=events.append)
    trainer.setup()
    assert trainer.sampler is not None
    rng, threads = torch.get_rng_state(), torch.get_num_threads()
    trainer.sampler.event(0, 0.0)
    # the run's random numbers, threads and train mode are as they were
    assert torch.equal(torch.get_rng_state(), rng) and torch.get_num_threads() == threads
    assert trainer.networks["main"].training
    trainer.run()
    samples = [e for e in events if e["type"] == "text_sample"]
    assert [e["epoch"] for e in samples] == [1, 2]
    assert samples[0]["prompt"] == "That I am proud to hunt.\n"  # the slice's held-out text
    assert all(e["text"] for e in samples) and samples[0]["text"] != samples[1]["text"]
    model = load_text_model(doc, tmp_path / "run" / "model.safetensors")
    ids = model.tokenizer.encode(samples[1]["prompt"])
    expected = "".join(generate(model, ids, SAMPLE_TOKENS, SAMPLE_TEMPERATURE,
                                seed=SAMPLE_SEED))
    assert expected.startswith(samples[1]["text"])  # cut short only where time ran out
    assert len(samples[1]["text"]) == len(expected) or samples[1]["cut_short"]


def test_runs_without_probes_write_no_samples(tmp_path: Path) -> None:
    trainer = Trainer(char_lstm(shakespeare_slice(tmp_path)), RunOptions(activations=False))
    trainer.setup()  # the command line's runs: every second goes to training
    assert trainer.sampler is None
