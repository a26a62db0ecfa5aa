"""``pytest -m perf -s``: the benchmarks (``benchmarks/``) and the latency lookup-table study, run
small, each printing its table."""

import pytest

from benchmarks.bench_spaces import main


@pytest.mark.perf
def test_sample_encode_throughput(capsys: pytest.CaptureFixture[str]) -> None:
    with capsys.disabled():
        rates = main(["--seconds", "1"])
    assert set(rates) >= {"chain", "multibranch", "cell", "nb201", "hierarchical"}
    assert all(rate > 0 for rate in rates.values())


@pytest.mark.perf
def test_runner_overhead(capsys: pytest.CaptureFixture[str]) -> None:
    from benchmarks.bench_runner import main as bench_runner

    with capsys.disabled():
        per_eval = bench_runner(["--evaluations", "2000", "--repeats", "1"])
    assert len(per_eval) == 3 and all(s > 0 for s in per_eval.values())


@pytest.mark.perf
def test_bayesopt_overhead(capsys: pytest.CaptureFixture[str]) -> None:
    from benchmarks.bench_bayesopt import main as bench_bayesopt

    with capsys.disabled():
        bench_bayesopt(["--at", "100", "--window", "10"])


@pytest.mark.perf
def test_strategy_overhead(capsys: pytest.CaptureFixture[str]) -> None:
    from benchmarks.bench_strategies import main as bench_strategies

    with capsys.disabled():
        rows = bench_strategies(["--at", "100", "--window", "5"])
    assert all(row[100] > 0 for row in rows.values())


@pytest.mark.perf
def test_trainer_overhead(capsys: pytest.CaptureFixture[str]) -> None:
    from benchmarks.bench_trainer import main as bench_trainer

    with capsys.disabled():
        bench_trainer(["--epochs", "2", "--repeats", "1"])


@pytest.mark.perf
def test_latency_lookup_table(capsys: pytest.CaptureFixture[str]) -> None:
    from experiments.latency_lut import main as latency_lut

    with capsys.disabled():
        latency_lut(["--networks", "20"])


@pytest.mark.perf
def test_surrogate_throughput(capsys: pytest.CaptureFixture[str]) -> None:
    from benchmarks.bench_surrogate import main as bench_surrogate

    with capsys.disabled():
        rates = bench_surrogate(["--queries", "2000", "--batch", "1000"])
    assert all(rate > 0 for rate in rates.values())
