"""Latency models: the latency of an architecture on a named device, for budgets and evaluators.

``latency_model(device, space)`` gives one of:

- ``"cpu"`` (or ``"cuda"``): :class:`MeasuredLatency`, measured on this machine
  (:func:`nasbench.training.latency.measure_latency_ms`: batch 1, warm-up, median, fixed threads);
- ``"lut:cpu"``: :class:`LookupTableLatency`, the per-op lookup table of
  :class:`nasbench.training.latency.LatencyTable` (each distinct op profiled once);
- a recorded device of a benchmark table (for ``nb201`` every ``lat_<device>_ms`` column of the
  NAS-Bench-201 table: ``pixel3``, ``raspi4``, ``eyeriss``, ...): :class:`RecordedLatency`.

>>> from nasbench.core.registry import spaces
>>> from nasbench.core.types import Task
>>> nb201 = spaces.create("nb201")
>>> "pixel3" in latency_devices(nb201)
True
>>> arch = nb201.parse("|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|"
...                    "+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|")  # index 6111
>>> round(latency_model("pixel3", nb201).latency_ms(arch, None, Task((3, 32, 32), 10)), 2)
23.58
"""

from __future__ import annotations

import copy
import hashlib
import json
import logging
import math
import re
from os import PathLike
from pathlib import Path
from typing import Protocol, runtime_checkable

import torch
from torch import nn

from nasbench.core.caches import check_folder, rebuilding, replace_atomically
from nasbench.core.errors import NasbenchError
from nasbench.core.registry import constructor_params
from nasbench.core.seeding import role_rng
from nasbench.core.space import SearchSpace
from nasbench.core.tasks import task_for
from nasbench.core.types import Architecture, Task
from nasbench.tables.benchmarks import load_benchmark
from nasbench.training.latency import DEFAULT_TIMING, LatencyTable, Timing, device_of

log = logging.getLogger(__name__)

DEVICE_TABLES: dict[str, str] = {"nb201": "nb201-cifar10"}
"""Spaces whose benchmark table records latencies per device."""


@runtime_checkable
class LatencyModel(Protocol):
    """A device profile: the latency in ms of an architecture built for a task."""

    device: str

    def latency_ms(self, arch: Architecture, module: nn.Module | None, task: Task) -> float:
        """Latency in ms at batch size 1 of ``arch`` built for ``task``. ``module`` is that
        network (as ``space.build`` returns it, on the CPU) or ``None``: models that time a
        network then build one. Raises NasbenchError for an architecture or task it cannot
        answer."""
        ...


_BUILD_SEED = 0  # weights do not change timing: networks a model builds itself use fixed streams


def _network(
    space: SearchSpace, arch: Architecture, module: nn.Module | None, task: Task, device: str
) -> nn.Module:
    """``module`` (or, for ``None``, the network the space builds) on ``device``; a module on
    another device is copied there, so the caller's network never moves."""
    if module is None:
        module = space.build(arch, task, role_rng(_BUILD_SEED, "latency_build"))
    where = device_of(module)
    if where is not None and where.type != torch.device(device).type:
        module = copy.deepcopy(module)
    return module.to(device)


class MeasuredLatency:
    """Measures each network on this machine (:func:`measure_latency_ms` with ``timing``)."""

    def __init__(
        self, space: SearchSpace, device: str = "cpu", timing: Timing = DEFAULT_TIMING
    ) -> None:
        self.space, self.device, self.timing = space, device, timing

    def latency_ms(self, arch: Architecture, module: nn.Module | None, task: Task) -> float:
        net = _network(self.space, arch, module, task, self.device)
        x = torch.zeros((1, *task.input_shape), device=self.device)
        return self.timing.time_ms(net, (x,))


class LookupTableLatency:
    """Estimates from one :class:`LatencyTable` per task input shape, built on first use.

    A new table is calibrated on ``calibration`` architectures sampled from the space with a
    fixed stream (seed 0, role ``"latency_calibration"``), so every run calibrates on the same
    networks. With ``table_dir`` (created if missing) a table is loaded from, and saved back to
    (after it grows),
    ``<table_dir>/<space>-<hash of its parameters>-<shape>-<device>.json``; a stored table
    recorded with another torch version or timing is rebuilt. A stored table that is corrupt,
    truncated or foreign (another space, shape or device; a NaN or negative latency) is reported
    in one warning line and rebuilt (:mod:`nasbench.core.caches`); a ``table_dir`` that is a file
    raises NasbenchError.
    """

    def __init__(
        self,
        space: SearchSpace,
        device: str = "cpu",
        timing: Timing = DEFAULT_TIMING,
        calibration: int = 5,
        table_dir: str | PathLike[str] | None = None,
    ) -> None:
        if calibration < 1:
            raise NasbenchError(f"calibration needs at least 1 network, got {calibration}")
        self.space, self.device, self.timing = space, device, timing
        self.calibration = calibration
        self.table_dir = None if table_dir is None else check_folder(table_dir, "table_dir")
        self._tables: dict[tuple[int, ...], LatencyTable] = {}

    @property
    def label(self) -> str:
        """The space's name and constructor parameters: tables of a shrunk network (other
        parameters) are kept apart, since their calibrated overhead differs."""
        params = {k: getattr(self.space, k, None) for k in constructor_params(type(self.space))}
        return f"{self.space.name}{json.dumps(params, sort_keys=True, default=str)}"

    def _path(self, shape: tuple[int, ...]) -> Path | None:
        if self.table_dir is None:
            return None
        digest = hashlib.sha256(self.label.encode()).hexdigest()[:8]
        name = f"{self.space.name}-{digest}-{'x'.join(map(str, shape))}-{self.device}"
        return self.table_dir / (re.sub(r"[^A-Za-z0-9_.-]", "_", name) + ".json")

    def table(self, task: Task) -> LatencyTable:
        """The table for ``task``'s input shape (loaded, or built and calibrated now)."""
        shape = task.input_shape
        if shape in self._tables:
            return self._tables[shape]
        path = self._path(shape)
        if path is not None and path.exists():
            stored = self._stored(path, shape)
            if stored is not None:
                self._tables[shape] = stored
                return stored
        table = LatencyTable(self.label, shape, self.device, self.timing)
        rng = role_rng(_BUILD_SEED, "latency_calibration")
        archs = [self.space.sample(rng) for _ in range(self.calibration)]
        table.calibrate([self.space.build(a, task, rng).to(self.device) for a in archs])
        self._tables[shape] = table
        if path is not None:
            self._save(table, path)
        return table

    def _stored(self, path: Path, shape: tuple[int, ...]) -> LatencyTable | None:
        """The table stored at ``path`` when it is this model's; ``None`` (to rebuild it) when
        it was recorded with another torch version or timing (a note at INFO level), or is
        corrupt, truncated or foreign (one warning line,
        :func:`nasbench.core.caches.rebuilding`)."""
        try:
            table = LatencyTable.load(path) if path.is_file() else None
        except NasbenchError as exc:
            rebuilding(path, f"is unusable: {exc}")
            return None
        if table is None:
            rebuilding(path, "is not a file")
            return None
        mine = (self.label, tuple(shape), self.device)
        theirs = (table.space, tuple(table.input_shape), table.device)
        values = [table.overhead_ms, *table.ops.values()]
        if theirs != mine:
            rebuilding(path, f"belongs to another table ({theirs}, not {mine})")
        elif not all(math.isfinite(v) for v in values) or min(table.ops.values(), default=0) < 0:
            rebuilding(path, "holds a NaN, infinite or negative latency")
        elif (table.timing, table.torch_version) != (self.timing, str(torch.__version__)):
            recorded = (table.timing, table.torch_version)
            log.info("rebuilding latency table %s, recorded with %s", path, recorded)
        else:
            return table
        return None

    def _save(self, table: LatencyTable, path: Path) -> None:
        """Store ``table`` at ``path``, written whole under a name unique to this call and renamed
        (:func:`nasbench.core.caches.replace_atomically`: parallel runs sharing ``table_dir`` never
        leave a mixed file); a folder that cannot be written only costs the next process a
        rebuild (one warning line)."""
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            replace_atomically(path, table.save)
        except OSError as exc:
            log.warning("cannot store latency table %s: %s", path, exc)

    def latency_ms(self, arch: Architecture, module: nn.Module | None, task: Task) -> float:
        table = self.table(task)
        size = len(table)
        estimate = table.estimate(_network(self.space, arch, module, task, self.device))
        path = self._path(task.input_shape)
        if path is not None and len(table) > size:
            self._save(table, path)
        return estimate


class RecordedLatency:
    """Latencies recorded in a shipped benchmark's ``lat_<device>_ms`` column: for ``nb201``,
    NAS-Bench-201 networks on CIFAR-10 inputs as measured by HW-NAS-Bench (Li et al. 2021) and
    HELP (Lee et al. 2021), of dense networks (a dense kernel's speed does not depend on how many
    weights are zero). The module is not used. Raises NasbenchError when the space's
    parameters differ from the recorded network's."""

    def __init__(self, space: SearchSpace, device: str) -> None:
        self.space, self.device = space, device
        self.table = load_benchmark(DEVICE_TABLES[space.name])
        self.latencies = self.table.latencies(device)
        self.input_shape = task_for(self.table.info.dataset).input_shape
        for param, recorded in self.table.info.space_params.items():
            if getattr(space, param, None) != recorded:
                raise NasbenchError(
                    f"device {device!r} records {space.name} with {param}={recorded!r}, not "
                    f"{param}={getattr(space, param, None)!r}; measure with 'cpu' or 'lut:cpu'"
                )

    def latency_ms(self, arch: Architecture, module: nn.Module | None, task: Task) -> float:
        if task.input_shape != self.input_shape:
            raise NasbenchError(
                f"device {self.device!r} latencies were recorded for inputs {self.input_shape}, "
                f"not {task.input_shape}"
            )
        row = self.table.index(arch.text or self.space.format(arch), arch.key, 0.0)
        return float(self.latencies[row])


def latency_devices(space: SearchSpace) -> tuple[str, ...]:
    """Device names :func:`latency_model` accepts for ``space``."""
    local = ["cpu", *(["cuda"] if torch.cuda.is_available() else [])]
    names = [*local, *(f"lut:{d}" for d in local)]
    if space.name in DEVICE_TABLES:
        names += load_benchmark(DEVICE_TABLES[space.name]).devices
    return tuple(names)


def latency_model(
    device: str,
    space: SearchSpace,
    *,
    timing: Timing = DEFAULT_TIMING,
    table_dir: str | PathLike[str] | None = None,
) -> LatencyModel:
    """The latency model named ``device`` for ``space``: ``"cpu"`` (``"cuda"``) measures each
    network (:class:`MeasuredLatency`), ``"lut:cpu"`` (``"lut:cuda"``) estimates from a lookup
    table (:class:`LookupTableLatency`, stored under ``table_dir`` if given), and for spaces in
    :data:`DEVICE_TABLES` a recorded device column answers (:class:`RecordedLatency`). Raises
    NasbenchError naming the valid devices for an unknown one."""
    valid = latency_devices(space)
    if device not in valid:
        only = ", ".join(DEVICE_TABLES)
        hint = "" if space.name in DEVICE_TABLES else f"; recorded devices exist only for {only}"
        raise NasbenchError(
            f"unknown latency device {device!r} for space {space.name!r} "
            f"(valid: {', '.join(valid)}){hint}"
        )
    if device.startswith("lut:"):
        return LookupTableLatency(space, device.removeprefix("lut:"), timing, table_dir=table_dir)
    if device in ("cpu", "cuda"):
        return MeasuredLatency(space, device, timing)
    return RecordedLatency(space, device)
