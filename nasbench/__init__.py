"""nasbench: a benchmark suite for neural architecture search.

Interchangeable search spaces (``nasbench.spaces``), strategies (``nasbench.strategies``) and
evaluators (``nasbench.evaluation``) under one shared budget. See README.md.
"""

from nasbench.errors import NasbenchError
from nasbench.types import (
    ArchGraph,
    Architecture,
    Budget,
    Choice,
    Constraint,
    Decision,
    Measurement,
    ModelCounts,
    Overshoot,
    RunMeta,
    Status,
    Task,
    TrialRecord,
)

__version__ = "0.1.0"

__all__ = [
    "ArchGraph",
    "Architecture",
    "Budget",
    "Choice",
    "Constraint",
    "Decision",
    "Measurement",
    "ModelCounts",
    "NasbenchError",
    "Overshoot",
    "RunMeta",
    "Status",
    "Task",
    "TrialRecord",
    "__version__",
]
