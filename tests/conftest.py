"""Shared fixtures: the read-only reference data in ../shared/data (beside the checkout)."""

from __future__ import annotations

import os

import pytest
import torch

from tests.helpers import shared_data

# Tiny networks run far faster on one thread than on contended cores (CI has two).
torch.set_num_threads(1)


@pytest.fixture(scope="session")
def nb201_reference() -> list[dict]:
    """All 15,625 NAS-Bench-201 rows (arch string, unique string, parameter counts)."""
    root = shared_data()
    if root is None:
        if os.environ.get("CI"):
            pytest.fail("CI must run the reference-data tests: ../shared/data is missing")
        pytest.skip("reference data ../shared/data not present")
    import pyarrow.parquet as pq

    columns = [
        "arch_index",
        "arch_str",
        "unique_str",
        "c10_params_M",
        "c100_params_M",
        "in16_params_M",
    ]
    return pq.read_table(root / "nb201" / "nb201_cifar_hw.parquet", columns=columns).to_pylist()
