"""The node canvas: scene, view and graphics items for one network."""

from gui.canvas.scene import GraphScene
from gui.canvas.view import GraphView

__all__ = ["GraphScene", "GraphView"]
