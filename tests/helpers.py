"""What several test modules share (no tests here; a test module never imports another one):
where the reference data is, the command line's small suite and file snapshots, toy training
data and stand-ins for the table builder's training runs."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import numpy as np

from nasbench.tables.tablebuild import TableSpec
from nasbench.training.datasets import Split

REPO = Path(__file__).resolve().parents[1]


# ---- the read-only reference data beside the checkout -------------------------------------
def shared_data() -> Path | None:
    """``$NASBENCH_SHARED_DATA`` or ``../shared/data`` next to the repository, if present."""
    env = os.environ.get("NASBENCH_SHARED_DATA")
    path = Path(env) if env else REPO.parent / "shared" / "data"
    return path if path.is_dir() else None


# ---- the command line ---------------------------------------------------------------------
BEST = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|"
"""A NAS-Bench-201 cell (the benchmark's best on CIFAR-10)."""

SMALL_SUITE = """
[suite]
name = "cli"
seeds = 2
[budget]
cost_s = 2000
sparsity = 0.0
{extra}
[[task]]
space = "nb201"
evaluator = "tabular"
benchmark = "nb201-cifar10"
fidelity = 12
[[strategy]]
name = "{strategy}"
"""


def write_suite(
    tmp_path: Path, strategy: str = "random", extra: str = "", edit: tuple[str, str] = ("", "")
) -> Path:
    """``tmp_path/suite.toml``: :data:`SMALL_SUITE` with one strategy, ``extra`` budget lines
    and the text replacement ``edit``."""
    text = SMALL_SUITE.format(strategy=strategy, extra=extra).replace(*edit)
    path = tmp_path / "suite.toml"
    path.write_text(text)
    return path


C = TypeVar("C")


def both(*setups: Callable[[C], None]) -> Callable[[C], None]:
    """One bad-input case setup that runs ``setups`` in order."""

    def setup(ctx: C) -> None:
        for s in setups:
            s(ctx)

    return setup


def snapshot(folder: Path) -> dict[str, str]:
    """Every file's SHA-256 and every folder, by path relative to ``folder``."""
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        if p.is_file() else "folder"
        for p in sorted(folder.rglob("*"))
    }  # fmt: skip


# ---- toy training data --------------------------------------------------------------------
def toy_split(n: int, rng: np.random.Generator) -> Split:
    """Three classes told apart by which third of the sequence carries a bump (plus noise);
    inputs of shape ``(2, 12)``."""
    y = rng.integers(0, 3, size=n).astype(np.int64)
    x = rng.normal(scale=0.5, size=(n, 2, 12)).astype(np.float32)
    for i, c in enumerate(y):
        x[i, :, 4 * c : 4 * c + 4] += 1.5
    return Split(x, y)


# ---- stand-ins for the table builder's training runs (``tablebuild.train_run``) -------------
TABLEBUILD_SPEC = TableSpec("chain", {"max_layers": 2}, epochs=1, recipe={"batch_size": 500})
"""The table builder's tests' spec: two-layer chains, one epoch."""


def fake_run(spec_json: str, index: int, arch_text: str, sparsity: float, seed: int) -> dict:
    """A deterministic stand-in for a training run (accuracy from index, sparsity, seed)."""
    space = TableSpec.from_json(spec_json).create_space()
    arch = space.parse(arch_text)
    val = 0.5 + 0.04 * (index % 10) - 0.1 * sparsity + 0.01 * seed
    return {
        "index": index, "arch": arch.text, "key": arch.key, "sparsity": sparsity, "seed": seed,
        "status": "ok", "val_acc": val, "test_acc": val - 0.02, "train_time_s": 10.0 + index,
        "sparsity_measured": sparsity, "params": 1000 + index, "nonzero_params": 900,
        "macs": 5000, "effective_macs": 4000, "latency_ms": 0.5, "curve": [val / 2, val],
        "job_wall_s": 1.0, "host": "test",
    }  # fmt: skip


SURROGATE_SPEC = TableSpec("chain", {"max_layers": 3}, epochs=2)
"""The surrogate benchmark's tests' spec: three-layer chains, two epochs."""


def surrogate_fake_run(
    spec_json: str, index: int, arch_text: str, sparsity: float, seed: int
) -> dict:
    """A stand-in training run whose accuracy a surrogate can learn: it grows with the number of
    3-wide kernels, falls with sparsity, and the two seeds differ by +-0.02 (a seed noise std of
    0.02 * sqrt(2))."""
    space = TableSpec.from_json(spec_json).create_space()
    arch = space.parse(arch_text)
    val = 0.5 + 0.1 * arch.text.count("conv3") - 0.2 * sparsity + (0.02 if seed else -0.02)
    return {
        "index": index, "arch": arch.text, "key": arch.key, "sparsity": sparsity, "seed": seed,
        "status": "ok", "val_acc": val, "test_acc": val - 0.01, "train_time_s": 5.0 + index % 7,
        "sparsity_measured": sparsity, "params": 1000, "nonzero_params": round(1000 * (1 - sparsity)),
        "macs": 5000, "effective_macs": round(5000 * (1 - sparsity)), "latency_ms": 0.5,
        "curve": [val / 2, val], "job_wall_s": 1.0, "host": "test",
    }  # fmt: skip
