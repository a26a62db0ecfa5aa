"""Configurations of the hierarchical space: the presets (MnasNet, Single-Path NAS, TAS) and the
validation of user overrides.

>>> resolve_config("tas", {"layer_deltas": (0, -1)}).layer_deltas
(0, -1)
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from nasbench.core.errors import NasbenchError, one_of

CONV_OPS = ("conv", "dconv", "mbconv1", "mbconv3", "mbconv6")
SKIP_OPS = ("id", "pool", "none")
_TUPLES = ("conv_ops", "kernels", "se_ratios", "skip_ops", "filter_multipliers", "layer_deltas")


@dataclass(frozen=True)
class HierarchicalConfig:
    """A resolved configuration. ``blocks`` holds (base filters, base layers, first stride);
    ``stem`` is (filters, stride) of the 3x3 stem; ``head`` the channels of the 1x1 head conv
    (0: none); ``width`` scales stem, base filters and head."""

    blocks: tuple[tuple[int, int, int], ...]
    conv_ops: tuple[str, ...]
    kernels: tuple[int, ...]
    se_ratios: tuple[float, ...]
    skip_ops: tuple[str, ...]
    filter_multipliers: tuple[float, ...]
    layer_deltas: tuple[int, ...]
    width: float
    stem: tuple[int, int]
    head: int


def _stages(*stages: tuple[int, int, int]) -> tuple[tuple[int, int, int], ...]:
    """One-layer blocks from (filters, layers, stride) stages (Single-Path NAS's per-layer view)."""
    return tuple((f, 1, s if i == 0 else 1) for f, n, s in stages for i in range(n))


# fmt: off
PRESETS = {
    # MobileNetV2's layout (Sandler et al. 2018) narrowed, without the stem and 6th-block strides.
    "mnasnet": HierarchicalConfig(
        blocks=((16, 1, 1), (24, 2, 2), (32, 3, 2), (48, 3, 2), (64, 2, 1), (80, 2, 1), (96, 1, 1)),
        conv_ops=("mbconv6", "mbconv3", "mbconv1", "dconv", "conv"), kernels=(3, 5),
        se_ratios=(0.0, 0.25), skip_ops=("id", "none", "pool"),  # first: MobileNetV2
        filter_multipliers=(1.0, 0.75, 1.25), layer_deltas=(0, -1, 1),
        width=1.0, stem=(16, 1), head=128,
    ),
    # Single-Path NAS: MobileNetV2-like stages whose layers are searched one by one.
    "single_path": HierarchicalConfig(
        blocks=_stages((24, 3, 2), (32, 3, 2), (48, 3, 2), (64, 3, 1)),
        conv_ops=("mbconv3", "mbconv6"), kernels=(3, 5), se_ratios=(0.0,), skip_ops=("id",),
        filter_multipliers=(1.0,), layer_deltas=(0, -1), width=1.0, stem=(16, 1), head=128,
    ),
    # TAS on a CIFAR ResNet (He et al. 2016): 3 stages of 16/32/64 channels, 3 layers each.
    "tas": HierarchicalConfig(
        blocks=((16, 3, 1), (32, 3, 2), (64, 3, 2)), conv_ops=("conv",), kernels=(3,),
        se_ratios=(0.0,), skip_ops=("id",), filter_multipliers=(1.0, 0.75, 0.5, 0.25),
        layer_deltas=(0, -1, -2), width=1.0, stem=(16, 1), head=0,
    ),
}
# fmt: on


def choice_text(x: float) -> str:
    return str(float(x))


def _ischoice_text(v: object) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def _is_plain(v: object) -> bool:
    """A finite number whose choice string has no exponent (so tokens stay parseable)."""
    return _ischoice_text(v) and math.isfinite(v) and "e" not in choice_text(v)  # type: ignore[arg-type]


def _is_pos_int(v: object) -> bool:
    return isinstance(v, int) and not isinstance(v, bool) and v >= 1


_RULES: dict[str, tuple[str, Callable[[Any], bool]]] = {
    "blocks": (
        "(filters, layers, stride) triples of positive ints (repeats allowed)",
        lambda b: len(b) == 3 and all(_is_pos_int(x) for x in b),
    ),
    "conv_ops": (f"values of {', '.join(CONV_OPS)}", CONV_OPS.__contains__),
    "kernels": ("odd positive ints", lambda k: _is_pos_int(k) and k % 2 == 1),
    "se_ratios": ("ratios in [0, 1]", lambda r: _is_plain(r) and 0 <= r <= 1),
    "skip_ops": (f"values of {', '.join(SKIP_OPS)}", SKIP_OPS.__contains__),
    "filter_multipliers": ("positive numbers", lambda m: _is_plain(m) and m > 0),
    "layer_deltas": ("ints", lambda n: isinstance(n, int) and not isinstance(n, bool)),
}


def _check(kind: str, values: tuple[Any, ...], valid: str, ok: Callable[[Any], bool]) -> None:
    """Raise unless ``values`` is non-empty, valid, and (choice tuples) free of repeats."""
    repeats = kind != "blocks" and len(set(values)) != len(values)
    if not values or not all(ok(v) for v in values) or repeats:
        raise NasbenchError(f"{kind} must be a non-empty tuple of distinct {valid}, got {values!r}")


def resolve_config(preset: str, overrides: dict[str, Any]) -> HierarchicalConfig:
    """The preset's configuration with the non-None overrides applied, validated."""
    if preset not in PRESETS:
        raise one_of("hierarchical preset", preset, PRESETS)
    given = {k: v for k, v in overrides.items() if v is not None}
    for key, value in given.items():
        if isinstance(value, str):
            raise NasbenchError(f"hierarchical parameter {key} must be a tuple, got {value!r}")
    try:
        cfg = replace(PRESETS[preset], **given)
        tuples: dict[str, Any] = {k: tuple(getattr(cfg, k)) for k in _TUPLES}
        tuples.update(blocks=tuple(tuple(b) for b in cfg.blocks), stem=tuple(cfg.stem))
        cfg = replace(cfg, **tuples)
    except TypeError as exc:
        raise NasbenchError(f"hierarchical: bad parameter value: {exc}") from exc
    for key, (valid, ok) in _RULES.items():
        _check(key, getattr(cfg, key), valid, ok)
    if not (_is_plain(cfg.width) and cfg.width > 0):
        raise NasbenchError(f"width must be a number > 0, got {cfg.width!r}")
    if not (len(cfg.stem) == 2 and all(_is_pos_int(x) for x in cfg.stem)):
        raise NasbenchError(f"stem must be (filters, stride) positive ints, got {cfg.stem!r}")
    if not (isinstance(cfg.head, int) and cfg.head >= 0):
        raise NasbenchError(f"head must be an int >= 0 (0: no head conv), got {cfg.head!r}")
    return cfg
