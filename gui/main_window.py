"""The main window: canvas tabs, docks, menus, status bar, settings and autosave."""

from __future__ import annotations

from pathlib import Path
from typing import TypeVar

from PySide6.QtCore import QSettings, Qt, QTimer
from PySide6.QtGui import QCloseEvent, QDragEnterEvent, QDropEvent, QShowEvent
from PySide6.QtWidgets import (
    QApplication,
    QDialog,
    QDockWidget,
    QLabel,
    QMainWindow,
    QMessageBox,
    QVBoxLayout,
    QWidget,
)

from gui import mime
from gui.actions import WindowActions
from gui.background import BackgroundJob
from gui.canvas import editing
from gui.canvas.tabs import CanvasTabs
from gui.canvas.view import GraphView
from gui.documents import DocumentActions
from gui.files import Autosave, RecentFiles
from gui.insights.dock import InsightsPanel
from gui.insights.tryit import connect_canvas
from gui.networks import NetworkActions
from gui.panels.generate import GeneratePanel
from gui.panels.history import HistoryPanel
from gui.panels.inspector import InspectorPanel
from gui.panels.palette import PalettePanel
from gui.panels.problems import ProblemsPanel
from gui.panels.runs import RunsPanel
from gui.panels.summary import SummaryPanel
from gui.panels.training import TrainingPanel
from gui.run_banner import LOCKED, RunBanner
from gui.session import Session
from gui.theme import apply_theme
from gui.training import LOADING, TrainingController
from gui.warmup import warmup

APP_NAME = "Layerloom"
STATUS_MS = 6000
SIDE_WIDTHS = (220, 290)  # palette (the longest layer name whole), inspector
BOTTOM_HEIGHT = 130  # problems, summary and history: a few rows; the canvas gets the rest
TRAINING_HEIGHT = 300  # the training panel's and insights' plots need room to be read
TORCH_DELAY_MS = 500  # start importing torch by then even if the canvas has not painted


class MainWindow(QMainWindow):
    """One document at a time; ``set_session`` swaps it (File > Open, New, …)."""

    def __init__(self, settings: QSettings | None = None, *, autosave: bool = True) -> None:
        super().__init__()
        self.settings = settings or QSettings()
        self.session: Session | None = None
        self.recent = RecentFiles(self.settings)
        self.documents = DocumentActions(self)
        self.networks = NetworkActions(self)
        self.autosave = Autosave() if autosave else None
        self.theme = str(self.settings.value("theme", "light"))
        colors = apply_theme(_app(), self.theme)
        self.tabs = CanvasTabs(colors)
        self._torch_timer = QTimer(self)
        self._torch_timer.setInterval(20)
        self._torch_timer.timeout.connect(self._load_torch_when_idle)
        self.run_banner = RunBanner()
        central = QWidget()
        column = QVBoxLayout(central)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(0)
        column.addWidget(self.run_banner)
        column.addWidget(self.tabs, 1)
        self.setCentralWidget(central)
        self.palette_panel = PalettePanel()
        self.inspector = InspectorPanel()
        self.problems = ProblemsPanel()
        self.summary = SummaryPanel()
        self.history_panel = HistoryPanel()
        self.training = TrainingController(self)
        self._training_session: Session | None = None  # the document the run trains
        self._pending_train: Session | None = None  # F5 pressed while PyTorch loads
        self.training_panel = TrainingPanel(self.training)
        self.docks: list[QDockWidget] = []
        left, right, bottom = (Qt.DockWidgetArea.LeftDockWidgetArea,
                               Qt.DockWidgetArea.RightDockWidgetArea,
                               Qt.DockWidgetArea.BottomDockWidgetArea)
        palette = self._dock("Palette", self.palette_panel, left)
        inspector = self._dock("Inspector", self.inspector, right)
        problems = self._dock("Problems", self.problems, bottom)
        self.tabifyDockWidget(problems, self._dock("Summary", self.summary, bottom))
        self.tabifyDockWidget(problems, self._dock("History", self.history_panel, bottom))
        self.training_dock = self._dock("Training", self.training_panel, bottom)
        self.tabifyDockWidget(problems, self.training_dock)
        self.training_dock.visibilityChanged.connect(self.training_panel.set_on_screen)
        self.runs_panel = RunsPanel(self.training)
        self.runs_dock = self._dock("Runs", self.runs_panel, bottom)
        self.tabifyDockWidget(problems, self.runs_dock)
        self._continue: dict[str, object] = {}  # RunOptions of a run continued from the Runs panel
        self.generate_panel = GeneratePanel(self.training)  # shown for language models
        self.generate_dock = self._dock("Generate", self.generate_panel, bottom)
        self.tabifyDockWidget(problems, self.generate_dock)
        self.generate_panel.relevant_changed.connect(self.generate_dock.setVisible)
        self.insights = InsightsPanel(self.training)
        self.insights_dock = self._dock("Insights", self.insights, bottom)
        self.tabifyDockWidget(problems, self.insights_dock)
        self.insights.node_named.connect(self.show_node)
        self.insights_dock.visibilityChanged.connect(self._insights_visibility)
        for roomy in (self.training_dock, self.insights_dock):
            roomy.visibilityChanged.connect(lambda shown, d=roomy: self._give_room(d, shown))
        connect_canvas(self.insights, self.tabs)  # Try it draws an input's path there
        self.runs_panel.evaluate_requested.connect(self.evaluate)
        self.runs_panel.export_requested.connect(self.documents.export_model)
        self.runs_panel.try_requested.connect(self.try_it)
        self.runs_panel.continue_requested.connect(self.continue_run)
        problems.raise_()
        self._default_docks: tuple[list[QDockWidget], list[QDockWidget]] | None = (
            [palette, inspector], [problems])
        self.window_actions = WindowActions(self)
        self.tabs.item_actions = self.window_actions.canvas_actions()
        self.window_actions.theme_actions[self.theme].setChecked(True)
        self.problem_count = QLabel()
        self.statusBar().addPermanentWidget(self.problem_count)
        self.tabs.selection_changed.connect(self._selection_changed)
        self.tabs.files_dropped.connect(self._open_dropped)
        self.palette_panel.add_requested.connect(self.add_layer)
        self.problems.node_activated.connect(self.show_node)
        acts = self.window_actions
        self.training_panel.bind(acts.train, acts.pause_training, acts.stop_training,
                                 acts.training_settings)
        self.training_panel.evaluate_requested.connect(self.evaluate)
        self.training_panel.node_named.connect(self.show_node)
        self.training.state_changed.connect(self._training_state)
        self.run_banner.stop.clicked.connect(self.training.stop)
        self.training.weights_saved.connect(self._weights_saved)
        self.setAcceptDrops(True)
        self.resize(1400, 900)
        self._restore()
        self._training_state(self.training.state)

    def _dock(self, title: str, widget: QWidget, area: Qt.DockWidgetArea) -> QDockWidget:
        dock = QDockWidget(title, self)
        dock.setObjectName(f"{title}Dock")
        dock.setWidget(widget)
        self.addDockWidget(area, dock)
        self.docks.append(dock)
        return dock

    # -- the document ------------------------------------------------------------
    def set_session(self, session: Session) -> None:
        """Show ``session``'s document in this window (the previous one is dropped)."""
        old = self.session
        if self._pending_train is not None:  # a start waiting for another document
            self._pending_train = None
            self.training_panel.status.setText("Not started: another document was opened")
        if old is not None:
            old.message.disconnect(self.show_message)
            old.changed.disconnect(self._update_state)
            old.path_changed.disconnect(self._update_state)
            old.diagnostics_changed.disconnect(self._update_problem_count)
            old.changed.disconnect(self.insights.refresh_tabs)
            old.close()
        self.session = session
        session.message.connect(self.show_message)
        session.changed.connect(self._update_state)
        session.path_changed.connect(self._update_state)
        session.diagnostics_changed.connect(self._update_problem_count)
        session.changed.connect(self.insights.refresh_tabs)
        if self.training.state == "idle":  # a running run keeps showing until it ends
            self.training_panel.document_opened(session.last_run_dir is not None)
        self.tabs.set_session(session)
        self.inspector.set_session(session)
        self.problems.set_session(session)
        self.summary.set_session(session)
        self.history_panel.set_session(session)
        self.generate_panel.set_session(session)
        self.generate_dock.setVisible(self.generate_panel.language_model)
        self.insights.set_session(session)
        self._continue = {}
        self.runs_panel.set_session(session)
        session.path_changed.connect(self.runs_panel.refresh)
        self._lock_training_session()
        for view in self.tabs.views():
            view.frame_all()
        if self.autosave is not None:
            self.autosave.attach(session)
        self._start_shapes(session)
        self._update_state()
        self._update_problem_count()
        self._selection_changed()

    def _start_shapes(self, session: Session) -> None:
        """Once the canvas has painted, show shapes from the layers' shape rules, then
        import torch (for parameter counts and validation) when the canvas has caught
        up: the import competes with painting for the GIL. A window that does not
        paint (hidden) starts both after TORCH_DELAY_MS."""
        if warmup().is_ready:
            session.start_shapes()
            return

        def shapes_then_torch() -> None:
            session.start_shapes(load_torch=False)
            self._torch_timer.start()

        view = self.current_view()
        if view is not None:
            view.painted.connect(shapes_then_torch, Qt.ConnectionType.SingleShotConnection)
        QTimer.singleShot(TORCH_DELAY_MS, lambda: self._start_unpainted(session))

    def _start_unpainted(self, session: Session) -> None:
        if not session.shapes_ready:
            session.start_shapes()

    def _load_torch_when_idle(self) -> None:
        if any(view.graph_scene.stale.pending for view in self.tabs.views()):
            return  # the canvas is still catching up with the first shapes
        self._torch_timer.stop()
        warmup().start()

    def current_view(self) -> GraphView | None:
        return self.tabs.current_view()

    def current_network(self) -> str:
        view = self.current_view()
        return view.graph_scene.network_name if view else "main"

    def show_message(self, text: str, ms: int = STATUS_MS) -> None:
        self.statusBar().showMessage(text, ms)

    def as_widget(self) -> QMainWindow:
        return self

    def show_network(self, name: str) -> GraphView | None:
        return self.tabs.show_network(name)

    def show_runs_note(self, text: str) -> None:
        self.runs_panel.note.setText(text)
        self.runs_panel.refresh()

    def show_node(self, network: str, node_id: str) -> None:
        """Select and centre a node (a click in the Problems list)."""
        view = self.tabs.show_network(network)
        if view is not None and node_id in view.graph_scene.nodes:
            view.graph_scene.select_nodes([node_id])
            view.center_on_node(node_id)

    def _update_state(self) -> None:
        session = self.session
        if session is None:
            return
        star = "*" if session.dirty else ""
        unsaved = " (example, not saved yet)" if session.path is None and session.example else ""
        self.setWindowTitle(f"{session.display_name}{star}{unsaved} — {APP_NAME}")
        history, acts = session.history, self.window_actions
        acts.undo.setEnabled(history.can_undo)
        acts.redo.setEnabled(history.can_redo)
        acts.undo.setText(f"&Undo {history.undo_stack[-1].text}" if history.can_undo else "&Undo")
        acts.redo.setText(f"&Redo {history.redo_stack[-1].text}" if history.can_redo else "&Redo")

    def _update_problem_count(self) -> None:
        errors, warnings = self.problems.counts()
        if self.session is None or not self.session.shapes_complete:
            self.problem_count.setText("Loading PyTorch…")
        else:
            self.problem_count.setText(f"{errors} error(s) · {warnings} warning(s)")

    def _selection_changed(self) -> None:
        view = self.current_view()
        ids = view.graph_scene.selected_node_ids() if view else []
        edges = view.graph_scene.selected_edges() if view else []
        network = view.graph_scene.network_name if view else ""
        self.inspector.show_node(network, ids[0] if len(ids) == 1 else None)
        self._show_layer_outputs(network, ids[0] if len(ids) == 1 else None)
        self.insights.select(network, ids[0] if len(ids) == 1 else None)
        self.summary.show_network(network)
        acts = self.window_actions
        for action in (acts.cut, acts.copy, acts.duplicate):
            action.setEnabled(bool(ids))
        acts.delete.setEnabled(bool(ids or edges))

    def _show_layer_outputs(self, network: str, node_id: str | None) -> None:
        title = ""
        if node_id is not None and self.session is not None:
            node = self.session.doc.network(network).node(node_id)
            title = f"'{node.label}'"  # short: the plot's title has little room
        self.training_panel.layer.select(network, node_id, title)

    # -- edit and view commands -----------------------------------------------------
    def undo(self) -> None:
        if self.session is not None:
            self.session.undo()

    def redo(self) -> None:
        if self.session is not None:
            self.session.redo()

    def cut(self) -> None:
        if view := self.current_view():
            editing.cut_selection(view)

    def copy(self) -> None:
        if view := self.current_view():
            editing.copy_selection(view)

    def paste(self) -> None:
        if view := self.current_view():
            editing.paste(view)

    def duplicate(self) -> None:
        if view := self.current_view():
            editing.duplicate_selection(view)

    def delete(self) -> None:
        if view := self.current_view():
            editing.delete_selection(view)

    def select_all(self) -> None:
        if view := self.current_view():
            view.graph_scene.select_nodes(view.graph_scene.nodes)

    def frame_all(self) -> None:
        if view := self.current_view():
            view.frame_all()

    def auto_layout(self) -> None:
        if view := self.current_view():
            editing.auto_layout(view)

    def zoom(self, factor: float) -> None:
        if view := self.current_view():
            view.zoom_by(factor)

    def add_layer(self, type_id: str) -> None:
        if view := self.current_view():
            view.add_layer(type_id)

    # -- training ------------------------------------------------------------------
    def train(self) -> None:
        """Train the document in the background (Training > Train, F5)."""
        if self.session is None:
            return
        session = self.session
        refusal = self.training.start(session, **self._continue)
        if refusal is not None or not self._insights_on_screen():
            dock = self.training_dock  # a learner watching an Insights view keeps it
            dock.show()
            dock.raise_()
            self._give_room(dock)
        if refusal == LOADING:  # F5 right after opening: start once validation has run
            self.training_panel.status.setText("Training starts as soon as PyTorch has "
                                               "loaded and the network is checked…")
            warmup().start()
            if self._pending_train is None:
                session.diagnostics_changed.connect(self._train_when_checked,
                                                    Qt.ConnectionType.SingleShotConnection)
            self._pending_train = session
            return
        self._pending_train = None
        self._continue = {}
        if refusal is not None:
            self.training_panel.status.setText(f"Not started: {refusal}")
            self.show_message(f"Training not started: {refusal}")
            return
        self._training_session = self.session
        self.training_panel.run_started()
        self._lock_training_session()

    def continue_run(self, folder: Path) -> None:
        """Train on from a run's checkpoint (the Runs panel's Continue training)."""
        from runtime.runs import continued_epochs

        if self.session is None:
            return
        epochs = continued_epochs(self.session.doc, folder)
        self._continue = {"resume": folder / "checkpoint.pt", "epochs": epochs}
        self.train()
        if self.training.active:
            self.training_panel.status.setText(
                f"Continuing the run in {folder.name} from its checkpoint, up to epoch "
                f"{epochs}; the continued run gets a folder of its own")

    def try_it(self) -> None:
        """The Insights dock's Try it tab on the session's weights (a run chosen in Runs)."""
        from gui.insights.tryit import TryItView

        view = self.insights.view(TryItView)
        assert isinstance(view, TryItView)
        view.stale = True  # other weights than it may have loaded
        self.insights_dock.show()
        self.insights_dock.raise_()
        self.insights.setCurrentWidget(view)  # showing it loads them
        if view.stale and view.isVisible():
            view.load()

    def evaluate(self) -> None:
        """Evaluate trained weights on a split (Training > Evaluate…)."""
        if self.session is None:
            return
        from gui.evaluate_dialog import EvaluateDialog

        self.evaluate_dialog = _opened(EvaluateDialog(self.session, self))
        if self.evaluate_dialog.weights.text():
            self.evaluate_dialog.start()  # the last run's weights: no reason to wait

    def fit_to_data(self) -> None:
        if self.session is None:
            return
        network = self.current_network()
        refusal = self.session.fit_to_data(network)
        self.show_message(refusal[0].upper() + refusal[1:] if refusal else
                          f"Fitted '{network}' to the data set: Edit > Undo takes it back")

    def open_step(self) -> None:
        """Training > Step…: the Insights dock's Step tab, drawing on the canvas."""
        from gui.insights.step import open_step_view  # it brings the canvas overlay

        open_step_view(self)

    def training_settings(self) -> None:
        """Edit the training section (Training > Settings…); OK is one undoable step."""
        if self.session is None:
            return
        from gui.training_dialog import TrainingSettingsDialog  # reads the data registry

        self.settings_dialog = _opened(TrainingSettingsDialog(self.session, self))

    def _insights_on_screen(self) -> bool:
        # A tabbed dock behind another is moved off screen, not hidden, and Qt's
        # Show event says "visible" before the dock area has placed it.
        dock, place = self.insights_dock, self.insights_dock.geometry()
        return dock.isVisible() and (dock.isFloating()
                                     or (place.right() >= 0 and place.bottom() >= 0))

    def _insights_visibility(self, shown: bool) -> None:
        self.insights.set_on_screen(shown and self._insights_on_screen())

    def _give_room(self, dock: QDockWidget, shown: bool = True) -> None:
        """A dock of plots (Training, Insights) gets TRAINING_HEIGHT when it is raised
        in the short bottom area; the user can make it smaller again."""
        if shown and not dock.isFloating() and dock.height() < TRAINING_HEIGHT:
            self.resizeDocks([dock], [TRAINING_HEIGHT], Qt.Orientation.Vertical)

    def _train_when_checked(self) -> None:
        pending, self._pending_train = self._pending_train, None
        if pending is not None and pending is self.session and not self.training.active:
            self.train()

    def _weights_saved(self, folder: object) -> None:
        # File > Export trained model offers these weights.
        if self._training_session is not None and isinstance(folder, Path):
            self._training_session.last_run_dir = folder

    def _lock_training_session(self) -> None:
        """Edits to the training document wait while it trains; the banner says so."""
        training = self._training_session
        locked = self.training.active and training is not None
        if training is not None:
            training.edit_lock = LOCKED if locked else None
        self.run_banner.setVisible(locked and training is self.session)
        self.run_banner.stop.setEnabled(self.training.state in ("running", "paused"))

    def _training_state(self, state: str) -> None:
        self._lock_training_session()
        if state == "idle" and self._training_session is not None:
            self.documents.adopt_runs(self._training_session)  # saved while it ran
        acts = self.window_actions
        acts.train.setEnabled(state == "idle")
        acts.evaluate.setEnabled(state == "idle")
        acts.pause_training.setEnabled(state in ("running", "paused"))
        acts.pause_training.setText("&Resume" if state == "paused" else "&Pause")
        acts.stop_training.setEnabled(state != "idle")
        acts.stop_training.setText("Stop &now" if state == "stopping" else "&Stop")
        acts.stop_training.setToolTip(
            "End the run at once, without saving" if state == "stopping" else
            "Stop after the current step; the weights so far are saved")

    def _confirm_stop_training(self) -> bool:
        if not self.training.active:
            return True
        buttons = QMessageBox.StandardButton
        box = QMessageBox(
            QMessageBox.Icon.Question, "Training under way",
            "A network is still training. Stop it and close? Its last checkpoint stays on "
            "disk.", buttons.Yes | buttons.Cancel, self)
        box.setDefaultButton(buttons.Cancel)

        def ended(state: str) -> None:  # nothing is left to stop: the question is moot
            if state == "idle":
                box.done(buttons.Yes)

        self.training.state_changed.connect(ended)
        try:
            return box.exec() == buttons.Yes
        finally:
            self.training.state_changed.disconnect(ended)
            box.deleteLater()

    def set_theme(self, name: str) -> None:
        self.theme = name
        self.tabs.set_colors(apply_theme(_app(), name))
        self.window_actions.set_icon_theme(name)
        self.window_actions.theme_actions[name].setChecked(True)
        self.settings.setValue("theme", name)

    # -- window ------------------------------------------------------------------
    def _restore(self) -> None:
        geometry = self.settings.value("window/geometry")
        state = self.settings.value("window/state")
        if geometry is not None:
            self.restoreGeometry(geometry)
        if state is not None and self.restoreState(state):
            self._default_docks = None

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        if self._default_docks is not None:
            # Only a shown window honours these: before, the docks' size hints win.
            sides, bottom = self._default_docks
            self.resizeDocks(sides, list(SIDE_WIDTHS), Qt.Orientation.Horizontal)
            self.resizeDocks(bottom, [BOTTOM_HEIGHT], Qt.Orientation.Vertical)
            self._default_docks = None

    def closeEvent(self, event: QCloseEvent) -> None:
        if any(job.running and job.blocks_close for job in self.findChildren(BackgroundJob)):
            self.show_message("Still exporting or evaluating: close when it has finished")
            event.ignore()  # quitting would cut a half-written export short
            return
        if not self._confirm_stop_training() or not self.documents.confirm_discard():
            event.ignore()
            return
        self.training.shutdown()
        self.generate_panel.stop()
        self.settings.setValue("window/geometry", self.saveGeometry())
        self.settings.setValue("window/state", self.saveState())
        if self.autosave is not None:
            self.autosave.stop()
        if self.session is not None:
            self.session.close()  # its pending data check must not edit a closed window's views
        event.accept()

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if mime.loom_paths(event.mimeData()):
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:
        paths = mime.loom_paths(event.mimeData())
        if paths:
            event.acceptProposedAction()
            self._open_dropped(paths)

    def _open_dropped(self, paths: list[str]) -> None:
        self.documents.open_path(paths[0])


Dialog = TypeVar("Dialog", bound=QDialog)


def _opened(dialog: Dialog) -> Dialog:
    """``dialog`` shown window-modal, and deleted once closed (it holds the document)."""
    dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    dialog.open()
    return dialog


def _app() -> QApplication:
    app = QApplication.instance()
    assert isinstance(app, QApplication)
    return app
