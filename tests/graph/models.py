"""Reference networks for the compiler tests and benchmarks.

Each entry builds a Layerloom document with ``NetworkBuilder`` and has a
hand-written ``nn.Module`` doing the same computation with plain torch, its
layers registered in the order the compiler runs them, so weights can be copied
across by position.
"""

from __future__ import annotations

import math
import subprocess
import sys
import sysconfig
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from graph.builder import NetworkBuilder
from graph.document import Document

BATCH = 4


# -- documents -------------------------------------------------------------------
def mlp_doc() -> Document:
    """x → fc1 → relu → fc2 → relu, plus a skip Add around fc2, → dropout → head."""
    doc = Document.new()
    b = NetworkBuilder(doc)
    x = b.add("Input", shape=[8], label="x")
    h1 = b.add("ReLU", b.add("Linear", x, out_features=32, label="fc1"), label="act1")
    h2 = b.add("ReLU", b.add("Linear", h1, out_features=32, label="fc2"), label="act2")
    skip = b.add("Add", h1, h2, label="skip")
    drop = b.add("Dropout", skip, p=0.2, label="drop")
    b.add("Output", b.add("Linear", drop, out_features=3, label="head"), label="out")
    return doc


def cnn_doc() -> Document:
    doc = Document.new()
    b = NetworkBuilder(doc)
    x = b.add("Input", shape=[1, 12, 12], label="image")
    h = b.add("Conv2d", x, out_channels=8, kernel_size=3, padding=1, label="conv1")
    h = b.add("ReLU", b.add("BatchNorm2d", h, label="bn1"), label="relu1")
    h = b.add("MaxPool2d", h, kernel_size=2, label="pool1")
    h = b.add("Conv2d", h, out_channels=16, kernel_size=3, padding=1, label="conv2")
    h = b.add("ReLU", h, label="relu2")
    h = b.add("AvgPool2d", h, kernel_size=2, label="pool2")
    h = b.add("Flatten", h, label="flat")
    b.add("Output", b.add("Linear", h, out_features=10, label="classify"), label="logits")
    return doc


def lstm_doc() -> Document:
    doc = Document.new()
    b = NetworkBuilder(doc)
    x = b.add("Input", shape=[7, 5], label="series")
    h = b.add("LSTM", x, hidden_size=16, bidirectional=True, label="lstm")
    b.add("Output", b.add("Linear", h, out_features=3, label="head"), label="out")
    return doc


def transformer_doc() -> Document:
    doc = Document.new()
    b = NetworkBuilder(doc)
    x = b.add("Input", shape=[6], kind="tokens", vocab_size=20, label="tokens")
    h = b.add("Embedding", x, embedding_dim=16, label="embed")
    h = b.add("PositionalEncoding", h, label="position")
    h = b.add("TransformerEncoderLayer", h, nhead=4, dim_feedforward=32, label="encoder")
    h = b.add("SequencePool", h, label="pool")
    b.add("Output", b.add("Linear", h, out_features=2, label="head"), label="out")
    return doc


def gan_doc() -> Document:
    """A DCGAN pair: 'generator' (noise → 1×16×16 image) and 'discriminator'."""
    doc = Document.new("generator")
    g = NetworkBuilder(doc, "generator")
    z = g.add("Noise", size=16, label="z")
    h = g.add("Linear", z, out_features=32 * 4 * 4, init="normal", label="project")
    h = g.add("Reshape", h, shape=[32, 4, 4], label="to image")
    h = g.add("ReLU", g.add("BatchNorm2d", h, label="bn0"), label="relu0")
    h = g.add("ConvTranspose2d", h, out_channels=16, init="normal", label="up1")
    h = g.add("ReLU", g.add("BatchNorm2d", h, label="bn1"), label="relu1")
    h = g.add("ConvTranspose2d", h, out_channels=1, init="normal", label="up2")
    g.add("Output", g.add("Tanh", h, label="tanh"), label="fake")
    d = NetworkBuilder(doc, "discriminator")
    x = d.add("Input", shape=[1, 16, 16], label="image")
    h = d.add("Conv2d", x, out_channels=16, kernel_size=4, stride=2, padding=1,
              init="normal", label="down1")
    h = d.add("LeakyReLU", h, negative_slope=0.2, label="lrelu1")
    h = d.add("Conv2d", h, out_channels=32, kernel_size=4, stride=2, padding=1,
              init="normal", label="down2")
    h = d.add("LeakyReLU", d.add("BatchNorm2d", h, label="bn2"), negative_slope=0.2,
              label="lrelu2")
    h = d.add("Flatten", h, label="flat")
    d.add("Output", d.add("Linear", h, out_features=1, label="score"), label="real")
    return doc


# -- hand-written equivalents ------------------------------------------------------
class MLP(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc1 = nn.Linear(8, 32)
        self.fc2 = nn.Linear(32, 32)
        self.drop = nn.Dropout(0.2)
        self.head = nn.Linear(32, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h1 = torch.relu(self.fc1(x))
        h2 = torch.relu(self.fc2(h1))
        return self.head(self.drop(h1 + h2))


class CNN(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(1, 8, 3, padding=1)
        self.bn1 = nn.BatchNorm2d(8)
        self.conv2 = nn.Conv2d(8, 16, 3, padding=1)
        self.classify = nn.Linear(16 * 3 * 3, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = nn.functional.max_pool2d(torch.relu(self.bn1(self.conv1(x))), 2)
        h = nn.functional.avg_pool2d(torch.relu(self.conv2(h)), 2)
        return self.classify(h.flatten(1))


class LSTMClassifier(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.lstm = nn.LSTM(5, 16, batch_first=True, bidirectional=True)
        self.head = nn.Linear(32, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _, (h, _) = self.lstm(x)
        return self.head(torch.cat((h[-2], h[-1]), dim=1))


class TransformerClassifier(nn.Module):
    def __init__(self, vocab: int = 20, dim: int = 16, length: int = 6) -> None:
        super().__init__()
        self.embed = nn.Embedding(vocab, dim)
        self.encoder = nn.TransformerEncoderLayer(
            dim, 4, dim_feedforward=32, dropout=0.1, batch_first=True, norm_first=True
        )
        self.head = nn.Linear(dim, 2)
        # The sinusoidal table of "Attention Is All You Need", as PyTorch's tutorial writes it.
        position = torch.arange(length).unsqueeze(1)
        div_term = torch.exp(torch.arange(0, dim, 2) * (-math.log(10000.0) / dim))
        pe = torch.zeros(1, length, dim)
        pe[0, :, 0::2] = torch.sin(position * div_term)
        pe[0, :, 1::2] = torch.cos(position * div_term)
        self.register_buffer("pe", pe, persistent=False)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        h = self.encoder(self.embed(tokens) + self.pe)
        return self.head(h.mean(dim=1))


class DCGANGenerator(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.project = nn.Linear(16, 512)
        self.net = nn.Sequential(
            nn.BatchNorm2d(32), nn.ReLU(),
            nn.ConvTranspose2d(32, 16, 4, 2, 1), nn.BatchNorm2d(16), nn.ReLU(),
            nn.ConvTranspose2d(16, 1, 4, 2, 1), nn.Tanh(),
        )

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(self.project(z).view(-1, 32, 4, 4))


class DCGANDiscriminator(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv2d(1, 16, 4, 2, 1), nn.LeakyReLU(0.2),
            nn.Conv2d(16, 32, 4, 2, 1), nn.BatchNorm2d(32), nn.LeakyReLU(0.2),
            nn.Flatten(), nn.Linear(32 * 4 * 4, 1),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


# -- the table the tests walk ------------------------------------------------------
@dataclass(frozen=True)
class Model:
    name: str
    doc: Callable[[], Document]
    network: str
    reference: Callable[[], nn.Module]
    inputs: Callable[[torch.Generator], tuple[torch.Tensor, ...]]


def _floats(*shape: int) -> Callable[[torch.Generator], tuple[torch.Tensor, ...]]:
    return lambda gen: (torch.randn(BATCH, *shape, generator=gen),)


def _tokens(gen: torch.Generator) -> tuple[torch.Tensor, ...]:
    return (torch.randint(0, 20, (BATCH, 6), generator=gen),)


MODELS = (
    Model("mlp", mlp_doc, "main", MLP, _floats(8)),
    Model("cnn", cnn_doc, "main", CNN, _floats(1, 12, 12)),
    Model("lstm", lstm_doc, "main", LSTMClassifier, _floats(7, 5)),
    Model("transformer", transformer_doc, "main", TransformerClassifier, _tokens),
    Model("generator", gan_doc, "generator", DCGANGenerator, _floats(16)),
    Model("discriminator", gan_doc, "discriminator", DCGANDiscriminator, _floats(1, 16, 16)),
)


def copy_weights(source: nn.Module, target: nn.Module) -> None:
    """Copy the saved state (parameters, persistent buffers) across by position.

    Non-persistent buffers (a sinusoidal table, a causal mask) are left alone:
    each side must compute its own, and the comparison checks they agree.
    """
    pairs = zip(source.state_dict().values(), target.state_dict(keep_vars=True).values(),
                strict=True)
    with torch.no_grad():
        for a, b in pairs:
            assert a.shape == b.shape, (a.shape, b.shape)
            b.copy_(a)


def randomise_state(module: nn.Module, seed: int = 0) -> None:
    """Give every parameter and norm statistic a distinct random value (not the init's)."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, t in module.state_dict(keep_vars=True).items():
            if not t.is_floating_point():
                continue
            noise = torch.rand(t.shape, generator=gen)
            t.copy_(noise + 0.5 if name.endswith("running_var") else noise - 0.5)


def run_fresh(script: str, cwd: Path, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """Run ``script`` in a new interpreter that can import torch but not Layerloom.

    ``-I -S`` skip the environment, the working directory and the site hooks (the
    editable install lives in one), so only the packages in site-packages remain.
    """
    site_packages = sysconfig.get_paths()["purelib"]
    prelude = (
        "import sys, importlib.util\n"
        f"sys.path.append({site_packages!r})\n"
        "import torch\n"
        "torch.set_num_threads(1)\n"
        "assert importlib.util.find_spec('graph') is None, 'Layerloom must not be importable'\n"
    )
    return subprocess.run(
        [sys.executable, "-I", "-S", "-c", prelude + script],
        cwd=cwd, capture_output=True, text=True, timeout=timeout, check=False,
    )


@contextmanager
def one_thread() -> Iterator[None]:
    """Run torch on one thread: for tiny tensors more threads only add hand-off cost,
    and on a busy machine OpenMP's waiting makes a tiny LSTM 100 times slower."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)
