"""``pytest -m perf``: runs the throughput benchmark and prints its table."""

import pytest

from tests.perf.bench_spaces import main


@pytest.mark.perf
def test_sample_encode_throughput(capsys: pytest.CaptureFixture[str]) -> None:
    rates = main(["--seconds", "1"])
    with capsys.disabled():
        print()
        for name, rate in rates.items():
            print(f"{name}: {rate:,.0f} archs/s")
    assert all(rate > 0 for rate in rates.values())
