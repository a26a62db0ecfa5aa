"""Single-Path NAS with a latency target (issue 7): the latency of the architectures it finds
against the target.

On the hierarchical space's ``single_path`` preset (MNIST-1D, ``--width``), each seed first searches
without a target (``latency_weight = 0``, the reference); the targets are then fractions
(``--fractions``) of the lookup-table CPU latency (``lut:cpu``) of that reference architecture,
so every target is below what the search finds unconstrained and has to bind. (Quantiles of
uniform samples do not: the unconstrained search already finds architectures far faster than
most of the space.) For each target, :class:`~nasbench.strategies.single_path.SinglePath`
searches for ``--epochs`` supernet epochs of ``--steps`` mini-batches with the loss
``CE + latency_weight * max(0, log(E[lat] / T))`` (Eq. 6 with the budget's limit T), and the
derived architecture's latency is read from the same lookup table and measured (batch 1,
median) on this machine. The report also gives the sampled space's latency range. Resumable:
each finished (target, seed) appends a line to ``results/single_path/latency.jsonl``.

    python -m tests.perf.single_path_latency run [--epochs 8] [--steps 16] [--seeds 0,1]
        [--fractions 0.8,0.6,0.4] [--latency-weight 1.0] [--width 0.5]
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


def space_latencies(space: SearchSpace, task: Task) -> np.ndarray:
    """``lut:cpu`` latencies (ms) of 500 seeded uniform samples of the space."""
    lut = latency_model("lut:cpu", space)
    rng = role_rng(0, "single-path-targets")
    return np.array([lut.latency_ms(space.sample(rng), None, task) for _ in range(500)])


def search(
    space: SearchSpace, target: float | None, weight: float, epochs: int, steps: int, seed: int
) -> dict:
    task = task_for("mnist1d")
    device = None if target is None else "lut:cpu"
    budget = Budget(evaluations=epochs, latency_ms=target, latency_device=device)
    info = SearchInfo(float(epochs), (), budget, dataset="mnist1d")
    strategy = SinglePath(latency_weight=weight, epochs=epochs, steps_per_epoch=steps)
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
    settings = {"epochs": args.epochs, "steps": args.steps, "width": args.width}

    def done(fraction: float | None, seed: int, weight: float) -> dict | None:
        for r in read_jsonl(path):
            same = all(r.get(k) == v for k, v in settings.items())
            if same and (r["fraction"], r["seed"], r["latency_weight"]) == (fraction, seed, weight):
                return r
        return None

    for seed in (int(s) for s in args.seeds.split(",")):
        goals: list[float | None] = [None, *(float(f) for f in args.fractions.split(","))]
        for fraction in goals:
            weight = 0.0 if fraction is None else args.latency_weight
            if done(fraction, seed, weight):
                continue
            reference = done(None, seed, 0.0)
            target = (
                None if fraction is None or reference is None else fraction * reference["lut_ms"]
            )
            row = {"fraction": fraction, "target_ms": target, "seed": seed,
                   "latency_weight": weight, **settings,
                   **search(space, target, weight, args.epochs, args.steps, seed)}  # fmt: skip
            append_jsonl(path, row)
            print(f"target {target} (x{fraction}) seed {seed}: lut {row['lut_ms']:.3f} ms, "
                  f"measured {row['measured_ms']:.3f} ms, {row['wall_s']:.0f} s", flush=True)  # fmt: skip


def report(width: float = 0.5) -> str:
    rows = read_jsonl(OUT / "latency.jsonl")
    groups: dict[tuple, list[dict]] = {}
    for r in rows:
        key = (r["fraction"] is not None, -(r["fraction"] or 0.0), r["epochs"], r["steps"],
               r["latency_weight"])  # fmt: skip
        groups.setdefault(key, []).append(r)
    lines = ["| target | latency weight | epochs x steps | seeds | target (ms) | "
             "found, lookup table (ms) | found / target | within target | found, measured (ms) |",
             "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"]  # fmt: skip
    for key in sorted(groups):
        rs = groups[key]
        lut = np.array([r["lut_ms"] for r in rs])
        meas = [r["measured_ms"] for r in rs]
        f = rs[0]["fraction"]
        if f is None:
            name, target, ratio, within = "none (reference)", "-", "-", "-"
        else:
            t = np.array([r["target_ms"] for r in rs])
            name, target = f"{f:g} x reference", f"{t.mean():.3f}"
            ratio = f"{np.mean(lut / t):.3f}"
            within = f"{int(np.sum(lut <= t * 1.0000001))}/{len(rs)}"
        lines.append(
            f"| {name} | {rs[0]['latency_weight']} | {rs[0]['epochs']} x {rs[0]['steps']} | "
            f"{len(rs)} | {target} | {lut.mean():.3f} ± {lut.std():.3f} | {ratio} | {within} | "
            f"{np.mean(meas):.3f} ± {np.std(meas):.3f} |"
        )
    space: SearchSpace = spaces.create("hierarchical", preset="single_path", width=width)
    lat = space_latencies(space, task_for("mnist1d"))
    q = np.quantile(lat, [0.0, 0.1, 0.5, 1.0])
    lines.append(
        f"\nThe space (500 uniform samples, lookup table): min {q[0]:.3f}, q10 {q[1]:.3f}, "
        f"median {q[2]:.3f}, max {q[3]:.3f} ms."
    )
    text = "\n".join(lines) + "\n"
    (OUT / "latency.md").write_text(text)
    return text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run")
    r.add_argument("--epochs", type=int, default=8)
    r.add_argument("--steps", type=int, default=16, help="mini-batches per epoch (0: a pass)")
    r.add_argument("--seeds", default="0,1")
    r.add_argument("--fractions", default="0.8,0.6,0.4")
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
