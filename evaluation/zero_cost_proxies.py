"""Training-free (zero-cost) proxies: one number per untrained network, computed from at most one
batch, that is meant to rank architectures as their trained accuracy would.

Each proxy is a small pure function ``proxy(model, batch, loss, rng) -> float`` that works on a
deep copy of ``model`` (the caller's module, its weights, gradients and batch-norm statistics are
left as they were), in training mode as the authors' code runs it. Higher scores are meant to be
better; each docstring states the sign exactly as the paper or the authors' code defines it.
Scores that sum per-weight values sum them over the weights of every convolution and linear
layer (biases and batch norm excluded), as Abdelfattah et al. (ICLR 2021, "Zero-Cost Proxies for
Lightweight NAS", Sec. 3 and their code ``SamsungLabs/zero-cost-nas``) do: their code takes
``nn.Conv2d``/``nn.Linear``; here 1-D and 3-D convolutions count too, since the MNIST-1D spaces
build 1-D networks. ``rng`` is part of the signature so every proxy is called alike; none of the
proxies here draws from it.

>>> from torch import nn
>>> net = nn.Sequential(nn.Linear(3, 2, bias=False), nn.ReLU(), nn.Linear(2, 2, bias=False))
>>> with torch.no_grad():
...     _ = net[0].weight.copy_(torch.tensor([[1.0, -2.0, 0.5], [0.0, 1.0, -1.0]]))
...     _ = net[2].weight.copy_(torch.tensor([[2.0, 1.0], [-1.0, 3.0]]))
>>> batch = Batch(torch.zeros(4, 3), torch.zeros(4, dtype=torch.int64))
>>> rng = np.random.default_rng(0)
>>> loss = torch.nn.functional.cross_entropy
>>> synflow(net, batch, loss, rng)  # 2 layers x R, R = (1 1)|W2||W1|(1 1 1)^T = 18.5
37.0
>>> PROXIES["synflow"].data, PROXIES["snip"].data
(False, True)
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from nasbench.core.modelstats import count_macs, count_params

Loss = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
"""``loss(outputs, targets)`` -> a scalar (the evaluator passes ``F.cross_entropy``, a batch
mean, as the authors' code does)."""

Weighted = nn.Conv1d | nn.Conv2d | nn.Conv3d | nn.Linear
WEIGHTED = (nn.Conv1d, nn.Conv2d, nn.Conv3d, nn.Linear)
"""The layers whose weights the per-weight proxies sum over."""

JACOB_COV_K = 1e-5
"""The ``k`` that keeps ``log`` and ``1/x`` finite in jacob_cov (Mellor et al., arXiv v1, and
``eval_score`` of the zero-cost-nas code)."""


@dataclass(frozen=True)
class Batch:
    """One batch: inputs ``x`` float32 ``(N, *input_shape)``, labels ``y`` int64 ``(N,)``."""

    x: torch.Tensor
    y: torch.Tensor

    @staticmethod
    def shape_only(input_shape: tuple[int, ...]) -> Batch:
        """A one-sample placeholder of zeros for the data-free proxies, which read only the input
        shape."""
        return Batch(torch.zeros((1, *input_shape)), torch.zeros(1, dtype=torch.int64))


ProxyFn = Callable[[nn.Module, Batch, Loss, np.random.Generator], float]


@dataclass(frozen=True)
class Proxy:
    """A proxy function, whether it reads the batch's values (``data``; ``False``: the shape
    only), and its paper."""

    fn: ProxyFn
    data: bool
    paper: str


def weighted_layers(model: nn.Module) -> list[Weighted]:
    """The convolution and linear layers of ``model`` (:data:`WEIGHTED`), in module order."""
    return [m for m in model.modules() if isinstance(m, WEIGHTED)]


def _copy(model: nn.Module) -> nn.Module:
    """A deep copy in training mode with gradients enabled and cleared."""
    net = copy.deepcopy(model)
    net.train()
    for p in net.parameters():
        p.requires_grad_(True)
        p.grad = None
    return net


def _per_weight_sum(
    net: nn.Module, score: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
) -> float:
    """Sum of ``score(weight, gradient)`` over the weighted layers that received a gradient
    (others count 0, as the authors' ``torch.zeros_like`` does), summed per layer in float64."""
    total = 0.0
    for layer in weighted_layers(net):
        grad = layer.weight.grad
        if grad is not None:
            total += float(score(layer.weight, grad).detach().double().sum())
    return total


def _without_batchnorm(net: nn.Module) -> nn.Module:
    """``net`` with every batch norm replaced by the identity (in place)."""
    for parent in list(net.modules()):
        for name, child in list(parent.named_children()):
            if isinstance(child, nn.modules.batchnorm._BatchNorm):
                setattr(parent, name, nn.Identity())
    return net


def synflow(model: nn.Module, batch: Batch, loss: Loss, rng: np.random.Generator) -> float:
    """Synaptic flow (Tanaka et al., NeurIPS 2020, "Pruning neural networks without any data by
    iteratively conserving synaptic flow", Eq. 2 and Sec. 6): with every parameter replaced by
    its absolute value, ``R = 1^T f(1; |theta|)`` for an all-ones input of one sample, and the
    score is ``sum_w |theta_w * dR/dtheta_w|``. Data-free: reads ``batch.x``'s shape only, never
    its values or ``batch.y``, and ignores ``loss``.

    As Abdelfattah et al.'s code (``synflow``, ``bn=False``): batch norm is removed (their
    network copy is built without it; NASLib's port makes its ``forward`` the identity), the
    network runs in float64 (the product of many layers' weights under- or overflows float32),
    and every state tensor is made non-negative, biases included. For a linear network without
    biases each layer's sum equals ``R`` (synaptic flow is conserved), so the score is ``R``
    times the number of layers. Sign: non-negative, larger is better."""
    net = _without_batchnorm(_copy(model)).double()
    with torch.no_grad():
        for tensor in net.state_dict().values():
            tensor.abs_()
    ones = torch.ones((1, *batch.x.shape[1:]), dtype=torch.float64)
    net(ones).sum().backward()
    return _per_weight_sum(net, lambda w, g: (w * g).abs())


def snip(model: nn.Module, batch: Batch, loss: Loss, rng: np.random.Generator) -> float:
    """SNIP connection sensitivity (Lee et al., ICLR 2019, "SNIP: Single-shot network pruning
    based on connection sensitivity", Eq. 6 without its normalisation): the gradient of the loss
    with respect to a multiplicative mask ``c = 1`` on each weight, ``|dL/dc_w| = |theta_w *
    dL/dtheta_w|``, summed over the weights (Abdelfattah et al., Eq. 1). Sign: non-negative,
    larger is better."""
    net = _copy(model)
    loss(net(batch.x), batch.y).backward()
    return _per_weight_sum(net, lambda w, g: (w * g).abs())


def grad_norm(model: nn.Module, batch: Batch, loss: Loss, rng: np.random.Generator) -> float:
    """Gradient norm (Abdelfattah et al., Sec. 3, a baseline): the Euclidean (Frobenius) norm of
    each layer's weight gradient ``||dL/dW_l||``, summed over the layers, as their
    ``grad_norm`` sums the per-layer norms (not the norm of all gradients together). Sign:
    non-negative, larger is better."""
    net = _copy(model)
    loss(net(batch.x), batch.y).backward()
    return _per_weight_sum(net, lambda _w, g: g.norm())


def grasp(model: nn.Module, batch: Batch, loss: Loss, rng: np.random.Generator) -> float:
    """GraSP gradient signal preservation (Wang et al., ICLR 2020, "Picking winning tickets
    before training by preserving gradient flow", Eq. 8): ``S(-theta) = -theta * (H g)`` with
    ``g = dL/dtheta`` and ``H`` the Hessian of the loss, summed over the weights. ``H g`` is the
    gradient of ``g_detached . g``. Sign as Abdelfattah et al.'s code returns it,
    ``-theta * Hg`` (their note: accuracy correlated negatively without the minus), so larger is
    better; it can be negative. One batch, temperature 1, as their defaults."""
    net = _copy(model)
    weights = [layer.weight for layer in weighted_layers(net)]
    grads = torch.autograd.grad(loss(net(batch.x), batch.y), weights, create_graph=True,
                                allow_unused=True)  # fmt: skip
    used = [(w, g) for w, g in zip(weights, grads, strict=True) if g is not None]
    if not used:
        return 0.0
    z = torch.zeros((), dtype=used[0][1].dtype)
    for _, g in used:
        z = z + (g.detach() * g).sum()
    hg = torch.autograd.grad(z, [w for w, _ in used], allow_unused=True)
    total = 0.0
    for (w, _), h in zip(used, hg, strict=True):
        if h is not None:
            total += float((-w.detach() * h).double().sum())
    return total


def fisher(model: nn.Module, batch: Batch, loss: Loss, rng: np.random.Generator) -> float:
    """Fisher pruning saliency (Theis et al. 2018, "Faster gaze prediction with dense networks
    and Fisher pruning", Eq. 9; used for NAS by Turner et al., ICLR 2020, BlockSwap): for each
    output channel ``k`` of a layer, with activation ``a`` (the layer's output) and ``g = dL/da``,
    ``Delta_k = 1/(2N) sum_n (sum_spatial a_nk g_nk)^2``. Abdelfattah et al.'s code computes
    ``Delta_k`` per channel and broadcasts it to each of the channel's weights before summing,
    so a channel counts ``fan_in = weight[k].numel()`` times: the score is
    ``sum_layers fan_in * sum_k Delta_k`` (followed here, so scores match theirs). Sign:
    non-negative, larger is better."""
    net = _copy(model)
    total = [0.0]

    def hook_for(
        fan_in: int,
    ) -> Callable[[nn.Module, tuple[torch.Tensor, ...], torch.Tensor], None]:
        def forward_hook(_m: nn.Module, _in: tuple[torch.Tensor, ...], out: torch.Tensor) -> None:
            if not out.requires_grad:
                return
            act = out.detach().clone()  # as the layer produced it (before any in-place op)

            def on_grad(grad: torch.Tensor) -> None:
                prod = act * grad
                per_channel = prod.sum(dim=tuple(range(2, prod.dim()))) if prod.dim() > 2 else prod
                total[0] += fan_in * float((0.5 * per_channel.double().pow(2).mean(0)).sum())

            out.register_hook(on_grad)

        return forward_hook

    handles = [layer.register_forward_hook(hook_for(layer.weight[0].numel()))
               for layer in weighted_layers(net)]  # fmt: skip
    try:
        loss(net(batch.x), batch.y).backward()
    finally:
        for h in handles:
            h.remove()
    return total[0]


def _input_gradients(net: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """``d(sum of outputs)/dx`` per sample, ``(N, *input_shape)``: the Jacobian of the network's
    outputs summed over classes (``y.backward(ones)``, as Mellor et al.'s code)."""
    x = x.clone().requires_grad_(True)
    y = net(x)
    y.backward(torch.ones_like(y))
    assert x.grad is not None
    return x.grad.detach()


def jacob_cov(model: nn.Module, batch: Batch, loss: Loss, rng: np.random.Generator) -> float:
    """Jacobian covariance (Mellor et al., "Neural Architecture Search without Training", arXiv
    2006.04647 v1, Eq. 2; the score Abdelfattah et al. call jacob_cov): ``J`` holds each
    sample's input gradient of the summed outputs, ``Sigma`` is the correlation matrix of its
    rows, ``lambda`` its eigenvalues and ``-sum_i [log(lambda_i + k) + 1/(lambda_i + k)]`` the
    score, ``k = 1e-5``. Larger (less negative) is better: less correlated Jacobians. The labels
    and ``loss`` are unused. ``eigvalsh`` (the matrix is symmetric) where their code calls
    ``eig``. NaN when a row of ``J`` is constant (its correlation is undefined)."""
    jac = _input_gradients(_copy(model), batch.x).reshape(len(batch.x), -1).double().numpy()
    with np.errstate(divide="ignore", invalid="ignore"):
        corr = np.corrcoef(jac)
    if not np.all(np.isfinite(corr)):
        return math.nan
    eig = np.linalg.eigvalsh(corr)
    return float(-np.sum(np.log(eig + JACOB_COV_K) + 1.0 / (eig + JACOB_COV_K)))


def naswot(model: nn.Module, batch: Batch, loss: Loss, rng: np.random.Generator) -> float:
    """NASWOT score (Mellor et al., ICML 2021, "Neural Architecture Search without Training",
    Eq. 2): the binary code ``c_i`` of a sample is whether each ReLU unit's input is positive,
    over every ReLU of the network; ``K_H[i, j] = N_A - d_H(c_i, c_j)`` (``N_A`` units, Hamming
    distance ``d_H``), accumulated per ReLU as ``c c^T + (1 - c)(1 - c)^T``; the score is
    ``log |det K_H|``. Larger is better: more distinct activation patterns. As the authors' code
    (``hook_logdet``): ReLUs are the modules whose class name contains ``ReLU``, and only those
    the backward pass of the summed outputs reaches count. ``-inf`` for a singular ``K_H``.
    Labels and ``loss`` unused."""
    net = _copy(model)
    n = len(batch.x)
    kernels: list[np.ndarray] = []
    reached: set[int] = set()

    def forward_hook(_m: nn.Module, inputs: tuple[torch.Tensor, ...], out: torch.Tensor) -> None:
        codes = (inputs[0].detach().reshape(n, -1) > 0).double()
        kernels.append((codes @ codes.T + (1 - codes) @ (1 - codes).T).numpy())
        if out.requires_grad:
            call = len(kernels) - 1
            out.register_hook(lambda _g: reached.add(call))

    relus = [m for m in net.modules() if "ReLU" in type(m).__name__]
    handles = [m.register_forward_hook(forward_hook) for m in relus]
    try:
        _input_gradients(net, batch.x)
    finally:
        for h in handles:
            h.remove()
    k = np.zeros((n, n))
    for call in sorted(reached):
        k += kernels[call]
    return float(np.linalg.slogdet(k)[1])


def params(model: nn.Module, batch: Batch, loss: Loss, rng: np.random.Generator) -> float:
    """Parameter count (Abdelfattah et al.'s ``params`` baseline;
    :func:`nasbench.core.modelstats.count_params`, batch norm included). Data-free. Sign:
    larger is better, as the baseline is used."""
    return float(count_params(model))


def flops(model: nn.Module, batch: Batch, loss: Loss, rng: np.random.Generator) -> float:
    """Multiply-accumulates of one sample's forward pass (Abdelfattah et al.'s ``flops``
    baseline; :func:`nasbench.core.modelstats.count_macs`: convolutions and linear layers, the
    convention of :class:`~nasbench.core.types.ModelCounts`). FLOPs are about twice the MACs, a
    constant factor that leaves every ranking unchanged. Data-free (reads ``batch.x``'s shape).
    Sign: larger is better, as the baseline is used."""
    return float(count_macs(model, tuple(batch.x.shape[1:])))


PROXIES: dict[str, Proxy] = {
    "synflow": Proxy(synflow, False, "Tanaka et al. 2020"),
    "snip": Proxy(snip, True, "Lee et al. 2019"),
    "grad_norm": Proxy(grad_norm, True, "Abdelfattah et al. 2021"),
    "grasp": Proxy(grasp, True, "Wang et al. 2020"),
    "fisher": Proxy(fisher, True, "Theis et al. 2018; Turner et al. 2020"),
    "jacob_cov": Proxy(jacob_cov, True, "Mellor et al. 2020 (arXiv v1)"),
    "naswot": Proxy(naswot, True, "Mellor et al. 2021"),
    "params": Proxy(params, False, "Abdelfattah et al. 2021 (baseline)"),
    "flops": Proxy(flops, False, "Abdelfattah et al. 2021 (baseline)"),
}
"""Every proxy by its registry name (the ``zero_cost`` evaluator's ``proxy``)."""

PROXY_NAMES: tuple[str, ...] = tuple(PROXIES)
