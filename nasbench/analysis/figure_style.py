"""How nasbench's figures look and are written: the colour-blind-safe palette and line styles
(one per strategy, the same in every figure of a :func:`nasbench.analysis.plots.plot_all` call),
panel grids, one legend outside the axes, and reproducible files (no dates or random ids, never
an existing file replaced unless asked). :mod:`nasbench.analysis.plots` draws with these."""

from __future__ import annotations

import math
from collections.abc import Sequence
from contextvars import ContextVar
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nasbench.core.errors import NasbenchError
from nasbench.engine.records import check_new, write_new

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

FORMATS = ("png", "pdf", "svg")
_REPLACE: ContextVar[bool] = ContextVar("nasbench_plots_replace", default=False)
"""Inside :func:`~nasbench.analysis.plots.plot_all` with ``overwrite``: figure files may be
replaced."""


def check_formats(formats: Sequence[str]) -> None:
    """Raise NasbenchError unless ``formats`` is a non-empty selection of :data:`FORMATS`."""
    bad = [f for f in formats if f not in FORMATS]
    if bad or not formats:
        raise NasbenchError(f"unknown figure format {', '.join(bad) or '(none)'}; "
                            f"valid: {', '.join(FORMATS)}")  # fmt: skip


OKABE_ITO = ("#000000", "#E69F00", "#56B4E9", "#009E73", "#0072B2", "#D55E00", "#CC79A7",
             "#F0E442")  # fmt: skip
"""The colour-blind-safe palette of Okabe & Ito (2008), black first and the yellow, faint on
white, last."""
LINE_STYLES = ("-", "--", "-.", ":")


_STRATEGIES: ContextVar[tuple[str, ...]] = ContextVar("nasbench_plots_strategies", default=())
"""Every strategy of a :func:`plot_all` call, in sorted order: each strategy keeps its colour
and line style in every figure of the call, per-task figures without it included."""


def _positions(strategies: list[str]) -> dict[str, int]:
    everyone = _STRATEGIES.get()
    order = list(everyone) if set(strategies) <= set(everyone) else list(strategies)
    return {s: order.index(s) for s in strategies}


def _colors(strategies: list[str]) -> dict[str, Any]:
    """One colour per strategy (Okabe-Ito by sorted name), the same in every figure of a call."""
    return {s: OKABE_ITO[i % len(OKABE_ITO)] for s, i in _positions(strategies).items()}


def _line_styles(strategies: list[str]) -> dict[str, str]:
    """One line style per strategy, so that lines differ in more than colour (a grey-scale
    print, a colour-blind reader): the style cycles with a different period than the colours."""
    return {s: LINE_STYLES[i % len(LINE_STYLES)] for s, i in _positions(strategies).items()}


def _panels(n: int) -> tuple[Figure, list[Axes]]:
    """A figure with ``n`` panels in rows of at most three."""
    from matplotlib.figure import Figure

    cols = min(max(n, 1), 3)
    rows = math.ceil(max(n, 1) / cols)
    fig = Figure(figsize=(4.2 * cols + 2.0, 3.4 * rows), layout="constrained")  # + legend
    axes = list(fig.subplots(rows, cols, squeeze=False).flat)
    for ax in axes[n:]:
        ax.set_visible(False)
    return fig, axes


def _save(fig: Figure, axes: list[Axes], stem: Path, formats: Sequence[str]) -> list[Path]:
    """One legend for the whole figure (the strategies of all panels), then the files."""
    handles: dict[str, Any] = {}
    for ax in axes:
        for handle, label in zip(*ax.get_legend_handles_labels(), strict=True):
            handles.setdefault(label, handle)
    if handles:
        fig.legend(list(handles.values()), list(handles), loc="outside right upper",
                   frameon=False)  # fmt: skip
    return _write(fig, stem, formats)


def _write(fig: Figure, stem: Path, formats: Sequence[str]) -> list[Path]:
    """``stem.<format>`` for each format, without dates or random ids (reproducible files).
    Every figure is rendered in memory first; an existing file is never replaced (NasbenchError,
    none of them written) except within :func:`plot_all` with ``overwrite``."""
    import io

    from matplotlib import rc_context
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    check_formats(formats)
    replace = _REPLACE.get()
    paths = [Path(f"{stem}.{fmt}") for fmt in formats]
    check_new(paths, replace)
    FigureCanvasAgg(fig)
    rendered = []
    meta = {"pdf": {"CreationDate": None}, "svg": {"Date": None}}
    with rc_context({"svg.hashsalt": "nasbench"}):  # SVG element ids, else random per call
        for fmt in formats:
            buffer = io.BytesIO()
            fig.savefig(buffer, format=fmt, dpi=150, metadata=meta.get(fmt))
            rendered.append(buffer.getvalue())
    for path, data in zip(paths, rendered, strict=True):
        write_new(path, data, replace)
    return paths
