"""Compare strategies on your own benchmark table, in one file.

Random search, regularized evolution and the greedy mutation of ``greedy_mutation.py`` search a
small chain space under one budget and the same seeds, every evaluation answered by the surrogate
benchmark of a table you built with ``nasbench build-table chain --param max_layers=3 --param
filters=[8,16] ...``; the records then say which strategy found the better architectures, seed by
seed. With this folder on the Python path::

    python compare_strategies.py chain-small.parquet results/chain-small
"""

import sys
from pathlib import Path

import nasbench

SUITE = """
[suite]
name = "chain-small"
seeds = {seeds}
[budget]
evaluations = {evaluations}                       # the same budget for every strategy
[[task]]
space = "chain"
space_params = {{ max_layers = 3, filters = [8, 16] }}  # the space the table was built for
evaluator = "surrogate"                           # answers for any architecture of the space,
benchmark = "{table}"                             # from a model fitted to your table
surrogate = "random_forest"
label = "chain-small"                             # the task's name in the tables
[[strategy]]
name = "random"
[[strategy]]
name = "regularized_evolution"
population = 10
sample_size = 3
[[strategy]]
name = "greedy_mutation:GreedyMutation"
"""


def compare(table: Path, out: Path, seeds: int, evaluations: int) -> dict[str, list]:
    """Run the suite on ``table`` into the new folder ``out``; per strategy, the final test
    accuracy (a fraction) of each seed's run, in seed order."""
    text = SUITE.format(seeds=seeds, evaluations=evaluations, table=Path(table).resolve())
    nasbench.run_suite(nasbench.parse_suite(text), text, out)  # also writes summary.md, stats.md
    final: dict[str, dict[int, float]] = {}
    for row in nasbench.load_results(out).to_pylist():  # a run's trials in order: its last row
        final.setdefault(row["strategy"], {})[row["seed"]] = row["incumbent_test_acc"]
    return {strategy: [runs[s] for s in sorted(runs)] for strategy, runs in final.items()}


def main(table: str, out: str, seeds: int = 20, evaluations: int = 50) -> None:
    finals = compare(Path(table), Path(out), seeds, evaluations)
    baseline = finals["random"]
    for strategy, accs in finals.items():
        # one seed gives every strategy the same initial design: compare seed by seed
        wins = sum(a > b for a, b in zip(accs, baseline, strict=True))
        losses = sum(a < b for a, b in zip(accs, baseline, strict=True))
        mean = 100 * sum(accs) / len(accs)
        print(f"{strategy:32} {mean:6.2f}%  vs random: {wins} better, {losses} worse")
    print(f"the tests and what they could detect: {Path(out) / 'stats.md'}")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
