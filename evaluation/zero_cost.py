"""Training-free (zero-cost) evaluation: score an architecture's untrained network with a proxy
computed from at most one batch, instead of training it (Abdelfattah, Mehrotra, Dudziak, Lane,
"Zero-Cost Proxies for Lightweight NAS", ICLR 2021; Mellor et al., ICML 2021).

>>> from nasbench.core.registry import spaces
>>> space = spaces.create("chain", max_layers=2)
>>> ev = ZeroCostEvaluator(space, proxy="naswot", batch_size=16)
>>> m = ev.evaluate(space.parse("conv3-16-s1"), 1.0, np.random.default_rng(0))
>>> m.status, m.val_acc == dict(m.extra)["proxy_naswot"], math.isnan(m.test_acc), m.cost_s > 0
(<Status.OK: 'ok'>, True, True, True)
>>> ZeroCostEvaluator(space, proxy="synflow").data is None  # data-free: nothing is loaded
True

Suite use::

    [[task]]
    space = "nb201"
    evaluator = "zero_cost"
    proxy = "synflow"      # or snip, grad_norm, grasp, fisher, jacob_cov, naswot, params, flops
    dataset = "cifar10"    # synflow, params and flops read the input shape only: no files needed

**What an evaluation does.** Builds the network with ``space.build(arch, task, rng)`` (its
initial weights are the first draw from ``rng``), then, for a proxy that reads data, draws one
batch of ``batch_size`` training samples without replacement with ``rng`` (no global random
state), and computes the proxy (:mod:`nasbench.evaluation.zero_cost_proxies`, where each proxy's
definition, paper, equation and sign convention are stated). The same ``rng`` state therefore
gives the same weights and the same batch to every proxy, and a bit-identical score.

**The score stands in val_acc.** The runner tells strategies ``objective = val_acc`` (hard
constraints), so the proxy score, which is *not an accuracy* (not a fraction, unbounded, e.g.
synflow ~1e30, jacob_cov negative), is returned in ``val_acc`` for strategies to maximise; the
record also carries it under its own name in ``extra`` (``proxy_<name>``, e.g. ``proxy_synflow``),
and ``test_acc`` is ``nan`` (unknown: nothing is trained). Every proxy here is oriented so that
larger is meant to be better. Under soft constraints the MnasNet reward multiplies the score
(``score * (x / limit) ** w``), which is meaningful only for positive scores (synflow, snip,
grad_norm, fisher, params, flops). A NaN or infinite score (e.g. naswot's ``log |det|`` of a
singular kernel, jacob_cov of a constant Jacobian row) makes the trial ``FAILED`` with NaN
accuracies, as diverged training does in :mod:`nasbench.evaluation.train`; the raw value stays
in ``extra``.

**Cost.** ``cost_s`` is the measured process (CPU) time of computing the proxy (drawing the batch
and the proxy's passes; building the network is not counted, as training evaluators do not count
it): on one thread it equals the wall time, and it does not grow with other processes' load.
It is measured, so reruns agree on everything but ``cost_s``.

**Fidelity** is ignored (any positive value; default 1): a proxy has no epochs.

**Sparsity.** A budget's sparsity target is accepted (the runner passes it) but not applied:
pruning an untrained network by weight magnitude says nothing about the architecture, so every
proxy scores the *dense* network, and the measurement reports ``sparsity = 0`` with dense
``nonzero_params`` and ``effective_macs``. Params and MACs are the space's analytic counts.
"""

from __future__ import annotations

import logging
import math
import time

import numpy as np
import torch
from torch.nn import functional as F  # noqa: N812

from nasbench.core.errors import NasbenchError
from nasbench.core.evaluator import Profile
from nasbench.core.params import REQUIRED, WHOLE_NUMBERS, Configurable, param
from nasbench.core.registry import evaluators
from nasbench.core.space import SearchSpace
from nasbench.core.tasks import task_for
from nasbench.core.types import Architecture, Measurement, Status, Task
from nasbench.tables.latency_models import latency_model
from nasbench.training.datasets import Dataset, load_dataset

from .zero_cost_proxies import PROXIES, PROXY_NAMES, Batch

log = logging.getLogger(__name__)

ABDELFATTAH_BATCH = 64
"""One random batch of 64 training images (Abdelfattah et al. 2021, Sec. 4: ``--batch_size 64``,
``--dataload random``, one batch)."""


@evaluators.register("zero_cost")
class ZeroCostEvaluator(Configurable):
    """Score architectures with a training-free proxy (module docstring). Raises NasbenchError
    for an unknown ``proxy`` (naming the valid ones), an unknown dataset, missing data files of a
    proxy that reads data, and a ``batch_size`` above the training split's size."""

    wording = WHOLE_NUMBERS

    space: SearchSpace = param(REQUIRED, doc="the search space (role input)")
    proxy: str = param(
        "synflow", choices=PROXY_NAMES, source="Abdelfattah et al. 2021: best on NAS-Bench-201"
    )
    dataset: str = param("mnist1d")
    batch_size: int = param(ABDELFATTAH_BATCH, ge=2,
                            source="Abdelfattah et al. 2021: one batch of 64 (CIFAR); >= 2 so "
                            "batch norm and the batch kernels have samples to compare")  # fmt: skip
    latency_device: str | None = param(None, kind=str, doc="the budget's (role input)")
    sparsity: float = param(0.0, ge=0, lt=1, doc="the budget's (role input); not applied")
    data_root: str | None = param(None, doc="a folder of dataset files (str or path)")

    def __post_init__(self) -> None:
        super().__post_init__()
        self.reads_data = PROXIES[self.proxy].data
        # data-free proxies need the input shape only: the dataset's files are never opened
        self.data: Dataset | None = (
            load_dataset(self.dataset, self.data_root) if self.reads_data else None
        )
        self.task: Task = self.data.task if self.data is not None else task_for(self.dataset)
        if self.data is not None and self.batch_size > len(self.data.train):
            raise NasbenchError(
                f"zero_cost: batch_size {self.batch_size} exceeds the {len(self.data.train)} "
                f"training samples of {self.dataset!r}"
            )
        if self.sparsity > 0:
            log.info("zero_cost scores the dense network; the sparsity target %g is not applied",
                     self.sparsity)  # fmt: skip
        device = self.latency_device
        self._latency = latency_model(device, self.space) if device else None
        self.fidelities: tuple[float, ...] = ()
        self.default_fidelity: float = 1.0

    def batch(self, rng: np.random.Generator) -> Batch:
        """``batch_size`` training samples drawn without replacement from ``rng`` (a one-sample
        placeholder of the input shape, drawing nothing, for a data-free proxy)."""
        if self.data is None:
            return Batch.shape_only(self.task.input_shape)
        train = self.data.train
        rows = rng.choice(len(train), size=self.batch_size, replace=False)
        return Batch(torch.tensor(train.x[rows]), torch.tensor(train.y[rows]))

    def score(self, arch: Architecture, rng: np.random.Generator) -> tuple[float, float]:
        """The proxy score of ``arch``'s network initialised from ``rng`` and the process seconds
        it took (module docstring). Draws the weights, then the batch, from ``rng``."""
        model = self.space.build(arch, self.task, rng)
        start = time.process_time()
        value = PROXIES[self.proxy].fn(model, self.batch(rng), F.cross_entropy, rng)
        return float(value), time.process_time() - start

    def evaluate(
        self, arch: Architecture, fidelity: float, rng: np.random.Generator
    ) -> Measurement:
        """Measure ``arch`` (module docstring); ``fidelity`` is ignored. Spends no budget (the
        runner charges ``cost_s``)."""
        value, cost_s = self.score(arch, rng)
        counts = self.space.counts(arch, self.task)
        ok = math.isfinite(value)
        return Measurement(
            val_acc=value if ok else math.nan,
            test_acc=math.nan,
            cost_s=cost_s,
            status=Status.OK if ok else Status.FAILED,
            sparsity=0.0,
            latency_ms=self._latency_ms(arch),
            params=counts.params,
            nonzero_params=counts.params,
            macs=counts.macs,
            effective_macs=counts.macs,
            extra=((f"proxy_{self.proxy}", value),),
        )

    def _latency_ms(self, arch: Architecture) -> float:
        if self._latency is None:
            return math.nan
        module = self.space.build(arch, self.task, np.random.default_rng(0))
        return self._latency.latency_ms(arch, module, self.task)

    def profile(self, arch: Architecture) -> Profile:
        """Params, MACs and latency without scoring (a fixed-seed build for latency)."""
        counts = self.space.counts(arch, self.task)
        return Profile(self._latency_ms(arch), counts.params, counts.macs)
