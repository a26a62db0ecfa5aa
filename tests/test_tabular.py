"""Tabular evaluation over the shipped NAS-Bench-201 CIFAR-10 table (Dong & Yang, ICLR 2020).

Expected numbers come from ../shared/data/nb201/nb201_cifar_hw.parquet (percent there, fractions
here); tests that read that file skip when it is absent.
"""

from __future__ import annotations

import dataclasses
import os
import re
import time
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from nasbench.core.errors import NasbenchError
from nasbench.core.evaluator import Evaluator
from nasbench.core.registry import evaluators, spaces
from nasbench.core.space import SearchSpace
from nasbench.core.types import Status
from nasbench.evaluation.tabular import TabularEvaluator
from nasbench.tables.benchmarks import (
    DATA_DIR,
    BenchmarkInfo,
    FidelitySpec,
    load_benchmark,
    write_benchmark,
)
from tests.helpers import shared_data

SHIPPED = DATA_DIR / "nb201-cifar10.parquet"
# index 6111: the best CIFAR-10 test accuracy in NAS-Bench-201 (94.37 %)
BEST = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|"
INDEX0 = "|avg_pool_3x3~0|+|nor_conv_1x1~0|skip_connect~1|+|nor_conv_1x1~0|skip_connect~1|skip_connect~2|"
TWO_SEEDS = "|none~0|+|nor_conv_1x1~0|nor_conv_3x3~1|+|nor_conv_1x1~0|avg_pool_3x3~1|skip_connect~2|"  # index 347


@pytest.fixture(scope="module")
def space() -> SearchSpace:
    return spaces.create("nb201")


@pytest.fixture(scope="module")
def evaluator(space: SearchSpace) -> TabularEvaluator:
    return TabularEvaluator(space, latency_device="pixel3")


@pytest.fixture(scope="module")
def source() -> pa.Table:
    root = shared_data()
    if root is None:
        if os.environ.get("CI"):  # as in conftest.py: CI must run the reference-data tests
            pytest.fail("CI must run the reference-data tests: ../shared/data is missing")
        pytest.skip("reference data ../shared/data not present")
    return pq.read_table(root / "nb201" / "nb201_cifar_hw.parquet")


def test_shipped_table_describes_nb201_cifar10() -> None:
    table = load_benchmark("nb201-cifar10")
    assert len(table) == 15625
    assert (table.info.space, table.info.dataset) == ("nb201", "cifar10")
    assert table.fidelities == (12.0, 200.0)
    assert table.sparsities == (0.0,)
    assert len(table.devices) == 27 and list(table.devices) == sorted(table.devices)
    assert {"pixel3", "raspi4", "eyeriss", "fpga", "2080ti_1"} <= set(table.devices)
    assert "Dong & Yang" in table.info.provenance and "sha256" in table.info.provenance
    assert SHIPPED.stat().st_size < 3_000_000
    # sanity values of the reference data: best test 94.37 at index 6111, best val 91.61
    assert np.flatnonzero(table.test == table.test.max()).tolist() == [6111, 13714]  # a tie
    assert table.test.max() == pytest.approx(0.9437, abs=5e-5)
    assert table.fidelity(200).val.max() == pytest.approx(0.9161, abs=5e-5)
    assert table.params_m is not None and table.params_m.min() == pytest.approx(0.073306)


def test_load_is_cached_per_path_and_read_only() -> None:
    table = load_benchmark("nb201-cifar10")
    assert load_benchmark(SHIPPED) is table
    assert load_benchmark(str(SHIPPED)) is table
    with pytest.raises(ValueError, match="read-only"):
        table.test[0] = 1.0


def test_best_cell_at_12_epochs(space: SearchSpace, evaluator: TabularEvaluator) -> None:
    rng = np.random.default_rng(0)
    state = rng.bit_generator.state
    m = evaluator.evaluate(space.parse(BEST), 12, rng)
    assert rng.bit_generator.state == state  # a single-valued fidelity draws nothing
    assert m.status is Status.OK
    assert m.val_acc == pytest.approx(0.84384, abs=1e-9)
    assert m.test_acc == pytest.approx(0.9437333333, abs=1e-9)
    assert m.cost_s == pytest.approx(0.06 * 2879.74933385849, rel=1e-12)
    assert m.latency_ms == pytest.approx(23.5848, rel=1e-12)
    assert m.params == 1073466
    assert m.sparsity == 0.0
    assert dict(m.extra) == pytest.approx(
        {"test_acc_cifar100": 0.7322, "test_acc_imagenet16_120": 0.467111110128}, abs=1e-9
    )
    assert [name for name, _ in m.extra] == ["test_acc_cifar100", "test_acc_imagenet16_120"]


def test_index_zero_at_both_fidelities(space: SearchSpace, evaluator: TabularEvaluator) -> None:
    arch = space.parse(INDEX0)
    low = evaluator.evaluate(arch, 12, np.random.default_rng(0))
    high = evaluator.evaluate(arch, 200, np.random.default_rng(0))
    assert low.val_acc == pytest.approx(0.63364, abs=1e-9)
    assert min(abs(high.val_acc - v) for v in (0.82092, 0.81616, 0.8224)) < 1e-12
    assert low.test_acc == high.test_acc == pytest.approx(0.8586333333, abs=1e-9)
    assert high.cost_s == pytest.approx(1444.2185997962952, rel=1e-12)
    assert low.cost_s == pytest.approx(0.06 * high.cost_s, rel=1e-12)
    assert low.params == high.params == 129306
    assert low.latency_ms == pytest.approx(3.60585, rel=1e-12)


def test_fidelity_12_costs_twelve_two_hundredths_everywhere() -> None:
    table = load_benchmark("nb201-cifar10")
    np.testing.assert_allclose(table.fidelity(12).cost_s, 0.06 * table.fidelity(200).cost_s)
    assert table.fidelity(12).spec.cost_scale == 12 / 200
    assert table.fidelity(12).val_seeds is None


@pytest.mark.parametrize(
    ("text", "seeds"),
    [(BEST, (0.91684, 0.9172, 0.91416)), (TWO_SEEDS, (0.86112, 0.86384))],
)
def test_fidelity_200_draws_recorded_seeds(
    space: SearchSpace, evaluator: TabularEvaluator, text: str, seeds: tuple[float, ...]
) -> None:
    arch = space.parse(text)

    def draws(seed: int) -> list[float]:
        rng = np.random.default_rng(seed)
        return [evaluator.evaluate(arch, 200, rng).val_acc for _ in range(200)]

    values = draws(0)
    recorded = [round(v, 9) for v in seeds]
    assert {round(v, 9) for v in values} == set(recorded)  # only recorded values, and all of them
    assert draws(0) == values  # deterministic per rng seed
    assert draws(1) != values
    # uniform over seeds: each recorded value drawn roughly 200 / len(seeds) times
    counts = [sum(round(v, 9) == r for v in values) for r in recorded]
    assert min(counts) > 200 / len(seeds) / 2


def test_fidelity_200_draws_exactly_one_integer(
    space: SearchSpace, evaluator: TabularEvaluator
) -> None:
    rng, twin = np.random.default_rng(5), np.random.default_rng(5)
    evaluator.evaluate(space.parse(BEST), 200, rng)
    twin.integers(3)
    assert rng.bit_generator.state == twin.bit_generator.state


def test_latency_columns_match_the_source(source: pa.Table) -> None:
    table = load_benchmark("nb201-cifar10")
    np.testing.assert_array_equal(table.latencies("pixel3"), source.column("lat_pixel3_ms"))
    for device in table.devices:
        expected = source.column(f"lat_{device}_ms").to_numpy().astype(np.float64)
        np.testing.assert_array_equal(table.latencies(device), expected)
    assert table.latency(6111, "pixel3") == source.column("lat_pixel3_ms")[6111].as_py()


def test_evaluator_matches_the_source_on_sampled_cells(
    space: SearchSpace, evaluator: TabularEvaluator, source: pa.Table
) -> None:
    names = ["arch_str", "c10valid_val_acc_12ep", "c10_test_acc_200ep", "c100_test_acc_200ep"]
    names += ["in16_test_acc_200ep", "c10valid_train_time_200ep_s", "c10_params_M", "lat_pixel3_ms"]
    columns = source.select(names).to_pylist()
    rng = np.random.default_rng(0)
    for i in rng.choice(len(columns), size=200, replace=False):
        row = columns[int(i)]
        m = evaluator.evaluate(space.parse(row["arch_str"]), 12, rng)
        assert m.val_acc == pytest.approx(row["c10valid_val_acc_12ep"] / 100, abs=1e-12)
        assert m.test_acc == pytest.approx(row["c10_test_acc_200ep"] / 100, abs=1e-12)
        assert m.extra[0][1] == pytest.approx(row["c100_test_acc_200ep"] / 100, abs=1e-12)
        assert m.extra[1][1] == pytest.approx(row["in16_test_acc_200ep"] / 100, abs=1e-12)
        assert m.cost_s == pytest.approx(0.06 * row["c10valid_train_time_200ep_s"], rel=1e-12)
        assert m.params == round(row["c10_params_M"] * 1e6)
        assert m.latency_ms == row["lat_pixel3_ms"]


def test_no_device_gives_nan_latency(space: SearchSpace) -> None:
    m = TabularEvaluator(space).evaluate(space.parse(BEST), 12, np.random.default_rng(0))
    assert np.isnan(m.latency_ms)


def test_registered_and_conforms_to_the_protocol(space: SearchSpace) -> None:
    ev = evaluators.create("tabular", space=space, benchmark="nb201-cifar10", sparsity=0.0)
    assert isinstance(ev, TabularEvaluator) and isinstance(ev, Evaluator)
    assert ev.fidelities == (12.0, 200.0) and ev.default_fidelity == 12.0


# ---- errors ---------------------------------------------------------------------------------
def test_unknown_device_lists_the_devices(space: SearchSpace) -> None:
    with pytest.raises(NasbenchError, match=r"unknown latency device .*'tpu'.*pixel3"):
        TabularEvaluator(space, latency_device="tpu")


def test_unrecorded_sparsity_lists_the_levels(space: SearchSpace) -> None:
    with pytest.raises(NasbenchError, match=re.escape("0.5 (valid: 0.0)")):
        TabularEvaluator(space, sparsity=0.5)


def test_unknown_fidelity_lists_the_valid_ones(
    space: SearchSpace, evaluator: TabularEvaluator
) -> None:
    with pytest.raises(NasbenchError, match=re.escape("50 (valid: 12.0, 200.0)")):
        evaluator.evaluate(space.parse(BEST), 50, np.random.default_rng(0))


def test_architecture_of_another_space(evaluator: TabularEvaluator) -> None:
    arch = spaces.create("chain").sample(np.random.default_rng(0))
    with pytest.raises(NasbenchError, match="space 'chain'"):
        evaluator.evaluate(arch, 12, np.random.default_rng(0))


def test_table_of_another_space_or_network() -> None:
    with pytest.raises(NasbenchError, match="records space 'nb201', not 'chain'"):
        TabularEvaluator(spaces.create("chain"))
    with pytest.raises(NasbenchError, match="channels=16"):
        TabularEvaluator(spaces.create("nb201", channels=8))


def test_unknown_benchmark_name_lists_the_shipped_ones(space: SearchSpace) -> None:
    with pytest.raises(NasbenchError, match=re.escape("unknown benchmark 'nb301' (valid: ")):
        TabularEvaluator(space, benchmark="nb301")
    with pytest.raises(NasbenchError, match="nb201-cifar10"):
        load_benchmark("nb301")


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(NasbenchError, match="does not exist"):
        load_benchmark(tmp_path / "absent.parquet")


def _one_line(exc: pytest.ExceptionInfo[NasbenchError]) -> str:
    message = str(exc.value)
    assert "\n" not in message
    return message


def test_corrupted_files(tmp_path: Path) -> None:
    garbage = tmp_path / "garbage.parquet"
    garbage.write_bytes(b"this is not parquet")
    truncated = tmp_path / "truncated.parquet"
    truncated.write_bytes(SHIPPED.read_bytes()[: SHIPPED.stat().st_size // 2])
    for path in (garbage, truncated):
        with pytest.raises(NasbenchError, match="not a readable Parquet file") as exc:
            load_benchmark(path)
        assert str(path) in _one_line(exc)
    plain = tmp_path / "plain.parquet"
    pq.write_table(pa.table({"arch": ["x"]}), plain)
    with pytest.raises(NasbenchError, match="no 'nasbench' schema metadata") as exc:
        load_benchmark(plain)
    _one_line(exc)


def test_missing_columns_and_bad_description(tmp_path: Path) -> None:
    data = pq.read_table(SHIPPED)
    lacking = tmp_path / "lacking.parquet"
    pq.write_table(data.drop_columns(["val_acc_12ep", "lat_pixel3_ms"]), lacking)
    with pytest.raises(
        NasbenchError, match=r"lacks column\(s\) lat_pixel3_ms, val_acc_12ep"
    ) as exc:
        load_benchmark(lacking)
    _one_line(exc)
    broken = tmp_path / "broken.parquet"
    pq.write_table(data.replace_schema_metadata({b"nasbench": b"{not json"}), broken)
    with pytest.raises(NasbenchError, match="not valid JSON") as exc:
        load_benchmark(broken)
    _one_line(exc)


# ---- the format, on small tables ------------------------------------------------------------
def _toy_info(**changes: Any) -> BenchmarkInfo:
    spec = FidelitySpec(200, "val", "time_s", 1.0, val_seeds="val_seeds")
    base = dict(name="toy", space="nb201", dataset="cifar10", fidelities=(spec,), test="test")
    return BenchmarkInfo(**{**base, "provenance": "test", **changes})


def test_key_fallback_and_sparsity_levels(space: SearchSpace, tmp_path: Path) -> None:
    # node 1 feeds nothing, so its op does not matter: the two cells share a key
    a = space.parse("|nor_conv_3x3~0|+|none~0|none~1|+|nor_conv_1x1~0|none~1|none~2|")
    b = space.parse("|avg_pool_3x3~0|+|none~0|none~1|+|nor_conv_1x1~0|none~1|none~2|")
    assert a.key == b.key and a.text != b.text
    data = pa.table(
        {
            "arch": [a.text, a.text],
            "key": [a.key, a.key],
            "sparsity": [0.0, 0.5],
            "val": [0.5, 0.4],
            "val_seeds": [[0.5], [0.4]],
            "test": [0.6, 0.45],
            "time_s": [100.0, 80.0],
        }
    )
    path = tmp_path / "toy.parquet"
    write_benchmark(data, _toy_info(), path)
    dense = TabularEvaluator(space, benchmark=str(path))
    sparse = TabularEvaluator(space, benchmark=str(path), sparsity=0.5)
    rng = np.random.default_rng(0)
    assert dense.evaluate(b, 200, rng).test_acc == 0.6  # found by canonical key
    m = sparse.evaluate(b, 200, rng)
    assert (m.val_acc, m.test_acc, m.cost_s, m.sparsity) == (0.4, 0.45, 80.0, 0.5)
    assert m.params == 0 and m.extra == ()
    other = space.parse(BEST)
    with pytest.raises(NasbenchError, match=re.escape("not recorded at sparsity 0.5")):
        sparse.evaluate(other, 200, rng)


def test_writer_rejects_percent_and_duplicates(tmp_path: Path) -> None:
    row: dict[str, list[Any]] = {"arch": ["x"], "key": ["x"], "sparsity": [0.0]}
    row |= {"val_seeds": [[0.5]], "time_s": [1.0]}
    percent = pa.table({**row, "val": [50.0], "test": [0.5]})
    with pytest.raises(NasbenchError, match="store fractions, not percent"):
        write_benchmark(percent, _toy_info(), tmp_path / "p.parquet")
    twice = pa.table({k: v * 2 for k, v in {**row, "val": [0.5], "test": [0.5]}.items()})
    with pytest.raises(NasbenchError, match="repeats architecture 'x'"):
        write_benchmark(twice, _toy_info(), tmp_path / "t.parquet")
    assert not (tmp_path / "p.parquet").exists() and not (tmp_path / "t.parquet").exists()


# ---- the converter --------------------------------------------------------------------------
def test_converter_reproduces_the_shipped_table(tmp_path: Path, source: pa.Table) -> None:
    from nasbench.data.convert_nb201 import main

    root = shared_data()
    assert root is not None
    out = tmp_path / "nb201-cifar10.parquet"
    assert main([str(root / "nb201" / "nb201_cifar_hw.parquet"), "--out", str(out)]) == 0
    rebuilt, shipped = pq.read_table(out), pq.read_table(SHIPPED)
    assert rebuilt.schema.metadata[b"nasbench"] == shipped.schema.metadata[b"nasbench"]
    assert rebuilt.equals(shipped)
    assert rebuilt.column("arch").to_pylist() == source.column("arch_str").to_pylist()


# ---- performance ----------------------------------------------------------------------------
@pytest.mark.perf
def test_evaluate_is_fast(
    space: SearchSpace, evaluator: TabularEvaluator, capsys: pytest.CaptureFixture[str]
) -> None:
    rng = np.random.default_rng(0)
    archs = [space.sample(rng) for _ in range(5000)]
    for fidelity in evaluator.fidelities:
        best = np.inf
        for _ in range(5):
            start = time.perf_counter()
            for arch in archs:
                evaluator.evaluate(arch, fidelity, rng)
            best = min(best, (time.perf_counter() - start) / len(archs))
        with capsys.disabled():
            print(f"\ntabular evaluate at fidelity {fidelity:g}: {best * 1e6:.2f} us")
        assert np.isfinite(best)  # a benchmark: it reports, the figure goes in notes


def test_a_repeated_look_up_is_the_same_answer_and_seeded_fidelities_still_draw(
    space: SearchSpace, evaluator: TabularEvaluator
) -> None:
    arch = space.parse(BEST)
    first = evaluator.evaluate(arch, 12, np.random.default_rng(0))
    rng = np.random.default_rng(1)
    again = evaluator.evaluate(arch, 12, rng)
    assert again is first and again.val_acc == first.val_acc  # the memoised Measurement
    assert rng.bit_generator.state == np.random.default_rng(1).bit_generator.state  # untouched
    # the same string from another space is still refused, memo or not
    other = dataclasses.replace(arch, space="chain")
    with pytest.raises(NasbenchError, match="architecture of space 'chain'"):
        evaluator.evaluate(other, 12, rng)
    # at a fidelity with per-seed values nothing is memoised: each call draws a recorded seed
    rng = np.random.default_rng(0)
    answers = [evaluator.evaluate(arch, 200, rng) for _ in range(30)]
    assert len({id(m) for m in answers}) == 30
    assert {round(m.val_acc, 9) for m in answers} == {0.91684, 0.9172, 0.91416}
