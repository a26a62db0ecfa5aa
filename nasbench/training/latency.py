"""Latency: measured on this machine, estimated from a per-op lookup table, or recorded.

:func:`measure_latency_ms` times a network at batch size 1 (eval mode, no autograd, warm-up runs,
median of repeats, a fixed thread count). A :class:`LatencyTable` estimates the same number
without timing every network: it decomposes a network into its *leaf* modules (modules without
children) in execution order, profiles each distinct op once (an op is its type, configuration
and input shapes: :class:`OpKey`), and sums the table plus a constant per-network overhead
(the lookup-table models of ProxylessNAS, Cai et al. 2019, and FBNet, Wu et al. 2019).
Device models by name (measured, lookup table, recorded benchmark columns) are in
:mod:`nasbench.tables.latency_models`.

>>> import torch
>>> from torch import nn
>>> net = nn.Sequential(nn.Conv1d(1, 8, 3, padding=1), nn.ReLU(), nn.Conv1d(8, 8, 3, padding=1),
...                     nn.ReLU(), nn.AdaptiveAvgPool1d(1), nn.Flatten(), nn.Linear(8, 10))
>>> measure_latency_ms(net, (1, 40), repeats=5) > 0
True
>>> [key.op.rsplit(".", 1)[1] for key, _ in decompose(net, (1, 40))]
['Conv1d', 'ReLU', 'Conv1d', 'ReLU', 'AdaptiveAvgPool1d', 'Flatten', 'Linear']
>>> table = LatencyTable("toy", (1, 40), timing=Timing(repeats=5))
>>> len(table.profile(net)), len(table)  # the two ReLUs see the same input: profiled once
(6, 6)
>>> table.estimate(net) > 0
True

Limitations: only leaf modules are timed, so work done in a parent's own ``forward`` (the
elementwise sums of a cell, concatenations, reshapes between modules) is not in the table; it
lands in the fitted overhead, which is exact only where that work is the same for every network.
An op's key trusts ``extra_repr()`` to describe everything that changes its speed (modules with
an empty ``extra_repr`` are described by their public scalar attributes instead); leaves are
replayed on float zeros with their positional tensor inputs only.
"""

from __future__ import annotations

import copy
import itertools
import json
import logging
import statistics
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from os import PathLike
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from nasbench.core.errors import NasbenchError

log = logging.getLogger(__name__)

FORMAT_VERSION = 1
"""Space name -> shipped benchmark whose ``lat_<device>_ms`` columns serve as device profiles."""


# ---- measurement ---------------------------------------------------------------------------
@dataclass(frozen=True)
class Timing:
    """How latency is timed: torch's intra-op thread count during the runs, untimed warm-up runs,
    and timed repeats whose median is reported. Raises NasbenchError for ``threads < 1``,
    ``warmup < 0`` or ``repeats < 1``."""

    threads: int = 1
    warmup: int = 5
    repeats: int = 20

    def __post_init__(self) -> None:
        for name, least in (("threads", 1), ("warmup", 0), ("repeats", 1)):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < least:
                raise NasbenchError(f"latency {name} must be an integer >= {least}, got {value!r}")

    def time_ms(self, module: nn.Module, inputs: tuple[torch.Tensor, ...]) -> float:
        """Median wall time in ms of ``module(*inputs)`` in eval mode without autograd (see
        :func:`measure_latency_ms`); ``module`` must live on the inputs' device."""
        device = inputs[0].device if inputs else torch.device("cpu")
        where = device_of(module)
        if where is not None and where.type != device.type:
            raise NasbenchError(
                f"module is on {where} but latency is measured on {device}; "
                f"move it there with module.to({str(device)!r})"
            )
        was_training = module.training
        module.train(False)
        try:
            with torch.no_grad(), _threads(self.threads):
                return _median_ms(lambda: module(*inputs), device, self.warmup, self.repeats)
        finally:
            module.train(was_training)


@contextmanager
def _threads(n: int) -> Iterator[None]:
    """torch's intra-op thread count set to ``n``, and restored on exit. The setting is
    process-global: other Python threads of the process see it meanwhile."""
    old = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(old)


DEFAULT_TIMING = Timing()


def device_of(module: nn.Module) -> torch.device | None:
    """The device of the module's first parameter or buffer (``None``: it has neither)."""
    first = next(itertools.chain(module.parameters(), module.buffers()), None)
    return None if first is None else first.device


def _median_ms(
    call: Callable[[], object], device: torch.device, warmup: int, repeats: int
) -> float:
    """Median wall time of ``call`` in ms over ``repeats`` runs after ``warmup`` runs; on CUDA
    each run ends with a synchronise, so asynchronous kernels are counted."""
    sync = (lambda: torch.cuda.synchronize(device)) if device.type == "cuda" else (lambda: None)
    for _ in range(warmup):
        call()
    sync()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        call()
        sync()
        times.append(time.perf_counter() - start)
    return 1e3 * statistics.median(times)


def measure_latency_ms(
    module: nn.Module,
    input_shape: tuple[int, ...],
    *,
    device: str | torch.device = "cpu",
    threads: int = 1,
    warmup: int = 5,
    repeats: int = 20,
) -> float:
    """Median wall time in ms of one forward pass of ``module`` on zeros of shape
    ``(1, *input_shape)`` (batch size 1) in eval mode without autograd, after ``warmup`` runs.

    ``module`` must already live on ``device``. torch's thread count is set to ``threads`` for
    the duration and restored afterwards (a process-global setting: other Python threads of the
    process see it meanwhile); the training flag is restored too. Draws no randomness. Raises
    NasbenchError for a module on another device or for ``threads < 1``, ``warmup < 0``,
    ``repeats < 1``.
    """
    timing = Timing(threads, warmup, repeats)
    return timing.time_ms(module, (torch.zeros((1, *input_shape), device=device),))


# ---- decomposition into ops ----------------------------------------------------------------
@dataclass(frozen=True)
class OpKey:
    """What identifies an op in a lookup table: the leaf module's qualified type name, its
    configuration (``extra_repr()``) and the shapes of its tensor inputs (batch dimension 1
    included)."""

    op: str
    config: str
    inputs: tuple[tuple[int, ...], ...]

    def to_json(self) -> dict[str, Any]:
        return {"op": self.op, "config": self.config, "inputs": [list(s) for s in self.inputs]}

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> OpKey:
        return cls(
            str(raw["op"]), str(raw["config"]), tuple(tuple(map(int, s)) for s in raw["inputs"])
        )


def _config(module: nn.Module) -> str:
    text = module.extra_repr()
    if text:
        return text
    # no extra_repr (e.g. a space's own Zero op): its public scalar attributes describe it
    scalars = (bool, int, float, str, tuple)
    attrs = sorted(
        (k, v)
        for k, v in vars(module).items()
        if not k.startswith("_") and k != "training" and isinstance(v, scalars)
    )
    return ", ".join(f"{k}={v!r}" for k, v in attrs)


def decompose(
    module: nn.Module, input_shape: tuple[int, ...], device: str | torch.device = "cpu"
) -> list[tuple[OpKey, nn.Module]]:
    """Every call of a leaf module in one forward pass on zeros of shape ``(1, *input_shape)``,
    in execution order, with its :class:`OpKey` (a leaf called twice appears twice). Runs in eval
    mode without autograd; forward hooks are removed and the training flag restored afterwards.
    """
    calls: list[tuple[OpKey, nn.Module]] = []

    def hook(mod: nn.Module, inputs: tuple[Any, ...], _out: Any) -> None:
        shapes = tuple(tuple(t.shape) for t in inputs if isinstance(t, torch.Tensor))
        calls.append(
            (OpKey(f"{type(mod).__module__}.{type(mod).__qualname__}", _config(mod), shapes), mod)
        )

    leaves = [m for m in module.modules() if next(m.children(), None) is None]
    handles = [m.register_forward_hook(hook) for m in leaves]
    was_training = module.training
    module.train(False)
    try:
        with torch.no_grad():
            module(torch.zeros((1, *input_shape), device=device))
    finally:
        module.train(was_training)
        for handle in handles:
            handle.remove()
    return calls


# ---- the lookup table ----------------------------------------------------------------------
class LatencyTable:
    """Per-op latencies in ms for one (space, task input shape, device), built by profiling.

    Each distinct :class:`OpKey` is profiled once: the leaf is deep-copied out of the network
    (generic modules cannot always be rebuilt from their key), moved to ``device`` and timed
    alone with ``timing`` on zeros of its input shapes. An estimate is ``overhead_ms`` plus the
    table summed over a network's leaf calls; :meth:`calibrate` fits the overhead. Nothing here
    draws randomness. :meth:`save` / :meth:`load` write and read JSON at a path the caller names;
    the file records the device, torch version and timing settings.
    """

    def __init__(
        self,
        space: str,
        input_shape: tuple[int, ...],
        device: str = "cpu",
        timing: Timing = DEFAULT_TIMING,
    ) -> None:
        self.space = space
        self.input_shape = tuple(int(n) for n in input_shape)
        self.device = str(device)
        self.timing = timing
        self.torch_version = str(torch.__version__)
        self.overhead_ms = 0.0
        self.calibration_networks = 0
        self.ops: dict[OpKey, float] = {}

    def __len__(self) -> int:
        return len(self.ops)

    def _calls(
        self, module: nn.Module, input_shape: tuple[int, ...] | None
    ) -> tuple[list[OpKey], list[OpKey]]:
        """``module``'s leaf calls and the keys among them profiled now (each unseen op once)."""
        shape = self.input_shape if input_shape is None else tuple(input_shape)
        with _threads(self.timing.threads):  # the default count can stall on busy machines
            calls = decompose(module, shape, self.device)
        new: list[OpKey] = []
        for key, leaf in calls:
            if key not in self.ops:
                alone = copy.deepcopy(leaf).to(self.device)
                inputs = tuple(torch.zeros(s, device=self.device) for s in key.inputs)
                self.ops[key] = self.timing.time_ms(alone, inputs)
                new.append(key)
        return [key for key, _ in calls], new

    def profile(self, module: nn.Module, input_shape: tuple[int, ...] | None = None) -> list[OpKey]:
        """Profile the ops of ``module`` (on ``device``; input ``(1, *input_shape)``, default
        the table's) not yet in the table, each once; returns their keys in first-call order."""
        return self._calls(module, input_shape)[1]

    def ops_ms(self, module: nn.Module, input_shape: tuple[int, ...] | None = None) -> float:
        """The table summed over ``module``'s leaf calls (no overhead), profiling unseen ops."""
        return sum(self.ops[key] for key in self._calls(module, input_shape)[0])

    def estimate(self, module: nn.Module, input_shape: tuple[int, ...] | None = None) -> float:
        """Estimated latency in ms of ``module`` (on ``device``) at batch size 1:
        ``overhead_ms`` plus :meth:`ops_ms` (unseen ops are profiled and added first)."""
        return self.overhead_ms + self.ops_ms(module, input_shape)

    def calibrate(self, modules: Sequence[nn.Module]) -> float:
        """Fit ``overhead_ms`` on networks (on ``device``) measured whole at the table's input
        shape, and return it.

        The overhead is the constant ``c`` minimising ``sum_i (measured_i - table_i - c)^2``
        (least squares with the table's slope fixed at 1, so ``c`` is the mean residual). It
        stands for work no leaf sees (parents' forward code, elementwise sums, container calls)
        and is negative when ops timed alone run slower than inside a network.
        """
        if not modules:
            raise NasbenchError("calibrate needs at least one network")
        residuals = []
        for module in modules:
            table_ms = self.ops_ms(module)
            x = torch.zeros((1, *self.input_shape), device=self.device)
            residuals.append(self.timing.time_ms(module, (x,)) - table_ms)
        self.overhead_ms = float(np.mean(residuals))
        self.calibration_networks = len(modules)
        return self.overhead_ms

    def save(self, path: str | PathLike[str]) -> None:
        """Write the table as JSON to ``path`` (replaced atomically; the folder must exist)."""
        raw = {name: getattr(self, name) for name in _HEADER}
        raw["timing"] = asdict(self.timing)
        raw["ops"] = [{**key.to_json(), "ms": ms} for key, ms in self.ops.items()]
        target = Path(path)
        tmp = target.with_name(target.name + ".tmp")
        tmp.write_text(json.dumps({"format": FORMAT_VERSION, **raw}, indent=1))
        tmp.replace(target)

    @classmethod
    def load(cls, path: str | PathLike[str]) -> LatencyTable:
        """Read a table written by :meth:`save`; raises NasbenchError for a missing or malformed
        file."""
        where = f"latency table {str(path)!r}"
        try:
            raw = json.loads(Path(path).read_text())
        except (OSError, ValueError) as exc:
            raise NasbenchError(f"cannot read {where} ({exc})") from None
        if not isinstance(raw, dict) or raw.get("format") != FORMAT_VERSION:
            raise NasbenchError(f"{where} is not nasbench latency table format {FORMAT_VERSION}")
        try:
            table = cls(raw["space"], raw["input_shape"], raw["device"], Timing(**raw["timing"]))
            table.torch_version = str(raw["torch_version"])
            table.overhead_ms = float(raw["overhead_ms"])
            table.calibration_networks = int(raw["calibration_networks"])
            table.ops = {OpKey.from_json(op): float(op["ms"]) for op in raw["ops"]}
        except (KeyError, TypeError, ValueError) as exc:
            raise NasbenchError(f"{where} is malformed ({exc!r})") from None
        return table


_HEADER = ("space", "input_shape", "device", "torch_version", "overhead_ms", "calibration_networks")


# ---- latency models ------------------------------------------------------------------------
