"""Single-Path NAS with a latency target and a hinge loss (issue 7): the latency of the
architectures it finds against the target (``results/single_path/latency.md``).

On the hierarchical space's ``single_path`` preset (MNIST-1D, ``--width``), each seed first searches
without a target (``latency_weight = 0``, the reference); the targets are then fractions
(``--fractions``) of the lookup-table CPU latency (``lut:cpu``) of that reference architecture,
so every target is below what the search finds unconstrained and has to bind. (Quantiles of
uniform samples do not: the unconstrained search already finds architectures far faster than
most of the space.) For each target and each latency weight of the grid (Single-Path NAS tunes
lambda per target, Eq. 6), :class:`~nasbench.strategies.single_path.SinglePath` searches for
``--epochs`` supernet epochs of ``--steps`` mini-batches with the loss
``CE + latency_weight * max(0, log(E[lat] / T))`` (Eq. 6 with the budget's limit T) and
architecture learning rate ``--arch-lr`` (the thresholds start at 0 against superkernel norms of
about 4-5, so DARTS's 3e-4 cannot move them within a short search). The derived architecture's
latency is read from the same lookup table and measured (batch 1, median) on this machine. Every
search and the report read one stored lookup table (``results/single_path/lut``), so targets and
results share op timings. The report adds, per target, the tuned weight (the smallest of the
grid that meets it) and the sampled space's latency range. Resumable: each finished (target,
weight, seed) appends a line to ``results/single_path/latency.jsonl``.

    python -m experiments.single_path_hinge_latency run [--epochs 8] [--steps 16] [--seeds 0,1]
        [--fractions 0.8,0.6,0.4] [--latency-weights 1,2,3,5,10] [--arch-lr 0.1] [--width 0.5]
    python -m experiments.single_path_hinge_latency report     # results/single_path/latency.md

The hinge is not the paper's loss (its ``latency_loss = "hinge"`` option); the paper's loss and
lambda tuned per target are ``experiments/single_path_latency.py``
(``results/single_path/latency-targets.md``). The recorded ``latency.md``
predates the thresholds' own optimiser group (``threshold_lr``, issue 22): its thresholds sat in
the logits' Adam group with weight decay, stepped at ``--arch-lr``.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import torch

from nasbench.core.jsonl import append_lines, read_lines
from nasbench.core.registry import spaces
from nasbench.core.seeding import role_rng
from nasbench.core.space import SearchSpace
from nasbench.core.strategy import SearchInfo
from nasbench.core.tasks import task_for
from nasbench.core.types import Architecture, Budget, Task
from nasbench.strategies.single_path import SinglePath
from nasbench.tables.latency_models import latency_model

OUT = Path("results/single_path")


LUT = OUT / "lut"
"""The stored ``lut:cpu`` lookup tables: every search and every report reads the same op timings
(timed once, on the machine that first ran the study)."""


def space_latencies(space: SearchSpace, task: Task) -> np.ndarray:
    """``lut:cpu`` latencies (ms) of 500 seeded uniform samples of the space."""
    lut = latency_model("lut:cpu", space, table_dir=LUT)
    rng = role_rng(0, "single-path-targets")
    return np.array([lut.latency_ms(space.sample(rng), None, task) for _ in range(500)])


def search(
    space: SearchSpace,
    target: float | None,
    weight: float,
    settings: dict,
    seed: int,
) -> dict:
    epochs, steps = settings["epochs"], settings["steps"]
    task = task_for("mnist1d")
    device = None if target is None else "lut:cpu"
    budget = Budget(evaluations=epochs, latency_ms=target, latency_device=device)
    info = SearchInfo(float(epochs), (), budget, dataset="mnist1d")
    strategy = SinglePath(latency_weight=weight, epochs=epochs, steps_per_epoch=steps,
                          arch_lr=settings["arch_lr"], latency_tables=str(LUT),
                          latency_loss="hinge")  # fmt: skip
    start = time.perf_counter()
    strategy.start(space, info, role_rng(seed, "strategy"), role_rng(seed, "initial_design"))
    for _ in range(epochs):
        (proposal,) = strategy.ask(1)
    arch = proposal.arch
    wall = time.perf_counter() - start
    lut = latency_model("lut:cpu", space, table_dir=LUT).latency_ms(arch, None, task)
    measured = latency_model("cpu", space).latency_ms(arch, None, task)
    return {"arch": space.format(arch), "lut_ms": lut, "measured_ms": measured, "wall_s": wall}


def run(args: argparse.Namespace) -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / "latency.jsonl"
    torch.set_num_threads(1)
    space: SearchSpace = spaces.create("hierarchical", preset="single_path", width=args.width)
    settings = {"epochs": args.epochs, "steps": args.steps, "width": args.width,
                "arch_lr": args.arch_lr}  # fmt: skip

    def done(fraction: float | None, seed: int, weight: float) -> dict | None:
        for r in read_lines(path):
            same = all(r.get(k) == v for k, v in settings.items())
            if same and (r["fraction"], r["seed"], r["latency_weight"]) == (fraction, seed, weight):
                return r
        return None

    weights = [float(w) for w in args.latency_weights.split(",")]
    for seed in (int(s) for s in args.seeds.split(",")):
        jobs: list[tuple[float | None, float]] = [(None, 0.0)]
        jobs += [(float(f), w) for f in args.fractions.split(",") for w in weights]
        for fraction, weight in jobs:
            if done(fraction, seed, weight):
                continue
            reference = done(None, seed, 0.0)
            target = (
                None if fraction is None or reference is None else fraction * reference["lut_ms"]
            )
            row = {"fraction": fraction, "target_ms": target, "seed": seed,
                   "latency_weight": weight, **settings,
                   **search(space, target, weight, settings, seed)}  # fmt: skip
            append_lines(path, [row])
            print(f"target {target} (x{fraction}) seed {seed}: lut {row['lut_ms']:.3f} ms, "
                  f"measured {row['measured_ms']:.3f} ms, {row['wall_s']:.0f} s",
                  flush=True)  # fmt: skip


def shallowest(space: SearchSpace) -> dict[tuple[str, str], Architecture]:
    """The preset's architectures with every block that may be dropped dropped (``l-1``), the
    others at the smallest and at the largest MBConv op and kernel: a floor of the space's
    latency (block count dominates it here)."""
    names = {d.name: d.choices for d in space.decisions()}
    blocks = 1 + max(int(n.split(".")[0].removeprefix("block")) for n in names)
    out = {}
    for op, k in ((min(names["block0.op"]), min(names["block0.kernel"], key=int)),
                  (max(names["block0.op"]), max(names["block0.kernel"], key=int))):  # fmt: skip
        kept = f"{op}-k{k}-se0.0-id-f1.0-l+0"
        text = "|".join("l-1" if f"block{b}.layers" in names else kept for b in range(blocks))
        out[op, k] = space.parse(text)
    return out


def _met(lut_ms: np.ndarray | float, target_ms: np.ndarray | float) -> np.ndarray | bool:
    """Whether a found latency meets its target (float round-off tolerated)."""
    return lut_ms <= target_ms * 1.0000001


def tuned(rows: list[dict]) -> list[str]:
    """Single-Path NAS tunes lambda per target (Eq. 6): per target and seed, the smallest
    grid weight whose architecture meets the target (the largest weight when none does)."""
    picks: dict[tuple, list[dict]] = {}
    for r in rows:
        if r["fraction"] is not None:
            key = (r["arch_lr"], r["epochs"], r["steps"], -r["fraction"], r["seed"])
            picks.setdefault(key, []).append(r)
    per_target: dict[tuple, list[dict]] = {}
    for key, rs in sorted(picks.items()):
        rs = sorted(rs, key=lambda r: r["latency_weight"])
        met = [r for r in rs if _met(r["lut_ms"], r["target_ms"])]
        per_target.setdefault(key[:4], []).append(met[0] if met else rs[-1])
    lines = ["Tuned latency weight (the smallest of the grid that meets the target, per seed):",
             "", "| target | arch lr | epochs x steps | seeds | target (ms) | weights picked | "
             "found, lookup table (ms) | found / target | within target |",
             "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"]  # fmt: skip
    for (lr, epochs, steps, f), rs in sorted(per_target.items()):
        lut = np.array([r["lut_ms"] for r in rs])
        t = np.array([r["target_ms"] for r in rs])
        within = int(np.sum(_met(lut, t)))
        picked = ", ".join(f"{r['latency_weight']:g}" for r in rs)
        lines.append(
            f"| {-f:g} x reference | {lr:g} | {epochs} x {steps} | {len(rs)} | {t.mean():.3f} | "
            f"{picked} | {lut.mean():.3f} ± {lut.std():.3f} | {np.mean(lut / t):.3f} | "
            f"{within}/{len(rs)} |"
        )
    return lines


def report(width: float = 0.5) -> str:
    rows = read_lines(OUT / "latency.jsonl")
    groups: dict[tuple, list[dict]] = {}
    for r in rows:
        key = (r["arch_lr"], r["epochs"], r["steps"], r["fraction"] is not None,
               -(r["fraction"] or 0.0), r["latency_weight"])  # fmt: skip
        groups.setdefault(key, []).append(r)
    lines = ["| target | arch lr | latency weight | epochs x steps | seeds | target (ms) | "
             "found, lookup table (ms) | found / target | within target | found, measured (ms) |",
             "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"]  # fmt: skip
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
            within = f"{int(np.sum(_met(lut, t)))}/{len(rs)}"
        lines.append(
            f"| {name} | {rs[0]['arch_lr']:g} | {rs[0]['latency_weight']:g} | "
            f"{rs[0]['epochs']} x {rs[0]['steps']} | {len(rs)} | {target} | "
            f"{lut.mean():.3f} ± {lut.std():.3f} | {ratio} | {within} | "
            f"{np.mean(meas):.3f} ± {np.std(meas):.3f} |"
        )
    lines += ["", *tuned(rows)]
    space: SearchSpace = spaces.create("hierarchical", preset="single_path", width=width)
    lat = space_latencies(space, task_for("mnist1d"))
    q = np.quantile(lat, [0.0, 0.1, 0.5, 1.0])
    lines.append(
        f"\nThe space (500 uniform samples, lookup table): min {q[0]:.3f}, q10 {q[1]:.3f}, "
        f"median {q[2]:.3f}, max {q[3]:.3f} ms."
    )
    lut = latency_model("lut:cpu", space, table_dir=LUT)
    floors = [f"{op}-k{k}: {lut.latency_ms(a, None, task_for('mnist1d')):.3f} ms"
              for (op, k), a in shallowest(space).items()]  # fmt: skip
    lines.append(
        "The shallowest architectures (every droppable block dropped), by the op of the blocks "
        f"left: {', '.join(floors)}."
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
    r.add_argument(
        "--latency-weights",
        default="1,2,3,5,10",
        help="the grid of lambda (Eq. 6) searched per target",
    )
    r.add_argument("--width", type=float, default=0.5)
    r.add_argument("--arch-lr", type=float, default=0.1,
                   help="Adam learning rate of thresholds and logits (DARTS's 3e-4 barely moves "
                        "them in a short search)")  # fmt: skip
    sub.add_parser("report")
    args = parser.parse_args()
    if args.cmd == "run":
        run(args)
    else:
        print(report(), end="")


if __name__ == "__main__":
    main()
