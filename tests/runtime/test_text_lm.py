"""Language models end to end: causality, training, validation, evaluation, generation, CLI."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from text_models import char_gpt, char_lstm, shakespeare_slice

from graph import save_graph
from graph.compile import compile_network
from runtime.cli import main
from runtime.data import DataError
from runtime.evaluate import evaluate_document
from runtime.generate import generate, load_text_model, prompt_ids
from runtime.preflight import check_document
from runtime.tokens import UnknownCharacters
from runtime.trainer import RunOptions, train


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return shakespeare_slice(tmp_path_factory.mktemp("text"))


@pytest.fixture(scope="module")
def trained_gpt(corpus: Path) -> tuple[object, Path]:
    doc = char_gpt(corpus)
    out = corpus.parent / "gpt_run"
    train(doc, RunOptions(out_dir=out, activations=False, max_steps_per_epoch=8))
    return doc, out / "model.safetensors"


@pytest.mark.parametrize("causal", [True, False])
def test_a_causal_model_never_reads_later_tokens(corpus: Path, causal: bool) -> None:
    torch.manual_seed(0)
    model = compile_network(char_gpt(corpus, causal=causal)).eval()
    x = torch.randint(0, 64, (2, 32))
    later = x.clone()
    later[:, 20:] = torch.randint(0, 64, (2, 12))
    with torch.no_grad():
        same = torch.allclose(model(x)[:, :20], model(later)[:, :20], atol=1e-6)
    assert same == causal  # a non-causal block does read them: the check can fail


@pytest.mark.parametrize("build", [char_gpt, char_lstm])
def test_training_a_few_steps_lowers_the_loss(corpus: Path, build, tmp_path: Path) -> None:
    events: list[dict] = []
    result = train(build(corpus, epochs=2),
                   RunOptions(activations=False, step_interval=0, max_steps_per_epoch=8),
                   sink=events.append)
    steps = [e["loss"] for e in events if e["type"] == "step"]
    assert steps[-1] < steps[0] - 0.5  # from ~ln 64 = 4.2
    started = events[0]
    assert started["baselines"]["unigram_loss"] > started["baselines"]["bigram_loss"]
    metrics = result.metrics
    assert metrics["val_loss"] < started["baselines"]["unigram_loss"]
    assert metrics["val_bpc"] == pytest.approx(metrics["val_loss"] / np.log(2))
    assert metrics["val_perplexity"] == pytest.approx(np.exp(metrics["val_loss"]))
    assert metrics["test_loss"] == metrics["val_loss"]  # both are the held-out 10%


@pytest.mark.parametrize("restore_best", [False, True])
def test_the_held_out_text_is_read_once_per_epoch(corpus: Path, restore_best: bool,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """Validation and test are the same held-out text: the last epoch's validation is the
    test's, unless early stopping restored other weights (then it is read again)."""
    from runtime.recipes.language import LanguageModelRecipe

    passes: list[int] = []
    evaluate = LanguageModelRecipe.evaluate

    def counted(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        passes.append(1)
        return evaluate(self, *args, **kwargs)

    monkeypatch.setattr(LanguageModelRecipe, "evaluate", counted)
    stopping = {"enabled": restore_best, "patience": 5, "restore_best": True}
    result = train(char_lstm(corpus, epochs=2, early_stopping=stopping),
                   RunOptions(activations=False, max_steps_per_epoch=4))
    assert len(passes) == 2 + restore_best
    metrics = result.metrics
    assert metrics["test_loss"] == pytest.approx(metrics["val_loss"], abs=1e-6)
    assert metrics["test_bpc"] == pytest.approx(metrics["val_bpc"], abs=1e-6)


def test_validation_locates_what_does_not_fit_a_language_model(corpus: Path) -> None:
    def errors(doc) -> dict[str, str]:
        net = doc.network("main")
        return {net.node(d.node).label: d.message for d in check_document(doc)
                if d.is_error and d.node}

    assert errors(char_gpt(corpus)) == {}
    found = errors(char_gpt(corpus, vocab=20))
    assert "set vocab_size to" in found["text"]
    assert "Linear 'head' out_features to" in found["head"]
    found = errors(char_gpt(corpus, causal=False))
    assert "turn on 'causal'" in found["block"]
    doc = char_lstm(corpus)
    doc.set_param("main", next(n.id for n in doc.network("main").nodes() if n.type == "LSTM"),
                  "output", "last")
    assert "needs N×32×" in errors(doc)["head"]
    doc.set_param("main", next(n.id for n in doc.network("main").nodes() if n.type == "Input"),
                  "kind", "float")
    found = errors(doc)
    assert "needs kind 'tokens' and shape [T]" in found["text"] and "head" not in found


def test_evaluate_reports_nats_bits_perplexity_and_baselines(trained_gpt) -> None:
    doc, weights = trained_gpt
    report = evaluate_document(doc, weights, "val", Path(doc.training.data.options["path"])
                               .parent)
    assert report["task"] == "language_model"
    assert report["bpc"] == pytest.approx(report["loss"] / np.log(2))
    assert report["baseline_bigram_loss"] < report["baseline_unigram_loss"]
    assert report["tokens"] == report["samples"] * 32


def test_generate_with_a_seed_repeats_itself(trained_gpt) -> None:
    doc, weights = trained_gpt
    model = load_text_model(doc, weights)
    ids, note = prompt_ids(model.tokenizer, "ROMEO:")
    assert note is None
    first = "".join(generate(model, ids, 40, temperature=0.8, top_k=10, seed=7))
    again = "".join(generate(model, ids, 40, temperature=0.8, top_k=10, seed=7))
    other = "".join(generate(model, ids, 40, temperature=0.8, top_k=10, seed=8))
    assert len(first) == 40 and first == again and first != other
    long_prompt, _ = prompt_ids(model.tokenizer, "ROMEO: " * 20)  # beyond the context of 32
    assert len("".join(generate(model, long_prompt, 5, seed=0))) == 5


def test_a_prompt_with_unknown_characters_is_refused_by_name(trained_gpt) -> None:
    doc, weights = trained_gpt
    model = load_text_model(doc, weights)
    with pytest.raises(UnknownCharacters, match=r"'Ω' \(U\+03A9\).*--skip-unknown"):
        prompt_ids(model.tokenizer, "ΩROMEO")
    ids, note = prompt_ids(model.tokenizer, "ΩROMEO", skip_unknown=True)
    assert model.tokenizer.decode(ids) == "ROMEO" and note is not None and "'Ω'" in note
    with pytest.raises(DataError, match="the prompt is empty"):
        prompt_ids(model.tokenizer, "")


def test_the_command_line_trains_evaluates_and_generates(corpus: Path, tmp_path: Path,
                                                         capsys) -> None:
    graph_file = tmp_path / "lm.loom"
    save_graph(char_lstm(corpus.name, epochs=1), graph_file)
    (tmp_path / corpus.name).write_bytes(corpus.read_bytes())
    out = tmp_path / "run"
    assert main(["train", str(graph_file), "--out", str(out)]) == 0
    assert "baselines on the held-out text (nats per token): unigram" in capsys.readouterr().err
    weights = str(out / "model.safetensors")
    assert main(["evaluate", str(graph_file), "--weights", weights, "--split", "val"]) == 0
    assert "bpc" in capsys.readouterr().out
    command = ["generate", str(graph_file), "--weights", weights, "--prompt", "First",
               "--tokens", "25", "--temperature", "0.8", "--top-k", "5", "--seed", "3"]
    assert main(command) == 0
    first = capsys.readouterr().out
    assert first.startswith("First") and len(first) == len("First") + 25 + 1
    assert main(command) == 0
    assert capsys.readouterr().out == first
    assert main([*command[:4], "--prompt", "First¿"]) == 1
    assert "'¿' (U+00BF)" in capsys.readouterr().err
    assert main([*command[:4], "--top-k", "0"]) == 2
    # without --weights, the newest run beside the file, as evaluate/predict/export do
    assert main(["generate", str(graph_file), "--tokens", "5"]) == 2  # --out: none there
    assert "no trained weights for" in capsys.readouterr().err
    (tmp_path / "ids.npy").write_bytes(b"")
    assert main(["predict", str(graph_file), "--weights", weights, str(tmp_path / "ids.npy")]) == 1
    assert "use 'layerloom generate" in capsys.readouterr().err


def test_a_byte_pair_model_trains_and_writes(corpus: Path, tmp_path: Path) -> None:
    doc = char_gpt(corpus, vocab=300, tokenizer={"kind": "bpe", "vocab_size": 300}, epochs=1)
    result = train(doc, RunOptions(out_dir=tmp_path, activations=False, max_steps_per_epoch=2))
    assert "val_bpc" not in result.metrics  # bits per character: character tokens only
    model = load_text_model(doc, tmp_path / "model.safetensors")
    assert model.tokenizer.kind == "bpe" and model.tokenizer.vocab_size == 300
    ids, _ = prompt_ids(model.tokenizer, "Ωmega")  # bytes: no character is unknown
    pieces = list(generate(model, ids, 12, seed=0))
    assert 1 <= len(pieces) <= 12 and pieces == list(generate(model, ids, 12, seed=0))
