"""Suite TOML parsing: shape, defaults, labels and one clear error per mistake."""

from __future__ import annotations

import json

import pytest

from nasbench.core.errors import NasbenchError
from nasbench.core.types import Constraint
from nasbench.engine.suite import kwargs, load_suite, parse_suite

GOOD = """
[suite]
name = "nb201-protocol"
seeds = 3
[budget]
cost_s = 12000
sparsity = 0.0
latency_ms = 4.0
latency_device = "pixel3"
constraint = "hard"
[[task]]
space = "nb201"
evaluator = "tabular"
benchmark = "nb201-cifar10"
fidelity = 12
[[strategy]]
name = "regularized_evolution"
population = 10
sample_size = 3
[[strategy]]
name = "random"
"""


def test_parses_the_issue_shape() -> None:
    suite = parse_suite(GOOD)
    assert suite.name == "nb201-protocol" and suite.seeds == (0, 1, 2)
    assert suite.budget.cost_s == 12000 and suite.budget.constraint is Constraint.HARD
    (task,) = suite.tasks
    assert task.label == "nb201-tabular-nb201-cifar10-f12" and task.fidelity == 12.0
    assert kwargs(task.evaluator_params) == {"benchmark": "nb201-cifar10"}
    assert [s.label for s in suite.strategies] == ["regularized_evolution", "random"]
    assert kwargs(suite.strategies[0].params) == {"population": 10, "sample_size": 3}
    runs = suite.runs()
    assert len(runs) == 6 and runs[0][1] == 0 and runs[2][1] == 2
    assert runs[0][0].run_id(2) == "nb201-tabular-nb201-cifar10-f12__regularized_evolution__seed2"


def test_seed_lists_and_arrays_become_tuples() -> None:
    text = GOOD.replace("seeds = 3", "seeds = [5, 1]").replace(
        'name = "random"', 'name = "random"\nlabel = "rs"\nweights = [1, 2]'
    )
    suite = parse_suite(text)
    assert suite.seeds == (5, 1)
    assert kwargs(suite.strategies[1].params) == {"weights": (1, 2)}
    assert suite.strategies[1].label == "rs"


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (("seeds = 3", "seeds = 0"), "seeds must be"),
        (("seeds = 3", "seeds = [1, 1]"), "seeds must be"),
        (("cost_s = 12000", "cost_s = -5"), "cost_s must be positive"),
        (("sparsity = 0.0", "sparsity = 1.5"), "sparsity must be in [0, 1)"),
        (('constraint = "hard"', 'constraint = "firm"'), "bad [budget]"),
        (("sparsity = 0.0", "sparsty = 0.0"), "unknown key 'sparsty' in [budget]"),
        (("seeds = 3", "seeds = 3\nrepeats = 2"), "unknown key 'repeats' in [suite]"),
        (('name = "nb201-protocol"', 'name = "a/b"'), "file-name-safe"),
        (("fidelity = 12", "fidelity = -1"), "fidelity must be positive"),
        (
            (
                '[[strategy]]\nname = "random"',
                '[[strategy]]\nname = "random"\n[[strategy]]\nname = "random"',
            ),
            "share the label",
        ),
        (('latency_device = "pixel3"\n', ""), "go together"),
        (("[suite]", "[suite\n"), "not valid TOML"),
    ],
)
def test_bad_configs_name_the_problem(edit: tuple[str, str], message: str) -> None:
    text = GOOD.replace(*edit)
    assert text != GOOD
    with pytest.raises(NasbenchError) as info:
        parse_suite(text)
    assert message in str(info.value)


def test_missing_sections() -> None:
    with pytest.raises(NasbenchError, match=r"needs a \[suite\] table"):
        parse_suite("[budget]\ncost_s = 1\n")
    with pytest.raises(NasbenchError, match="at least one"):
        parse_suite('[suite]\nname = "x"\n[budget]\ncost_s = 1\n')


def test_load_suite_missing_file(tmp_path) -> None:
    with pytest.raises(NasbenchError, match="cannot read suite config"):
        load_suite(tmp_path / "nope.toml")


def test_task_budget_overrides_apply_to_that_task_only() -> None:
    suite = parse_suite("""
[suite]
name = "per-task"
[budget]
evaluations = 5
latency_ms = 1.0
latency_device = "cpu"
[[task]]
space = "nb201"
evaluator = "tabular"
label = "a"
budget = { latency_ms = 9.5, evaluations = 7 }
[[task]]
space = "nb201"
evaluator = "tabular"
label = "b"
[[strategy]]
name = "random"
""")
    a, b = suite.specs()
    assert (a.budget.latency_ms, a.budget.evaluations, a.budget.latency_device) == (9.5, 7, "cpu")
    assert (b.budget.latency_ms, b.budget.evaluations) == (1.0, 5)
    assert json.loads(a.to_json())["budget"]["latency_ms"] == 9.5
    assert "budget" not in json.loads(b.to_json())["task"]  # no overrides: JSON as before
    assert "budget" not in json.loads(suite.to_json())["tasks"][1]
    bad = suite_text_with_task_budget("{ sparsity = 1.0 }")
    with pytest.raises(NasbenchError, match=r"\[\[task\]\] 1 budget"):
        parse_suite(bad)
    with pytest.raises(NasbenchError, match="unknown key 'latency' in"):
        parse_suite(suite_text_with_task_budget("{ latency = 2.0 }"))


def suite_text_with_task_budget(table: str) -> str:
    return f"""
[suite]
name = "bad"
[budget]
evaluations = 5
[[task]]
space = "nb201"
evaluator = "tabular"
budget = {table}
[[strategy]]
name = "random"
"""


def test_a_strategy_can_name_the_tasks_it_runs_on() -> None:
    text = """
[suite]
name = "subset"
[budget]
evaluations = 5
[[task]]
space = "nb201"
evaluator = "tabular"
label = "a"
[[task]]
space = "nb201"
evaluator = "tabular"
label = "b"
[[strategy]]
name = "random"
[[strategy]]
name = "regularized_evolution"
tasks = ["b"]
"""
    suite = parse_suite(text)
    assert [s.label for s in suite.specs()] == ["a__random", "b__random",
                                               "b__regularized_evolution"]  # fmt: skip
    assert "tasks" not in json.loads(suite.specs()[0].to_json())["strategy"]
    assert json.loads(suite.specs()[2].to_json())["strategy"]["tasks"] == ["b"]
    with pytest.raises(NasbenchError, match="names unknown task 'c'"):
        parse_suite(text.replace('tasks = ["b"]', 'tasks = ["c"]'))
    with pytest.raises(NasbenchError, match="tasks must be a list of task labels"):
        parse_suite(text.replace('tasks = ["b"]', 'tasks = "b"'))
