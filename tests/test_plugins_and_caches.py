"""Issue 23, deliverables 5 and 6: broken plugins fail in one line, broken caches heal.

Plugins: a surrogate, strategy or evaluator that raises, answers the wrong type or answers NaN,
named in a tiny suite as ``module:Class`` from a module written to a temporary folder, through
the real CLI (``nasbench run``): exit code 2 and exactly one stderr line naming the plugin and
the method, never a traceback; a NaN answer is a failed trial, recorded, and the run succeeds.

Caches: a corrupt, truncated or foreign file in place of each cache (the generated-dataset
cache, a trained supernet, a latency lookup table) is reported in one warning, rebuilt equal to
a fresh build and replaced; loading one never runs code; a cache location that is a file is a
one-line error.
"""

# ruff: noqa: N803  (``X`` for surrogate inputs, the scikit-learn convention)

from __future__ import annotations

import io
import json
import logging
import math
import pickle
import re
import zipfile
from collections.abc import Callable
from dataclasses import replace
from importlib.metadata import version
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow.parquet as pq
import pytest
import torch
from torch import nn

import nasbench.training.datasets as ds
from nasbench.cli.main import main
from nasbench.core import plugins
from nasbench.core.errors import NasbenchError
from nasbench.core.registry import evaluators, spaces, strategies, surrogates
from nasbench.core.strategy import SearchInfo
from nasbench.core.surrogate import Prediction
from nasbench.core.types import Architecture, Budget, Measurement, Proposal, Status, Task
from nasbench.evaluation import weight_sharing
from nasbench.evaluation.one_shot import clear_supernet_cache
from nasbench.tables.latency_models import LookupTableLatency, latency_model
from nasbench.training.latency import LatencyTable, Timing
from tests.helpers import BEST

MODULE = "nasbench_issue23_plugins"

PLUGIN_SOURCE = '''
"""Plugins that break on purpose: ``fail`` names what goes wrong."""

import math

import numpy as np

from nasbench.core.surrogate import InputKind, Prediction
from nasbench.core.types import Architecture, Measurement, Proposal


class Surrogate:
    input_kind = InputKind.VECTOR

    def __init__(self, fail=""):
        if fail == "init":
            raise ValueError("boom in init")
        self.fail = fail

    def fit(self, X, y, rng):
        if self.fail == "fit":
            raise ValueError("boom in fit")
        self.mean_ = float(np.mean(y))
        return self

    def predict(self, X):
        n = len(X)
        if self.fail == "predict":
            raise RuntimeError("boom in predict")
        if self.fail == "bare":
            return np.full(n, self.mean_)
        if self.fail == "short":
            return Prediction(np.full(n + 1, self.mean_), np.zeros(n + 1))
        if self.fail == "inf":
            return Prediction(np.full(n, np.inf), np.zeros(n))
        if self.fail == "nan":
            return Prediction(np.full(n, np.nan), np.zeros(n))
        return Prediction(np.full(n, self.mean_), np.zeros(n))


class Strategy:
    initial_design = "none"
    paper = "none"
    sources = {}

    def __init__(self, fail=""):
        self.fail = fail

    def start(self, space, info, rng, initial_rng):
        if self.fail == "start":
            raise RuntimeError("boom in start")
        self.space_, self.rng_ = space, rng

    def ask(self, n=1):
        if self.fail == "ask":
            raise KeyError("boom in ask")
        if self.fail == "garbage":
            return ["not a proposal"] * n
        if self.fail == "nothing":
            return None
        if self.fail == "arch":
            return [Proposal(Architecture("nb201", ("no_such_op",) * 6))] * n
        if self.fail == "parent":
            bad = Architecture("nb201", ("no_such_op",) * 6)
            return [Proposal(self.space_.sample(self.rng_), parent=bad) for _ in range(n)]
        if self.fail == "parent_type":
            return [Proposal(self.space_.sample(self.rng_), parent="x") for _ in range(n)]
        return [Proposal(self.space_.sample(self.rng_)) for _ in range(n)]

    def tell(self, observations):
        if self.fail == "tell":
            raise ZeroDivisionError("boom in tell")


class Evaluator:
    fidelities = ()
    default_fidelity = 1.0

    def __init__(self, space, latency_device=None, sparsity=0.0, fail=""):
        self.fail = fail

    def evaluate(self, arch, fidelity, rng):
        if self.fail == "evaluate":
            raise ZeroDivisionError("boom in evaluate")
        if self.fail == "type":
            return {"val_acc": 0.5}
        if self.fail == "cost":
            return Measurement(0.5, 0.5, math.nan)
        if self.fail == "nan":
            return Measurement(math.nan, 0.5, 1.0)
        return Measurement(0.5, 0.5, 1.0)
'''

SUITE = """
[suite]
name = "plugins"
seeds = 1
[budget]
cost_s = 100000
sparsity = 0.0
evaluations = 2
[[task]]
space = "nb201"
{task}
[[strategy]]
name = "{strategy}"
{strategy_params}
"""
TABULAR = 'evaluator = "tabular"\nbenchmark = "nb201-cifar10"\nfidelity = 12'


def surrogate_task(fail: str) -> str:
    return (f'evaluator = "surrogate"\nbenchmark = "nb201-cifar10"\n'
            f'surrogate = "{MODULE}:Surrogate"\nsurrogate_params = {{fail = "{fail}"}}')  # fmt: skip


def evaluator_task(fail: str) -> str:
    return f'evaluator = "{MODULE}:Evaluator"\nfail = "{fail}"'


@pytest.fixture(scope="module")
def plugin_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("plugins")
    (folder / f"{MODULE}.py").write_text(PLUGIN_SOURCE)
    return folder


@pytest.fixture
def suite_run(
    plugin_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Callable[..., tuple[int, str, Path]]:
    """Run a tiny suite through the CLI with the plugin module importable; returns the exit
    code, stderr and the results folder."""
    monkeypatch.syspath_prepend(str(plugin_dir))

    def run(capsys: pytest.CaptureFixture[str], task: str = TABULAR, strategy: str = "random",
            strategy_fail: str = "") -> tuple[int, str, Path]:  # fmt: skip
        params = f'fail = "{strategy_fail}"' if strategy_fail else ""
        path = tmp_path / "suite.toml"
        path.write_text(SUITE.format(task=task, strategy=strategy, strategy_params=params))
        out = tmp_path / "res"
        capsys.readouterr()
        code = main(["run", str(path), "--out", str(out), "--workers", "1"])
        return code, capsys.readouterr().err, out

    return run


def one_line_error(code: int, err: str, *needles: str) -> str:
    lines = err.splitlines()
    assert code == 2, err
    assert "Traceback" not in err and len(lines) == 1, err
    assert lines[0].startswith("nasbench: error: "), err
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])
    return lines[0]


def records(out: Path) -> list[dict[str, Any]]:
    (path,) = (out / "runs").glob("*.parquet")
    return pq.read_table(path).to_pylist()


# ---- surrogate plugins: through the surrogate evaluator -------------------------------------
NAME = f"'{MODULE}:Surrogate'"


SURROGATE_CASES = [
    ("init", f"surrogate {NAME} __init__ raised ValueError: boom in init"),
    ("fit", f"surrogate {NAME} fit raised ValueError: boom in fit"),
    ("predict", f"surrogate {NAME} predict raised RuntimeError: boom in predict"),
    ("bare", f"surrogate {NAME} predict returned ndarray array("),
    ("short", f"surrogate {NAME} predict returned a Prediction of 2 values for 1 inputs"),
    ("inf", f"surrogate {NAME} predict returned an infinite mean or std"),
]


@pytest.mark.parametrize(("fail", "message"), SURROGATE_CASES, ids=[c[0] for c in SURROGATE_CASES])
def test_broken_surrogate_fails_in_one_line(suite_run, capsys, fail: str, message: str) -> None:
    code, err, out = suite_run(capsys, task=surrogate_task(fail))
    one_line_error(code, err, message)
    if fail in ("init", "fit"):  # the surrogate is fitted when the suite is checked
        assert not out.exists()


def test_surrogate_nan_prediction_is_a_failed_trial_recorded(suite_run, capsys) -> None:
    code, err, out = suite_run(capsys, task=surrogate_task("nan"))
    assert code == 0, err
    rows = records(out)
    assert len(rows) == 2 and all(r["status"] == "failed" for r in rows)
    assert all(math.isnan(r["val_acc"]) and math.isnan(r["objective"]) for r in rows)
    assert all(r["incumbent_trial"] == -1 for r in rows)  # never the answer of the run


def test_surrogate_evaluator_marks_nan_failed_and_draws_nothing(plugin_dir, monkeypatch) -> None:
    monkeypatch.syspath_prepend(str(plugin_dir))
    space = spaces.create("nb201")
    ev = evaluators.create("surrogate", space=space, surrogate=f"{MODULE}:Surrogate",
                           surrogate_params={"fail": "nan"}, train_size=100)  # fmt: skip
    rng = np.random.default_rng(0)
    m = ev.evaluate(space.parse(BEST), ev.default_fidelity, rng)
    assert m.status is Status.FAILED and math.isnan(m.val_acc) and math.isnan(m.test_acc)
    assert m.cost_s > 0 and m.params > 0
    assert rng.bit_generator.state == np.random.default_rng(0).bit_generator.state


# ---- strategy and evaluator plugins: through the runner -------------------------------------
STRATEGY = f"strategy '{MODULE}:Strategy'"


STRATEGY_CASES = [
    ("start", f"{STRATEGY} start raised RuntimeError: boom in start"),
    ("ask", f"{STRATEGY} ask raised KeyError: 'boom in ask'"),
    ("garbage", f"{STRATEGY} ask returned str 'not a proposal' among its proposals"),
    ("nothing", f"{STRATEGY} ask returned NoneType None, not a list of 1 Proposal"),
    ("arch", f"{STRATEGY} ask proposed an architecture outside space 'nb201'"),
    ("parent", f"{STRATEGY} ask proposed a parent outside space 'nb201'"),
    ("parent_type", f"{STRATEGY} ask proposed parent str 'x', not an Architecture or None"),
    ("tell", f"{STRATEGY} tell raised ZeroDivisionError: boom in tell"),
]


@pytest.mark.parametrize(("fail", "message"), STRATEGY_CASES, ids=[c[0] for c in STRATEGY_CASES])
def test_broken_strategy_fails_in_one_line(suite_run, capsys, fail: str, message: str) -> None:
    code, err, _ = suite_run(capsys, strategy=f"{MODULE}:Strategy", strategy_fail=fail)
    one_line_error(code, err, message)


EVALUATOR = f"evaluator '{MODULE}:Evaluator'"


EVALUATOR_CASES = [
    ("evaluate", f"{EVALUATOR} evaluate raised ZeroDivisionError: boom in evaluate"),
    ("type", f"{EVALUATOR} evaluate returned dict {{'val_acc': 0.5}}, not a Measurement"),
    ("cost", f"{EVALUATOR} evaluate returned cost_s nan, not a finite number >= 0"),
]


@pytest.mark.parametrize(("fail", "message"), EVALUATOR_CASES, ids=[c[0] for c in EVALUATOR_CASES])
def test_broken_evaluator_fails_in_one_line(suite_run, capsys, fail: str, message: str) -> None:
    code, err, _ = suite_run(capsys, task=evaluator_task(fail))
    one_line_error(code, err, message)


def test_evaluator_nan_answer_is_a_failed_trial_recorded(suite_run, capsys) -> None:
    code, err, out = suite_run(capsys, task=evaluator_task("nan"))
    assert code == 0, err
    rows = records(out)
    assert len(rows) == 2 and all(r["status"] == "failed" for r in rows)
    assert all(math.isnan(r["objective"]) and r["incumbent_trial"] == -1 for r in rows)


def test_working_plugins_run_through_the_same_checks(suite_run, capsys) -> None:
    code, err, out = suite_run(capsys, task=evaluator_task(""), strategy=f"{MODULE}:Strategy")
    assert code == 0, err
    assert [r["status"] for r in records(out)] == ["ok", "ok"]


# ---- the helpers themselves ------------------------------------------------------------------
def test_plugin_error_chains_the_original_and_keeps_nasbench_errors() -> None:
    def boom() -> None:
        raise ValueError("first line\nsecond line")

    with pytest.raises(plugins.PluginError) as caught:
        plugins.call("surrogate", "my.mod:Bad", "fit", boom)
    assert str(caught.value) == "surrogate 'my.mod:Bad' fit raised ValueError: first line ..."
    assert isinstance(caught.value.__cause__, ValueError)
    assert (caught.value.role, caught.value.name, caught.value.method) == (
        "surrogate", "my.mod:Bad", "fit")  # fmt: skip

    def bad_input() -> None:
        raise NasbenchError("architecture not in the table")

    with pytest.raises(NasbenchError, match=r"^architecture not in the table$"):
        plugins.call("evaluator", "tabular", "evaluate", bad_input)


def test_builtin_plugins_pass_the_checks() -> None:
    space = spaces.create("nb201")
    strategy = strategies.create("random")
    info = SearchInfo(12.0, (12.0, 200.0), Budget(cost_s=100.0))
    strategy.start(space, info, np.random.default_rng(0), np.random.default_rng(1))
    proposal = plugins.ask_one(strategy, "random", space)
    ev = evaluators.create("tabular", space=space, latency_device=None, sparsity=0.0)
    m = plugins.evaluate(ev, "tabular", proposal.arch, 12.0, np.random.default_rng(0))
    assert m.status is Status.OK and 0 < m.val_acc < 1
    assert plugins.profile(ev, "tabular", proposal.arch).params > 0
    model = surrogates.create("random_forest", n_estimators=5)
    x = np.linspace(0, 1, 20)[:, None]
    plugins.fit(model, "random_forest", x, x[:, 0], np.random.default_rng(0))
    assert len(plugins.predict(model, "random_forest", x[:3], 3)) == 3


def test_measurement_checks() -> None:
    ok = Measurement(0.5, 0.5, 1.0)
    assert plugins.check_measurement("e", ok) is ok
    failed = plugins.check_measurement("e", Measurement(math.nan, 0.4, 1.0))
    assert failed.status is Status.FAILED and math.isnan(failed.test_acc)
    for bad, message in [
        (replace(ok, status="ok"), "status 'ok', not one of ok, failed, stopped"),
        (replace(ok, val_acc="0.5"), "val_acc str '0.5', not a number"),
        (replace(ok, params=1.5), "params float 1.5, not a whole number"),
        (replace(ok, cost_s=-1.0), "cost_s -1.0, not a finite number >= 0"),
        (replace(ok, extra=(("a", "b"),)), "the extra (name, number) pairs"),
    ]:
        with pytest.raises(
            plugins.PluginError, match=f"^evaluator 'e' evaluate returned .*{re.escape(message)}"
        ):
            plugins.check_measurement("e", bad)


def test_proposal_checks() -> None:
    space = spaces.create("nb201")
    arch = space.parse(BEST)

    class Fixed:
        def __init__(self, answer: Any) -> None:
            self.answer = answer

        def ask(self, n: int = 1) -> Any:
            return self.answer

    assert plugins.ask_one(Fixed([Proposal(arch)]), "s", space).arch == arch  # type: ignore[arg-type]
    for answer, message in [
        ([Proposal(arch), Proposal(arch)], "not a list of 1 Proposal"),
        ([Proposal("x")], "proposed str 'x', not an Architecture"),
        ([Proposal(arch, fidelity=-1.0)], "proposed fidelity -1.0"),
        ([Proposal(arch, search_cost_s="1")], "proposed search_cost_s '1'"),
        ([Proposal(Architecture("chain", ()))], "architecture of space 'chain' given to space"),
    ]:
        with pytest.raises(plugins.PluginError, match=re.escape(message)):
            plugins.ask_one(Fixed(answer), "s", space)  # type: ignore[arg-type]


def test_surrogate_answer_checks() -> None:
    class Fixed:
        def __init__(self, answer: Any) -> None:
            self.answer = answer

        def predict(self, X: Any) -> Any:
            return self.answer

    good = Prediction(np.array([0.5, math.nan]), np.zeros(2))
    assert plugins.predict(Fixed(good), "s", None, 2) is good  # NaN: the caller fails the trial
    with pytest.raises(plugins.PluginError, match=r"returned tuple \(array"):
        plugins.predict(Fixed((np.zeros(2), np.zeros(2))), "s", None, 2)
    kind = type("K", (), {"input_kind": "matrix"})()
    with pytest.raises(plugins.PluginError, match="surrogate 's' input_kind is str 'matrix'"):
        plugins.input_kind(kind, "s")


# ---- caches: generated datasets --------------------------------------------------------------
SHAPES = {"x": (4, 3), "y": (4,)}


def toy() -> dict[str, np.ndarray]:
    return {"x": np.arange(12, dtype=np.float32).reshape(4, 3), "y": np.arange(4, dtype=np.int64)}


class Evil:
    """Unpickling it would touch ``marker``: a loader that runs code would leave the file."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[Any, ...]:
        return (Path.touch, (self.marker,))


def npz_bytes(**arrays: Any) -> bytes:
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()


def npy_bytes(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array)
    return buffer.getvalue()


def cache_warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records
            if r.name == "nasbench.core.caches" and r.levelno == logging.WARNING]  # fmt: skip


def pickled_npz(marker: Path) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        header = io.BytesIO()
        np.lib.format.write_array(header, np.array([Evil(marker)], dtype=object))
        archive.writestr("x.npy", header.getvalue())
    return buffer.getvalue()


DATASET_DAMAGE: dict[str, Callable[[bytes, Path], bytes]] = {
    "truncated": lambda good, _: good[: len(good) // 2],
    "zero-bytes": lambda good, _: b"",
    "garbage": lambda good, _: b"not a zip file at all",
    "foreign-keys": lambda good, _: npz_bytes(a=np.zeros(3)),
    "wrong-shape": lambda good, _: npz_bytes(
        x=np.zeros((2, 3), np.float32), y=np.zeros(4, np.int64)
    ),
    "wrong-dtype": lambda good, _: npz_bytes(x=np.zeros((4, 3)), y=np.zeros(4, np.int64)),
    "npy-not-npz": lambda good, _: npy_bytes(np.zeros(3)),
    "pickled-object": lambda good, marker: pickled_npz(marker),
}


@pytest.mark.parametrize("damage", DATASET_DAMAGE, ids=list(DATASET_DAMAGE))
def test_dataset_cache_heals(damage: str, tmp_path: Path, monkeypatch, caplog) -> None:
    monkeypatch.setenv(ds.CACHE_ENV, str(tmp_path / "cache"))
    made: list[int] = []

    def make() -> dict[str, np.ndarray]:
        made.append(1)
        return toy()

    fresh = ds._cached("toy", SHAPES, make)
    path = tmp_path / "cache" / f"toy-{version('mnist1d')}.npz"
    good = path.read_bytes()
    marker = tmp_path / "code-ran"
    path.write_bytes(DATASET_DAMAGE[damage](good, marker))
    caplog.set_level(logging.WARNING)
    again = ds._cached("toy", SHAPES, make)
    assert len(made) == 2 and not marker.exists()
    (warning,) = cache_warnings(caplog)
    assert str(path) in warning and "rebuilding it" in warning and "\n" not in warning
    for key in SHAPES:
        np.testing.assert_array_equal(again[key], fresh[key])
    with np.load(path, allow_pickle=False) as stored:  # replaced by a good file
        assert {k: stored[k].tolist() for k in SHAPES} == {k: v.tolist() for k, v in toy().items()}
    assert sorted(p.name for p in path.parent.iterdir()) == [path.name]  # no temporary left
    caplog.clear()
    ds._cached("toy", SHAPES, make)  # healed: read back, no warning, nothing made
    assert len(made) == 2 and cache_warnings(caplog) == []


@pytest.mark.parametrize("where", ["file", "under-file"])
def test_dataset_cache_location_that_is_a_file(
    where: str, tmp_path: Path, monkeypatch, capsys
) -> None:
    blocker = tmp_path / "blocker"
    blocker.write_text("I am a file")
    location = blocker if where == "file" else blocker / "cache"
    monkeypatch.setenv(ds.CACHE_ENV, str(location))
    with pytest.raises(NasbenchError, match=f"NASBENCH_CACHE '{location}'"):
        ds.cache_dir()
    ds.clear_cache()  # the CLI: one line, before anything is generated or trained
    try:
        code = main(["evaluate", "nb201", BEST, "--epochs", "1"])
        line = one_line_error(code, capsys.readouterr().err, "NASBENCH_CACHE '")
        assert "blocker" in line and "it must name a folder" in line
    finally:
        ds.clear_cache()
    assert blocker.read_text() == "I am a file"


# ---- caches: latency lookup tables -----------------------------------------------------------
FAST = Timing(threads=1, warmup=1, repeats=3)


@pytest.fixture
def deterministic_timing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Timings as a function of the module (its parameter count): a rebuilt table equals a
    fresh one exactly."""

    def time_ms(timing: Timing, module: nn.Module, inputs: tuple[torch.Tensor, ...]) -> float:
        return 0.01 + 1e-4 * sum(p.numel() for p in module.parameters())

    monkeypatch.setattr(Timing, "time_ms", time_ms)


def table_fields(table: LatencyTable) -> tuple[Any, ...]:
    return (table.space, table.input_shape, table.device, table.overhead_ms,
            table.calibration_networks, sorted((k.op, k.config, k.inputs, v)
                                               for k, v in table.ops.items()))  # fmt: skip


def reshaped(text: str) -> str:
    raw = json.loads(text)
    raw["input_shape"] = [1, 80]
    return json.dumps(raw)


def nan_latency(text: str) -> str:
    raw = json.loads(text)
    raw["ops"][0]["ms"] = float("nan")
    return json.dumps(raw)


LATENCY_DAMAGE: dict[str, Callable[[str], str]] = {
    "truncated": lambda text: text[: len(text) // 2],
    "garbage": lambda text: "\x00\x01 not json",
    "foreign-json": lambda text: json.dumps({"format": 1, "weights": [1, 2]}),
    "other-shape": reshaped,
    "nan-latency": nan_latency,
}


@pytest.mark.parametrize("damage", LATENCY_DAMAGE, ids=list(LATENCY_DAMAGE))
def test_latency_table_heals(damage: str, tmp_path: Path, deterministic_timing, caplog) -> None:
    space, task = spaces.create("chain", max_layers=3), Task((1, 40), 10)
    fresh = LookupTableLatency(space, timing=FAST, calibration=2, table_dir=tmp_path).table(task)
    (path,) = tmp_path.glob("*.json")
    path.write_text(LATENCY_DAMAGE[damage](path.read_text()))
    caplog.set_level(logging.WARNING)
    rebuilt = LookupTableLatency(space, timing=FAST, calibration=2, table_dir=tmp_path).table(task)
    (warning,) = cache_warnings(caplog)
    assert str(path) in warning and "rebuilding it" in warning
    assert table_fields(rebuilt) == table_fields(fresh)
    assert table_fields(LatencyTable.load(path)) == table_fields(fresh)  # replaced
    assert [p.name for p in tmp_path.iterdir()] == [path.name]
    caplog.clear()
    again = LookupTableLatency(space, timing=FAST, calibration=2, table_dir=tmp_path).table(task)
    assert table_fields(again) == table_fields(fresh) and cache_warnings(caplog) == []


def test_latency_table_dir_that_is_a_file(tmp_path: Path) -> None:
    blocker = tmp_path / "tables.json"
    blocker.write_text("{}")
    with pytest.raises(NasbenchError, match=r"table_dir '.*tables\.json' is a file"):
        latency_model("lut:cpu", spaces.create("chain", max_layers=3), table_dir=blocker)


# ---- caches: trained supernets ---------------------------------------------------------------
SUPERNET = {"epochs": 1, "bn_batches": 1, "recipe": {"batch_size": 100}}


def tiny_supernet(cache_dir: Path) -> weight_sharing.WeightSharingEvaluator:
    space = spaces.create("nb201", channels=4, cells_per_stage=1)
    ev = evaluators.create("weight_sharing", space=space, cache_dir=str(cache_dir), **SUPERNET)
    assert isinstance(ev, weight_sharing.WeightSharingEvaluator)
    return ev


def foreign_state(pt: Path, marker: Path) -> None:
    torch.save({"state": {"w": torch.zeros(3)}, "masks": {}}, pt)


def settings_of_another(js: Path) -> None:
    info = json.loads(js.read_text())
    info["settings"]["epochs_note"] = "another model"
    js.write_text(json.dumps(info))


SUPERNET_DAMAGE: dict[str, Callable[[Path, Path, Path], None]] = {
    "truncated-weights": lambda pt, js, m: pt.write_bytes(pt.read_bytes()[:1000]),
    "garbage-weights": lambda pt, js, m: pt.write_bytes(b"not a torch file"),
    "foreign-weights": lambda pt, js, m: foreign_state(pt, m),
    "pickled-code": lambda pt, js, m: pt.write_bytes(pickle.dumps({"state": Evil(m)})),
    "torch-pickled-code": lambda pt, js, m: torch.save({"state": Evil(m)}, pt),
    "missing-weights": lambda pt, js, m: pt.unlink(),
    "truncated-record": lambda pt, js, m: js.write_text(js.read_text()[:40]),
    "foreign-record": lambda pt, js, m: settings_of_another(js),
}


@pytest.fixture(scope="module")
def fresh_supernet(tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, dict[str, Any]]:
    """A freshly trained tiny supernet: its record and state, and the cache folder's files."""
    clear_supernet_cache()
    folder = tmp_path_factory.mktemp("supernet")
    ev = tiny_supernet(folder)
    record = ev.supernet
    files = {p.name: p.read_bytes() for p in folder.iterdir()}
    clear_supernet_cache()
    return record, {"state": ev._state(), "files": files}


@pytest.mark.parametrize("damage", SUPERNET_DAMAGE, ids=list(SUPERNET_DAMAGE))
def test_supernet_cache_heals(damage: str, fresh_supernet, tmp_path: Path, monkeypatch,
                              caplog) -> None:  # fmt: skip
    record, fresh = fresh_supernet
    for name, data in fresh["files"].items():
        (tmp_path / name).write_bytes(data)
    pt, js = tmp_path / f"{record.key}.pt", tmp_path / f"{record.key}.json"
    marker = tmp_path.parent / f"{tmp_path.name}-code-ran"
    SUPERNET_DAMAGE[damage](pt, js, marker)
    trained: list[int] = []
    real = weight_sharing.train
    monkeypatch.setattr(weight_sharing, "train", lambda *a, **k: trained.append(1) or real(*a, **k))
    clear_supernet_cache()
    caplog.set_level(logging.WARNING)
    ev = tiny_supernet(tmp_path)
    rebuilt = ev.supernet
    assert trained == [1] and not marker.exists()
    (warning,) = cache_warnings(caplog)
    assert record.key in warning and "rebuilding it" in warning
    assert replace(rebuilt, wall_s=0.0) == replace(record, wall_s=0.0)
    state = ev._state()
    assert state.keys() == fresh["state"].keys()
    assert all(torch.equal(state[k], fresh["state"][k]) for k in state)
    # replaced: a later process loads it without training or warning
    clear_supernet_cache()
    caplog.clear()
    later = tiny_supernet(tmp_path)
    assert replace(later.supernet, wall_s=0.0) == replace(record, wall_s=0.0)
    assert trained == [1] and cache_warnings(caplog) == []
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(fresh["files"])
    clear_supernet_cache()


def test_supernet_cache_dir_that_is_a_file(tmp_path: Path) -> None:
    blocker = tmp_path / "supernets"
    blocker.write_bytes(b"")
    with pytest.raises(NasbenchError, match=r"weight_sharing cache_dir '.*supernets' is a file"):
        tiny_supernet(blocker)
