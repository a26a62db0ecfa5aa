"""Latency: measurement, the per-op lookup table, and the device models (nasbench.training.latency)."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from scipy.stats import spearmanr
from torch import nn

from nasbench.core.errors import NasbenchError
from nasbench.core.registry import spaces
from nasbench.core.types import Task
from nasbench.spaces.ops import Zero
from nasbench.tables.benchmarks import load_benchmark
from nasbench.tables.latency_models import (
    LatencyModel,
    LookupTableLatency,
    MeasuredLatency,
    RecordedLatency,
    latency_devices,
    latency_model,
)
from nasbench.training.latency import LatencyTable, OpKey, Timing, decompose, measure_latency_ms

FAST = Timing(threads=1, warmup=1, repeats=3)
BEST = (  # NAS-Bench-201 index 6111
    "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|"
)


def small_net(width: int = 4) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv1d(1, width, 3, padding=1),
        nn.ReLU(),
        nn.Sequential(nn.Conv1d(width, width, 3, padding=1), nn.ReLU()),
        nn.AdaptiveAvgPool1d(1),
        nn.Flatten(),
        nn.Linear(width, 10),
    )


def conv_stack(width: int, depth: int = 3) -> nn.Sequential:
    layers: list[nn.Module] = [nn.Conv1d(4, width, 3, padding=1)]
    for _ in range(depth - 1):
        layers += [nn.ReLU(), nn.Conv1d(width, width, 3, padding=1)]
    return nn.Sequential(*layers, nn.AdaptiveAvgPool1d(1), nn.Flatten(), nn.Linear(width, 10))


class CountingTiming:
    """Counts Timing.time_ms calls (each one is one profiled op or one measured network)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.calls = 0
        original = Timing.time_ms

        def counted(timing: Timing, module: nn.Module, inputs: tuple[torch.Tensor, ...]) -> float:
            self.calls += 1
            return original(timing, module, inputs)

        monkeypatch.setattr(Timing, "time_ms", counted)


# ---- measurement ---------------------------------------------------------------------------
class ThreadProbe(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.seen: set[int] = set()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.seen.add(torch.get_num_threads())
        return x * 2


def test_measurement_is_positive_and_restores_threads_and_mode() -> None:
    before = torch.get_num_threads()
    target = 2 if before == 1 else 1
    net = small_net()
    net.train()
    ms = measure_latency_ms(net, (1, 40), threads=target, warmup=1, repeats=3)
    assert ms > 0 and np.isfinite(ms)
    assert torch.get_num_threads() == before
    assert net.training
    probe = ThreadProbe()
    measure_latency_ms(probe, (1, 8), threads=target, warmup=2, repeats=3)
    assert probe.seen == {target}  # every run used the requested thread count
    assert torch.get_num_threads() == before


def test_measurement_restores_threads_when_the_forward_fails() -> None:
    before = torch.get_num_threads()
    with pytest.raises(RuntimeError):
        measure_latency_ms(nn.Linear(3, 2), (5,), threads=before + 1, warmup=0, repeats=1)
    assert torch.get_num_threads() == before


@pytest.mark.parametrize(
    ("kwargs", "word"),
    [({"threads": 0}, "threads"), ({"warmup": -1}, "warmup"), ({"repeats": 0}, "repeats")],
)
def test_bad_settings_raise(kwargs: dict[str, Any], word: str) -> None:
    with pytest.raises(NasbenchError, match=word):
        measure_latency_ms(small_net(), (1, 40), **kwargs)


def test_module_on_another_device_is_an_error() -> None:
    with torch.device("meta"):
        net = nn.Linear(3, 2)
    with pytest.raises(NasbenchError, match="module is on meta"):
        measure_latency_ms(net, (3,))


# ---- decomposition -------------------------------------------------------------------------
def test_decomposition_lists_leaf_calls_in_order() -> None:
    net = small_net(4)
    calls = decompose(net, (1, 40))
    conv_a, relu, inner, pool, flat, linear = list(net)
    conv_b, relu_b = list(inner.children())
    expected = [
        (conv_a, ((1, 1, 40),)),
        (relu, ((1, 4, 40),)),
        (conv_b, ((1, 4, 40),)),
        (relu_b, ((1, 4, 40),)),
        (pool, ((1, 4, 40),)),
        (flat, ((1, 4, 1),)),
        (linear, ((1, 4),)),
    ]
    assert [m for _, m in calls] == [m for m, _ in expected]
    assert [k.inputs for k, _ in calls] == [s for _, s in expected]
    relu_config = "inplace=False"  # ReLU's extra_repr is empty: its attributes describe it
    assert [k.config for k, _ in calls] == [
        conv_a.extra_repr(),
        relu_config,
        conv_b.extra_repr(),
        relu_config,
        pool.extra_repr(),
        flat.extra_repr(),
        linear.extra_repr(),
    ]
    assert calls[0][0].op == "torch.nn.modules.conv.Conv1d"
    counts = Counter(k for k, _ in calls)
    assert len(counts) == 6 and counts[calls[1][0]] == 2  # both ReLUs: one op, two calls
    assert net.training  # flag restored
    assert all(not m._forward_hooks for m in net.modules())  # hooks removed


def test_a_reused_leaf_counts_per_call_and_attributes_describe_bare_ops() -> None:
    conv = nn.Conv1d(2, 2, 1)
    net = nn.Sequential(conv, conv, Zero(1), Zero(2))
    calls = decompose(net, (2, 8))
    assert [m for _, m in calls] == [conv, conv, net[2], net[3]]
    assert calls[0][0] == calls[1][0]
    assert (calls[2][0].config, calls[3][0].config) == ("stride=1", "stride=2")


# ---- the lookup table ----------------------------------------------------------------------
def test_each_distinct_op_is_profiled_once(monkeypatch: pytest.MonkeyPatch) -> None:
    counter = CountingTiming(monkeypatch)
    table = LatencyTable("toy", (4, 32), timing=FAST)
    net = conv_stack(8, depth=4)  # 4 convs, 3 of them identical; 3 identical ReLUs
    new = table.profile(net)
    distinct = len(set(k for k, _ in decompose(net, (4, 32))))
    assert len(new) == len(table) == counter.calls == distinct == 6
    assert table.profile(net) == [] and counter.calls == 6
    other = conv_stack(8, depth=2)  # a shallower stack of the same width: every op is known
    unseen = {k for k, _ in decompose(other, (4, 32))} - set(table.ops)
    assert len(unseen) == 0
    wider = conv_stack(16, depth=2)
    unseen = {k for k, _ in decompose(wider, (4, 32))} - set(table.ops)
    table.estimate(other)
    table.estimate(wider)  # profiles only its unseen ops, on the fly
    assert len(unseen) == 6 and counter.calls == 6 + len(unseen) and len(table) == 12
    calls = decompose(net, (4, 32))
    assert table.ops_ms(net) == pytest.approx(sum(table.ops[k] for k, _ in calls))
    assert counter.calls == 12  # summing over known ops times nothing


def test_calibrated_overhead_is_the_mean_residual(monkeypatch: pytest.MonkeyPatch) -> None:
    nets = [conv_stack(4), conv_stack(32)]
    measured = iter([1.0, 3.0])
    table = LatencyTable("toy", (4, 32), timing=FAST)
    for net in nets:
        table.profile(net)
    sums = [table.ops_ms(net) for net in nets]
    monkeypatch.setattr(Timing, "time_ms", lambda *_: next(measured))
    overhead = table.calibrate(nets)
    assert overhead == pytest.approx(((1.0 - sums[0]) + (3.0 - sums[1])) / 2)
    assert table.estimate(nets[0]) == pytest.approx(sums[0] + overhead)
    assert table.calibration_networks == 2
    with pytest.raises(NasbenchError, match="at least one"):
        table.calibrate([])


def test_json_round_trip(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    table = LatencyTable("toy", (1, 40), timing=FAST)
    table.calibrate([small_net(4), small_net(8)])
    path = tmp_path / "table.json"
    table.save(path)
    raw = json.loads(path.read_text())
    assert (raw["device"], raw["torch_version"], raw["timing"]["threads"]) == (
        "cpu",
        torch.__version__,
        1,
    )
    loaded = LatencyTable.load(path)
    assert loaded.ops == table.ops and all(isinstance(k, OpKey) for k in loaded.ops)
    for name in ("space", "input_shape", "device", "timing", "torch_version", "overhead_ms"):
        assert getattr(loaded, name) == getattr(table, name)
    counter = CountingTiming(monkeypatch)
    assert loaded.estimate(small_net(4)) == pytest.approx(
        table.overhead_ms + sum(table.ops[k] for k, _ in decompose(small_net(4), (1, 40)))
    )
    assert counter.calls == 0  # answered from the file, nothing profiled


def test_unreadable_tables_raise(tmp_path: Path) -> None:
    with pytest.raises(NasbenchError, match="cannot read"):
        LatencyTable.load(tmp_path / "missing.json")
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"format": 1, "space": "toy"}))
    with pytest.raises(NasbenchError, match="malformed"):
        LatencyTable.load(bad)
    bad.write_text("[1, 2]")
    with pytest.raises(NasbenchError, match="not nasbench latency table"):
        LatencyTable.load(bad)


def test_estimates_rank_networks_like_measurement() -> None:
    timing = Timing(threads=1, warmup=2, repeats=7)
    nets = [conv_stack(w) for w in (4, 32, 96, 192, 384)]  # each >= 1.5x the last
    table = LatencyTable("toy", (4, 128), timing=timing)
    table.calibrate(nets[1:3])
    estimates = [table.estimate(net) for net in nets]
    measured = [measure_latency_ms(net, (4, 128), warmup=2, repeats=7) for net in nets]
    assert spearmanr(estimates, measured).statistic > 0.8
    assert estimates[-1] > 5 * estimates[0] and measured[-1] > 5 * measured[0]


# ---- device models -------------------------------------------------------------------------
def test_nb201_table_devices_answer_with_the_benchmark() -> None:
    space = spaces.create("nb201")
    table = load_benchmark("nb201-cifar10")
    arch = space.parse(BEST)
    task = Task((3, 32, 32), 10)
    for device in ("pixel3", "raspi4", "eyeriss"):
        model = latency_model(device, space)
        assert isinstance(model, RecordedLatency) and isinstance(model, LatencyModel)
        expected = float(table.latencies(device)[table.index(BEST, "", 0.0)])
        assert model.latency_ms(arch, None, task) == expected
    other = space.sample(np.random.default_rng(3))
    row = table.index(other.text, other.key, 0.0)
    assert latency_model("fpga", space).latency_ms(other, None, task) == table.latency(row, "fpga")
    with pytest.raises(NasbenchError, match=r"recorded for inputs \(3, 32, 32\)"):
        latency_model("pixel3", space).latency_ms(arch, None, Task((3, 16, 16), 120))
    with pytest.raises(NasbenchError, match="channels=16"):
        latency_model("pixel3", spaces.create("nb201", channels=8))


def test_unknown_devices_name_the_valid_ones() -> None:
    chain = spaces.create("chain")
    with pytest.raises(NasbenchError, match=r"unknown latency device 'tpu'.*valid: cpu, lut:cpu"):
        latency_model("tpu", chain)
    with pytest.raises(NasbenchError, match=r"'pixel3'.*exist only for nb201"):
        latency_model("pixel3", chain)
    nb201 = spaces.create("nb201")
    with pytest.raises(NasbenchError, match=r"valid: cpu, lut:cpu.*pixel3"):
        latency_model("pixel4", nb201)
    assert {"cpu", "lut:cpu", "pixel3", "raspi4", "eyeriss"} <= set(latency_devices(nb201))


def test_cpu_models_measure_and_look_up(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    space = spaces.create("chain", max_layers=3)
    task = Task((1, 40), 10)
    arch = space.parse("conv3-32-s1|maxpool2-s2|sep5-64-s1")
    net = space.build(arch, task, np.random.default_rng(0))
    measured = latency_model("cpu", space, timing=FAST)
    assert isinstance(measured, MeasuredLatency) and isinstance(measured, LatencyModel)
    assert measured.latency_ms(arch, net, task) > 0 and measured.latency_ms(arch, None, task) > 0
    lut = latency_model("lut:cpu", space, timing=FAST, table_dir=tmp_path)
    assert isinstance(lut, LookupTableLatency)
    estimate = lut.latency_ms(arch, net, task)
    table = lut.table(task)
    assert table.calibration_networks == 5
    assert estimate == pytest.approx(table.estimate(net))
    files = list(tmp_path.glob("*.json"))
    assert len(files) == 1 and files[0].name.startswith("chain-")
    assert files[0].name.endswith("-1x40-cpu.json") and table.space == lut.label
    assert lut.label.startswith("chain{") and '"max_layers": 3' in lut.label
    default = LookupTableLatency(spaces.create("chain"), timing=FAST, table_dir=tmp_path)
    assert default.label != lut.label  # a differently configured space keeps its own table
    counter = CountingTiming(monkeypatch)
    again = latency_model("lut:cpu", space, timing=FAST, table_dir=tmp_path)
    assert again.latency_ms(arch, net, task) == pytest.approx(estimate)
    assert counter.calls == 0  # loaded from the file: no calibration, no profiling
