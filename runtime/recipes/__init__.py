"""Training recipes: what one step does and what is measured, per task.

A recipe owns the networks' forward passes and losses; the trainer owns the
loop, devices, schedules, checkpoints and telemetry.
"""

from __future__ import annotations

from runtime.recipes.base import NonFiniteLoss, Recipe, StepContext
from runtime.recipes.gan import GanRecipe
from runtime.recipes.language import LanguageModelRecipe
from runtime.recipes.supervised import AutoencoderRecipe, ClassificationRecipe, RegressionRecipe

RECIPES: dict[str, type[Recipe]] = {
    "classification": ClassificationRecipe,
    "regression": RegressionRecipe,
    "autoencoder": AutoencoderRecipe,
    "gan": GanRecipe,
    "language_model": LanguageModelRecipe,
}

__all__ = [
    "RECIPES",
    "AutoencoderRecipe",
    "ClassificationRecipe",
    "GanRecipe",
    "LanguageModelRecipe",
    "NonFiniteLoss",
    "Recipe",
    "RegressionRecipe",
    "StepContext",
]
