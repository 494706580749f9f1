"""The training section of a document: everything the runtime needs to reproduce a run.

These pydantic models are the single description of that section: the file
format validates against them, the runtime reads them, the GUI edits them.
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

# numpy and torch seeds are 32-bit; a larger one overflowed deep inside a run
MAX_SEED = 2**32 - 1
MAX_EPOCHS = 100_000  # also bounds --epochs and a checkpoint's epoch


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    # field → the values of this section's ``name`` it means something with (the rest
    # ignore it: momentum with Adam); editors hide it otherwise, the value stays
    applies_to: ClassVar[dict[str, tuple[str, ...]]] = {}


class SplitSpec(_Section):
    """How the data set is divided; the split seed is independent of the training seed."""

    train: float = Field(0.7, gt=0, lt=1)
    val: float = Field(0.15, ge=0, lt=1)
    test: float = Field(0.15, ge=0, lt=1)
    stratify: bool = True
    seed: int = Field(0, ge=0, le=MAX_SEED)

    @model_validator(mode="after")
    def _fractions_sum_to_one(self) -> SplitSpec:
        total = self.train + self.val + self.test
        if abs(total - 1.0) > 1e-6:
            raise ValueError(f"train + val + test must be 1, got {total:g}")
        return self


class AugmentSpec(_Section):
    shift: int = Field(0, ge=0, le=16, description="Random shift of images, in pixels.")
    flip: bool = False


class DataSpec(_Section):
    """Which data set, with its own options (size, noise, path, columns, …)."""

    name: str = "digits"
    options: dict[str, Any] = Field(default_factory=dict)
    split: SplitSpec = SplitSpec()
    normalize: Literal["none", "standard", "minmax", "unit", "symmetric"] = "standard"
    augment: AugmentSpec = AugmentSpec()


class LossSpec(_Section):
    name: Literal["cross_entropy", "bce_logits", "mse", "l1", "huber", "nll"] = "cross_entropy"
    label_smoothing: float = Field(0.0, ge=0, lt=1)
    huber_delta: float = Field(1.0, gt=0)
    applies_to: ClassVar[dict[str, tuple[str, ...]]] = {
        "label_smoothing": ("cross_entropy",), "huber_delta": ("huber",)}


class OptimizerSpec(_Section):
    name: Literal["sgd", "adam", "adamw", "rmsprop", "adagrad"] = "adam"
    lr: float = Field(1e-3, gt=0, le=10)
    weight_decay: float = Field(0.0, ge=0)
    momentum: float = Field(0.9, ge=0, lt=1)
    nesterov: bool = False
    betas: tuple[float, float] = (0.9, 0.999)
    applies_to: ClassVar[dict[str, tuple[str, ...]]] = {
        "momentum": ("sgd", "rmsprop"), "nesterov": ("sgd",), "betas": ("adam", "adamw")}


class ScheduleSpec(_Section):
    name: Literal["none", "step", "cosine", "onecycle", "plateau"] = "none"
    step_size: int = Field(10, ge=1, description="Epochs between decays (step).")
    gamma: float = Field(0.1, gt=0, le=1, description="Decay factor (step, plateau).")
    patience: int = Field(5, ge=0, description="Epochs without improvement (plateau).")
    max_lr: float | None = Field(None, gt=0, description="Peak learning rate (one-cycle).")
    applies_to: ClassVar[dict[str, tuple[str, ...]]] = {
        "step_size": ("step",), "gamma": ("step", "plateau"), "patience": ("plateau",),
        "max_lr": ("onecycle",)}


class NetworkTrainingSpec(_Section):
    """How one network is optimised (a GAN has two of these)."""

    optimizer: OptimizerSpec = OptimizerSpec()
    schedule: ScheduleSpec = ScheduleSpec()
    grad_clip: float | None = Field(None, gt=0)


class EarlyStoppingSpec(_Section):
    enabled: bool = False
    patience: int = Field(10, ge=1)
    monitor: str = "val_loss"
    restore_best: bool = True


class GanSpec(_Section):
    generator: str = "generator"
    discriminator: str = "discriminator"
    d_steps: int = Field(1, ge=1)


class TokenizerSpec(_Section):
    """How text becomes token ids (text data only); fitted on the training split."""

    kind: Literal["characters", "bpe"] = Field(
        "characters", description="One token per character, or byte-pair encoding "
                                  "(needs the 'text' extra).")
    vocab_size: int = Field(512, ge=256, le=50_000,
                            description="Tokens a byte-pair encoding learns (bpe only).")


class TrainingSpec(_Section):
    """The training section of a ``.loom`` file."""

    task: Literal["classification", "regression", "autoencoder", "gan",
                  "language_model"] = "classification"
    data: DataSpec = DataSpec()
    loss: LossSpec = LossSpec()
    networks: dict[str, NetworkTrainingSpec] = Field(
        default_factory=lambda: {"main": NetworkTrainingSpec()}
    )
    epochs: int = Field(20, ge=1, le=MAX_EPOCHS)
    batch_size: int = Field(64, ge=1, le=1 << 16)
    seed: int = Field(0, ge=0, le=MAX_SEED)
    early_stopping: EarlyStoppingSpec = EarlyStoppingSpec()
    device: Literal["auto", "cpu", "cuda", "mps"] = "auto"
    precision: Literal["fp32", "bf16", "fp16"] = "fp32"
    compile: bool = False
    gan: GanSpec | None = None
    tokenizer: TokenizerSpec = TokenizerSpec()

    def to_data(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude_none=False)

    def replaced(self, path: str, value: Any) -> TrainingSpec:
        """A copy with the dotted ``path`` (e.g. ``"data.split.seed"``) set to ``value``."""
        data = self.to_data()
        keys = path.split(".")
        target = data
        for key in keys[:-1]:
            target = target[key]
        target[keys[-1]] = value
        return TrainingSpec.model_validate(data)
