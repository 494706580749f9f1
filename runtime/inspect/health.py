"""Health warnings: what is going wrong in a run, read from its telemetry, in plain words.

``HealthMonitor.feed(event)`` takes the run's events in order (``started``, ``step``,
``epoch``, ``activations``, ``failed``) and returns the warnings they raise for the
first time. Each names the network and, where one is to blame, the node. It needs
no torch and no Qt: the window, the command line and the tests share it.

The thresholds are deliberately far from what a healthy run shows (see
``tests/runtime/test_health.py``, which runs every gallery example): a warning is
worth reading only if it is rarely wrong.
"""

from __future__ import annotations

import math
import statistics
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from graph.document import Document

# Most units silent on every probe sample (64 of them). The probe overstates deadness
# (a unit active on 1 input in 30 is silent on all 64 about one time in nine), and a
# healthy layer can be sparse: gan_ring's generator keeps 50-59% of its second ReLU
# layer silent on its noise while it learns the ring. A layer killed by too high a
# learning rate loses 90-100% (the test's SGD at 5.0 on moons: 94% after one epoch).
DEAD_SHARE = 0.7
# A layer's gradient this many times smaller than the largest in its network, on
# VANISH_REPORTS step reports in a row: it barely learns.
VANISH_RATIO = 1e-4
VANISH_REPORTS = 5
# A gradient norm above this, on two step reports in a row, or one that is not finite.
EXPLODE_NORM = 1e4
# The loss (median of recent steps, or an epoch's mean) this much above where it began.
DIVERGE_FACTOR = 1.5
RECENT_STEPS = 5
# Still within 2% of the first epoch's loss after FLAT_EPOCHS epochs of FLAT_STEPS
# optimizer steps at least.
FLAT_SHARE = 0.02
FLAT_EPOCHS = 3
FLAT_STEPS = 30
# Over-fitting: the validation loss, as a mean over OVERFIT_WINDOW epochs, 20% above its
# lowest such mean, its lowest epoch OVERFIT_EPOCHS back at least, while the training loss
# (same means) fell and stays 10% below it. Averaging and 20% keep a small validation
# split's noise out: mlp_iris's 22 samples swing ±12% an epoch around a flat 0.15 for its
# last 70 epochs; 5-epoch means stay within 10% of their lowest.
OVERFIT_WINDOW = 5
OVERFIT_RISE = 0.20
OVERFIT_GAP = 0.10
OVERFIT_EPOCHS = 3

KINDS = ("dead_units", "vanishing_gradients", "exploding_gradients", "diverging", "flat",
         "overfitting", "nonfinite")


@dataclass(frozen=True)
class HealthWarning:
    """One warning: what (``kind``), where (network, node id or None), when (epoch)."""

    kind: str
    network: str
    node: str | None
    message: str
    epoch: int


@dataclass
class _Losses:
    """The loss history the loss checks read."""

    first_step: float | None = None
    recent: deque[float] = field(default_factory=lambda: deque(maxlen=RECENT_STEPS))
    steps: int = 0  # optimizer steps so far
    train: list[float] = field(default_factory=list)  # per epoch
    val: list[float] = field(default_factory=list)


class HealthMonitor:
    """Reads a run's events and says what looks wrong, each thing once."""

    def __init__(self, doc: Document | None = None) -> None:
        self.doc = doc
        self.reset()

    def reset(self, task: str = "") -> None:
        """Forget what was seen (a new run)."""
        self.task = task
        self.epoch = 0
        self.warnings: list[HealthWarning] = []
        self._seen: set[tuple[str, str, str | None]] = set()
        self._losses = _Losses()
        self._small: dict[str, int] = {}  # network -> step reports in a row with a tiny grad
        self._large: dict[str, int] = {}

    def feed(self, event: Mapping[str, Any]) -> list[HealthWarning]:
        """The warnings ``event`` raises that were not raised before."""
        kind = event.get("type")
        if kind == "started":
            self.reset(str(event.get("task", "")))
            return []
        self.epoch = int(event.get("epoch", self.epoch) or self.epoch)
        found: list[HealthWarning] = []
        if kind == "step":
            found += self._step(event)
        elif kind == "epoch":
            found += self._epoch(event)
        elif kind == "activations":
            found += self._activations(event)
        elif kind == "failed":
            found += self._failed(event)
        return [w for w in found if self._new(w)]

    def _new(self, warning: HealthWarning) -> bool:
        key = (warning.kind, warning.network, warning.node)
        if key in self._seen:
            return False
        self._seen.add(key)
        self.warnings.append(warning)
        return True

    def _warn(self, kind: str, network: str, node: str | None, message: str) -> HealthWarning:
        return HealthWarning(kind, network, node, message, self.epoch)

    # -- names --------------------------------------------------------------------
    def _main(self) -> str:
        if self.doc is None or not self.doc.training.networks:
            return "main"
        return next(iter(self.doc.training.networks))

    def _node_type(self, network: str, node_id: str) -> str | None:
        if self.doc is None or network not in self.doc.networks:
            return None
        net = self.doc.network(network)
        return net.node(node_id).type if node_id in net.graph else None

    def _title(self, network: str, node_id: str) -> str:
        """How the warning names a node: ``Linear 'fc1'``, as errors do."""
        if self.doc is None or network not in self.doc.networks:
            return f"node {node_id}"
        net = self.doc.network(network)
        if node_id not in net.graph:
            return f"node {node_id}"
        node = net.node(node_id)
        return f"{node.spec.display_name} '{node.label}'"

    def _frozen(self, network: str) -> list[str]:
        if self.doc is None or network not in self.doc.networks:
            return []
        return [n.id for n in self.doc.network(network).nodes()
                if n.spec.has_weights and n.params.get("trainable") is False]

    # -- checks -------------------------------------------------------------------
    def _step(self, event: Mapping[str, Any]) -> list[HealthWarning]:
        found = self._gradients(event.get("grad_norms") or {})
        loss = event.get("loss")
        if self.task == "gan" or not isinstance(loss, float) or not math.isfinite(loss):
            return found  # a GAN's losses chase each other: neither rising nor flat says much
        losses = self._losses
        if losses.first_step is None:
            losses.first_step = loss
        losses.recent.append(loss)
        losses.steps = (int(event["epoch"]) - 1) * int(event["steps"]) + int(event["step"])
        if len(losses.recent) == RECENT_STEPS and \
                self._above_start(statistics.median(losses.recent)):
            found.append(self._diverging())
        return found

    def _above_start(self, loss: float) -> bool:
        start = self._losses.first_step
        return start is not None and loss > DIVERGE_FACTOR * start + 1e-3

    def _diverging(self) -> HealthWarning:
        start = self._losses.first_step or 0.0
        return self._warn(
            "diverging", self._main(), None,
            f"The loss is rising: it is now higher than when training began ({start:.3g}). "
            "The learning rate is probably too high: try a tenth of it, or gradient "
            "clipping.")

    def _epoch(self, event: Mapping[str, Any]) -> list[HealthWarning]:
        if self.task == "gan":
            return []
        losses = self._losses
        train, val = event.get("train_loss"), event.get("val_loss")
        if not isinstance(train, float) or not math.isfinite(train):
            return []
        losses.train.append(train)
        found = []
        if self._above_start(train) and len(losses.train) > 1:
            found.append(self._diverging())
        flat = self._flat()
        if flat is not None:
            found.append(flat)
        if isinstance(val, float) and math.isfinite(val):
            losses.val.append(val)
            overfit = self._overfitting()
            if overfit is not None:
                found.append(overfit)
        return found

    def _flat(self) -> HealthWarning | None:
        losses = self._losses
        if len(losses.train) < FLAT_EPOCHS or losses.steps < FLAT_STEPS:
            return None
        first = losses.train[0]
        if min(losses.train) < first - FLAT_SHARE * abs(first):
            return None
        network = self._main()
        frozen = self._frozen(network)
        steps = f"after {losses.steps} steps"
        if frozen:
            names = ", ".join(self._title(network, n) for n in frozen)
            return self._warn("flat", network, frozen[0],
                              f"The loss has hardly changed {steps}, and {names} "
                              f"{'is' if len(frozen) == 1 else 'are'} frozen (Trainable "
                              "unticked): tick Trainable so those weights can learn.")
        return self._warn("flat", network, None,
                          f"The loss has hardly changed {steps}: the network is not learning. "
                          "The learning rate may be too low (try ten times higher), or the "
                          "targets may not fit the task.")

    def _overfitting(self) -> HealthWarning | None:
        losses = self._losses
        val, train = losses.val, losses.train[-len(losses.val):]
        if len(val) < OVERFIT_WINDOW + OVERFIT_EPOCHS:
            return None
        mean_val, mean_train = _means(val), _means(train)
        low = min(range(len(mean_val)), key=mean_val.__getitem__)
        best = min(range(len(val)), key=val.__getitem__)
        latest = len(val) - 1
        if latest - best < OVERFIT_EPOCHS or \
                mean_val[-1] <= (1 + OVERFIT_RISE) * mean_val[low]:
            return None
        if not (mean_train[-1] < mean_train[low]
                and mean_val[-1] > (1 + OVERFIT_GAP) * mean_train[-1]):
            return None  # the training loss must fall, and stay below the validation loss
        began = self.epoch - (latest - best) + 1
        return self._warn(
            "overfitting", self._main(), None,
            f"Over-fitting since epoch {began}: the validation loss, lowest at epoch "
            f"{began - 1} ({val[best]:.3g}), has risen to {mean_val[-1]:.3g} (mean of the "
            f"last {OVERFIT_WINDOW} epochs) while the training loss kept falling (now "
            f"{train[-1]:.3g}). The network is memorising the training samples: stop earlier "
            "(early stopping), add Dropout or weight decay, or use more data.")

    def _gradients(self, norms: dict[str, dict[str, float]]) -> list[HealthWarning]:
        found = []
        for network, per_node in norms.items():
            values = {n: v for n, v in per_node.items() if isinstance(v, float)}
            if not values:
                continue
            worst = max(values, key=lambda n: v if math.isfinite(v := values[n]) else math.inf)
            top = values[worst]
            large = not math.isfinite(top) or top > EXPLODE_NORM
            self._large[network] = self._large.get(network, 0) + 1 if large else 0
            if self._large[network] >= 2 or not math.isfinite(top):
                found.append(self._warn(
                    "exploding_gradients", network, worst,
                    f"Exploding gradients: the gradient at {self._title(network, worst)} is "
                    f"{_size(top)}. Lower the learning rate, add gradient clipping "
                    "(Training > Settings), or normalise the inputs."))
            found += self._vanishing(network, values, top)
        return found

    def _vanishing(self, network: str, values: dict[str, float],
                   top: float) -> list[HealthWarning]:
        if len(values) < 2 or not (math.isfinite(top) and top > 0):
            return []
        low = min(values, key=values.__getitem__)
        tiny = values[low] < VANISH_RATIO * top
        self._small[network] = self._small.get(network, 0) + 1 if tiny else 0
        if self._small[network] < VANISH_REPORTS:
            return []
        title = self._title(network, low)
        if values[low] == 0:
            message = (f"Vanishing gradients: {title} gets no gradient at all, so it does not "
                       "learn. Often every unit after it is silent (dead ReLUs): lower the "
                       "learning rate, or use LeakyReLU.")
        else:
            ratio = round(math.log10(top / values[low]))
            message = (f"Vanishing gradients: {title} gets a gradient about 10^{ratio} times "
                       "smaller than the largest, so it barely learns. Sigmoid or Tanh between "
                       "many layers shrink gradients: try ReLU, BatchNorm or LayerNorm, or "
                       "skip connections.")
        return [self._warn("vanishing_gradients", network, low, message)]

    def _activations(self, event: Mapping[str, Any]) -> list[HealthWarning]:
        found = []
        for network, nodes in (event.get("networks") or {}).items():
            for node_id, summary in nodes.items():  # in the order the nodes ran
                if summary.get("nonfinite"):
                    found.append(self._nonfinite(network, node_id))
                    break
            for node_id, summary in nodes.items():
                dead = summary.get("dead") or 0.0
                if self._node_type(network, node_id) == "ReLU" and dead > DEAD_SHARE:
                    found.append(self._warn(
                        "dead_units", network, node_id,
                        f"{dead:.0%} of the units of {self._title(network, node_id)} are "
                        "never active (their output is 0 for every probe sample): they no "
                        "longer learn (dead ReLUs). Lower the learning rate, or use LeakyReLU "
                        "or GELU."))
        return found

    def _nonfinite(self, network: str, node_id: str) -> HealthWarning:
        return self._warn(
            "nonfinite", network, node_id,
            f"{self._title(network, node_id)} produced NaN or infinite values, the first "
            "layer to do so. Lower the learning rate, add gradient clipping, or normalise "
            "the inputs.")

    def _failed(self, event: Mapping[str, Any]) -> list[HealthWarning]:
        node, network = event.get("node"), event.get("network")
        if "NaN" not in str(event.get("message", "")):
            return []
        if isinstance(node, str) and isinstance(network, str):
            return [self._nonfinite(network, node)]
        return [self._warn("nonfinite", self._main(), None,
                           "The loss became NaN or infinite. Lower the learning rate, add "
                           "gradient clipping, or normalise the inputs.")]


def _means(values: list[float]) -> list[float]:
    """Means over each ``OVERFIT_WINDOW`` consecutive values (fewer at the start)."""
    return [statistics.fmean(values[max(0, i + 1 - OVERFIT_WINDOW):i + 1])
            for i in range(len(values))]


def _size(value: float) -> str:
    return "not finite" if not math.isfinite(value) else f"{value:.3g}"
