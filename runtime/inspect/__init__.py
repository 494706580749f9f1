"""Looking inside a network: what each view of "see the network learn" shows, as data.

Everything here is computed by torch on compiled modules and returned as small,
JSON-able records (lists and numbers), so the same records reach the window (as
telemetry events during a run, or from a worker thread afterwards), the command
line and the tests. Nothing here imports Qt.

- ``probes``: the epoch probes a run streams (decision boundary, feature maps,
  attention, embeddings…), registered in one list the trainer reads.
- ``model``: a document's networks with weights (a run's, or fresh) and its data,
  for views computed outside a run (a step, try-it, an embedding of a chosen node).
"""
