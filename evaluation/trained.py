"""What the training evaluators (``train``, ``low_fidelity``, ``lce``) share: data, recipe,
pruning, and turning a training run into a :class:`~nasbench.core.types.Measurement`.

Cost is the measured wall-clock training time, so training evaluators spend the same currency
(simulated seconds) as benchmark tables. Params and MACs are the space's analytic counts; nonzero
params, measured sparsity and effective MACs (dense MACs scaled by each layer's density) come
from the trained, pruned network.

**Distillation from the unpruned network** (TAS, Dong & Yang, "Network Pruning via Transformable
Architecture Search", NeurIPS 2019, Sec. 3.3: the searched network learns from the unpruned one
by knowledge distillation, Hinton et al. 2014). With ``distill_from = "unpruned"`` (the ``train``
evaluator's option) the space's unpruned network, :func:`unpruned_architecture` (the largest
width and depth of every block), is trained once per evaluator, dense and plain (no pruning, no
distillation), with the evaluator's recipe at its ``epochs``, initialised and shuffled from the
fixed stream ``role_rng(teacher_seed, "teacher")``: the teacher is a function of the settings, so
every run and strategy of a task distils from the same network, whatever it evaluates first. Its
training time is charged once, to the evaluator's first evaluation, and recorded there in
``extra`` (``teacher_cost_s``, ``teacher_val_acc``, ``teacher_test_acc``), as the one-shot
evaluators charge their supernet; a resumed run's replayed answers mark it as charged. A teacher
whose training failed makes every distilled evaluation ``FAILED``.
"""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Any, ClassVar, cast

import numpy as np
from torch import nn

from nasbench.core.errors import NasbenchError
from nasbench.core.evaluator import Profile
from nasbench.core.params import REQUIRED, WHOLE_NUMBERS, Configurable, Wording, param
from nasbench.core.seeding import role_rng
from nasbench.core.space import SearchSpace, unpruned_architecture
from nasbench.core.types import Architecture, Measurement, Status, Task
from nasbench.tables.latency_models import latency_model
from nasbench.training.datasets import Dataset, load_dataset
from nasbench.training.pruning import PruneSchedule, effective_macs
from nasbench.training.trainer import TAS_DISTILL_WEIGHT, Recipe, TrainResult, recipe_from, train

DISTILL_FROM = ("", "unpruned")
"""Teachers a training evaluator can distil from: none, or the space's unpruned network."""


class TrainingBase(Configurable):
    """Holds the space, data, recipe, pruning target and latency model of a training evaluator.

    Parameters (declared once here, inherited by every training evaluator): ``space`` (the role
    input, also positional), ``dataset``, ``epochs``, ``latency_device`` and ``sparsity`` (role
    inputs the runner passes from the budget), ``data_root``, ``device`` and ``recipe`` (a table
    of :class:`~nasbench.training.trainer.Recipe` fields; the attribute holds the Recipe). A
    subclass that distils declares ``distill_from`` and ``teacher_seed`` (``train``); the others
    keep the class defaults below: no teacher."""

    wording: ClassVar[Wording] = WHOLE_NUMBERS

    space: SearchSpace = param(REQUIRED, doc="the search space (role input)")
    dataset: str = param("mnist1d")
    epochs: int = param(20, ge=1)
    latency_device: str | None = param(None, kind=str, doc="the budget's (role input)")
    sparsity: float = param(0.0, ge=0, lt=1, doc="the budget's (role input)")
    data_root: str | None = param(None, doc="a folder of dataset files (str or path)")
    device: str = param("cpu")
    recipe: Recipe = param(None, kind=dict, doc="Recipe fields; the attribute holds the Recipe")
    distill_from: str = ""
    teacher_seed: int = 0

    def __post_init__(self) -> None:
        super().__post_init__()
        recipe = cast("dict[str, Any] | None", self.recipe)
        self.recipe = recipe_from(dict(recipe or {}))
        distill_from = self.distill_from
        if distill_from and "distill_weight" not in (recipe or {}):
            self.recipe = replace(self.recipe, distill_weight=TAS_DISTILL_WEIGHT)
        if distill_from and self.recipe.distill_weight == 0:
            raise NasbenchError(
                f"distill_from = {distill_from!r} with recipe distill_weight = 0 trains a teacher "
                "for nothing; drop one of them"
            )
        if not distill_from and self.recipe.distill_weight > 0:
            raise NasbenchError(
                f"recipe distill_weight = {self.recipe.distill_weight} needs a teacher: set "
                "distill_from = 'unpruned' (train evaluator)"
            )
        self.teacher_arch = unpruned_architecture(self.space) if distill_from else None
        self._teacher: tuple[nn.Module, TrainResult] | None = None
        self._teacher_charged = False
        self.data: Dataset = load_dataset(self.dataset, self.data_root)
        self.task: Task = self.data.task
        device = self.latency_device
        self._latency = latency_model(device, self.space) if device else None
        self.fidelities: tuple[float, ...] = ()
        self.default_fidelity: float = float(self.epochs)

    def teacher(self) -> tuple[nn.Module, TrainResult] | None:
        """The distillation teacher and its training result (module docstring); trained on first
        use, then kept. ``None`` without ``distill_from``."""
        if self.teacher_arch is None:
            return None
        if self._teacher is None:
            rng = role_rng(self.teacher_seed, "teacher")
            model = self.space.build(self.teacher_arch, self.task, rng)
            recipe = replace(self.recipe, epochs=self.epochs)
            result = train(model, self.data, recipe, rng, device=self.device)
            self._teacher = (model, result)
        return self._teacher

    def teacher_charge(self) -> tuple[float, tuple[tuple[str, float], ...]]:
        """What this evaluation pays for the teacher: its training time and ``extra`` columns on
        the evaluator's first evaluation (and only there), else nothing. Trains it if needed."""
        taught = self.teacher()
        if taught is None or self._teacher_charged:
            return 0.0, ()
        self._teacher_charged = True
        result = taught[1]
        extra = (("teacher_cost_s", result.cost_s), ("teacher_val_acc", result.final_val_acc),
                 ("teacher_test_acc", result.test_acc))  # fmt: skip
        return result.cost_s, extra

    def replay(self, arch: Architecture, fidelity: float, measurement: Measurement) -> None:
        """A resumed run's journaled answer: the run's first evaluation paid for the teacher, so
        later ones do not (the teacher is trained again, from its fixed stream, when needed)."""
        self._teacher_charged = True

    def prune_schedule(self) -> PruneSchedule | None:
        if self.sparsity <= 0:
            return None
        return PruneSchedule(target=self.sparsity, scope=self.recipe.prune_scope)

    def latency_ms(self, arch: Architecture, module: nn.Module, task: Task) -> float:
        return math.nan if self._latency is None else self._latency.latency_ms(arch, module, task)

    def profile(self, arch: Architecture) -> Profile:
        """Params, MACs and latency without training (a fixed-seed build for latency)."""
        counts = self.space.counts(arch, self.task)
        latency = math.nan
        if self._latency is not None:
            module = self.space.build(arch, self.task, np.random.default_rng(0))
            latency = self.latency_ms(arch, module, self.task)
        return Profile(latency, counts.params, counts.macs)

    def measurement(
        self, arch: Architecture, model: nn.Module, task: Task, result: TrainResult,
        space: SearchSpace | None = None,
    ) -> Measurement:  # fmt: skip
        """The measurement of a finished (or stopped, or failed) training run; params and MACs
        are counted by ``space`` (default: the evaluator's), the one the model was built by."""
        counts = (space or self.space).counts(arch, task)
        ok = result.status is not Status.FAILED
        curve = tuple(result.val_acc)
        return Measurement(
            val_acc=result.final_val_acc if ok else math.nan,
            test_acc=result.test_acc if ok else math.nan,
            cost_s=result.cost_s,
            status=result.status,
            sparsity=result.sparsity,
            latency_ms=self.latency_ms(arch, model, task),
            params=counts.params,
            nonzero_params=result.nonzero_params,
            macs=counts.macs,
            effective_macs=int(effective_macs(model, task.input_shape)),
            curve=curve,
        )
