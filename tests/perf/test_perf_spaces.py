"""``pytest -m perf -s``: runs the throughput benchmark and prints its table."""

import pytest

from tests.perf.bench_spaces import main


@pytest.mark.perf
def test_sample_encode_throughput(capsys: pytest.CaptureFixture[str]) -> None:
    with capsys.disabled():
        rates = main(["--seconds", "1"])
    assert set(rates) >= {"chain", "multibranch", "cell", "nb201", "hierarchical"}
    assert all(rate > 0 for rate in rates.values())
