"""Showing one Insights tab, as a user does: the dock shown, raised, the tab chosen."""

from __future__ import annotations

from typing import Any


def show_tab(window: Any, cls: type) -> Any:
    """Raise the Insights dock on the tab of ``cls``; its view (one per window)."""
    view = window.insights.view(cls)
    window.insights_dock.show()
    window.insights_dock.raise_()
    window.insights.setCurrentWidget(view)
    return view
