"""Protocol switches (issue 22, item 8): the budget's overshoot rule, dependency versions in
every run's metadata, and both shown by ``nasbench report``."""

from __future__ import annotations

import dataclasses
import json
from importlib import metadata
from pathlib import Path
from typing import Any, ClassVar

import pyarrow.parquet as pq
import pytest

from nasbench.analysis.report import environment, format_environment
from nasbench.analysis.results import run_suite
from nasbench.cli.main import main
from nasbench.core.errors import NasbenchError
from nasbench.core.types import Budget, Measurement, Observation, Overshoot
from nasbench.engine import records
from nasbench.engine.records import DEPENDENCIES, META_KEY, read_meta, read_run
from nasbench.engine.runner import run
from nasbench.engine.suite import load_suite, parse_suite
from nasbench.strategies.random import RandomSearch

REPO = Path(__file__).resolve().parents[1]

SUITE = """
[suite]
name = "{name}"
seeds = {seeds}
[budget]
{budget}
[[task]]
space = "nb201"
evaluator = "{evaluator}"
fidelity = {fidelity}
label = "nb"
[[strategy]]
name = "{strategy}"
label = "s-{name}"
"""


def suite_text(budget: str, evaluator: str = "tabular", fidelity: int = 12, seeds: int = 1,
               strategy: str = "random", name: str = "p") -> str:  # fmt: skip
    return SUITE.format(budget=budget, evaluator=evaluator, fidelity=fidelity, seeds=seeds,
                        strategy=strategy, name=name)  # fmt: skip


class Rising:
    """Every evaluation costs 100 simulated seconds and scores 0.1 more than the one before
    (0.1, 0.2, ...): the evaluation that crosses a budget is always the best so far."""

    fidelities = (1.0,)
    default_fidelity = 1.0
    calls: ClassVar[int] = 0

    def __init__(self, space: Any, latency_device: str | None = None, sparsity: float = 0.0):
        self.space, self.n = space, 0

    def evaluate(self, arch: Any, fidelity: float, rng: Any) -> Measurement:
        self.n += 1
        Rising.calls += 1
        score = round(0.1 * self.n, 10)
        return Measurement(score, score, 100.0, params=10)


class Told(RandomSearch):
    """Random search that keeps every observation it is told."""

    seen: ClassVar[list[Observation]] = []

    def tell(self, observations: Any) -> None:
        Told.seen.extend(observations)
        super().tell(observations)


def rising(overshoot: str | None, cost_s: int = 250) -> Any:
    rule = f'\novershoot = "{overshoot}"' if overshoot else ""
    text = suite_text(f"cost_s = {cost_s}{rule}", evaluator="tests.test_protocol_switches:Rising",
                      fidelity=1, strategy="tests.test_protocol_switches:Told")  # fmt: skip
    Told.seen, Rising.calls = [], 0
    return run(parse_suite(text).specs()[0], 0)


# ---- the overshoot rule ------------------------------------------------------------------------
def test_charge_records_and_charges_the_crossing_evaluation() -> None:
    result = rising("charge")
    rec = result.records
    assert [r.cum_cost_s for r in rec] == [100.0, 200.0, 300.0]  # 300 > 250: charged in full
    assert [r.val_acc for r in rec] == [0.1, 0.2, 0.3]
    assert rec[-1].incumbent_trial == 2 and rec[-1].incumbent_test_acc == 0.3
    assert [o.trial for o in Told.seen] == [0, 1, 2] and Rising.calls == 3
    assert result.meta.stop_reason == "cost_s" and result.meta.trials == 3
    assert result.meta.overshoot == "charge"


def test_discard_drops_the_crossing_evaluation() -> None:
    result = rising("discard")
    rec = result.records
    # the third evaluation ran (100 s more would make 300 > 250) but is not counted anywhere
    assert Rising.calls == 3
    assert [r.cum_cost_s for r in rec] == [100.0, 200.0]
    assert [r.val_acc for r in rec] == [0.1, 0.2] and 0.3 not in [r.val_acc for r in rec]
    assert rec[-1].incumbent_trial == 1 and rec[-1].incumbent_test_acc == 0.2
    assert [o.trial for o in Told.seen] == [0, 1]  # the strategy never hears of it
    assert result.meta.stop_reason == "cost_s" and result.meta.trials == 2
    assert result.meta.overshoot == "discard"


def test_the_default_rule_is_charge() -> None:
    assert Budget(cost_s=1.0).overshoot is Overshoot.CHARGE
    default = rising(None)
    assert [r.cum_cost_s for r in default.records] == [100.0, 200.0, 300.0]
    assert default.meta.overshoot == "charge"


def test_reaching_the_limit_exactly_is_no_overshoot() -> None:
    for rule in ("charge", "discard"):
        rec = rising(rule, cost_s=300).records
        assert [r.cum_cost_s for r in rec] == [100.0, 200.0, 300.0], rule


def test_discard_on_the_nb201_table_is_charge_without_its_last_trial() -> None:
    charge = run(parse_suite(suite_text("cost_s = 3000")).specs()[0], 0)
    discard = run(parse_suite(suite_text('cost_s = 3000\novershoot = "discard"')).specs()[0], 0)
    wall = ("overhead_wall_s", "eval_wall_s")

    def pure(recs: list[Any]) -> list[dict[str, Any]]:
        return [{k: v for k, v in dataclasses.asdict(r).items() if k not in wall} for r in recs]

    assert len(discard.records) == len(charge.records) - 1
    assert pure(discard.records) == pure(charge.records[:-1])
    crossing = charge.records[-1]
    assert discard.records[-1].cum_cost_s <= 3000 < crossing.cum_cost_s
    assert crossing.cum_cost_s == pytest.approx(discard.records[-1].cum_cost_s + crossing.cost_s)


def test_an_evaluations_budget_is_never_crossed() -> None:
    for rule in ("charge", "discard"):
        text = suite_text(f'evaluations = 4\novershoot = "{rule}"')
        result = run(parse_suite(text).specs()[0], 0)
        assert len(result.records) == 4 and result.meta.stop_reason == "evaluations"


def test_default_rule_leaves_the_resolved_spec_as_before() -> None:
    """A suite without ``overshoot`` resolves to the JSON it had before the switch existed, so
    committed results folders and journals still resume; ``discard`` shows in it."""
    spec = parse_suite(suite_text("cost_s = 3000")).specs()[0]
    assert "overshoot" not in json.loads(spec.to_json())["budget"]
    spec = parse_suite(suite_text('cost_s = 3000\novershoot = "discard"')).specs()[0]
    assert json.loads(spec.to_json())["budget"]["overshoot"] == "discard"
    folder = REPO / "results" / "default"
    suite, _ = load_suite(folder / "config.toml")
    assert suite.to_json() == (folder / "suite.json").read_text()


def test_a_task_can_override_the_rule() -> None:
    text = suite_text("cost_s = 3000").replace(
        'label = "nb"\n', 'label = "nb"\nbudget = { overshoot = "discard" }\n'
    )
    (spec,) = parse_suite(text).specs()
    assert spec.budget.overshoot is Overshoot.DISCARD


@pytest.mark.parametrize(
    "build",
    [
        lambda: Budget(cost_s=1.0, overshoot="truncate"),  # type: ignore[arg-type]
        lambda: Budget(cost_s=1.0, overshoot=None),  # type: ignore[arg-type]
        lambda: parse_suite(suite_text('cost_s = 1\novershoot = "truncate"')),
        lambda: parse_suite(suite_text("cost_s = 1\novershoot = true")),
        lambda: parse_suite(
            suite_text("cost_s = 1").replace(
                'label = "nb"\n', 'label = "nb"\nbudget = { overshoot = "truncate" }\n'
            )
        ),
    ],
)
def test_bad_overshoot_names_the_valid_values(build: Any) -> None:
    with pytest.raises(NasbenchError, match=r"overshoot .* \(valid: charge, discard\)") as err:
        build()
    assert "\n" not in str(err.value)


def test_cli_bad_overshoot_is_one_line_exit_2(tmp_path: Path, capsys: Any) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(suite_text('cost_s = 1\novershoot = "truncate"'))
    out = tmp_path / "res"
    code = main(["run", str(path), "--out", str(out), "--quiet"])
    printed, err = capsys.readouterr()
    assert code == 2 and printed == "" and len(err.strip().splitlines()) == 1
    assert "unknown budget overshoot 'truncate' (valid: charge, discard)" in err
    assert not out.exists()


# ---- dependency versions in the metadata, and the report ---------------------------------------
@pytest.fixture(scope="module")
def folders(tmp_path_factory: Any) -> dict[str, Path]:
    """Two tiny results folders: ``charge`` (the default rule) and ``discard``."""
    root = tmp_path_factory.mktemp("switches")
    out = {}
    for rule in ("charge", "discard"):
        text = suite_text(f'cost_s = 2000\novershoot = "{rule}"', seeds=2, name=rule)
        out[rule] = root / rule
        run_suite(parse_suite(text), text, out[rule])
    return out


def test_metadata_records_rule_and_versions(folders: dict[str, Path]) -> None:
    import numpy
    import torch

    for rule, folder in folders.items():
        for path in sorted((folder / "runs").glob("*.parquet")):
            _, meta = read_run(path)
            assert meta.overshoot == rule
            assert meta.versions is not None and sorted(meta.versions) == sorted(DEPENDENCIES)
            assert meta.versions["torch"] == metadata.version("torch") == torch.__version__
            assert meta.versions["numpy"] == numpy.__version__
            assert all(meta.versions[n] == metadata.version(n) for n in DEPENDENCIES)
            assert read_meta(path) == meta  # the footer alone holds it


def test_a_missing_package_is_recorded_as_null(monkeypatch: pytest.MonkeyPatch) -> None:
    records._installed.cache_clear()
    monkeypatch.setattr(records, "DEPENDENCIES", ("torch", "nasbench-no-such-distribution"))
    try:
        versions = records.dependency_versions()
    finally:
        records._installed.cache_clear()
    assert versions == {"torch": metadata.version("torch"), "nasbench-no-such-distribution": None}


def test_report_shows_rule_and_versions(folders: dict[str, Path], capsys: Any) -> None:
    code = main(["report", str(folders["charge"]), str(folders["discard"])])
    printed, _ = capsys.readouterr()
    assert code == 0
    section = printed.split("## Run environment", 1)[1]
    torch_version = metadata.version("torch")
    head = "| results folder | runs | overshoot | " + " | ".join(DEPENDENCIES) + " |"
    assert head in section
    versions = " | ".join(metadata.version(n) for n in DEPENDENCIES)
    assert f"| charge | 2 | charge | {versions} |" in section
    assert f"| discard | 2 | discard | {versions} |" in section
    assert torch_version in section and "not recorded" not in section.split("|", 1)[1]
    # the suite wrote the same section into its own stats.md
    assert "## Run environment" in (folders["charge"] / "stats.md").read_text()


def _strip_new_fields(path: Path, keep_overshoot: bool = False) -> None:
    """Rewrite a record's metadata as a run written before the switches existed."""
    table = pq.read_table(path)
    meta = json.loads(table.schema.metadata[META_KEY])
    meta.pop("versions")
    if not keep_overshoot:
        meta.pop("overshoot")
    pq.write_table(table.replace_schema_metadata({META_KEY: json.dumps(meta).encode()}), path)


def test_old_records_without_versions_still_report(
    folders: dict[str, Path], tmp_path: Path, capsys: Any
) -> None:
    old = tmp_path / "old"
    (old / "runs").mkdir(parents=True)
    paths = sorted((folders["charge"] / "runs").glob("*.parquet"))
    for path in paths:
        (old / "runs" / path.name).write_bytes(path.read_bytes())
    first = old / "runs" / paths[0].name
    _strip_new_fields(first)
    _, meta = read_run(first)
    assert meta.versions is None and meta.overshoot == "charge"  # old runs all charged
    rows = environment(old)
    # runs that differ are counted apart: one row without versions, one with
    assert [(r.folder, r.runs, r.overshoot, r.versions is None) for r in rows] == [
        ("old", 1, "charge", True), ("old", 1, "charge", False)
    ]  # fmt: skip
    table = format_environment(rows)
    assert "| old | 1 | charge | " + " | ".join(["not recorded"] * len(DEPENDENCIES)) in table
    _strip_new_fields(old / "runs" / paths[1].name)  # now every run is old
    code = main(["report", str(old)])
    printed, _ = capsys.readouterr()
    assert code == 0 and printed.startswith("| task | strategy | seeds |")
    row = "| old | 2 | charge | " + " | ".join(["not recorded"] * len(DEPENDENCIES)) + " |"
    assert row in printed.split("## Run environment", 1)[1]


def test_malformed_versions_are_one_line_exit_2(
    folders: dict[str, Path], tmp_path: Path, capsys: Any
) -> None:
    bad = tmp_path / "bad"
    (bad / "runs").mkdir(parents=True)
    path = sorted((folders["charge"] / "runs").glob("*.parquet"))[0]
    target = bad / "runs" / path.name
    table = pq.read_table(path)
    meta = json.loads(table.schema.metadata[META_KEY])
    meta["versions"] = ["torch", 2]
    pq.write_table(table.replace_schema_metadata({META_KEY: json.dumps(meta).encode()}), target)
    code = main(["report", str(bad)])
    printed, err = capsys.readouterr()
    assert code == 2 and printed == "" and len(err.strip().splitlines()) == 1
    assert "malformed run metadata" in err


def test_json_and_csv_reports_are_unchanged(folders: dict[str, Path], capsys: Any) -> None:
    """The environment is part of the Markdown report only; JSON keeps its sections."""
    code = main(["report", str(folders["charge"]), "--json"])
    body = json.loads(capsys.readouterr()[0])
    assert code == 0 and "environment" not in body and len(body["summary"]) == 1
