"""Layer families; importing this package registers every spec in the catalog.

Families load in palette order, so the catalog lists categories as users expect.
"""

import importlib

FAMILIES = ("io", "dense", "activations", "conv", "recurrent", "attention", "merge")

for _family in FAMILIES:
    importlib.import_module(f"graph.layers.{_family}")
