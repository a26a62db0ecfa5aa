"""How well a surrogate benchmark's learning curves predict held-out architectures (issue 26).

A surrogate benchmark of a table that records learning curves answers every epoch ``e`` of its
recipe's ``E`` (:mod:`nasbench.evaluation.surrogate`, curves by :mod:`nasbench.tables.curve_model`
in the manner of NAS-Bench-x11). This study fits the ``surrogate`` evaluator on ``--train-size``
of the table's architectures (all their sparsity levels; the evaluator's own ``train_size``
split) and scores its noise-free answer at each epoch on the rows of the other architectures
against the recorded seed-mean validation accuracy after that epoch. It prints a Markdown report
(``--write`` writes it to ``results/curve_surrogate/README.md``)::

    python -m experiments.curve_surrogate_quality [--benchmark chain-mnist1d] \\
        [--surrogate best random_forest] [--train-size 400] [--write]

Per surrogate and epoch: RMSE and Kendall tau (pooled over the held-out rows of every sparsity
level) of what the benchmark answers (the curve tied to the surrogate's final prediction), of the
curve model alone (its own reconstructed curve, untied), and of the training rows' mean curve
(RMSE only: one value per epoch); beside them the Kendall tau of the recorded final accuracy
with the recorded accuracy after ``e`` epochs, how far the final ranking is from epoch ``e``'s
even when known exactly. Also the share of the curves' variance the components keep and the
tying slopes ``beta``.
"""

from __future__ import annotations

import argparse
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy import stats

from nasbench.evaluation.surrogate import SurrogateEvaluator
from nasbench.tables.benchmarks import load_benchmark
from nasbench.tables.curve_model import table_curves
from nasbench.tables.surrogate_benchmark import split, table_data, table_space

OUT = Path("results/curve_surrogate/README.md")


@dataclass(frozen=True)
class Result:
    """One surrogate's held-out scores; arrays have one value per epoch ``1..E``."""

    benchmark: str
    surrogate: str  # as resolved ("best" -> its name)
    train_archs: int
    test_rows: int
    rmse: np.ndarray
    tau: np.ndarray
    rmse_alone: np.ndarray
    tau_alone: np.ndarray
    rmse_mean: np.ndarray
    tau_final: np.ndarray
    explained: np.ndarray
    beta: np.ndarray
    fit_s: float


def held_out(benchmark: str, surrogate: str, train_size: int) -> Result:
    """Fit the surrogate benchmark on ``train_size`` architectures and score every epoch on
    the others (see the module docstring)."""
    table = load_benchmark(benchmark)
    data, space = table_data(table), table_space(table)
    truth_all = table_curves(data).values
    train = split(data, train_size, 0, None)[0]  # the rows the evaluator's train_size fits
    test = np.setdiff1d(np.arange(len(data)), train)
    test = test[np.all(np.isfinite(truth_all[test]), axis=1)]
    epochs = truth_all.shape[1]
    tied, alone = np.empty((len(test), epochs)), np.empty((len(test), epochs))
    start = time.perf_counter()
    name = surrogate
    for level in table.sparsities:
        ev = SurrogateEvaluator(space, benchmark=benchmark, surrogate=surrogate, sparsity=level,
                                noise=False, train_size=train_size)  # fmt: skip
        name = ev.surrogate_name
        at = np.flatnonzero(np.isclose(data.sparsity[test], level))
        archs = [data.archs[i] for i in test[at]]
        for e in range(1, epochs + 1):
            tied[at, e - 1] = ev.evaluate_many(archs, float(e))["val"]
        alone[at] = ev.curve_model.predict(data.vectors[test[at]])
    fit_s = time.perf_counter() - start
    truth = truth_all[test]
    mean_curve = np.nanmean(truth_all[train], axis=0)

    def rmse(pred: np.ndarray) -> np.ndarray:
        return np.asarray(np.sqrt(np.mean((pred - truth) ** 2, axis=0)))

    def tau(pred: np.ndarray) -> np.ndarray:
        return np.array([stats.kendalltau(pred[:, e], truth[:, e])[0] for e in range(epochs)])

    return Result(
        table.name, name, train_size, len(test), rmse(tied), tau(tied), rmse(alone), tau(alone),
        rmse(np.broadcast_to(mean_curve, truth.shape)),
        np.array([stats.kendalltau(truth[:, -1], truth[:, e])[0] for e in range(epochs)]),
        ev.curve_model.explained_, ev.curve_model.beta_, fit_s,
    )  # fmt: skip


def report(results: list[Result], command: str) -> str:
    first = results[0]
    epochs = len(first.rmse)
    lines = [
        "# Surrogate benchmarks at every epoch: held-out quality of the learning curves",
        "",
        f"Produced by `{command}`.",
        "",
        f"The `surrogate` evaluator on `{first.benchmark}`, fitted on {first.train_archs} "
        f"architectures (all sparsity levels), scored on the {first.test_rows} rows of the other "
        "architectures against the recorded seed-mean validation accuracy after each epoch "
        "(noise-free answers). *benchmark*: what the evaluator answers, the predicted curve tied "
        "to the surrogate's final prediction (`nasbench/tables/curve_model.py`); *curve model*: "
        "the reconstructed curve alone, untied; *mean curve*: the training rows' mean "
        "accuracy at that epoch; *final, recorded*: Kendall tau of the recorded final accuracy "
        "with the recorded accuracy after that epoch. Kendall tau pooled over the sparsity "
        "levels.",
        "",
    ]
    header = "| epoch | " + " | ".join(str(e) for e in range(1, epochs + 1)) + " |"
    rule = "| --- " * (epochs + 1) + "|"
    for r in results:
        lines += [
            f"## {r.surrogate}",
            "",
            header,
            rule,
            _row("RMSE, benchmark", r.rmse),
            _row("RMSE, curve model", r.rmse_alone),
            _row("RMSE, mean curve", r.rmse_mean),
            _row("Kendall tau, benchmark", r.tau),
            _row("Kendall tau, curve model", r.tau_alone),
            _row("Kendall tau, final recorded", r.tau_final),
            _row("tying slope beta", r.beta),
            "",
            f"Fit and predictions: {r.fit_s:.0f} s on one CPU core beside other work.",
            "",
        ]
    explained = ", ".join(f"{v:.4f}" for v in first.explained)
    lines += [
        f"Cumulative share of the training curves' variance the {len(first.explained)} "
        f"components keep: {explained}.",
        "",
    ]
    return "\n".join(lines)


def _row(label: str, values: np.ndarray) -> str:
    return f"| {label} | " + " | ".join(f"{v:.3f}" for v in values) + " |"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--benchmark", default="chain-mnist1d", help="table name or path")
    parser.add_argument("--surrogate", nargs="+", default=["best", "random_forest"])
    parser.add_argument("--train-size", type=int, default=400, help="architectures to fit on")
    parser.add_argument("--write", action="store_true", help=f"write {OUT}")
    args = parser.parse_args(argv)
    results = [held_out(args.benchmark, s, args.train_size) for s in args.surrogate]
    command = (
        f"python -m experiments.curve_surrogate_quality --benchmark {args.benchmark} "
        f"--surrogate {' '.join(args.surrogate)} --train-size {args.train_size} --write"
    )
    text = report(results, command)
    print(text)
    if args.write:
        OUT.parent.mkdir(parents=True, exist_ok=True)
        OUT.write_text(text)


if __name__ == "__main__":
    main()
