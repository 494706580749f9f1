"""Inputs and outputs: where data enters a network and what it returns."""

from __future__ import annotations

from graph.catalog import CATALOG, LayerSpec, ParamSpec, PortSpec

CATEGORY = "Input / Output"

INPUT = CATALOG.register(
    LayerSpec(
        id="Input",
        category=CATEGORY,
        display_name="Input",
        description="Where samples enter the network; set the shape of one sample.",
        doc=(
            "The shape excludes the batch: [4] for four features, [1, 8, 8] for an 8×8 grey "
            "image, [T, F] for T time steps of F features. With kind 'tokens' each sample is "
            "a sequence of integer ids below the vocabulary size, ready for an Embedding. "
            "A sequence's length is the longest the network takes: attention, positional "
            "encodings and recurrent layers also run on shorter ones."
        ),
        params=(
            ParamSpec(
                "shape", "ints", (4,), "Shape of one sample, without the batch dimension.",
                minimum=1, maximum=1 << 16, max_length=5,
            ),
            ParamSpec(
                "kind", "choice", "float", "Real-valued features, or integer token ids.",
                choices=("float", "tokens"),
            ),
            ParamSpec(
                "vocab_size", "int", 10, "Number of distinct token ids (kind 'tokens' only).",
                minimum=1, maximum=1 << 20, applies_when=("kind", ("tokens",)),
            ),
        ),
        inputs=(),
        role="input",
        key_params=("shape",),
    )
)

NOISE = CATALOG.register(
    LayerSpec(
        id="Noise",
        category=CATEGORY,
        display_name="Noise input",
        description="Random normal vectors that a generator turns into samples.",
        doc="Each sample is a latent vector drawn from N(0, 1); a GAN generator starts here.",
        params=(
            ParamSpec(
                "size", "int", 64, "Length of the latent vector.", minimum=1, maximum=1 << 16
            ),
        ),
        inputs=(),
        role="input",
        key_params=("size",),
    )
)

OUTPUT = CATALOG.register(
    LayerSpec(
        id="Output",
        category=CATEGORY,
        display_name="Output",
        description="Marks what the network returns; the loss is applied to this tensor.",
        doc=(
            "Every network has exactly one Output. For classification feed it raw scores "
            "(logits): the loss applies softmax itself."
        ),
        inputs=(PortSpec("x"),),
        role="output",
    )
)
