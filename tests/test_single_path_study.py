"""The Single-Path latency study's report logic (experiments/single_path_hinge_latency.py): which latency
weight it reports as tuned per target, and the shallowest architectures it quotes as the space's
latency floor."""

from __future__ import annotations

from experiments import single_path_hinge_latency as study
from nasbench.core.registry import spaces


def _row(fraction: float | None, seed: int, weight: float, lut: float, target: float | None):
    return {"fraction": fraction, "seed": seed, "latency_weight": weight, "lut_ms": lut,
            "target_ms": target, "arch_lr": 0.1, "epochs": 8, "steps": 16}  # fmt: skip


def test_tuned_weight_is_the_smallest_that_meets_the_target() -> None:
    rows = [_row(None, s, 0.0, 2.0, None) for s in (0, 1)]
    for seed, luts in ((0, (1.9, 1.5, 1.0)), (1, (1.55, 1.2, 1.0))):
        for weight, lut in zip((1.0, 2.0, 5.0), luts, strict=True):
            rows.append(_row(0.8, seed, weight, lut, 1.6))  # met from weight 2 / weight 1
            rows.append(_row(0.4, seed, weight, lut + 0.5, 0.8))  # never met
    lines = study.tuned(rows)
    body = [line for line in lines if line.startswith("| 0.")]
    assert len(body) == 2
    loose, strict = body  # 0.8 x first: targets sort from the loosest
    assert strict.startswith("| 0.4 x reference |")
    assert "| 5, 5 |" in strict and "| 0/2 |" in strict  # none met: the largest weight
    assert strict.split("|")[7].strip() == "1.500 ± 0.000"
    assert strict.split("|")[8].strip() == "1.875"
    assert "| 2, 1 |" in loose and "| 2/2 |" in loose
    assert loose.split("|")[7].strip() == "1.525 ± 0.025"  # seed 0 at weight 2, seed 1 at 1
    assert loose.split("|")[8].strip() == "0.953"  # found / target


def test_shallowest_architectures_drop_every_droppable_block() -> None:
    space = spaces.create("hierarchical", preset="single_path", width=0.25)
    floors = study.shallowest(space)
    assert sorted(floors) == [("mbconv3", "3"), ("mbconv6", "5")]
    droppable = {d.name.split(".")[0] for d in space.decisions() if d.name.endswith(".layers")}
    for (op, k), arch in floors.items():
        space.validate(arch)
        blocks = space.format(arch).split("|")
        for b, text in enumerate(blocks):
            if f"block{b}" in droppable:
                assert text == "l-1"
            else:
                assert text.startswith(f"{op}-k{k}-")
    assert len(droppable) < len(space.format(floors["mbconv3", "3"]).split("|"))
