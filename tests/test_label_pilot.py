"""The label pilot's report (experiments/label_pilot.py): its rows, the recipe choices it writes
for the datasheets, and the projection plot, on small pilot tables of fake runs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from experiments import label_pilot
from nasbench.tables import tablebuild
from nasbench.tables.tablebuild import TableSpec, build_table
from tests.helpers import fake_run


@pytest.fixture
def folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """chain-e6 and chain-e12: 10 architectures at sparsity 0.8 with 4 seeds (fake runs whose
    accuracy is 0.5 + 0.04 * (index % 10) - 0.08 + 0.01 * seed)."""
    monkeypatch.setattr(tablebuild, "train_run", fake_run)
    for epochs in (6, 12):
        spec = TableSpec("chain", {"max_layers": 2}, epochs=epochs, latency_device=None)
        build_table(spec, tmp_path / f"chain-e{epochs}.parquet", n=10, sparsities=(0.8,), seeds=4)
    (tmp_path / "README.md").write_text("old")
    return tmp_path


def test_pilot_tables_sort_by_space_then_epochs(folder: Path) -> None:
    (folder / "cell-e24.parquet").write_bytes(b"")
    (folder / "cell-e6.parquet.journal").write_bytes(b"")  # a table only journaled so far
    names = [p.name for p in label_pilot.pilot_tables(folder)]
    assert names == ["cell-e6.parquet", "cell-e24.parquet", "chain-e6.parquet", "chain-e12.parquet"]
    assert [p.name for p in label_pilot.pilot_tables(folder, "chain")] == names[2:]


def test_layer_wise_pilot_tables_sort_after_global_and_are_compared_on_shared_architectures(
    folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert label_pilot.parse("hierarchical-e12-layer") == ("hierarchical", 12, "layer")
    assert label_pilot.parse("chain-e6") == ("chain", 6, "global")
    spec = TableSpec("chain", {"max_layers": 2}, epochs=12, latency_device=None)
    # the first 6 of the 10 architectures, fake accuracies shifted: seed spread and ranking kept
    build_table(spec, folder / "chain-e12-layer.parquet", n=6, sparsities=(0.8,), seeds=4)
    names = [p.name for p in label_pilot.pilot_tables(folder, "chain")]
    assert names == ["chain-e6.parquet", "chain-e12.parquet", "chain-e12-layer.parquet"]
    rows = label_pilot.scope_comparison(folder)
    # fake accuracies of architectures 0..5: 0.42 + 0.04 i + 0.015 mean seed offset -> 53.50%
    assert rows[-1] == (
        "| chain, 12 epochs | 6 | 53.50 / 1.29 / 1.29 / 1.000 | 53.50 / 1.29 / 1.29 / 1.000 |"
    )
    text = label_pilot.report(folder)
    assert "| chain: 12 epochs, layer-wise pruning | 6 | 4 | 1.29 |" in text
    assert text.rstrip().endswith(rows[-1])
    assert (
        "12 epochs, layer-wise pruning on 6 architectures"
        in label_pilot.choices(folder)["chain-mnist1d_large"]
    )


def test_choices_carry_the_measured_numbers_of_every_pilot_table(folder: Path) -> None:
    text = label_pilot.choices(folder)["chain-mnist1d_large"]
    assert text.startswith(
        "12 epochs, 4 seeds per row, every layer pruned to the target, chosen by the label pilot"
    )
    # seeds 0..3 add 0, 1, 2, 3 points: sd 1.29 points; the architectures are perfectly ranked
    assert "6 epochs on 10 architectures: seed sd 1.29 pts" in text
    assert "12 epochs on 10 architectures: seed sd 1.29 pts" in text
    assert "split-half tau 1.000" in text
    assert "Why: 12 epochs halve" in text


def test_write_updates_readme_choices_and_plot(
    folder: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    choices = tmp_path / "choices.json"
    monkeypatch.setattr(label_pilot, "RECIPE_CHOICES", choices)
    label_pilot.main(["--folder", str(folder), "--write"])
    readme = (folder / "README.md").read_text()
    assert readme.startswith("# Label pilot")
    assert "| chain: 6 epochs | 10 | 4 | 1.29 |" in readme
    assert set(json.loads(choices.read_text())) == {
        "chain-mnist1d_large", "hierarchical-mnist1d_large", "multibranch-mnist1d_large"
    }  # fmt: skip
    assert (folder / "projection.png").read_bytes().startswith(b"\x89PNG")
    curves = label_pilot.projections(folder)["chain"]
    assert [label for label, _, _ in curves] == ["6 epochs (10 archs)", "12 epochs (10 archs)"]
    _, hours, taus = curves[0]
    assert hours == sorted(hours) and taus == sorted(taus)  # more seeds: dearer and more reliable
