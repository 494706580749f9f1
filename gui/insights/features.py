"""The Features tab: what a convolutional network's layers learn.

The first convolution's filters as images, the feature maps of one probe sample for
the layer selected on the canvas, and (``TopInputsView``) the validation samples that
activate a chosen unit most. Records come from the run (``features`` events, each
epoch) or from weights at rest, computed on a worker thread.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from PySide6.QtWidgets import QSpinBox, QSplitter

from gui.insights.at_rest import AtRestView, column
from gui.insights.heatmap import (
    DIVERGING,
    HeatMap,
    mosaic,
    symmetric_levels,
    value_levels,
)
from gui.insights.top_inputs import TopInputsView, node_title
from gui.session import Session
from gui.training import TrainingController

FILTER_COLUMNS = 8


def _at_rest_features(model: Any) -> dict[str, Any]:
    from runtime.inspect.features import AT_REST, features_record, with_labels
    from runtime.run_data import data_network

    network = data_network(model.doc, model.training)
    x = model.data.val_x if model.data.has_val else model.data.train_x
    record = features_record(model.networks[network], x, AT_REST, model.doc, network)
    return with_labels(record, model.data)


class FeaturesView(AtRestView):
    """First-layer filters and the feature maps of the selected layer."""

    title = "Features"

    def __init__(self, controller: TrainingController) -> None:
        super().__init__(controller, _at_rest_features, "Computing filters and feature maps…")
        self.selected: str | None = None  # the canvas selection's node id
        self.sample = QSpinBox()
        self.sample.setPrefix("probe sample ")
        self.sample.setRange(1, 1)
        self.sample.setToolTip("Which of the fixed probe samples (the first validation "
                               "samples) the feature maps are shown for")
        self.compute_button.setToolTip("Compute filters and feature maps (of every layer "
                                       "with image-shaped outputs) from the newest trained "
                                       "weights, or fresh ones before any training")
        self.filters = HeatMap("First-layer filters", "weight", DIVERGING)
        self.maps = HeatMap("Feature maps", "activation")
        self.input = HeatMap("Probe sample", "input value", "CET-L1", with_bar=False)
        self.top = TopInputsView(self)
        self.sample.valueChanged.connect(lambda _v: self._draw_maps())
        self._lay_out()
        self.clear()

    def _lay_out(self) -> None:
        split = QSplitter()
        for widget, stretch in ((self.filters.widget, 3), (self.input.widget, 1),
                                (self.maps.widget, 4), (self.top, 4)):
            split.addWidget(widget)
            split.setStretchFactor(split.count() - 1, stretch)
        column(self, self.status, (self.sample, self.compute_button), 4).addWidget(split, 1)

    # -- Insight -----------------------------------------------------------------
    def applies(self) -> bool:
        """Every network: the top inputs of a unit work for any layer."""
        return self.session is not None

    def set_session(self, session: Session) -> None:
        super().set_session(session)
        session.changed.connect(self._show_parts)  # a Conv2d may be added or removed

    def has_conv(self) -> bool:
        return self.session is not None and any(
            n.type == "Conv2d" for net in self.session.doc.networks.values()
            for n in net.nodes())

    def _show_parts(self) -> None:
        """Filters and feature maps only where there is a convolution to show."""
        conv = self.has_conv()
        for widget in (self.filters.widget, self.input.widget, self.maps.widget, self.sample,
                       self.compute_button):
            widget.setVisible(conv)
        if not conv:
            # the top inputs below say how to use them (not said twice)
            self.status.setText("This network has no Conv2d, so there are no filters or "
                                "feature maps to show.")

    def clear(self) -> None:
        super().clear()
        self.filters.clear_image()
        self.maps.clear_image()
        self.input.clear_image()
        self.top.clear()
        self.status.setText("Filters and feature maps appear after the first epoch of a "
                            "run, or press “Show for trained weights”.")
        self._show_parts()
        self._enable()

    def on_event(self, event: dict[str, Any]) -> None:
        if event.get("type") == "features":
            self.show_record(event, f"epoch {event['epoch']} of the run")

    def on_selection(self, network: str, node_id: str | None) -> None:
        self.selected = node_id
        self.top.select(network, node_id)
        self._draw_maps()

    # -- drawing -----------------------------------------------------------------
    def _enable(self) -> None:
        super()._enable()
        self.top.enable(self.idle())

    def draw_record(self, record: dict[str, Any], source: str) -> None:
        self.record = record
        self.source = source
        self.sample.setRange(1, max(1, int(record.get("samples", 1))))
        self._draw_filters()
        self._draw_maps()

    def _title(self, node_id: str) -> str:
        network = self.record["network"] if self.record else "main"
        return node_title(self.session, network, node_id)

    def _draw_filters(self) -> None:
        found = self.record.get("filters") if self.record else None
        if not found:
            self.filters.clear_image()
            self.filters.set_title("No Conv2d in this network")
            return
        values = np.asarray(found["values"], dtype=np.float32)  # out × in × k × k
        out_c, in_c, k = found["shape"][0], found["shape"][1], found["shape"][2]
        levels = symmetric_levels(values)
        if found["rgb"]:
            tiles = 0.5 + 0.5 * values.transpose(0, 2, 3, 1) / levels[1]  # grey is zero
            what = "as colour (red, green, blue inputs; grey = 0)"
            self.filters.set_matrix(mosaic(tiles, min(FILTER_COLUMNS, len(tiles))), (0.0, 1.0))
        else:
            tiles = values.reshape(-1, k, k)  # one tile per (filter, input channel)
            shown_in = values.shape[1]
            columns = shown_in if shown_in > 1 else min(FILTER_COLUMNS, len(tiles))
            self.filters.set_matrix(mosaic(tiles, columns), levels, "weight")
            cut = f" (the first {shown_in} of {in_c})" if shown_in < in_c else ""
            what = (f"one row per filter, one tile per input channel{cut}" if in_c > 1
                    else "red: positive weights, blue: negative")
        more = f" (first {len(values)} of {out_c})" if len(values) < out_c else ""
        self.filters.set_title(f"Filters of {self._title(found['node'])}: {out_c} filters "
                               f"{k}×{k}{more}, {what}")

    def _shown_node(self) -> str | None:
        """The selected layer if it has maps in the record, else the first that has."""
        maps = self.record.get("maps", {}) if self.record else {}
        if self.selected in maps:
            return self.selected
        return next(iter(maps), None)

    def _draw_maps(self) -> None:
        if self.record is None:
            return
        index = self.sample.value() - 1
        self._draw_input(index)
        node = self._shown_node()
        note = self._selection_note(node)
        if node is None:
            self.maps.clear_image()
            self.maps.set_title("No layer with image-shaped outputs in this record")
            self._set_status(note)
            return
        entry = self.record["maps"][node]
        values = np.asarray(entry["values"][min(index, len(entry["values"]) - 1)],
                            dtype=np.float32)  # c × h × w
        self.maps.set_matrix(mosaic(values), value_levels(values), "activation")
        channels, (h, w) = entry["channels"], entry["size"]
        shown = f"channels 1–{len(values)} of {channels}" if len(values) < channels else \
            f"all {channels} channels"
        pooled = "" if values.shape[1:] == (h, w) else \
            f", averaged down from {h}×{w} to {values.shape[1]}×{values.shape[2]}"
        self.maps.set_title(f"Feature maps of {self._title(node)} for probe sample "
                            f"{index + 1}: {shown}, left to right{pooled}")
        self._set_status(note)

    def _draw_input(self, index: int) -> None:
        inputs = self.record.get("inputs") if self.record else None
        if not inputs:
            self.input.clear_image()
            return
        image = np.asarray(inputs[min(index, len(inputs) - 1)], dtype=np.float32)
        image = image[0] if image.shape[0] != 3 else image.transpose(1, 2, 0)
        levels = value_levels(image)
        if image.ndim == 3:
            image = (image - levels[0]) / (levels[1] - levels[0])
            levels = (0.0, 1.0)
        self.input.set_matrix(image, levels, "input value")
        labels = self.record.get("labels") if self.record else None
        label = f" (class {labels[index]})" if labels and index < len(labels) else ""
        self.input.set_title(f"Probe sample {index + 1}{label}")

    def _selection_note(self, shown: str | None) -> str:
        if self.selected is None or self.selected == shown:
            return ""
        title = self._title(self.selected)
        live = self.source.startswith("epoch")
        why = ("during a run only convolutions and poolings send their maps; press "
               "“Show for trained weights” after the run" if live else
               "its output is not image-shaped (channels × height × width)")
        return f" {title} has no feature maps here: {why}."

    def _set_status(self, note: str) -> None:
        self.status.setText(f"Showing {self.source}.{note}")
