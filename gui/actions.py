"""The main window's actions, menus and toolbar (wiring only: behaviour lives elsewhere)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from PySide6.QtGui import QAction, QActionGroup, QKeySequence
from PySide6.QtWidgets import QMenu, QToolBar

from gui.resources import examples, icon

if TYPE_CHECKING:
    from gui.window_host import ActionsHost

Key = QKeySequence.StandardKey


class WindowActions:
    """Every action of the main window, created once and kept for enabling and tests."""

    def __init__(self, window: ActionsHost) -> None:
        self.window = window
        self.icons: dict[QAction, str] = {}  # redrawn when the theme changes
        w, docs, nets = window, window.documents, window.networks
        self.new = self._make("&Blank network", docs.new_blank, Key.New, "new")
        self.open = self._make("&Open…", docs.open_dialog, Key.Open, "open")
        self.save = self._make("&Save", docs.save, Key.Save, "save")
        self.save_as = self._make("Save &As…", docs.save_as, Key.SaveAs)
        self.export_code = self._make("&Export code…", docs.export_code, "Ctrl+E", "export")
        self.export_model = self._make("Export &trained model…", docs.export_model,
                                       "Ctrl+Shift+E")
        self.import_module = self._make("&PyTorch module…", lambda: docs.import_model("pytorch"))
        self.import_onnx = self._make("&ONNX…", lambda: docs.import_model("onnx"))
        self.quit = self._make("&Quit", w.as_widget().close, Key.Quit)
        self.undo = self._make("&Undo", w.undo, Key.Undo, "undo")
        self.redo = self._make("&Redo", w.redo, Key.Redo, "redo")
        # the platform's redo keys plus Ctrl+Y, which most people press whatever the desktop
        redo_keys = QKeySequence.keyBindings(Key.Redo)
        if QKeySequence("Ctrl+Y") not in redo_keys:
            redo_keys.append(QKeySequence("Ctrl+Y"))
        self.redo.setShortcuts(redo_keys)
        self.cut = self._make("Cu&t", w.cut, Key.Cut)
        self.copy = self._make("&Copy", w.copy, Key.Copy)
        self.paste = self._make("&Paste", w.paste, Key.Paste)
        self.duplicate = self._make("D&uplicate", w.duplicate, "Ctrl+D", "duplicate")
        self.delete = self._make("&Delete", w.delete, Key.Delete, "delete")
        self.delete.setShortcuts([QKeySequence(Key.Delete), QKeySequence("Backspace")])
        self.select_all = self._make("Select &All", w.select_all, Key.SelectAll)
        self.add_network = self._make("&Add network…", nets.add)
        self.remove_network = self._make("&Remove network…", nets.remove)
        self.frame_all = self._make("&Frame all", w.frame_all, "F", "frame")
        self.auto_layout = self._make("Auto-&layout", w.auto_layout, "Ctrl+L", "layout")
        self.zoom_in = self._make("Zoom &in", lambda: w.zoom(1.25), Key.ZoomIn, "zoom-in")
        self.zoom_out = self._make("Zoom &out", lambda: w.zoom(0.8), Key.ZoomOut, "zoom-out")
        self.train = self._make("&Train", w.train, "F5", "train")
        self.train.setToolTip("Train the document with its training settings (F5)")
        self.step = self._make("St&ep…", w.open_step, "F7")
        self.step.setToolTip("Walk one training step through the canvas with torch's numbers: "
                             "forward, loss, backward, update (F7)")
        self.training_settings = self._make("S&ettings…", w.training_settings, "Ctrl+T")
        self.training_settings.setToolTip("Task, data set, epochs, optimiser, … (Ctrl+T)")
        self.evaluate = self._make("E&valuate…", w.evaluate, "F8")
        self.fit_to_data = self._make("&Fit Network to Data", w.fit_to_data)
        self.fit_to_data.setToolTip("Shape the Input like one sample of the data set and size "
                                    "the last Linear layer for the task's classes or targets")
        self.pause_training = self._make("&Pause", w.training.toggle_pause, "F6", "pause")
        self.stop_training = self._make("&Stop", w.training.stop, "Shift+F5", "stop")
        self.themes = QActionGroup(window.as_widget())
        self.theme_actions: dict[str, QAction] = {}
        for name in ("light", "dark"):
            action = QAction(name.capitalize(), window.as_widget(), checkable=True)
            action.triggered.connect(lambda _checked=False, n=name: w.set_theme(n))
            self.themes.addAction(action)
            self.theme_actions[name] = action
        self.recent_menu = QMenu("Open &Recent", window.as_widget())
        self.recent_menu.aboutToShow.connect(self._fill_recent)
        self._build_menus()
        self._build_toolbar()
        w.training_panel.step_button.clicked.connect(self.step.trigger)

    def _make(self, text: str, slot: Callable[[], object], shortcut: object = None,
              icon_name: str = "") -> QAction:
        action = QAction(text, self.window.as_widget())
        if icon_name:
            action.setIcon(icon(icon_name, self.window.theme))
            self.icons[action] = icon_name
        if isinstance(shortcut, QKeySequence.StandardKey | str):
            action.setShortcut(QKeySequence(shortcut))
        action.triggered.connect(lambda _checked=False: slot())
        self.window.as_widget().addAction(action)
        return action

    def set_icon_theme(self, theme: str) -> None:
        for action, name in self.icons.items():
            action.setIcon(icon(name, theme))

    def _build_menus(self) -> None:
        w, bar = self.window, self.window.as_widget().menuBar()
        file_menu = bar.addMenu("&File")
        new_menu = file_menu.addMenu("&New")
        new_menu.addAction(self.new)
        found = examples()
        if found:
            new_menu.addSeparator()
        for path in found:
            title = path.stem.replace("_", " ")
            action = new_menu.addAction(f"Example: {title}")
            action.triggered.connect(lambda _checked=False, p=path: w.documents.new_from(p))
        file_menu.addAction(self.open)
        file_menu.addMenu(self.recent_menu)
        import_menu = file_menu.addMenu("&Import")
        import_menu.addActions([self.import_module, self.import_onnx])
        file_menu.addSeparator()
        file_menu.addActions([self.save, self.save_as, self.export_code, self.export_model])
        file_menu.addSeparator()
        file_menu.addAction(self.quit)
        edit = bar.addMenu("&Edit")
        edit.addActions([self.undo, self.redo])
        edit.addSeparator()
        edit.addActions([self.cut, self.copy, self.paste, self.duplicate, self.delete])
        edit.addSeparator()
        edit.addAction(self.select_all)
        network = bar.addMenu("&Network")
        network.addActions([self.add_network, self.remove_network])
        network.aboutToShow.connect(self._update_network_actions)
        training = bar.addMenu("&Training")
        training.addActions([self.train, self.step, self.pause_training, self.stop_training])
        training.addSeparator()
        training.addActions([self.evaluate, self.training_settings, self.fit_to_data])
        view = bar.addMenu("&View")
        view.addActions([self.frame_all, self.auto_layout, self.zoom_in, self.zoom_out])
        view.addSeparator()
        theme = view.addMenu("&Theme")
        theme.addActions(list(self.theme_actions.values()))
        panels = view.addMenu("&Panels")
        for dock in w.docks:
            panels.addAction(dock.toggleViewAction())

    def _build_toolbar(self) -> None:
        bar = QToolBar("Main toolbar", self.window.as_widget())
        bar.setObjectName("MainToolbar")
        bar.setMovable(False)
        bar.addActions([self.new, self.open, self.save])
        bar.addSeparator()
        bar.addActions([self.undo, self.redo, self.duplicate, self.delete])
        bar.addSeparator()
        bar.addActions([self.frame_all, self.auto_layout, self.zoom_in, self.zoom_out])
        bar.addSeparator()
        bar.addAction(self.export_code)
        bar.addSeparator()
        bar.addActions([self.train, self.pause_training, self.stop_training])
        self.window.as_widget().addToolBar(bar)

    def _fill_recent(self) -> None:
        menu, recent = self.recent_menu, self.window.recent
        menu.clear()
        for path in recent.paths():
            action = menu.addAction(path)
            action.triggered.connect(
                lambda _checked=False, p=path: self.window.documents.open_path(p))
        if not recent.paths():
            menu.addAction("No recent files").setEnabled(False)
        else:
            menu.addSeparator()
            menu.addAction("Clear list").triggered.connect(
                lambda: recent.settings.remove(recent.KEY))

    def _update_network_actions(self) -> None:
        session = self.window.session
        name = self.window.current_network()
        self.remove_network.setEnabled(session is not None and len(session.doc.networks) > 1)
        self.remove_network.setText(f"&Remove network '{name}'…")

    def canvas_actions(self) -> list[QAction]:
        """The actions offered on a node's context menu."""
        return [self.cut, self.copy, self.duplicate, self.delete]
