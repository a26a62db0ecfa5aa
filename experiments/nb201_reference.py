"""NAS-Bench-201 figures against the real benchmark (../shared/data or $NASBENCH_SHARED_DATA).

    python -m experiments.nb201_reference

Prints: how many of the 15,625 strings survive parse -> print unchanged; per dataset, the largest
relative error of our parameter count against the recorded ``*_params_M`` (over all cells, and
over the cells outside the documented 150-cell quirk); and the number of classes our canonical
keys and the benchmark's ``unique_str`` form. It writes no results folder: the figures are
printed (``tests/test_nb201.py`` asserts the same properties).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq

from nasbench.core.registry import spaces
from nasbench.core.tasks import task_for

REPO = Path(__file__).resolve().parents[1]


def shared_data() -> Path | None:
    """``$NASBENCH_SHARED_DATA`` or ``../shared/data`` next to the repository, if present (where
    the tests look too)."""
    env = os.environ.get("NASBENCH_SHARED_DATA")
    path = Path(env) if env else REPO.parent / "shared" / "data"
    return path if path.is_dir() else None


def main(argv: list[str] | None = None) -> int:
    argparse.ArgumentParser(description=__doc__.split("\n\n")[0]).parse_args(argv)
    root = shared_data()
    if root is None:
        print("reference data not found: set NASBENCH_SHARED_DATA", file=sys.stderr)
        return 2
    rows = pq.read_table(root / "nb201" / "nb201_cifar_hw.parquet").to_pylist()
    space = spaces.create("nb201")
    start = time.perf_counter()
    archs = [space.parse(r["arch_str"]) for r in rows]
    parse_s = time.perf_counter() - start
    same = sum(a.text == r["arch_str"] for a, r in zip(archs, rows, strict=True))
    print(f"round trip: {same} of {len(rows)} strings unchanged ({parse_s:.2f} s to parse all)")
    for prefix, dataset in (("c10", "cifar10"), ("c100", "cifar100"), ("in16", "imagenet16_120")):
        task = task_for(dataset)
        ours = np.array([space.counts(a, task).params for a in archs]) / 1e6
        theirs = np.array([r[f"{prefix}_params_M"] for r in rows])
        rel = np.abs(ours - theirs) / theirs
        exact = np.isclose(ours, theirs, rtol=0, atol=5e-7)
        print(
            f"{prefix}_params_M: largest relative error {rel.max():.6g} over all cells; "
            f"{rel[exact].max():.3g} on the {exact.sum()} matching cells; "
            f"{(~exact).sum()} cells differ (the documented quirk)"
        )
    ours_classes = len({a.key for a in archs})
    theirs_classes = len({r["unique_str"] for r in rows})
    equal = sum(a.key == r["unique_str"] for a, r in zip(archs, rows, strict=True))
    print(
        f"classes: canonical keys {ours_classes}, unique_str {theirs_classes}; "
        f"key == unique_str for {equal} of {len(rows)} cells"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
