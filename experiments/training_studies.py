"""Issue-5 studies on MNIST-1D: the paper's CNN as a chain, a sparsity sweep per space, and
low-fidelity / learning-curve-extrapolation quality. Resumable: every finished training appends
one JSON line to ``results/training-studies/<study>-<part>.jsonl`` and is skipped when rerun.

    python -m experiments.training_studies run cnn          # MNIST-1D CNN baseline, 3 seeds
    python -m experiments.training_studies run sweep SPACE  # 2 archs x sparsity 0..0.9
    python -m experiments.training_studies run fidelity     # 50 chains: full, low fidelity
    python -m experiments.training_studies run lce30        # the same 50 chains, 30 epochs
    python -m experiments.training_studies report           # the tables, from the JSONL files
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import numpy as np
from scipy import stats

from nasbench.core.registry import evaluators, spaces
from nasbench.core.seeding import role_rng
from nasbench.training.curves import extrapolate, should_stop

OUT = Path("results/training-studies")
CNN = "conv5-25-s2|conv3-25-s2|conv3-25-s2"  # MNIST-1D's ConvBase: 25 channels, k5/k3, stride 2
SPARSITIES = (0.0, 0.5, 0.7, 0.8, 0.9)
SWEEP_EPOCHS, FULL_EPOCHS = 20, 20
LOW_SETTINGS = ((3, 0.25), (5, 0.5), (10, 0.5))  # (epochs, data fraction) of the low-fidelity runs


def _done(path: Path) -> dict[str, dict[str, Any]]:
    if not path.exists():
        return {}
    return {row["id"]: row for row in map(json.loads, path.read_text().splitlines()) if row}


def _append(path: Path, row: dict[str, Any]) -> None:
    with path.open("a") as f:
        f.write(json.dumps(row) + "\n")


def _measure(space_name: str, params: dict[str, Any], arch_text: str, epochs: int, rng_key: str,
             mode: str = "train", **kw: Any) -> dict[str, Any]:  # fmt: skip
    space = spaces.create(space_name, **params)
    ev = evaluators.create(mode, space=space, epochs=epochs, **kw)
    m = ev.evaluate(space.parse(arch_text), float(epochs), role_rng(0, "study", rng_key))
    return {"space": space_name, "arch": arch_text, "epochs": epochs, "status": str(m.status),
            "val_acc": m.val_acc, "test_acc": m.test_acc, "sparsity": m.sparsity,
            "params": m.params, "nonzero_params": m.nonzero_params, "macs": m.macs,
            "effective_macs": m.effective_macs, "cost_s": m.cost_s,
            "curve": list(m.curve)}  # fmt: skip


def run_cnn() -> None:
    path = OUT / "cnn.jsonl"
    done = _done(path)
    for seed in range(3):
        key = f"cnn-seed{seed}"
        if key not in done:
            row = _measure("chain", {"filters": [25]}, CNN, 30, key)
            _append(path, {"id": key, "seed": seed, **row})


def sweep_archs(space_name: str) -> list[str]:
    space = spaces.create(space_name)
    rng = role_rng(0, "study-archs", space_name)
    return [space.sample(rng).text for _ in range(2)]


def run_sweep(space_name: str) -> None:
    path = OUT / f"sweep-{space_name}.jsonl"
    done = _done(path)
    for i, arch in enumerate(sweep_archs(space_name)):
        for s in SPARSITIES:
            key = f"{space_name}-{i}-{s}"
            if key not in done:
                row = _measure(space_name, {}, arch, SWEEP_EPOCHS, key, sparsity=s)
                _append(path, {"id": key, "arch_index": i, "target": s, **row})


def run_fidelity(n: int = 50) -> None:
    path = OUT / "fidelity.jsonl"
    done = _done(path)
    space = spaces.create("chain")
    rng = role_rng(0, "study-archs", "fidelity")
    archs = [space.sample(rng).text for _ in range(n)]
    for i, arch in enumerate(archs):
        if f"{i}-train" not in done:
            row = _measure("chain", {}, arch, FULL_EPOCHS, f"fid-{i}")
            _append(path, {"id": f"{i}-train", "index": i, "mode": "train", **row})
        for epochs, fraction in LOW_SETTINGS:
            key = _low_key(i, epochs, fraction)
            if key not in done:
                row = _measure("chain", {}, arch, epochs, f"fid-{i}", "low_fidelity",
                               data_fraction=fraction)  # fmt: skip
                _append(path, {"id": key, "index": i, "mode": "low_fidelity",
                               "data_fraction": fraction, **row})  # fmt: skip


def run_lce30(n: int = 50) -> None:
    """The fidelity study's chains trained for 30 epochs: LCE from 10% of the curve needs 3
    points (the fewest its 3-parameter families fit), which a 20-epoch curve cannot give."""
    path = OUT / "lce30.jsonl"
    done = _done(path)
    space = spaces.create("chain")
    rng = role_rng(0, "study-archs", "fidelity")
    for i, arch in enumerate(space.sample(rng).text for _ in range(n)):
        if f"{i}-train30" not in done:
            row = _measure("chain", {}, arch, 30, f"fid-{i}")
            _append(path, {"id": f"{i}-train30", "index": i, "mode": "train", **row})


def _low_key(i: int, epochs: int, fraction: float) -> str:
    # the first setting keeps the key the earliest rows were written under
    return (
        f"{i}-low_fidelity"
        if (epochs, fraction) == LOW_SETTINGS[0]
        else f"{i}-low-{epochs}-{fraction}"
    )


def report() -> None:
    cnn = list(_done(OUT / "cnn.jsonl").values())
    if cnn:
        accs = [r["test_acc"] for r in cnn]
        print(f"MNIST-1D CNN as chain {CNN}: test acc {', '.join(f'{a:.4f}' for a in accs)}; "
              f"mean {np.mean(accs):.4f} (paper: 0.94), {len(accs)} seeds, 30 epochs")  # fmt: skip
    print("\n| space | arch | target | test acc | sparsity | nonzero params | effective MACs |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for path in sorted(OUT.glob("sweep-*.jsonl")):
        for r in _done(path).values():
            print(f"| {r['space']} | {r['arch_index']} | {r['target']} | {r['test_acc']:.4f} | "
                  f"{r['sparsity']:.4f} | {r['nonzero_params']} | "
                  f"{r['effective_macs']} |")  # fmt: skip
    fid = _done(OUT / "fidelity.jsonl")
    print()
    for epochs, fraction in LOW_SETTINGS:
        pairs = [(fid[f"{i}-train"], fid[_low_key(i, epochs, fraction)]) for i in range(50)
                 if f"{i}-train" in fid and _low_key(i, epochs, fraction) in fid]  # fmt: skip
        if len(pairs) < 3:
            continue
        full = np.array([p[0]["val_acc"] for p in pairs])
        low = np.array([p[1]["val_acc"] for p in pairs])
        print(f"low ({epochs} epochs, {fraction} of data) vs full ({FULL_EPOCHS} epochs), "
              f"{len(pairs)} chains: Spearman {stats.spearmanr(low, full)[0]:.3f}, "
              f"Kendall {stats.kendalltau(low, full)[0]:.3f}; cost ratio "
              f"{sum(p[1]['cost_s'] for p in pairs) / sum(p[0]['cost_s'] for p in pairs):.3f}"
              )  # fmt: skip
    full_runs = [fid[f"{i}-train"] for i in range(50) if f"{i}-train" in fid]
    if len(full_runs) >= 3:
        print(f"\nLCE on the {len(full_runs)} chains' {FULL_EPOCHS}-epoch curves:")
        lce_report([r["curve"] for r in full_runs])
    long_runs = [r for r in _done(OUT / "lce30.jsonl").values() if r["status"] == "ok"]
    if len(long_runs) >= 3:
        print(f"\nLCE on {len(long_runs)} chains' 30-epoch curves:")
        lce_report([r["curve"] for r in long_runs])


def lce_report(curves: list[list[float]]) -> None:
    final = np.array([c[-1] for c in curves])
    n = len(curves[0])
    for frac in (0.10, 0.25, 0.50):
        k = max(3, round(frac * n))
        pred = np.array([extrapolate(c[:k], n).mean for c in curves])
        last = np.array([c[k - 1] for c in curves])
        print(f"LCE from {k}/{n} epochs: Spearman {stats.spearmanr(pred, final)[0]:.3f} "
              f"(last value {stats.spearmanr(last, final)[0]:.3f}), "
              f"MAE {np.abs(pred - final).mean():.4f} "
              f"(last value {np.abs(last - final).mean():.4f})")  # fmt: skip
    # a search over the same architectures in order: full training vs Domhan's early stopping
    best_full, best_lce, epochs_lce, best = final.max(), -1.0, 0, -np.inf
    for c in curves:
        stopped = False
        for e in range(max(3, round(0.25 * n)), n):
            if np.isfinite(best) and should_stop(c[:e], n, best):
                epochs_lce += e
                stopped = True
                break
        if not stopped:
            epochs_lce += n
            best = max(best, c[-1])
            best_lce = max(best_lce, c[-1])
    print(f"search over {len(curves)} chains: full training {len(curves) * n} epochs, best val "
          f"{best_full:.4f}; with LCE early stopping {epochs_lce} epochs "
          f"({epochs_lce / (len(curves) * n):.3f} of the compute), "
          f"best val {best_lce:.4f}")  # fmt: skip


if __name__ == "__main__":
    if sys.argv[1:2] in (["-h"], ["--help"]):
        print(__doc__)
        sys.exit(0)
    OUT.mkdir(parents=True, exist_ok=True)
    if sys.argv[1:2] == ["report"]:
        report()
    elif sys.argv[1:3] == ["run", "cnn"]:
        run_cnn()
    elif sys.argv[1:3] == ["run", "sweep"]:
        run_sweep(sys.argv[3])
    elif sys.argv[1:3] == ["run", "fidelity"]:
        run_fidelity()
    elif sys.argv[1:3] == ["run", "lce30"]:
        run_lce30()
    else:
        sys.exit(__doc__)
