"""``pytest -m perf -s``: runs the throughput benchmark and prints its table."""

import pytest

from tests.perf.bench_spaces import main


@pytest.mark.perf
def test_sample_encode_throughput(capsys: pytest.CaptureFixture[str]) -> None:
    with capsys.disabled():
        rates = main(["--seconds", "1"])
    assert set(rates) >= {"chain", "multibranch", "cell", "nb201", "hierarchical"}
    assert all(rate > 0 for rate in rates.values())


@pytest.mark.perf
def test_runner_overhead(capsys: pytest.CaptureFixture[str]) -> None:
    from tests.perf.bench_runner import main as bench_runner

    with capsys.disabled():
        per_eval = bench_runner(["--evaluations", "2000", "--repeats", "1"])
    assert len(per_eval) == 3 and all(s > 0 for s in per_eval.values())
