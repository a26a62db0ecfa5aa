"""nasbench: a benchmark suite for neural architecture search.

Interchangeable search spaces (``nasbench.spaces``), strategies (``nasbench.strategies``),
evaluators (``nasbench.evaluation``) and surrogates (``nasbench.surrogates``) under one shared
budget. See README.md and docs/.

**The public API is what this package exports** (:data:`__all__`), plus the conformance kits in
:mod:`nasbench.testing`; everything else (the layer packages ``core``, ``training``, ``tables``,
``engine``, ``analysis``, ``cli``: docs/architecture.md) is internal and may change between
releases. The names are imported on first use, so ``import nasbench`` stays cheap (no torch)::

    import nasbench

    suite, _ = nasbench.load_suite("nasbench/suites/nb201-protocol.toml")
    spec = suite.specs()[0]
    result = nasbench.run(spec, seed=0)                 # one run: its records and metadata
    table = nasbench.records_table(result.records)     # a pyarrow table (.to_pandas())

A plugin implements one protocol (:class:`SearchSpace` or :class:`BaseSpace`, :class:`Strategy`,
:class:`Evaluator`, :class:`Surrogate`) and registers with its registry
(``nasbench.registry.spaces``, ``.strategies``, ``.evaluators``, ``.surrogates``).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from nasbench.core.version import __version__

_EXPORTS: dict[str, str] = {
    # the types every role shares
    **{
        name: "nasbench.core.types"
        for name in (
            "ArchGraph",
            "Architecture",
            "Budget",
            "Choice",
            "Constraint",
            "Decision",
            "Measurement",
            "ModelCounts",
            "Observation",
            "Overshoot",
            "Proposal",
            "RunMeta",
            "Status",
            "Task",
            "TrialRecord",
        )
    },
    "NasbenchError": "nasbench.core.errors",
    # the contracts a plugin implements, and where it registers
    "SearchSpace": "nasbench.core.space",
    "BaseSpace": "nasbench.core.space",
    "Strategy": "nasbench.core.strategy",
    "SearchInfo": "nasbench.core.strategy",
    "Evaluator": "nasbench.core.evaluator",
    "Profile": "nasbench.core.evaluator",
    "Surrogate": "nasbench.core.surrogate",
    "Prediction": "nasbench.core.surrogate",
    "InputKind": "nasbench.core.surrogate",
    "GraphInput": "nasbench.core.surrogate",
    "vectors": "nasbench.core.surrogate",
    "graphs": "nasbench.core.surrogate",
    "targets": "nasbench.core.surrogate",
    "check_fitted": "nasbench.core.surrogate",
    "Supernet": "nasbench.core.supernet",
    "register_supernet": "nasbench.core.supernet",
    "build_supernet": "nasbench.core.supernet",
    "role_rng": "nasbench.core.seeding",
    # the registries: nasbench.registry.spaces, .strategies, .evaluators, .surrogates (the plain
    # names would collide with the plugin packages nasbench.spaces, nasbench.strategies, ...)
    "registry": "nasbench.core.registry",
    # running searches and reading what they recorded
    "Suite": "nasbench.engine.suite",
    "RunSpec": "nasbench.engine.suite",
    "parse_suite": "nasbench.engine.suite",
    "load_suite": "nasbench.engine.suite",
    "run": "nasbench.engine.runner",
    "RunResult": "nasbench.engine.runner",
    "run_suite": "nasbench.analysis.results",
    "load_results": "nasbench.analysis.results",
    "records_table": "nasbench.engine.records",
    "read_run": "nasbench.engine.records",
    "summarize": "nasbench.analysis.report",
    # scoring a surrogate on held-out architectures of a table
    "score_surrogate": "nasbench.tables.surrogate_benchmark",
    "Quality": "nasbench.tables.surrogate_benchmark",
}

__all__ = [
    "ArchGraph",
    "Architecture",
    "BaseSpace",
    "Budget",
    "Choice",
    "Constraint",
    "Decision",
    "Evaluator",
    "GraphInput",
    "InputKind",
    "Measurement",
    "ModelCounts",
    "NasbenchError",
    "Observation",
    "Overshoot",
    "Prediction",
    "Profile",
    "Proposal",
    "Quality",
    "RunMeta",
    "RunResult",
    "RunSpec",
    "SearchInfo",
    "SearchSpace",
    "Status",
    "Strategy",
    "Suite",
    "Supernet",
    "Surrogate",
    "Task",
    "TrialRecord",
    "__version__",
    "build_supernet",
    "check_fitted",
    "graphs",
    "load_results",
    "load_suite",
    "parse_suite",
    "read_run",
    "records_table",
    "register_supernet",
    "registry",
    "role_rng",
    "run",
    "run_suite",
    "score_surrogate",
    "summarize",
    "targets",
    "vectors",
]


def __getattr__(name: str) -> Any:
    """Import a public name on first use (PEP 562)."""
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'nasbench' has no attribute {name!r}")
    imported = importlib.import_module(module)
    value = imported if module.endswith("." + name) else getattr(imported, name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__


if TYPE_CHECKING:  # for type checkers and IDEs: the same names, imported eagerly
    from nasbench.analysis.report import summarize
    from nasbench.analysis.results import load_results, run_suite
    from nasbench.core import registry
    from nasbench.core.errors import NasbenchError
    from nasbench.core.evaluator import Evaluator, Profile
    from nasbench.core.seeding import role_rng
    from nasbench.core.space import BaseSpace, SearchSpace
    from nasbench.core.strategy import SearchInfo, Strategy
    from nasbench.core.supernet import Supernet, build_supernet, register_supernet
    from nasbench.core.surrogate import (
        GraphInput,
        InputKind,
        Prediction,
        Surrogate,
        check_fitted,
        graphs,
        targets,
        vectors,
    )
    from nasbench.core.types import (
        ArchGraph,
        Architecture,
        Budget,
        Choice,
        Constraint,
        Decision,
        Measurement,
        ModelCounts,
        Observation,
        Overshoot,
        Proposal,
        RunMeta,
        Status,
        Task,
        TrialRecord,
    )
    from nasbench.engine.records import read_run, records_table
    from nasbench.engine.runner import RunResult, run
    from nasbench.engine.suite import RunSpec, Suite, load_suite, parse_suite
    from nasbench.tables.surrogate_benchmark import Quality, score_surrogate
