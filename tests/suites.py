"""Small suites the tests run: NAS-Bench-201 through its table at fidelity 12, cheap enough for
unit tests of the runner, the backends, progress and statistics."""

from __future__ import annotations


def nb201_suite(
    name: str,
    evaluations: int,
    seeds: int = 2,
    strategies: tuple[str, ...] = ("random", "regularized_evolution"),
) -> str:
    """TOML of a one-task suite (task label ``nb``) with one ``[[strategy]]`` per name."""
    blocks = "".join(f'[[strategy]]\nname = "{s}"\n' for s in strategies)
    return (
        f'\n[suite]\nname = "{name}"\nseeds = {seeds}\n[budget]\nevaluations = {evaluations}\n'
        '[[task]]\nspace = "nb201"\nevaluator = "tabular"\nfidelity = 12\nlabel = "nb"\n' + blocks
    )
