"""Single-Path NAS against latency targets, lambda tuned per target as the paper does (issue 22).

Single-Path NAS's loss is ``CE + lambda * log(R)`` (Stamoulis et al. 2019, Sec. 3.4; the
strategy's default ``latency_loss = "log"``): the target latency is not in the loss, so the
authors launch one search per lambda and keep the lambda whose architecture has the latency
wanted. This script does that on the hierarchical space's ``single_path`` preset (MNIST-1D):

1. **Targets.** ``--quantiles`` of the lookup-table latency (``lut:cpu``) of ``--space-samples``
   uniform samples of the space (drawn from the fixed stream ``role_rng(0,
   "single-path-targets")``), or explicit ``--targets-ms``. The median is the rule of the
   shipped suites' latency limits ("the median latency of each table"), in the lookup table's
   units.
2. **Sweep.** For every seed and every lambda of ``--lambdas``, one search
   (:class:`~nasbench.strategies.single_path.SinglePath` with ``latency_loss = "log"``,
   ``--epochs`` supernet epochs of ``--steps`` mini-batches of ``--batch-size``, thresholds at
   ``--threshold-lr``); the derived architecture's latency is read from the same lookup table.
   One search per (seed, lambda) serves every target: the loss does not read the target.
3. **Choice.** Per target and seed, the lambda whose found latency is closest to the target from
   below (the largest found latency <= target; when no lambda meets the target, the one of the
   smallest found latency, marked not met). Per target, one lambda for all seeds (what a suite
   sets): among the lambdas whose searches meet the target on every seed, the one of the largest
   mean found latency; when none does, the one meeting it on the most seeds, then of the
   smallest mean latency (:func:`choose`).

Every search and the targets read one lookup table, stored under ``--tables`` (default: the
shared folder ``results/single_path/lut``): a table found there is read, not re-timed, and the
ops it lacks are timed once, on this machine, and saved there. The report states the table's
file, its op count and the settings. ``--write`` puts the report into
``results/single_path/latency-targets.md`` as a section named by the settings (a later run with
other settings adds its own section; the same settings replace theirs); without it, the report is
printed. ``--journal FILE`` appends each finished search as a JSON line and skips searches
already there (resumable).

    python -m experiments.single_path_latency [--write] [--seeds 0,1,2]
        [--lambdas 0,0.4,0.55,0.7,0.85,1,1.5,3] [--quantiles 0.1,0.5,0.9] [--width 0.25]
        [--epochs 4] [--steps 16] [--batch-size 32] [--threshold-lr 0.1]
        [--latency-samples 100] [--tables results/single_path/lut] [--journal FILE]
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from nasbench.core.errors import NasbenchError
from nasbench.core.registry import spaces
from nasbench.core.seeding import role_rng
from nasbench.core.space import SearchSpace
from nasbench.core.strategy import SearchInfo
from nasbench.core.tasks import task_for
from nasbench.core.types import Budget
from nasbench.strategies.single_path import SinglePath
from nasbench.tables.latency_models import LookupTableLatency, latency_model

DATASET = "mnist1d"
TABLES = Path("results/single_path/lut")
REPORT = Path("results/single_path/latency-targets.md")
TITLE = "# Single-Path NAS: found latency against the target, lambda tuned per target"


@dataclass(frozen=True)
class Settings:
    """One sweep's search settings (they name its report section)."""

    width: float
    epochs: int
    steps: int
    batch_size: int
    threshold_lr: float
    latency_samples: int
    preset: str = "single_path"

    def title(self) -> str:
        preset = "" if self.preset == "single_path" else f"preset {self.preset}, "
        return (
            f"{preset}width {self.width:g}, {self.epochs} epochs x {self.steps} steps of "
            f"{self.batch_size}, threshold lr {self.threshold_lr:g}"
        )


@dataclass(frozen=True)
class Found:
    """One search's result: its lambda and seed, the derived architecture and its latency."""

    latency_weight: float
    seed: int
    arch: str
    lut_ms: float
    wall_s: float


def _floats(text: str, name: str) -> list[float]:
    try:
        values = [float(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise NasbenchError(f"--{name} must be comma-separated numbers, got {text!r}") from None
    if not values or not all(math.isfinite(v) for v in values):
        raise NasbenchError(f"--{name} must be comma-separated finite numbers, got {text!r}")
    return values


def space_latencies(space: SearchSpace, lut: LookupTableLatency, n: int) -> np.ndarray:
    """Lookup-table latencies (ms) of ``n`` uniform samples of ``space`` (a fixed stream)."""
    task = task_for(DATASET)
    rng = role_rng(0, "single-path-targets")
    return np.array([lut.latency_ms(space.sample(rng), None, task) for _ in range(n)])


def search(space: SearchSpace, settings: Settings, weight: float, seed: int, tables: Path) -> Found:
    """One Single-Path NAS search with the paper's loss at ``latency_weight = weight``; the
    derived architecture after the last epoch and its lookup-table latency."""
    task = task_for(DATASET)
    budget = Budget(evaluations=settings.epochs)
    info = SearchInfo(float(settings.epochs), (), budget, dataset=DATASET)
    strategy = SinglePath(
        latency_weight=weight,
        latency_samples=settings.latency_samples,
        epochs=settings.epochs,
        batch_size=settings.batch_size,
        steps_per_epoch=settings.steps,
        latency_tables=str(tables),
        threshold_lr=settings.threshold_lr,
        latency_loss="log",
    )
    begin = time.perf_counter()
    strategy.start(space, info, role_rng(seed, "strategy"), role_rng(seed, "initial_design"))
    proposals = strategy.ask(settings.epochs)
    arch = proposals[-1].arch
    wall = time.perf_counter() - begin
    lut = latency_model("lut:cpu", space, table_dir=tables).latency_ms(arch, None, task)
    return Found(weight, seed, space.format(arch), lut, wall)


def _met(found_ms: float, target_ms: float) -> bool:
    return found_ms <= target_ms * (1 + 1e-9)


def pick(found: Sequence[Found], target_ms: float) -> tuple[Found, bool]:
    """One seed's choice for ``target_ms``: the search whose latency is closest to the target
    from below (ties: the smaller lambda), else the one of the smallest latency (not met)."""
    if not found:
        raise NasbenchError("pick needs at least one search")
    met = [f for f in found if _met(f.lut_ms, target_ms)]
    if met:
        return max(met, key=lambda f: (f.lut_ms, -f.latency_weight)), True
    return min(found, key=lambda f: (f.lut_ms, f.latency_weight)), False


def choose(found: Sequence[Found], target_ms: float) -> float:
    """One lambda for every seed: among the lambdas meeting ``target_ms`` on every seed, the one
    of the largest mean found latency; when none does, the one meeting it on the most seeds, then
    of the smallest mean latency (ties: the smaller lambda)."""
    if not found:
        raise NasbenchError("choose needs at least one search")
    by_weight: dict[float, list[float]] = {}
    for f in found:
        by_weight.setdefault(f.latency_weight, []).append(f.lut_ms)

    def key(weight: float) -> tuple[bool, int, float, float]:
        lat = by_weight[weight]
        n_met = sum(_met(v, target_ms) for v in lat)
        mean = float(np.mean(lat))
        every = n_met == len(lat)
        return (every, n_met, mean if every else -mean, -weight)

    return max(by_weight, key=key)


def report(
    settings: Settings,
    targets: Sequence[tuple[str, float]],
    found: Sequence[Found],
    space_ms: np.ndarray,
    table: str,
    command: str,
) -> str:
    """The Markdown section of one sweep (module docstring)."""
    weights = sorted({f.latency_weight for f in found})
    seeds = sorted({f.seed for f in found})
    at = {(f.latency_weight, f.seed): f for f in found}
    q = np.quantile(space_ms, [0.0, 0.1, 0.5, 0.9, 1.0])
    lines = [
        f"## {settings.title()}",
        "",
        f"Command: `{command}`",
        "",
        f"Settings: hierarchical space, preset `{settings.preset}`, width {settings.width:g}, "
        f'{DATASET}; SinglePath with `latency_loss = "log"` (CE + lambda * log E[latency]), '
        f"{settings.epochs} epochs x {settings.steps} mini-batches of {settings.batch_size}, "
        f"`threshold_lr = {settings.threshold_lr:g}` (Adam, no weight decay), latency model "
        f"fitted on {settings.latency_samples} samples; seeds {', '.join(map(str, seeds))}; "
        f"lambda grid {', '.join(f'{w:g}' for w in weights)}. Latencies: `lut:cpu` from "
        f"{table}. The space ({len(space_ms)} uniform samples): min {q[0]:.3f}, q10 {q[1]:.3f}, "
        f"median {q[2]:.3f}, q90 {q[3]:.3f}, max {q[4]:.3f} ms. Searches: "
        f"{sum(f.wall_s for f in found) / 60:.1f} min of wall time in all.",
        "",
        "Found latency (ms) per lambda and seed (one search each; every target reads them):",
        "",
        "| lambda | " + " | ".join(f"seed {s}" for s in seeds) + " | mean |",
        "| --- | " + " | ".join("---" for _ in seeds) + " | --- |",
    ]
    for w in weights:
        row = [at[w, s].lut_ms for s in seeds if (w, s) in at]
        cells = [f"{at[w, s].lut_ms:.3f}" if (w, s) in at else "-" for s in seeds]
        lines.append(f"| {w:g} | " + " | ".join(cells) + f" | {np.mean(row):.3f} |")
    lines += [
        "",
        "Per target: the lambda of each seed whose found latency is closest to the target from "
        "below, and one lambda for all seeds (met on every seed, largest mean found latency):",
        "",
        "| target | target (ms) | lambda per seed | found per seed (ms) | met | lambda for all "
        "seeds | found at it (ms) | found / target | met at it |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for name, target in targets:
        picks = [pick([f for f in found if f.seed == s], target) for s in seeds]
        best = choose(found, target)
        lat = np.array([at[best, s].lut_ms for s in seeds if (best, s) in at])
        met = sum(_met(v, target) for v in lat)
        lines.append(
            f"| {name} | {target:.3f} | {', '.join(f'{p.latency_weight:g}' for p, _ in picks)} | "
            f"{', '.join(f'{p.lut_ms:.3f}' for p, _ in picks)} | "
            f"{sum(ok for _, ok in picks)}/{len(picks)} | {best:g} | "
            f"{lat.mean():.3f} ± {lat.std():.3f} | {np.mean(lat / target):.3f} | "
            f"{met}/{len(lat)} |"
        )
    lines += ["", "Architectures found (seed 0 where run):", ""]
    first = seeds[0]
    for w in weights:
        if (w, first) in at:
            lines.append(f"- lambda {w:g}: `{at[w, first].arch}`")
    return "\n".join(lines) + "\n"


def write_section(path: Path, section: str) -> None:
    """Put ``section`` (starting ``## title``) into ``path``, replacing a section of that
    title, else appending it."""
    head = section.splitlines()[0]
    parts: list[str] = []
    if path.exists():
        text = path.read_text()
        parts = [p if i == 0 else "## " + p for i, p in enumerate(text.split("\n## "))]
    if not parts or not parts[0].startswith(TITLE):
        parts = [TITLE + "\n\nWritten by `python -m experiments.single_path_latency --write` "
                 "(its module docstring: the procedure).\n"]  # fmt: skip
    for i, part in enumerate(parts):
        if part.splitlines()[0] == head:
            parts[i] = section
            break
    else:
        parts.append(section)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(p.rstrip("\n") + "\n" for p in parts))


def _journal(path: Path | None) -> list[dict[str, Any]]:
    if path is None or not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def run(args: argparse.Namespace) -> str:
    settings = Settings(args.width, args.epochs, args.steps, args.batch_size,
                        args.threshold_lr, args.latency_samples, args.preset)  # fmt: skip
    weights = _floats(args.lambdas, "lambdas")
    seeds = [int(s) for s in _floats(args.seeds, "seeds")]
    tables = Path(args.tables)
    torch.set_num_threads(1)
    space: SearchSpace = spaces.create("hierarchical", preset=args.preset, width=args.width)
    lut = latency_model("lut:cpu", space, table_dir=tables)
    assert isinstance(lut, LookupTableLatency)
    space_ms = space_latencies(space, lut, args.space_samples)
    if args.targets_ms:
        targets = [(f"{t:g} ms", t) for t in _floats(args.targets_ms, "targets-ms")]
    else:
        qs = _floats(args.quantiles, "quantiles")
        targets = [(f"q{q:g} of the space", float(np.quantile(space_ms, q))) for q in qs]
    journal = Path(args.journal) if args.journal else None
    found: list[Found] = []
    for seed in seeds:
        for weight in weights:
            done = [r for r in _journal(journal) if r["settings"] == asdict(settings)
                    and (r["latency_weight"], r["seed"]) == (weight, seed)]  # fmt: skip
            if done:
                row = {k: v for k, v in done[0].items() if k != "settings"}
                found.append(Found(**row))
                continue
            f = search(space, settings, weight, seed, tables)
            found.append(f)
            print(f"lambda {weight:g} seed {seed}: {f.lut_ms:.3f} ms, {f.wall_s:.0f} s", flush=True)
            if journal is not None:
                with journal.open("a") as out:
                    out.write(json.dumps({"settings": asdict(settings), **asdict(f)}) + "\n")
    path = lut._path(task_for(DATASET).input_shape)
    ops = len(lut.table(task_for(DATASET)))
    table = f"`{path}` ({ops} ops)"
    return report(settings, targets, found, space_ms, table, args.command)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--lambdas", default="0,0.4,0.55,0.7,0.85,1,1.5,3",
                        help="the lambda grid (one search per lambda and seed)")  # fmt: skip
    parser.add_argument("--quantiles", default="0.1,0.5,0.9",
                        help="targets: quantiles of the space's lookup-table latency")  # fmt: skip
    parser.add_argument("--targets-ms", default="", help="explicit targets (ms) instead")
    parser.add_argument("--space-samples", type=int, default=200)
    parser.add_argument("--width", type=float, default=0.25)
    parser.add_argument(
        "--preset", default="single_path",
        help="hierarchical preset (the suites' hierarchical tasks use mnasnet)",
    )  # fmt: skip
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--steps", type=int, default=16, help="mini-batches per epoch")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--threshold-lr", type=float, default=0.1)
    parser.add_argument("--latency-samples", type=int, default=100)
    parser.add_argument("--tables", default=str(TABLES), help="folder of stored lookup tables")
    parser.add_argument("--journal", default="", help="JSON-lines file of finished searches")
    parser.add_argument("--write", action="store_true", help=f"write the section into {REPORT}")
    args = parser.parse_args(argv)
    if args.space_samples < 1:
        raise NasbenchError(f"--space-samples must be >= 1, got {args.space_samples}")
    words = list(sys.argv[1:] if argv is None else argv)
    args.command = " ".join(["python -m experiments.single_path_latency", *words])
    text = run(args)
    if args.write:
        write_section(REPORT, text)
    print(text, end="")


if __name__ == "__main__":
    main()
