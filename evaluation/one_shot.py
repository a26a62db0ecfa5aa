"""What the one-shot evaluators (``weight_sharing``, ``hypernetwork``) share.

Both train one model per task settings from fixed streams (seed :data:`SUPERNET_SEED`, never a
run's seed), so every run and every strategy of a task scores an architecture against the same
trained weights and the same settings give bit-identical answers. This module holds the parts
that do not depend on how a path's weights are obtained:

- :class:`OneShotBase`: the trained model's per-process and on-disk cache (keyed by a hash of
  every setting it depends on), charging the training cost to a run's first evaluation, batch-norm
  recalibration per path (Bender et al. ICML 2018, Sec. 3; Guo et al. ECCV 2020, Sec. 3.3) and
  the measurement of one path (val and test accuracy, exact sparsity and counts);
- :func:`path_stats`: the prunable weights and MACs one path actually reads;
- :func:`rank_correlation`: Kendall's tau against reference accuracies (Bender et al., Fig. 3).

**Cost** is simulated (:mod:`nasbench.training.simcost`), so runs are bit-identical, wall clock
aside:

- training: ``epochs run x train samples x TRAIN_PASSES (3) x mean MACs`` of
  :data:`COST_PATHS` paths sampled uniformly from a fixed stream (the paths training samples
  are uniform too), plus :meth:`OneShotBase._generator_macs` per step (a hypernetwork's weight
  generation), divided by :data:`~nasbench.training.simcost.MACS_PER_S`. It is charged to a run's
  first evaluation and noted in ``extra`` as ``supernet_cost_s``; the measured training time goes to
  ``supernet_wall_s``, which ``nasbench compare`` ignores like every ``*_wall_s`` column;
- each evaluation: one forward (pass 1) of the path's MACs per batch-norm recalibration sample
  and validation sample, plus one weight generation (the test set is not charged). The runner
  records its measured time as ``eval_wall_s``.

A subclass supplies :meth:`OneShotBase._train` (train ``self._model`` in place from the fixed
streams, return :meth:`OneShotBase._result_record` of the result), :meth:`OneShotBase._network`
(the network ``forward(x, weights)`` that runs an architecture's path with its weights) and,
if it makes weights, :meth:`OneShotBase._generator_macs`.
"""

from __future__ import annotations

import hashlib
import inspect
import json
import logging
import math
import threading
import warnings
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
from scipy import stats
from torch import nn

from nasbench.core.caches import check_folder, rebuilding, replace_atomically
from nasbench.core.errors import NasbenchError
from nasbench.core.evaluator import Evaluator
from nasbench.core.params import param
from nasbench.core.seeding import role_rng
from nasbench.core.space import SearchSpace
from nasbench.core.supernet import Supernet, Weights, path_weights
from nasbench.core.types import Architecture, Measurement, Status
from nasbench.training.pruning import prunable
from nasbench.training.simcost import FORWARD_PASSES, TRAIN_PASSES, counting, training_cost_s
from nasbench.training.trainer import TrainResult, accuracy, isolated, steps_per_epoch

from .trained import TrainingBase

log = logging.getLogger(__name__)

SUPERNET_SEED = 0
"""The seed of every one-shot stream: fixed, so the trained model is part of the benchmark."""
FORMAT = 1  # bump when the cached files or the training procedure change
COST_PATHS = 32
"""Uniform paths (stream ``"supernet", "cost_paths"`` of :data:`SUPERNET_SEED`) whose mean MACs
price a training sample."""


@dataclass(frozen=True)
class TrainedSupernet:
    """What one-shot training produced (the weights live in the cache beside it).

    ``cost_s`` is the simulated training cost (seconds, module docstring), ``wall_s`` the
    measured training time (:attr:`TrainResult.cost_s`; for a cache file written before costs
    were simulated, the ``cost_s`` it holds); ``sparsity`` the measured fraction of zeros among
    all the trained model's prunable weights."""

    key: str
    cost_s: float
    status: Status
    sparsity: float
    train_loss: tuple[float, ...]
    message: str = ""
    wall_s: float = math.nan


_CACHE: dict[str, tuple[TrainedSupernet, dict[str, torch.Tensor]]] = {}
_LOCK = threading.Lock()


def clear_supernet_cache() -> None:
    """Forget the one-shot models trained in this process (files in a ``cache_dir`` stay)."""
    with _LOCK:
        _CACHE.clear()


class PathNet(nn.Module):
    """A ``forward(x, weights)`` network as a plain ``forward(x)`` model running the fixed path
    ``weights`` (what :func:`~nasbench.training.trainer.accuracy` measures)."""

    def __init__(self, net: nn.Module, weights: Weights) -> None:
        super().__init__()
        self.net, self.weights = net, weights

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x, self.weights)


@dataclass(frozen=True)
class PathStats:
    """The prunable weights one path reads and the MACs it runs (batch size 1)."""

    weights: int  # prunable weight elements the path reads
    zeros: int  # of which exactly zero
    macs: int  # dense conv + linear MACs
    effective_macs: int  # each layer's MACs scaled by its density


def path_stats(net: nn.Module, weights: Weights, input_shape: tuple[int, ...]) -> PathStats:
    """Count the prunable weights and MACs of the path ``weights`` selects, exactly, from one
    forward pass ``net(zeros (1, *input_shape), weights)`` in eval mode (the training flag is
    restored). ``net`` is a supernet or anything with its ``forward(x, weights)``.

    Every conv and linear call is intercepted (:class:`nasbench.training.simcost.MacTally`) with the
    weight tensor it uses, so sliced shared tensors count only their used part; each tensor is
    assumed to be used once per forward (true of every built-in supernet: the counts equal those
    of the stand-alone network).
    """
    device = next(net.parameters()).device
    with counting(net) as tally:
        net(torch.zeros((1, *input_shape), device=device), weights)
    return PathStats(tally.weights, tally.zeros, tally.macs, round(tally.effective))


class OneShotBase(TrainingBase):
    """Cache, cost, recalibration and measurement of a one-shot evaluator (module docstring).

    Parameters: :class:`~.trained.TrainingBase`'s plus ``bn_batches`` and ``cache_dir``. A
    subclass's ``__post_init__`` sets ``self._net`` (the space's supernet, whose batch norms are
    recalibrated) and ``self._model`` (the module trained and cached: the supernet itself, or a
    module holding it), then calls :meth:`_finish_init`. ``name`` names the evaluator in error
    messages.
    """

    name = "one_shot"
    _net: Supernet
    _model: nn.Module

    bn_batches: int = param(10, ge=0)
    cache_dir: str | None = param(None, doc="a folder for trained models (str or path)")

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.cache_dir is not None:  # a file there: one line now, not a failure after training
            check_folder(self.cache_dir, f"{self.name} cache_dir")
        self.recipe = replace(self.recipe, epochs=self.epochs)
        self.fidelities = (float(self.epochs),)
        self._dev = torch.device(self.device)
        self._record: TrainedSupernet | None = None
        self._trained_buffers: dict[str, torch.Tensor] = {}
        self._charged = False
        self._batches: list[torch.Tensor] | None = None
        self._path_macs: float | None = None

    def _finish_init(self) -> None:
        self.key = settings_key(self)

    # ---- what a subclass supplies -----------------------------------------------------------
    def _train(self) -> tuple[TrainedSupernet, dict[str, torch.Tensor]]:
        """Train ``self._model`` from the fixed streams; its record (:meth:`_result_record`) and CPU
        state dict."""
        raise NotImplementedError

    def _generator_macs(self) -> float:
        """MACs of generating a path's weights once (0: the weights are stored, not made)."""
        return 0.0

    def _network(self, arch: Architecture) -> nn.Module:
        """The network ``forward(x, weights)`` that runs ``arch``'s path with its weights."""
        raise NotImplementedError

    def extra_settings(self) -> dict[str, Any]:
        """Settings beyond the shared ones that the trained model depends on (JSON-ready)."""
        return {}

    # ---- simulated cost ---------------------------------------------------------------------
    def mean_path_macs(self) -> float:
        """Mean forward MACs per sample (:func:`path_stats`) of :data:`COST_PATHS` paths sampled
        uniformly from a fixed stream: the price of a training sample (computed once)."""
        if self._path_macs is None:
            rng = role_rng(SUPERNET_SEED, "supernet", "cost_paths")
            device = next(self._net.parameters()).device
            paths = [path_weights(self.space, self.space.sample(rng), device)
                     for _ in range(COST_PATHS)]  # fmt: skip
            with isolated(1, device, SUPERNET_SEED):  # one thread: batch-1 forwards are quicker
                macs = [path_stats(self._net, w, self.task.input_shape).macs for w in paths]
            self._path_macs = sum(macs) / len(macs)
        return self._path_macs

    def training_cost_s(self, epochs_run: int) -> float:
        """Simulated seconds of ``epochs_run`` training epochs (module docstring); draws
        nothing from the run's streams."""
        n, size = len(self.data.train.y), self.recipe.batch_size
        per_epoch = steps_per_epoch(n, size)
        samples = epochs_run * min(n, per_epoch * size)
        return training_cost_s(self.mean_path_macs(), samples, TRAIN_PASSES) + training_cost_s(
            self._generator_macs(), epochs_run * per_epoch, TRAIN_PASSES
        )

    def evaluation_cost_s(self, path_macs: int) -> float:
        """Simulated seconds of one evaluation of a path of ``path_macs`` MACs: batch-norm
        recalibration and validation forwards, plus one weight generation."""
        recalibration = self.bn_batches * self.recipe.batch_size
        samples = recalibration + len(self.data.val.y)
        return training_cost_s(path_macs, samples, FORWARD_PASSES) + training_cost_s(
            self._generator_macs(), 1, FORWARD_PASSES
        )

    def _result_record(self, result: TrainResult) -> TrainedSupernet:
        """The record of a finished training: simulated cost, measured time, outcome."""
        return TrainedSupernet(self.key, self.training_cost_s(result.epochs_run), result.status,
                               result.sparsity, result.train_loss, result.message,
                               wall_s=result.cost_s)  # fmt: skip

    # ---- the trained model ------------------------------------------------------------------
    @property
    def supernet(self) -> TrainedSupernet:
        """The trained model's record; trains (or loads) it on first use."""
        if self._record is None:
            with _LOCK:
                cached = _CACHE.get(self.key) or self._load()
                if cached is None:
                    cached = self._train()
                    self._save(*cached)
                _CACHE[self.key] = cached
            record, state = cached
            self._model.load_state_dict(state)
            self._model.to(self._dev)
            self._trained_buffers = {k: v.clone() for k, v in self._net.named_buffers()}
            self._record = record
        return self._record

    def replay(self, arch: Architecture, fidelity: float, measurement: Measurement) -> None:
        """A resumed run's journaled answer: the one-shot training was charged with the run's
        first query, so later queries are not charged again (nothing is trained here)."""
        self._charged = True

    def _state(self) -> dict[str, torch.Tensor]:
        return {k: v.detach().cpu().clone() for k, v in self._model.state_dict().items()}

    def _paths(self) -> tuple[Path, Path] | None:
        if self.cache_dir is None:
            return None
        root = Path(self.cache_dir)
        return root / f"{self.key}.pt", root / f"{self.key}.json"

    def _save(self, record: TrainedSupernet, state: dict[str, torch.Tensor]) -> None:
        """Write weights (and the pruning masks, nonzero entries of prunable weights) and the
        record; each file is written whole under a name unique to this call and renamed
        (:func:`nasbench.core.caches.replace_atomically`), the record last. A folder that cannot be
        written only costs a later process the training (one warning line)."""
        paths = self._paths()
        if paths is None:
            return
        pt, js = paths
        names = {id(p): n for n, p in self._model.named_parameters()}
        masks = {names[id(w)]: state[names[id(w)]] != 0 for w in prunable(self._model)}
        info = {**asdict(record), "status": record.status.value, "settings": settings(self)}
        try:
            pt.parent.mkdir(parents=True, exist_ok=True)
            replace_atomically(pt, lambda tmp: torch.save({"state": state, "masks": masks}, tmp))
            replace_atomically(js, lambda tmp: tmp.write_text(json.dumps(info, indent=1)))
        except OSError as exc:
            log.warning("cannot store the trained %s in %s: %s", self.name, pt.parent, exc)

    def _load(self) -> tuple[TrainedSupernet, dict[str, torch.Tensor]] | None:
        """The cached model of these settings, or ``None`` to train it: when no file is there
        (or only the weights, as a process leaves them when it stops between the two renames),
        and when a file is corrupt, truncated or foreign (one warning line,
        :func:`nasbench.core.caches.rebuilding`; the training that follows replaces both files)."""
        paths = self._paths()
        if paths is None or not paths[1].exists():
            return None
        pt, js = paths
        found = self._read(pt, js)
        if isinstance(found, str):
            rebuilding(js if found.startswith("record") else pt, found)
            return None
        return found

    def _read(self, pt: Path, js: Path) -> tuple[TrainedSupernet, dict[str, torch.Tensor]] | str:
        """The cached record and weights, or what is wrong with them (a text starting with
        ``record`` when the JSON file is at fault, else the weights file is). Loads tensors
        only (``torch.load(weights_only=True)``): a file never runs code."""
        try:
            info = json.loads(js.read_text())
            # the cost is recomputed (a function of the settings and the epochs run); files
            # written before costs were simulated hold the measured time as cost_s, no wall_s
            losses = tuple(float(v) for v in info["train_loss"])
            status = Status(info["status"])
            sparsity, message = float(info["sparsity"]), str(info.get("message", ""))
            wall_s = float(info.get("wall_s", info["cost_s"]))
            stored = info["settings"]
        except Exception as exc:  # unreadable JSON or missing/mistyped fields: all mean rebuild
            return f"record is unreadable or malformed ({type(exc).__name__}: {exc})"
        if _key(stored) != self.key:
            return "record holds other settings than its name's hash (a foreign file)"
        if not pt.is_file():
            return "weights are missing"
        try:
            with warnings.catch_warnings():  # torch's notes on a foreign pickle: ours is the line
                warnings.simplefilter("ignore")
                saved = torch.load(pt, map_location="cpu", weights_only=True)
        except Exception as exc:  # truncated, not a torch file, or holds more than tensors
            return f"weights are unreadable ({type(exc).__name__}: {exc})"
        state = saved.get("state") if isinstance(saved, dict) else None
        expected = self._model.state_dict()
        if not isinstance(state, dict) or not all(
            isinstance(v, torch.Tensor) for v in state.values()
        ):
            return "weights are not a nasbench state dict"
        if set(state) != set(expected) or any(
            state[k].shape != v.shape or state[k].dtype != v.dtype for k, v in expected.items()
        ):
            return "weights do not match the model (other names, shapes or dtypes)"
        record = TrainedSupernet(self.key, self.training_cost_s(len(losses)), status, sparsity,
                                 losses, message, wall_s)  # fmt: skip
        return record, state

    # ---- evaluation -------------------------------------------------------------------------
    def evaluate(
        self, arch: Architecture, fidelity: float, rng: np.random.Generator
    ) -> Measurement:
        """Run ``arch``'s path with its trained weights, recalibrate batch norm, measure; draws
        nothing from ``rng``. Raises NasbenchError when ``fidelity`` is not the training epochs
        or ``arch`` is not in the space."""
        if fidelity not in self.fidelities:
            raise NasbenchError(
                f"{self.name} answers fidelity {self.epochs} (its training epochs) only, "
                f"got {fidelity}"
            )
        weights = path_weights(self.space, arch, self._dev)
        record = self.supernet
        extra: tuple[tuple[str, float], ...] = ()
        charge = 0.0
        if not self._charged:  # one-shot training is charged to the run's first query
            self._charged = True
            charge = record.cost_s
            extra = (("supernet_cost_s", record.cost_s), ("supernet_wall_s", record.wall_s))
        prof = self.profile(arch)
        if record.status is Status.FAILED:
            return Measurement(math.nan, math.nan, charge, Status.FAILED, math.nan, prof.latency_ms,
                               prof.params, macs=prof.macs, extra=extra)  # fmt: skip
        with isolated(1, self._dev, SUPERNET_SEED):
            net = self._network(arch)
            model = PathNet(net, weights)
            self.recalibrate(weights, net)
            val_acc = accuracy(model, *self._split("val"))
            test_acc = accuracy(model, *self._split("test"))
            counted = path_stats(net, weights, self.task.input_shape)
        return Measurement(
            val_acc=val_acc,
            test_acc=test_acc,
            cost_s=charge + self.evaluation_cost_s(counted.macs),
            status=Status.OK,
            sparsity=counted.zeros / counted.weights if counted.weights else 0.0,
            latency_ms=prof.latency_ms,
            params=prof.params,
            nonzero_params=prof.params - counted.zeros,
            macs=prof.macs,
            effective_macs=counted.effective_macs,
            curve=(val_acc,),
            extra=extra,
        )

    def recalibrate(self, weights: Weights, net: nn.Module | None = None) -> None:
        """Restore the supernet's batch-norm statistics of training, then (``bn_batches > 0``)
        reset them and recompute them for the path as a cumulative average (momentum ``None``)
        over ``bn_batches`` fixed training batches of ``net(x, weights)`` (default: the
        supernet), in train mode without gradients."""
        with torch.no_grad():
            for name, buffer in self._net.named_buffers():
                buffer.copy_(self._trained_buffers[name])
        if self.bn_batches == 0:
            return
        run = self._net if net is None else net
        norms = [m for m in self._net.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
        momenta = [m.momentum for m in norms]
        for m in norms:
            m.reset_running_stats()
            m.momentum = None
        run.train(True)
        try:
            with torch.no_grad():
                for x in self._calibration_batches():
                    run(x, weights)
        finally:
            run.train(False)
            for m, momentum in zip(norms, momenta, strict=True):
                m.momentum = momentum

    def _calibration_batches(self) -> list[torch.Tensor]:
        """``bn_batches`` batches of the recipe's size from a fixed shuffle of the training split
        (the same for every architecture: common random numbers)."""
        if self._batches is None:
            x = np.asarray(self.data.train.x)
            n, size = len(x), self.recipe.batch_size
            rng = role_rng(SUPERNET_SEED, "supernet", "bn_batches")
            rounds = -(-self.bn_batches * size // n)  # permutations needed to fill the batches
            order = np.concatenate([rng.permutation(n) for _ in range(rounds)])
            chosen = torch.as_tensor(x[order[: self.bn_batches * size]], dtype=torch.float32)
            self._batches = list(chosen.to(self._dev).split(size))
        return self._batches

    def _split(self, name: str) -> tuple[torch.Tensor, torch.Tensor]:
        split = getattr(self.data, name)
        x = torch.as_tensor(np.asarray(split.x), dtype=torch.float32, device=self._dev)
        return x, torch.as_tensor(np.asarray(split.y), dtype=torch.long, device=self._dev)


def _space_params(space: SearchSpace) -> dict[str, Any]:
    """The space's constructor parameters as stored attributes (or its ``config``'s)."""
    out = {}
    for name in list(inspect.signature(type(space).__init__).parameters)[1:]:
        value = getattr(space, name, getattr(getattr(space, "config", None), name, None))
        out[name] = json.loads(json.dumps(value, default=str))
    return out


def settings(ev: OneShotBase) -> dict[str, Any]:
    """Everything the trained model depends on (JSON-ready)."""
    return {
        "format": FORMAT,
        "seed": SUPERNET_SEED,
        "space": ev.space.name,
        "space_params": _space_params(ev.space),
        "decisions": [[d.name, list(d.choices)] for d in ev.space.decisions()],
        "shapes": {k: list(v.shape) for k, v in ev._model.state_dict().items()},
        "dataset": ev.dataset,
        "task": [list(ev.task.input_shape), ev.task.num_classes, ev.task.name],
        "sparsity": ev.sparsity,
        "recipe": {k: str(v) if isinstance(v, str) else v for k, v in asdict(ev.recipe).items()},
        "device": ev._dev.type,
        **ev.extra_settings(),
    }


def settings_key(ev: OneShotBase) -> str:
    """The cache key of ``ev``'s trained model: a hash of :func:`settings`."""
    return _key(settings(ev))


def _key(stored: Any) -> str:
    """The hash of a settings dict (as :func:`settings` makes it or a record file holds it)."""
    text = json.dumps(stored, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:20]


def rank_correlation(
    evaluator: Evaluator, archs: Sequence[Architecture], reference_accs: Sequence[float]
) -> float:
    """Kendall's tau between ``evaluator``'s validation accuracy of ``archs`` (at its default
    fidelity; rng role ``"rank_correlation"`` of seed 0) and ``reference_accs`` (e.g. accuracy
    after stand-alone training): how well one-shot weights rank architectures (Bender et al.,
    Fig. 3). Raises NasbenchError for mismatched lengths or fewer than two architectures."""
    if len(archs) != len(reference_accs) or len(archs) < 2:
        raise NasbenchError(
            f"rank_correlation needs two or more archs and one reference accuracy each, got "
            f"{len(archs)} and {len(reference_accs)}"
        )
    rng = role_rng(0, "rank_correlation")
    scores = [evaluator.evaluate(a, evaluator.default_fidelity, rng).val_acc for a in archs]
    return float(stats.kendalltau(scores, list(reference_accs)).statistic)
