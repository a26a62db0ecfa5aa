"""Single-Path NAS with a latency target (issue 7): the latency of the architectures it finds
against the target.

On the hierarchical space's ``single_path`` preset (MNIST-1D, ``--width``), the targets are
quantiles of the space's lookup-table CPU latency (``lut:cpu``) over 500 uniform samples (seeded);
for each target and seed, :class:`~nasbench.strategies.single_path.SinglePath` searches for
``--epochs`` supernet epochs with the loss ``CE + latency_weight * max(0, log(E[lat] / T))``
(Eq. 6 with the budget's limit T), and the derived architecture's latency is read from the same
lookup table and measured (batch 1, median) on this machine. A run without a target
(``latency_weight = 0``) is the reference. Resumable: each finished (target, seed) appends a line
to ``results/single_path/latency.jsonl``.

    python -m tests.perf.single_path_latency run [--epochs 10] [--seeds 0,1,2]
        [--quantiles 0.1,0.25,0.5] [--latency-weight 1.0] [--width 0.5]
    python -m tests.perf.single_path_latency report     # results/single_path/latency.md
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import torch

from nasbench.latency_models import latency_model
from nasbench.registry import spaces
from nasbench.seeding import role_rng
from nasbench.space import SearchSpace
from nasbench.strategies.single_path import SinglePath
from nasbench.strategy import SearchInfo
from nasbench.tasks import task_for
from nasbench.types import Budget, Task
from tests.perf.results import append_jsonl, read_jsonl

OUT = Path("results/single_path")


def targets(space: SearchSpace, quantiles: list[float], task: Task) -> dict[float, float]:
    lut = latency_model("lut:cpu", space)
    rng = role_rng(0, "single-path-targets")
    lat = [lut.latency_ms(space.sample(rng), None, task) for _ in range(500)]
    return {q: float(np.quantile(lat, q)) for q in quantiles}


def search(space: SearchSpace, target: float | None, weight: float, epochs: int, seed: int) -> dict:
    task = task_for("mnist1d")
    device = None if target is None else "lut:cpu"
    budget = Budget(evaluations=epochs, latency_ms=target, latency_device=device)
    info = SearchInfo(float(epochs), (), budget, dataset="mnist1d")
    strategy = SinglePath(latency_weight=weight, epochs=epochs)
    start = time.perf_counter()
    strategy.start(space, info, role_rng(seed, "strategy"), role_rng(seed, "initial_design"))
    for _ in range(epochs):
        (proposal,) = strategy.ask(1)
    arch = proposal.arch
    wall = time.perf_counter() - start
    lut = latency_model("lut:cpu", space).latency_ms(arch, None, task)
    measured = latency_model("cpu", space).latency_ms(arch, None, task)
    return {"arch": space.format(arch), "lut_ms": lut, "measured_ms": measured, "wall_s": wall}


def run(args: argparse.Namespace) -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / "latency.jsonl"
    torch.set_num_threads(1)
    space: SearchSpace = spaces.create("hierarchical", preset="single_path", width=args.width)
    task = task_for("mnist1d")
    done = {(r["quantile"], r["seed"], r["epochs"], r["latency_weight"]) for r in read_jsonl(path)}
    goals: dict[float | None, float | None] = {None: None}
    wanted = [float(x) for x in args.quantiles.split(",")]
    for level, limit in targets(space, wanted, task).items():
        goals[level] = limit
    for seed in (int(s) for s in args.seeds.split(",")):
        for q, target in goals.items():
            weight = 0.0 if target is None else args.latency_weight
            if (q, seed, args.epochs, weight) in done:
                continue
            row = {"quantile": q, "target_ms": target, "seed": seed, "epochs": args.epochs,
                   "latency_weight": weight, "width": args.width,
                   **search(space, target, weight, args.epochs, seed)}  # fmt: skip
            append_jsonl(path, row)
            print(f"target {target} (q {q}) seed {seed}: lut {row['lut_ms']:.3f} ms, measured "
                  f"{row['measured_ms']:.3f} ms, {row['wall_s']:.0f} s", flush=True)  # fmt: skip


def report() -> str:
    rows = read_jsonl(OUT / "latency.jsonl")
    groups: dict[tuple, list[dict]] = {}
    for r in rows:
        groups.setdefault((r["quantile"] is None, r["quantile"] or 0.0, r["epochs"],
                           r["latency_weight"]), []).append(r)  # fmt: skip
    lines = ["| target (quantile) | latency weight | epochs | seeds | found, lookup table (ms) | "
             "found / target | within target | found, measured (ms) |",
             "| --- | --- | --- | --- | --- | --- | --- | --- |"]  # fmt: skip
    for key in sorted(groups):
        rs = groups[key]
        t = rs[0]["target_ms"]
        lut = [r["lut_ms"] for r in rs]
        meas = [r["measured_ms"] for r in rs]
        name = "none" if t is None else f"{t:.3f} ms (q {rs[0]['quantile']})"
        ratio = "-" if t is None else f"{np.mean(lut) / t:.3f}"
        within = "-" if t is None else f"{sum(v <= t * 1.0000001 for v in lut)}/{len(rs)}"
        lines.append(
            f"| {name} | {rs[0]['latency_weight']} | {rs[0]['epochs']} | {len(rs)} | "
            f"{np.mean(lut):.3f} ± {np.std(lut):.3f} | {ratio} | {within} | "
            f"{np.mean(meas):.3f} ± {np.std(meas):.3f} |"
        )
    text = "\n".join(lines) + "\n"
    (OUT / "latency.md").write_text(text)
    return text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run")
    r.add_argument("--epochs", type=int, default=10)
    r.add_argument("--seeds", default="0,1,2")
    r.add_argument("--quantiles", default="0.1,0.25,0.5")
    r.add_argument("--latency-weight", type=float, default=1.0)
    r.add_argument("--width", type=float, default=0.5)
    sub.add_parser("report")
    args = parser.parse_args()
    if args.cmd == "run":
        run(args)
    else:
        print(report(), end="")


if __name__ == "__main__":
    main()
