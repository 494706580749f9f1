"""Fixed evaluator classifiers that judge generated samples, keyed by data set name.

    evaluator = evaluator_for("digits")  # None for a data set without one
    report = evaluator.report(generated_pixels, test_pixels, train_pixels)

Each evaluator ships as a Layerloom graph plus safetensors weights under
``resources/evaluators`` (made once by ``bench/train_evaluators.py``); nothing is
downloaded.
"""

from __future__ import annotations

# Imported for its side effect: each evaluator module registers itself.
from runtime.evaluators import digits  # noqa: F401
from runtime.evaluators.evaluator import Evaluator, Judgement, evaluator_for, load_evaluator
from runtime.evaluators.registry import (
    RESOURCES,
    EvaluatorError,
    EvaluatorInfo,
    evaluator_datasets,
    evaluator_info,
    register,
)

__all__ = [
    "RESOURCES", "Evaluator", "EvaluatorError", "EvaluatorInfo", "Judgement",
    "evaluator_datasets", "evaluator_for", "evaluator_info", "load_evaluator", "register",
]
