"""Network morphism (issue 26): how well inherited weights rank architectures, and what a search
saves with them (the ``network_morphism`` evaluator, :mod:`nasbench.evaluation.network_morphism`).

(a) **Ranking.** For each own table (``--tables``, chain first) and each of its first ``--archs``
architectures ``a`` recorded at sparsity 0: a parent ``p = space.mutate(a)`` (one decision apart,
drawn from ``role_rng(0, "network-morphism-study", table, i)``) is trained from scratch with the
table's space, dataset, epochs and recipe; then ``a`` is evaluated as its child (inheriting,
``--child-epochs`` epochs) and, as the baseline of equal compute, trained from scratch for
``--child-epochs`` epochs. Kendall tau of each against the table's stand-alone validation accuracy
(seed mean), beside the table's own seed-to-seed tau (its noise ceiling).

(b) **Search.** Regularized evolution (``--population`` 10, sample 3) on the first table's space,
``--evaluations`` evaluations per seed, once with the ``train`` evaluator (every proposal trained
for the table's epochs) and once with ``network_morphism`` (a child of a cached parent trains
``--child-epochs``). Compute is counted two ways: the measured seconds the runner charged
(``cost_s``) and simulated seconds (:func:`nasbench.training.simcost.training_cost_s` of each
network's MACs over the samples and epochs it trained), the second free of machine noise. At
equal final quality: per seed, the compute each search spent until its incumbent's validation
accuracy first reached the lower of the two searches' final incumbent accuracies; the ratio of
their means is what inheritance saves.

    python -m experiments.network_morphism_study [--tables chain-mnist1d,...] [--archs 50]
        [--child-epochs 2] [--seeds 3] [--evaluations 60] [--population 10] [--limit N] [--write]

``--limit N`` is a smoke run: ``N`` architectures per table, one seed of ``2N`` evaluations with
a population of ``N``.
``--write`` writes ``results/network_morphism/README.md`` (command and numbers) and
``rows.json`` (every row the tables are made from).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow.parquet as pq
import torch
from scipy import stats

from nasbench.core.registry import evaluators
from nasbench.core.seeding import role_rng
from nasbench.core.types import TrialRecord
from nasbench.engine.runner import run
from nasbench.engine.suite import parse_suite
from nasbench.tables.benchmarks import load_benchmark
from nasbench.tables.surrogate_benchmark import table_data
from nasbench.tables.tablebuild import BUILD_KEY, TableSpec
from nasbench.training.datasets import load_dataset
from nasbench.training.simcost import training_cost_s

OUT = Path("results/network_morphism")
SMOKE = [
    "**A smoke run** (`--limit`): too few architectures and seeds for conclusions; run without "
    "`--limit` for the study.",
    "",
]
TABLES = "chain-mnist1d,multibranch-mnist1d,cell-mnist1d,hierarchical-mnist1d"


def table_spec(name: str) -> TableSpec:
    table = load_benchmark(name)
    assert table.path is not None
    return TableSpec.from_json(pq.read_schema(table.path).metadata[BUILD_KEY])


def tau(a: list[float], b: list[float]) -> float:
    x, y = np.asarray(a, float), np.asarray(b, float)
    ok = np.isfinite(x) & np.isfinite(y)
    return float(stats.kendalltau(x[ok], y[ok]).statistic) if ok.sum() >= 3 else math.nan


# ---- (a) ranking --------------------------------------------------------------------------------
def ranking(name: str, archs: int, child_epochs: int, done: Progress) -> dict[str, Any]:
    """Kendall taus of inherited and short-trained accuracy against the table (module doc)."""
    spec, data = table_spec(name), table_data(load_benchmark(name))
    rows = np.flatnonzero(np.isclose(data.sparsity, 0.0))[:archs]
    ev = evaluators.create("network_morphism", space=data.space, dataset=spec.dataset,
                           epochs=spec.epochs, recipe=spec.recipe,
                           child_epochs=min(child_epochs, spec.epochs))  # fmt: skip
    items = []
    for i in rows:
        key = {"kind": "rank", "table": name, "row": int(i), "child_epochs": ev.child_epochs}
        item = done.get(key)
        if item is None:
            start = time.perf_counter()
            rng = role_rng(0, "network-morphism-study", name, int(i))
            arch = data.archs[i]
            parent = data.space.mutate(arch, rng)
            parent_val = ev.evaluate(parent, float(spec.epochs), rng).val_acc
            child = ev.evaluate_child(arch, parent, float(spec.epochs), rng)
            extra = dict(child.extra)
            item = done.add(key, {
                "parent": parent_val, "inherited": child.val_acc,
                "fraction": extra["inherited_fraction"], "exact": extra["function_preserved"],
                "short": ev.evaluate(arch, float(ev.child_epochs), rng).val_acc,
                "wall_s": time.perf_counter() - start,
            })  # fmt: skip
        items.append(item)
    inherited, short, parents = ([it[k] for it in items] for k in ("inherited", "short", "parent"))
    zero = np.flatnonzero(np.isclose(data.sparsity, 0.0))  # the noise ceiling at sparsity 0
    seeds = [data.val_seeds[i][:2] for i in zero if data.val_seeds and len(data.val_seeds[i]) > 1]
    table = [float(v) for v in data.val[rows]]
    return {
        "table": name, "archs": len(rows), "epochs": spec.epochs, "child_epochs": ev.child_epochs,
        "tau_inherited": tau(inherited, table), "tau_short": tau(short, table),
        "tau_parent": tau(parents, table),
        "tau_seeds": tau([s[0] for s in seeds], [s[1] for s in seeds]), "seed_pairs": len(seeds),
        "val_inherited": float(np.nanmean(inherited)), "val_short": float(np.nanmean(short)),
        "val_table": float(np.mean(table)),
        "inherited_fraction": float(np.mean([it["fraction"] for it in items])),
        "function_preserved": float(np.mean([it["exact"] for it in items])),
        "wall_s": float(sum(it["wall_s"] for it in items)),
    }  # fmt: skip


# ---- (b) search ---------------------------------------------------------------------------------
SUITE = """
[suite]
name = "network-morphism-study"
[budget]
evaluations = {evaluations}
[[task]]
space = "{space}"
space_params = {space_params}
evaluator = "{evaluator}"
dataset = "{dataset}"
epochs = {epochs}
recipe = {recipe}
label = "{evaluator}"
{extra}
[[strategy]]
name = "regularized_evolution"
population = {population}
sample_size = {sample_size}
"""


def toml(value: dict[str, Any]) -> str:
    """A flat dict as an inline TOML table (JSON values are TOML values here)."""
    return "{ " + ", ".join(f"{k} = {json.dumps(v)}" for k, v in value.items()) + " }"


def search(evaluator: str, seed: int, spec: TableSpec, args: argparse.Namespace
           ) -> list[TrialRecord]:  # fmt: skip
    extra = f"child_epochs = {args.child_epochs}" if evaluator == "network_morphism" else ""
    text = SUITE.format(evaluations=args.evaluations, population=args.population,
                        sample_size=min(3, args.population),
                        space=spec.space, evaluator=evaluator,
                        space_params=toml(spec.space_params), dataset=spec.dataset,
                        epochs=spec.epochs, recipe=toml(spec.recipe), extra=extra)  # fmt: skip
    (run_spec,) = parse_suite(text).specs()
    return run(run_spec, seed).records


def simulated(records: list[TrialRecord], samples: int) -> list[float]:
    """Simulated training seconds of each trial: MACs x samples x epochs trained."""
    out = []
    for r in records:
        epochs = dict(r.extra).get("epochs_trained", r.fidelity)
        out.append(training_cost_s(r.macs_m * 1e6, samples * int(epochs)))
    return out


def cost_to(records: list[TrialRecord], costs: list[float], quality: float) -> float:
    """Compute spent until the incumbent's validation accuracy first reaches ``quality``."""
    spent = np.cumsum(costs)
    for r, total in zip(records, spent, strict=True):
        if r.incumbent_val_acc >= quality:
            return float(total)
    return float(spent[-1])


def searches(spec: TableSpec, args: argparse.Namespace, done: Progress) -> tuple[list[dict], float]:
    """The search rows of every seed, and the seconds their searches took."""
    samples = len(load_dataset(spec.dataset).train.y)
    rows, wall_s = [], 0.0
    for seed in range(args.seeds):
        key = {"kind": "search", "space": spec.space, "seed": seed,
               "evaluations": args.evaluations, "population": args.population,
               "child_epochs": args.child_epochs}  # fmt: skip
        pair = done.get(key)
        if pair is None:
            start = time.perf_counter()
            found = {ev: search(ev, seed, spec, args)
                     for ev in ("train", "network_morphism")}  # fmt: skip
            quality = min(recs[-1].incumbent_val_acc for recs in found.values())
            pair = []
            for ev, recs in found.items():
                sim = simulated(recs, samples)
                measured = [r.cost_s for r in recs]
                pair.append({
                    "evaluator": ev, "seed": seed, "evaluations": len(recs),
                    "val": recs[-1].incumbent_val_acc, "test": recs[-1].incumbent_test_acc,
                    "cost_s": sum(measured), "sim_cost_s": sum(sim),
                    "cost_to_quality_s": cost_to(recs, measured, quality),
                    "sim_cost_to_quality_s": cost_to(recs, sim, quality),
                    "inherited": sum(dict(r.extra).get("inherited", 0.0) for r in recs),
                })  # fmt: skip
            pair = done.add(key, {"rows": pair, "wall_s": time.perf_counter() - start})
        rows += pair["rows"]
        wall_s += pair["wall_s"]
    return rows, wall_s


class Progress:
    """Finished items of the study, one JSON line each, so that a stopped study resumes where
    it was (``--progress``); without a path, an in-memory record of this run only. Lines that
    do not parse (a line torn by a kill) are ignored and redone."""

    def __init__(self, path: Path | None) -> None:
        self.path, self.items = path, {}
        if path is not None and path.exists():
            for line in path.read_text().splitlines():
                try:
                    entry = json.loads(line)
                    self.items[json.dumps(entry["key"], sort_keys=True)] = entry["value"]
                except (ValueError, KeyError, TypeError):
                    continue

    def get(self, key: dict[str, Any]) -> Any:
        return self.items.get(json.dumps(key, sort_keys=True))

    def add(self, key: dict[str, Any], value: Any) -> Any:
        self.items[json.dumps(key, sort_keys=True)] = value
        if self.path is not None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self.path.open("a") as f:
                f.write(json.dumps({"key": key, "value": value}) + "\n")
                f.flush()
        return value


# ---- report -------------------------------------------------------------------------------------
def report(
    command: str, ranks: list[dict], runs: list[dict], wall_s: float, smoke: bool = False
) -> str:
    lines = [
        "# Network morphism: ranking by inherited weights, and a search with them",
        "",
        f"Produced by `{command}` ({wall_s:.0f} s of compute, {torch.get_num_threads()} threads). "
        "Procedure: the docstring of `experiments/network_morphism_study.py`.",
        "",
        *(SMOKE if smoke else []),
        "## (a) Kendall tau against stand-alone training (the own tables, sparsity 0)",
        "",
        "| table | archs | epochs (child) | tau inherited | tau short training | tau parent "
        "| seed-to-seed tau (pairs) | val inherited / short / table | inherited fraction "
        "| function preserved |",
        "|" + " --- |" * 10,
    ]
    for r in ranks:
        lines.append(
            f"| {r['table']} | {r['archs']} | {r['epochs']} ({r['child_epochs']}) "
            f"| {r['tau_inherited']:.3f} | {r['tau_short']:.3f} | {r['tau_parent']:.3f} "
            f"| {r['tau_seeds']:.3f} ({r['seed_pairs']}) | {100 * r['val_inherited']:.1f} / "
            f"{100 * r['val_short']:.1f} / {100 * r['val_table']:.1f} "
            f"| {r['inherited_fraction']:.2f} | {r['function_preserved']:.2f} |"
        )
    lines += [
        "",
        "## (b) Regularized evolution: `train` against `network_morphism` (means over seeds)",
        "",
        "| evaluator | seeds | evaluations | inherited | incumbent val (%) | incumbent test (%) "
        "| cost_s | simulated s | cost_s to equal quality | simulated s to equal quality |",
        "|" + " --- |" * 10,
    ]
    means = {}
    for ev in ("train", "network_morphism"):
        items = [r for r in runs if r["evaluator"] == ev]
        m = {k: float(np.mean([i[k] for i in items])) for k in items[0] if k != "evaluator"}
        means[ev] = m
        lines.append(
            f"| {ev} | {len(items)} | {m['evaluations']:.0f} | {m['inherited']:.1f} "
            f"| {100 * m['val']:.2f} | {100 * m['test']:.2f} | {m['cost_s']:.1f} "
            f"| {m['sim_cost_s']:.1f} | {m['cost_to_quality_s']:.1f} "
            f"| {m['sim_cost_to_quality_s']:.1f} |"
        )
    t, n = means["train"], means["network_morphism"]
    lines += [
        "",
        f"Compute saved at equal final quality (train / network_morphism): "
        f"{t['cost_to_quality_s'] / n['cost_to_quality_s']:.2f}x measured, "
        f"{t['sim_cost_to_quality_s'] / n['sim_cost_to_quality_s']:.2f}x simulated; whole "
        f"searches {t['cost_s'] / n['cost_s']:.2f}x measured, "
        f"{t['sim_cost_s'] / n['sim_cost_s']:.2f}x simulated.",
    ]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tables", default=TABLES)
    parser.add_argument("--archs", type=int, default=50)
    parser.add_argument("--child-epochs", type=int, default=2)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--evaluations", type=int, default=60)
    parser.add_argument("--population", type=int, default=10, help="regularized evolution's P")
    parser.add_argument(
        "--limit",
        type=int,
        default=None,
        help="smoke: N archs; 1 seed, population N, 2N evaluations",
    )
    parser.add_argument("--write", action="store_true", help=f"write {OUT}/")
    parser.add_argument(
        "--progress",
        type=Path,
        default=None,
        help=f"resume from and append to this file (default with --write: {OUT}/progress.jsonl)",
    )
    args = parser.parse_args(argv)
    if args.progress is None and args.write:
        args.progress = OUT / "progress.jsonl"
    done = Progress(args.progress)
    if args.limit is not None:
        args.archs, args.seeds, args.population = args.limit, 1, args.limit
        args.evaluations = 2 * args.limit
    command = "python -m experiments.network_morphism_study " + " ".join(
        sys.argv[1:] if argv is None else argv
    )
    torch.set_num_threads(1)
    names = args.tables.split(",")
    ranks = []
    for name in names:
        ranks.append(ranking(name, args.archs, args.child_epochs, done))
        print(f"{name}: tau inherited {ranks[-1]['tau_inherited']:.3f}", flush=True)
    runs, search_s = searches(table_spec(names[0]), args, done)
    wall_s = sum(r["wall_s"] for r in ranks) + search_s  # compute over resumed sessions too
    text = report(command.strip(), ranks, runs, wall_s, smoke=args.limit is not None)
    if args.write:
        OUT.mkdir(parents=True, exist_ok=True)
        (OUT / "README.md").write_text(text)
        (OUT / "rows.json").write_text(json.dumps({"ranking": ranks, "search": runs}, indent=1))
    print(text, end="")


if __name__ == "__main__":
    main()
