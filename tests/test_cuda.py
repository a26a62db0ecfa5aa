"""The CUDA path: training, pruning, latency and the one-shot evaluators on a GPU.

Skipped where torch sees no GPU (CI, the 2-core development machines); run on a GPU machine
with ``pytest -m gpu``. Each check compares the GPU against the CPU on the same seed: CUDA
kernels reorder floating-point sums, so results agree to a tolerance, not bit for bit.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from nasbench.core.registry import evaluators, spaces
from nasbench.core.space import SearchSpace
from nasbench.core.supernet import build_supernet, path_weights
from nasbench.core.tasks import task_for
from nasbench.core.types import Measurement
from nasbench.training.pruning import prunable

pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device"),
]

CNN = "conv5-25-s2|conv3-25-s2|conv3-25-s2"  # the MNIST-1D paper's CNN as a chain


def _chain() -> SearchSpace:
    space: SearchSpace = spaces.create("chain", filters=[25])
    return space


def _train(device: str, sparsity: float = 0.0, epochs: int = 5) -> Measurement:
    space = _chain()
    ev = evaluators.create("train", space=space, epochs=epochs, sparsity=sparsity,
                           device=device)  # fmt: skip
    return ev.evaluate(space.parse(CNN), float(epochs), np.random.default_rng(0))


def test_training_on_cuda_learns_and_matches_the_cpu() -> None:
    gpu, cpu = _train("cuda"), _train("cpu")
    assert str(gpu.status) == "ok" and len(gpu.curve) == 5
    assert gpu.val_acc > 0.6 and gpu.test_acc > 0.6  # 5 epochs of the paper's 0.94 CNN
    assert abs(gpu.val_acc - cpu.val_acc) < 0.05  # same seed: same init and batch order
    assert gpu.params == cpu.params and gpu.macs == cpu.macs
    assert gpu.cost_s > 0


def test_training_on_cuda_is_repeatable() -> None:
    a, b = _train("cuda", epochs=2), _train("cuda", epochs=2)
    assert abs(a.val_acc - b.val_acc) <= 0.01, (a.val_acc, b.val_acc)


def test_pruning_on_cuda_reaches_the_target_sparsity() -> None:
    m = _train("cuda", sparsity=0.8, epochs=4)
    assert abs(m.sparsity - 0.8) < 1e-3
    assert m.nonzero_params < 0.3 * m.params
    assert m.val_acc > 0.3


def test_measured_cuda_latency_is_positive_and_grows_with_the_network() -> None:
    space = _chain()
    ev = evaluators.create("train", space=space, epochs=1, latency_device="cuda",
                           device="cuda")  # fmt: skip
    rng = np.random.default_rng(0)
    small = ev.evaluate(space.parse("conv3-25-s2"), 1.0, rng)
    big = ev.evaluate(space.parse("conv5-25-s1|conv5-25-s1|conv5-25-s1|conv5-25-s1"), 1.0, rng)
    for m in (small, big):
        assert math.isfinite(m.latency_ms) and 0 < m.latency_ms < 50
    assert big.macs > small.macs


@pytest.mark.parametrize("name", ["weight_sharing", "hypernetwork"])
def test_one_shot_evaluators_train_on_cuda(name: str) -> None:
    space = spaces.create("nb201", channels=4, cells_per_stage=1)
    ev = evaluators.create(name, space=space, epochs=2, sparsity=0.5, device="cuda",
                           recipe={"batch_size": 100})  # fmt: skip
    rng = np.random.default_rng(0)
    archs = [space.sample(rng) for _ in range(4)]
    ms = [ev.evaluate(a, 2.0, np.random.default_rng(1)) for a in archs]
    assert all(str(m.status) == "ok" for m in ms)
    assert all(0.0 <= m.val_acc <= 1.0 for m in ms)
    assert max(m.val_acc for m in ms) > 0.15  # above chance (0.1) after 2 supernet epochs
    assert all(abs(m.sparsity - 0.5) < 0.02 for m in ms)


def test_supernet_one_hot_path_matches_between_cpu_and_cuda() -> None:
    task = task_for("mnist1d")
    space = spaces.create("cell", channels=4, cells_per_stage=1, nodes=3)
    net = build_supernet(space, task, np.random.default_rng(0))
    arch = space.sample(np.random.default_rng(2))
    x = torch.randn((8, *task.input_shape), generator=torch.Generator().manual_seed(0))
    net.eval()
    weights = path_weights(space, arch)
    cpu = net(x, weights)
    net.cuda()
    gpu = net(x.cuda(), {k: w.cuda() for k, w in weights.items()}).cpu()
    assert torch.allclose(cpu, gpu, atol=1e-4, rtol=1e-4)
    assert len(prunable(net)) > 0
