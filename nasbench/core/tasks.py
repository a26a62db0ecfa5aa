"""Input shapes and class counts of the datasets nasbench knows by name.

``describe --dataset NAME`` and the evaluators use these to build networks of the right shape
without loading any data.

>>> task_for("mnist1d")
Task(input_shape=(1, 40), num_classes=10, name='mnist1d')
"""

from __future__ import annotations

from nasbench.core.errors import one_of
from nasbench.core.types import Task

DATASET_TASKS: dict[str, Task] = {
    t.name: t
    for t in (
        Task((1, 40), 10, "mnist1d"),  # Greydanus 2020: 40-sample 1-D digits
        Task((1, 40), 10, "mnist1d_large"),  # the same, with 5000-sample val and test splits
        Task((3, 32, 32), 10, "cifar10"),
        Task((3, 32, 32), 100, "cifar100"),
        Task((3, 16, 16), 120, "imagenet16_120"),  # Chrabaszcz et al. 2017, as in NAS-Bench-201
        Task((1, 28, 28), 10, "mnist"),
        Task((1, 28, 28), 10, "fashion_mnist"),
        Task((1, 8, 8), 10, "digits"),  # scikit-learn's 8x8 digits
    )
}


def task_for(dataset: str) -> Task:
    """The :class:`Task` of a named dataset; raises NasbenchError naming the known ones."""
    try:
        return DATASET_TASKS[dataset]
    except KeyError:
        raise one_of("dataset", dataset, sorted(DATASET_TASKS)) from None
