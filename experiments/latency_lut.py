"""Lookup-table latency against measured latency over sampled architectures, in one run.

    python -m experiments.latency_lut [--space chain] [--networks 100] [--param channels=8]

Samples ``--networks`` architectures of a space (seeded), builds them for the space's task
(``chain`` and the others on MNIST-1D, ``(1, 40)``; ``nb201`` on CIFAR-10, ``(3, 32, 32)``), then,
side by side on this machine with the same timing settings:

1. builds a :class:`nasbench.training.latency.LatencyTable` (each distinct op profiled once,
   overhead calibrated on the first ``--calibration`` networks measured whole) and estimates
   every network from it;
2. measures every network with :func:`nasbench.training.latency.measure_latency_ms`.

Prints the Spearman (and Kendall) rank correlation between estimates and measurements, the mean
absolute percentage error, the wall time of each route and their ratio, and the time per
network of an estimate from a complete table (one decomposition pass, no timing). For the
benchmark's own ``nb201`` it also prints how the measured CPU latency ranks against a few
recorded NAS-Bench-201 device columns. It writes no results folder (``pytest -m perf`` runs it
small, in ``tests/test_perf.py``).
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from scipy.stats import kendalltau, spearmanr

from nasbench.core.registry import spaces
from nasbench.core.space import SearchSpace
from nasbench.core.tasks import task_for
from nasbench.core.types import Architecture
from nasbench.tables.benchmarks import load_benchmark
from nasbench.tables.latency_models import DEVICE_TABLES
from nasbench.training.latency import LatencyTable, Timing, measure_latency_ms

DATASETS = {"nb201": "cifar10"}  # other spaces run on MNIST-1D
RECORDED = ("pixel3", "raspi4", "gold_6226")


def _param(text: str) -> tuple[str, int]:
    key, _, value = text.partition("=")
    return key, int(value)


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--space", default="chain")
    parser.add_argument("--param", type=_param, action="append", default=[], help="KEY=INT")
    parser.add_argument("--networks", type=int, default=100)
    parser.add_argument("--calibration", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    space = spaces.create(args.space, **dict(args.param))
    task = task_for(DATASETS.get(args.space, "mnist1d"))
    timing = Timing(args.threads, args.warmup, args.repeats)
    rng = np.random.default_rng(args.seed)
    archs = [space.sample(rng) for _ in range(args.networks)]
    nets = [space.build(arch, task, rng) for arch in archs]

    start = time.perf_counter()
    table = LatencyTable(space.name, task.input_shape, "cpu", timing)
    table.calibrate(nets[: args.calibration])
    estimates = np.array([table.estimate(net) for net in nets])
    table_s = time.perf_counter() - start

    start = time.perf_counter()
    measured = np.array(
        [
            measure_latency_ms(
                net,
                task.input_shape,
                threads=timing.threads,
                warmup=timing.warmup,
                repeats=timing.repeats,
            )
            for net in nets
        ]
    )
    measure_s = time.perf_counter() - start

    start = time.perf_counter()
    again = np.array([table.estimate(net) for net in nets])  # every op known: lookups only
    lookup_s = time.perf_counter() - start
    assert np.allclose(again, estimates)

    result = {
        "spearman": float(spearmanr(estimates, measured).statistic),
        "kendall": float(kendalltau(estimates, measured).statistic),
        "mape": float(np.mean(np.abs(estimates - measured) / measured)),
        "table_s": table_s,
        "measure_s": measure_s,
        "lookup_ms_per_network": 1e3 * lookup_s / len(nets),
    }
    print(
        f"{space.name} {dict(args.param) or ''} on {task.name} {task.input_shape}: "
        f"{len(nets)} networks, {timing}"
    )
    print(
        f"measured latency: median {np.median(measured):.3f} ms, "
        f"range {measured.min():.3f} .. {measured.max():.3f} ms"
    )
    print(
        f"table: {len(table)} distinct ops, overhead {table.overhead_ms:+.4f} ms "
        f"(calibrated on {table.calibration_networks} networks)"
    )
    print(
        f"Spearman {result['spearman']:.4f}   Kendall {result['kendall']:.4f}   "
        f"MAPE {100 * result['mape']:.1f}%"
    )
    print(
        f"build table + estimate all: {table_s:.2f} s   measure all: {measure_s:.2f} s   "
        f"ratio {table_s / measure_s:.2f}"
    )
    print(
        f"per network: estimate from a full table {result['lookup_ms_per_network']:.2f} ms, "
        f"measure {1e3 * measure_s / len(nets):.2f} ms "
        f"(ratio {lookup_s / measure_s:.3f})"
    )
    if space.name in DEVICE_TABLES:
        _recorded(space, archs, measured)
    return result


def _recorded(space: SearchSpace, archs: list[Architecture], measured: np.ndarray) -> None:
    """Rank agreement of this machine's latency with recorded device columns (nb201 only)."""
    bench = load_benchmark(DEVICE_TABLES[space.name])
    params = bench.info.space_params
    if any(getattr(space, k, None) != v for k, v in params.items()):
        return  # a shrunk network: the recorded columns describe another one
    rows = [bench.index(a.text, a.key, 0.0) for a in archs]
    ranks = ", ".join(
        f"{d} {spearmanr(measured, bench.latencies(d)[rows]).statistic:.3f}" for d in RECORDED
    )
    print(f"Spearman of measured CPU latency with recorded devices: {ranks}")


if __name__ == "__main__":
    main()
