"""Layerloom's desktop editor: views and controllers over ``graph``."""
