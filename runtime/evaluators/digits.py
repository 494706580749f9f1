"""The evaluator for scikit-learn's 8×8 digits: a small CNN, trained once, shipped as weights.

``classifier_document`` is the graph ``bench/train_evaluators.py`` trains and saves to
``resources/evaluators/digits_classifier.loom``; its penultimate layer (the 64 ReLU
features the head reads) is where Fréchet distances are measured.
"""

from __future__ import annotations

from graph import Document, NetworkBuilder
from graph.training import TrainingSpec
from runtime.evaluators.registry import EvaluatorInfo, register

NAME = "digits"
FEATURES = 64


def classifier_document(epochs: int = 30, seed: int = 0) -> Document:
    """Input 1×8×8 → two conv blocks → 64 features → 10 class logits, with its training."""
    doc = Document.new()
    b = NetworkBuilder(doc)
    x = b.add("Input", shape=[1, 8, 8], label="image")
    h = b.chain(x, ("Conv2d", {"out_channels": 32, "label": "conv1"}), ("ReLU", {}),
                ("Conv2d", {"out_channels": 32, "label": "conv2"}), ("ReLU", {}),
                ("MaxPool2d", {"label": "pool1"}),
                ("Conv2d", {"out_channels": 64, "label": "conv3"}), ("ReLU", {}),
                ("MaxPool2d", {"label": "pool2"}), ("Flatten", {}), ("Dropout", {"p": 0.3}),
                ("Linear", {"out_features": FEATURES, "label": "features"}),
                ("ReLU", {"label": "feature_relu"}))
    b.add("Output", b.add("Linear", h, out_features=10, label="head"), label="logits")
    doc.set_training(TrainingSpec.model_validate({
        "task": "classification", "epochs": epochs, "batch_size": 64, "seed": seed,
        "device": "cpu",
        "data": {"name": NAME, "normalize": "unit", "augment": {"shift": 1}},
        "networks": {"main": {"optimizer": {"name": "adam", "lr": 0.002},
                              "schedule": {"name": "onecycle"}}},
    }))
    return doc


register(EvaluatorInfo(
    dataset=NAME, loom="digits_classifier.loom", weights="digits_classifier.safetensors",
    description="8×8 digits CNN (3 conv layers, 64 penultimate features, 10 classes)",
))
