"""Dock panels: palette, inspector, problems, summary and history."""
