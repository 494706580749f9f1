"""Small documents for runtime tests (tiny data, a few steps)."""

from __future__ import annotations

from typing import Any

from graph import Document, NetworkBuilder
from graph.training import TrainingSpec


def training(**fields: Any) -> TrainingSpec:
    base: dict[str, Any] = {"epochs": 3, "batch_size": 32, "seed": 0}
    base.update(fields)
    return TrainingSpec.model_validate(base)


def moons_mlp(dropout: float = 0.0, **fields: Any) -> Document:
    doc = Document.new()
    b = NetworkBuilder(doc)
    h = b.add("Linear", b.add("Input", shape=[2], label="point"), out_features=16, label="fc1")
    h = b.add("ReLU", h, label="relu")
    if dropout:
        h = b.add("Dropout", h, p=dropout, label="drop")
    b.add("Output", b.add("Linear", h, out_features=2, label="fc2"), label="out")
    settings = {
        "task": "classification",
        "data": {"name": "moons", "options": {"n_samples": 240, "noise": 0.1}},
        "networks": {"main": {"optimizer": {"name": "adam", "lr": 0.02}}},
    }
    settings.update(fields)
    doc.set_training(training(**settings))
    return doc


def digits_cnn(**fields: Any) -> Document:
    doc = Document.new()
    b = NetworkBuilder(doc)
    x = b.add("Input", shape=[1, 8, 8], label="image")
    h = b.chain(x, ("Conv2d", {"out_channels": 4, "label": "conv"}), ("BatchNorm2d", {}),
                ("ReLU", {}), ("MaxPool2d", {}), ("Flatten", {}),
                ("Dropout", {"p": 0.2}), ("Linear", {"out_features": 10, "label": "head"}))
    b.add("Output", h)
    settings = {
        "task": "classification",
        "data": {"name": "digits", "augment": {"shift": 1}},
        "networks": {"main": {"optimizer": {"name": "sgd", "lr": 0.05},
                              "schedule": {"name": "onecycle"}}},
    }
    settings.update(fields)
    doc.set_training(training(**settings))
    return doc
