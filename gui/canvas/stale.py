"""Bringing many node items up to date without freezing the canvas.

One edit near the input of a long network changes the shape of hundreds of
nodes. The items in view are refreshed at once; the rest are refreshed a
chunk at a time from the event loop, so the canvas shows the edit within a
frame and stays responsive while the off-screen items catch up.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from gui.canvas.chunked import ChunkedWork

EAGER_LIMIT = 150  # fewer changed nodes than this are all refreshed at once
CHUNK = 250  # nodes refreshed per turn of the event loop


class StaleNodes(ChunkedWork):
    """Node ids waiting for ``refresh``; ``now`` refreshes some or all of them."""

    def __init__(self, refresh: Callable[[str], None]) -> None:
        def refresh_all(ids: list[str]) -> None:
            for node_id in ids:
                refresh(node_id)

        super().__init__(refresh_all, CHUNK)

    def add(self, ids: Iterable[str]) -> None:
        self.later(ids)
        if self.pending < EAGER_LIMIT:
            self.now()
