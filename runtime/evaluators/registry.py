"""Which data sets have an evaluator classifier, and where its shipped files lie.

An evaluator is an ordinary Layerloom graph (``.loom``) with its weights
(``.safetensors``, preprocessing in the metadata) under ``resources/evaluators``
in the repository; ``bench/train_evaluators.py`` made them. Nothing is ever
downloaded: a missing file is an ``EvaluatorError`` saying how to rebuild it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from runtime.checkpoint import WeightsError

RESOURCES = Path(__file__).resolve().parents[2] / "resources" / "evaluators"
REBUILD = ".venv/bin/python bench/train_evaluators.py"


class EvaluatorError(WeightsError):
    """An evaluator's shipped files are missing or do not fit its graph."""


@dataclass(frozen=True)
class EvaluatorInfo:
    """One evaluator: the data set it judges and its two files (names in ``folder``)."""

    dataset: str
    loom: str
    weights: str
    description: str = ""
    folder: Path = RESOURCES

    @property
    def loom_path(self) -> Path:
        return self.folder / self.loom

    @property
    def weights_path(self) -> Path:
        return self.folder / self.weights

    def check_files(self) -> None:
        """Raise ``EvaluatorError`` naming the first missing file and the rebuild command."""
        for path in (self.loom_path, self.weights_path):
            if not path.is_file():
                raise EvaluatorError(
                    f"the '{self.dataset}' evaluator file {path} is missing; it ships with "
                    f"Layerloom in resources/evaluators (rebuild it with: {REBUILD})")


_REGISTRY: dict[str, EvaluatorInfo] = {}


def register(info: EvaluatorInfo) -> None:
    """Add an evaluator; a second one for the same data set is refused."""
    if info.dataset in _REGISTRY:
        raise ValueError(f"an evaluator for '{info.dataset}' is already registered")
    _REGISTRY[info.dataset] = info


def evaluator_info(dataset: str) -> EvaluatorInfo | None:
    """The evaluator registered for ``dataset``, or None."""
    return _REGISTRY.get(dataset)


def evaluator_datasets() -> tuple[str, ...]:
    """Names of the data sets that have an evaluator, sorted."""
    return tuple(sorted(_REGISTRY))
