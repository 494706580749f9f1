"""Edit-menu operations on the current canvas: delete, copy, cut, paste, duplicate, layout."""

from __future__ import annotations

from PySide6.QtCore import QPointF
from PySide6.QtWidgets import QApplication

from graph.commands import (
    Command,
    Disconnect,
    Macro,
    Paste,
    RemoveNodes,
    copy_fragment,
    duplicate,
    fragment_problem,
)
from graph.layout import layout_command, snap
from gui import mime
from gui.canvas.node_item import WIDTH
from gui.canvas.view import GraphView


def delete_selection(view: GraphView) -> bool:
    """Delete the selected nodes (with their wires) and the selected wires."""
    scene = view.graph_scene
    net = scene.network_name
    ids = scene.selected_node_ids()
    wires = [e for e in scene.selected_edges() if e.source not in ids and e.target not in ids]
    commands: list[Command] = [Disconnect.of(net, e) for e in wires]
    if ids:
        commands.append(RemoveNodes(net, ids))
    if not commands:
        return False
    if len(commands) == 1:
        return scene.session.push(commands[0])
    return scene.session.push(Macro("Delete selection", commands))


def copy_selection(view: GraphView) -> bool:
    """Put the selected nodes and the wires among them on the clipboard."""
    scene = view.graph_scene
    ids = scene.selected_node_ids()
    if not ids:
        return False
    data = copy_fragment(scene.session.doc, scene.network_name, ids)
    QApplication.clipboard().setMimeData(mime.fragment_mime(data))
    scene.session.message.emit(f"Copied {len(ids)} node(s)")
    return True


def cut_selection(view: GraphView) -> bool:
    return copy_selection(view) and delete_selection(view)


def paste(view: GraphView, at: QPointF | None = None) -> list[str]:
    """Paste copied nodes centred on ``at`` (the view centre by default); their ids."""
    scene = view.graph_scene
    fragment = mime.fragment(QApplication.clipboard().mimeData())
    if not fragment or not fragment["nodes"]:
        scene.session.message.emit("The clipboard holds no Layerloom nodes")
        return []
    try:
        xs = [float(n["pos"][0]) for n in fragment["nodes"]]
        ys = [float(n["pos"][1]) for n in fragment["nodes"]]
    except (KeyError, TypeError, ValueError, IndexError):
        scene.session.message.emit("The clipboard's Layerloom nodes are damaged")
        return []
    centre = at if at is not None else view.visible_center()
    offset = (snap(centre.x() - (min(xs) + max(xs) + WIDTH) / 2),
              snap(centre.y() - (min(ys) + max(ys)) / 2))
    problem = fragment_problem(fragment)
    if problem:
        scene.session.message.emit(f"Cannot paste: {problem}")
        return []
    cmd = Paste(scene.network_name, fragment, offset=offset)
    ok = scene.session.push(cmd)
    if ok:
        scene.select_nodes(cmd.added)
    return cmd.added if ok else []


def duplicate_selection(view: GraphView) -> list[str]:
    scene = view.graph_scene
    ids = scene.selected_node_ids()
    if not ids:
        return []
    cmd = duplicate(scene.session.doc, scene.network_name, ids)
    if not scene.session.push(cmd):
        return []
    scene.select_nodes(cmd.added)
    return cmd.added


def auto_layout(view: GraphView) -> bool:
    scene = view.graph_scene
    sizes = {i: (WIDTH, item.height) for i, item in scene.nodes.items()}
    cmd = layout_command(scene.network, sizes)
    if cmd is None:
        return False
    ok = scene.session.push(cmd)
    if ok:
        view.frame_all()
    return ok
