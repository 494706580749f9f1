"""GAN recipe: a generator and a discriminator trained against each other.

Alternating updates with the non-saturating loss: the discriminator learns to
tell real from generated samples, the generator to make it answer "real".
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from graph.training import GanSpec, TrainingSpec
from runtime.recipes.base import Recipe, StepContext, batches


def _bce(logits: torch.Tensor, real: bool) -> torch.Tensor:
    logits = logits.reshape(logits.shape[0], -1)
    target = torch.ones_like(logits) if real else torch.zeros_like(logits)
    return F.binary_cross_entropy_with_logits(logits, target)


class GanRecipe(Recipe):
    task = "gan"

    def __init__(self, networks: dict[str, nn.Module], training: TrainingSpec,
                 latent_size: int = 64) -> None:
        super().__init__(networks, training)
        gan = training.gan or GanSpec()
        self.g_name, self.d_name = gan.generator, gan.discriminator
        self.generator, self.discriminator = networks[self.g_name], networks[self.d_name]
        self.d_steps = gan.d_steps
        self.latent_size = latent_size

    def noise(self, n: int, device: torch.device,
              generator: torch.Generator | None = None) -> torch.Tensor:
        return torch.randn(n, self.latent_size, device=device, generator=generator)

    def train_step(self, x: torch.Tensor, y: torch.Tensor | None,
                   ctx: StepContext) -> dict[str, torch.Tensor]:
        n = x.shape[0]
        for _ in range(self.d_steps):
            with ctx.autocast():
                fake = self.generator(self.noise(n, x.device)).detach()
                real = x.reshape(fake.shape)
                d_loss = _bce(self.discriminator(real).float(), True) + _bce(
                    self.discriminator(fake).float(), False)
            ctx.update(self.d_name, d_loss, self.discriminator)
        with ctx.autocast():
            g_loss = _bce(self.discriminator(self.generator(self.noise(n, x.device))).float(),
                          True)
        ctx.update(self.g_name, g_loss, self.generator)
        return {"loss": (d_loss + g_loss).detach(), "d_loss": d_loss.detach(),
                "g_loss": g_loss.detach()}

    @torch.no_grad()
    def evaluate(self, x: torch.Tensor, y: torch.Tensor | None, batch_size: int,
                 ctx: StepContext) -> dict[str, float]:
        self.train(False)
        seeded = torch.Generator(device=x.device).manual_seed(0)  # same noise every epoch
        d_total = g_total = correct = 0.0
        for part in batches(len(x), batch_size):
            with ctx.autocast():
                fake = self.generator(self.noise(len(x[part]), x.device, seeded))
                real_logits = self.discriminator(x[part].reshape(fake.shape)).float()
                fake_logits = self.discriminator(fake).float()
            n = len(x[part])
            d_total += float(_bce(real_logits, True) + _bce(fake_logits, False)) * n
            g_total += float(_bce(fake_logits, True)) * n
            correct += float((real_logits > 0).sum() + (fake_logits <= 0).sum()) / 2
        count = max(len(x), 1)
        return {"loss": (d_total + g_total) / count, "d_loss": d_total / count,
                "g_loss": g_total / count, "d_accuracy": correct / count}
