"""Layerloom's runtime: training, evaluation, export and the command line.

Never imports Qt: the GUI drives the runtime, not the other way round.
"""
