"""How many supernet epochs the gradient strategies of the gradient suite need (issue 22).

A gradient search answers with the architecture it derives at the end, so a suite must give it
enough supernet epochs for that architecture to have settled. This study runs each gradient
strategy of the shipped gradient suite (``nasbench/suites/gradient-mnist1d.toml``) on the
sparsity-0 task of each space it searches, with its epochs planned for ``--epochs`` (the cosine
learning-rate schedule, the temperature and the pruning ramp are stretched over them) and the
budget lifted so that every planned epoch runs. Each epoch's derived architecture is recorded
with the benchmark's score (the task's evaluator: the surrogate of the space's table, or real
training for TAS), and the study reports, per epoch, the fraction of the search's decisions that
still differ from the architecture derived at the end, and the score.

Two settling epochs per run: *decisions*, the first epoch from which every later derived
architecture differs from the final one in at most ``--tolerance`` of its decisions (default
0.1); *score*, the first epoch from which every later derived architecture's benchmark test
accuracy is within ``--score-tolerance`` points of the final one's (default 0.2, about the
benchmark's resolution on these tables). The suite's epochs are chosen at or above the score
settling epoch over the seeds, which the suite's comments state. Resumable: each finished run
is written to ``results/gradient-mnist1d/convergence/runs/`` as JSON and skipped on the next
call.

    python -m experiments.gradient_convergence [--epochs 28] [--seeds 0,1]
        [--strategies darts,gdas,single_path,tas] [--write]
        # results/gradient-mnist1d/convergence/{README.md, convergence.png, runs/*.json}
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import time
from itertools import zip_longest
from pathlib import Path

from nasbench.core.registry import spaces
from nasbench.engine.runner import run
from nasbench.engine.suite import RunSpec, load_suite

SUITE = Path("nasbench/suites/gradient-mnist1d.toml")
OUT = Path("results/gradient-mnist1d/convergence")
TASKS = ("cell-s0", "hierarchical-s0", "tas-s0")  # the sparsity-0 task of each searched space


def long_spec(spec: RunSpec, epochs: int) -> RunSpec:
    """``spec`` with ``epochs`` planned and a budget of exactly that many monitor proposals."""
    params = dict(spec.strategy.params) | {"epochs": epochs}
    strategy = dataclasses.replace(spec.strategy, params=tuple(sorted(params.items())))
    budget = dataclasses.replace(spec.budget, cost_s=None, evaluations=epochs)
    return dataclasses.replace(spec, strategy=strategy, budget=budget)


def decisions(space, arch: str) -> tuple:
    """The decision values of ``arch`` in canonical form (a swap of equivalent slots is no
    change)."""
    return space.canonicalize(space.parse(arch)).values


def run_one(spec: RunSpec, seed: int, path: Path) -> dict:
    """The per-epoch derived architectures and scores of one long run (cached in ``path``)."""
    if path.exists():
        return json.loads(path.read_text())
    t0 = time.perf_counter()
    records = run(spec, seed).records
    out = {
        "task": spec.task.label, "strategy": spec.strategy.label, "seed": seed,
        "epochs": len(records), "wall_s": round(time.perf_counter() - t0, 1),
        "arch": [r.arch for r in records],
        "val_acc": [r.val_acc for r in records],
        "test_acc": [r.test_acc for r in records],
        "cost_s": [r.cost_s for r in records],
    }  # fmt: skip
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(out) + "\n")
    tmp.replace(path)
    return out


def changed_fraction(space, archs: list[str]) -> list[float]:
    """Per epoch, the fraction of decisions that differ from the last epoch's architecture."""
    final = decisions(space, archs[-1])
    out = []
    for arch in archs:  # decision sequences can differ in length (a block's depth, a cell's nodes)
        values = decisions(space, arch)
        pairs = list(zip_longest(values, final))
        out.append(sum(a != b for a, b in pairs) / len(pairs))
    return out


def settling_epoch(distance: list[float], tolerance: float) -> int:
    """The first epoch (1-based) from which every later distance is at most ``tolerance``."""
    epoch = len(distance)
    for i in range(len(distance) - 1, -1, -1):
        if not distance[i] <= tolerance + 1e-12:
            break
        epoch = i + 1
    return epoch


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--epochs", type=int, default=28)
    parser.add_argument("--seeds", default="0,1")
    parser.add_argument("--strategies", default="darts,gdas,single_path,tas")
    parser.add_argument("--tolerance", type=float, default=0.1)
    parser.add_argument("--score-tolerance", type=float, default=0.2, help="points")
    parser.add_argument("--write", action="store_true", help=f"write {OUT}/README.md and plot")
    args = parser.parse_args(argv)
    seeds = [int(s) for s in args.seeds.split(",")]
    strategies = args.strategies.split(",")
    suite, _ = load_suite(SUITE)
    specs = [s for s in suite.specs() if s.strategy.label in strategies and s.task.label in TASKS]
    rows, curves = [], {}
    for spec in specs:
        space = spaces.create(spec.task.space, **dict(spec.task.space_params))
        long = long_spec(spec, args.epochs)
        settle, scored, walls, finals = [], [], [], []
        for seed in seeds:
            name = f"{spec.task.label}__{spec.strategy.label}__e{args.epochs}__seed{seed}.json"
            out = run_one(long, seed, OUT / "runs" / name)
            changed = changed_fraction(space, out["arch"])
            settle.append(settling_epoch(changed, args.tolerance))
            gaps = [abs(100 * (t - out["test_acc"][-1])) for t in out["test_acc"]]
            scored.append(settling_epoch(gaps, args.score_tolerance))
            walls.append(out["wall_s"])
            finals.append(out["test_acc"][-1])
            curves[(spec.task.label, spec.strategy.label, seed)] = (changed, out["test_acc"])
            print(f"{spec.task.label} {spec.strategy.label} seed {seed}: decisions settle at "
                  f"epoch {settle[-1]}, score at {scored[-1]} of {args.epochs} "
                  f"({out['wall_s']} s)", flush=True)  # fmt: skip
        shipped = dict(spec.strategy.params).get("epochs")
        rows.append((spec.task.label, spec.strategy.label, shipped, settle, scored, walls, finals))
    text = report(rows, args, seeds)
    print(text, end="")
    if args.write:
        (OUT / "README.md").write_text(text)
        plot(curves, args.epochs, OUT / "convergence.png")


def report(rows: list, args: argparse.Namespace, seeds: list[int]) -> str:
    lines = [
        "# Supernet epochs the gradient strategies need",
        "",
        f"Produced by `python -m experiments.gradient_convergence --epochs {args.epochs} "
        f"--seeds {args.seeds} --strategies {args.strategies} --write` (the module docstring "
        "says how): each strategy as the gradient suite runs it, on the sparsity-0 task of each "
        f"space it searches, planned for {args.epochs} epochs (schedules stretched over them). "
        "Per seed: 'decisions settle' is the first epoch from which every derived architecture "
        f"differs from the final one in at most {args.tolerance:g} of its decisions; 'score "
        "settles' the first from which every derived architecture's benchmark test accuracy "
        f"is within {args.score_tolerance:g} points of the final one's; 'final test' is the "
        "benchmark's test accuracy of the final architecture.",
        "",
        "| task | strategy | suite epochs | decisions settle | score settles "
        "| final test (%) | wall s |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for task, strategy, shipped, settle, scored, walls, finals in rows:
        lines.append(
            f"| {task} | {strategy} | {shipped} | {', '.join(map(str, settle))} | "
            f"{', '.join(map(str, scored))} | "
            f"{', '.join(f'{100 * f:.2f}' for f in finals)} | "
            f"{', '.join(f'{w:.0f}' for w in walls)} |"
        )
    return "\n".join(lines) + "\n"


def plot(curves: dict, epochs: int, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (top, bottom) = plt.subplots(2, 1, figsize=(7, 6.5), sharex=True)
    styles = {}
    for (task, strategy, _seed), (changed, test) in sorted(curves.items()):
        key = f"{strategy} / {task}"
        line = styles.get(key)
        kw = {"color": line.get_color()} if line else {"label": key}
        x = range(1, len(changed) + 1)
        (line_,) = top.plot(x, changed, lw=1.2, alpha=0.8, **kw)
        bottom.plot(x, [100 * t for t in test], lw=1.2, alpha=0.8, color=line_.get_color())
        styles.setdefault(key, line_)
    top.set_ylabel("decisions differing\nfrom the final")
    bottom.set_ylabel("benchmark test acc (%)")
    bottom.set_xlabel(f"supernet epoch (planned: {epochs})")
    fig.legend(*top.get_legend_handles_labels(), loc="lower center", ncol=3, fontsize=8,
               frameon=False)  # fmt: skip
    fig.tight_layout(rect=(0, 0.07, 1, 1))
    fig.savefig(path, dpi=130)


if __name__ == "__main__":
    main()
