"""An ensemble of multilayer perceptrons (torch) whose spread is the uncertainty.

>>> import numpy as np
>>> X = np.random.default_rng(1).uniform(-1.0, 1.0, size=(100, 2))
>>> mlp = MLPEnsemble(n_members=3, epochs=60).fit(X, X.sum(axis=1), np.random.default_rng(0))
>>> p = mlp.predict(np.array([[-0.5, -0.5], [0.5, 0.5]]))
>>> bool(np.abs(p.mean - [-1.0, 1.0]).max() < 0.2), p.std.shape
(True, (2,))

Deep ensembles after Lakshminarayanan, Pritzel & Blundell, "Simple and Scalable Predictive
Uncertainty Estimation using Deep Ensembles" (NeurIPS 2017): ``n_members`` networks that differ
only in their random initialisation and mini-batch order, each trained with Adam (Kingma & Ba,
ICLR 2015) on the mean squared error for a fixed number of ``epochs``; the prediction is the
members' mean and ``std`` their standard deviation. Unlike the paper, the members predict a
mean only (no variance head), as the MLP-ensemble predictor of White et al. (NeurIPS 2021) does.
Inputs and targets are standardised with the training statistics.

Reproducibility: every member gets its own ``torch.Generator`` derived from ``rng`` for its
initial weights and its mini-batch permutations; nothing reads torch's global generator. The
members are trained side by side as one batched network (:class:`StackedLinear`): the loss is
the sum of the members' losses and Adam is elementwise, so this is exactly ``n_members``
independent trainings, only faster. Results are bit-identical for one ``rng`` seed and one torch
thread count (float sums may be ordered differently with another thread count).
"""

# ruff: noqa: N803  (``X`` for inputs, the scikit-learn convention the interface follows)

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from itertools import pairwise
from typing import ClassVar, Self

import numpy as np
import torch
from torch import nn

from nasbench.core.params import Configurable, param
from nasbench.core.registry import surrogates
from nasbench.core.surrogate import (
    InputKind,
    Prediction,
    Standardizer,
    SurrogateInput,
    check_fitted,
    member_spread,
    targets,
    torch_generators,
    vectors,
)


class StackedLinear(nn.Module):
    """``k`` independent linear layers applied side by side: (k, m, n_in) -> (k, m, n_out).

    Member ``i``'s weights are drawn from ``generators[i]`` with PyTorch's default ``nn.Linear``
    initialisation, uniform in +-1/sqrt(n_in).
    """

    def __init__(self, generators: Sequence[torch.Generator], n_in: int, n_out: int) -> None:
        super().__init__()
        k = len(generators)
        self.weight = nn.Parameter(torch.empty(k, n_in, n_out))
        self.bias = nn.Parameter(torch.empty(k, 1, n_out))
        bound = 1.0 / math.sqrt(n_in)
        with torch.no_grad():
            for weight, bias, gen in zip(self.weight, self.bias, generators, strict=True):
                weight.uniform_(-bound, bound, generator=gen)
                bias.uniform_(-bound, bound, generator=gen)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.baddbmm(self.bias, x, self.weight)


def stacked_mlp(generators: Sequence[torch.Generator], sizes: Sequence[int]) -> nn.Sequential:
    """Stacked MLP with layer widths ``sizes`` (input first) and ReLU between layers."""
    layers: list[nn.Module] = []
    for i, (n_in, n_out) in enumerate(pairwise(sizes)):
        if i:
            layers.append(nn.ReLU())
        layers.append(StackedLinear(generators, n_in, n_out))
    return nn.Sequential(*layers)


def train_members(
    model: nn.Module,
    loss: Callable[[torch.Tensor], torch.Tensor],
    n: int,
    generators: Sequence[torch.Generator],
    epochs: int,
    batch_size: int,
    learning_rate: float,
    weight_decay: float,
) -> None:
    """Train a stacked ensemble with Adam for ``epochs`` passes over ``n`` examples.

    ``loss(rows)`` gets a (k, b) tensor of example indices (row ``i`` for member ``i``, a slice
    of that member's permutation drawn from ``generators[i]`` each epoch) and returns the sum of
    the members' mean losses.
    """
    optimizer = torch.optim.Adam(model.parameters(), lr=learning_rate, weight_decay=weight_decay)
    size = min(batch_size, n)
    with torch.enable_grad():
        for _ in range(epochs):
            order = torch.stack([torch.randperm(n, generator=gen) for gen in generators])
            for start in range(0, n, size):
                optimizer.zero_grad(set_to_none=True)
                loss(order[:, start : start + size]).backward()
                optimizer.step()


EPOCHS = param(100, ge=1)
BATCH_SIZE = param(32, ge=1)
LEARNING_RATE = param(3e-3, gt=0.0)
WEIGHT_DECAY = param(1e-4, ge=0.0)
"""The training hyperparameters the torch surrogates (``mlp_ensemble``, ``gin``) share,
declared once: epochs, mini-batch size, Adam step and L2 weight decay."""


@surrogates.register("mlp_ensemble")
class MLPEnsemble(Configurable):
    """Deep ensemble of ReLU MLPs over vector inputs.

    ``n_members`` (>= 1) networks of ``depth`` (>= 1) hidden layers of ``width`` (>= 1) units;
    trained for ``epochs`` (>= 1) with mini-batches of ``batch_size`` (>= 1), Adam step
    ``learning_rate`` (> 0) and L2 ``weight_decay`` (>= 0). ``fit`` draws one integer per member
    from ``rng`` (that member's torch generator).
    """

    input_kind: ClassVar[InputKind] = InputKind.VECTOR

    n_members: int = param(5, ge=1)
    width: int = param(64, ge=1)
    depth: int = param(2, ge=1)
    epochs: int = EPOCHS
    batch_size: int = BATCH_SIZE
    learning_rate: float = LEARNING_RATE
    weight_decay: float = WEIGHT_DECAY

    def fit(self, X: SurrogateInput, y: np.ndarray, rng: np.random.Generator) -> Self:
        """Train the members on ``X`` (n, d) and ``y`` (n,); returns self."""
        x = vectors(X)
        t = targets(y, len(x))
        generators = torch_generators(rng, self.n_members)
        self.x_scaler_ = Standardizer.fit(x)
        self.y_scaler_ = Standardizer.fit(t)
        inputs = torch.as_tensor(self.x_scaler_.transform(x), dtype=torch.float32)
        outputs = torch.as_tensor(self.y_scaler_.transform(t), dtype=torch.float32)
        net = stacked_mlp(generators, [x.shape[1], *[self.width] * self.depth, 1])

        def loss(rows: torch.Tensor) -> torch.Tensor:
            error = net(inputs[rows]).squeeze(-1) - outputs[rows]
            return error.square().mean(dim=1).sum()

        train_members(
            net, loss, len(x), generators,
            self.epochs, self.batch_size, self.learning_rate, self.weight_decay,
        )  # fmt: skip
        self.net_ = net
        self.n_features_ = x.shape[1]
        return self

    def predict(self, X: SurrogateInput) -> Prediction:
        """Mean and standard deviation over the members, shape (n,) each."""
        check_fitted(self, "net_")
        x = self.x_scaler_.transform(vectors(X, self.n_features_))
        inputs = torch.as_tensor(x, dtype=torch.float32)
        with torch.no_grad():
            out = self.net_(inputs.expand(self.n_members, *inputs.shape)).squeeze(-1)
        return member_spread(self.y_scaler_.inverse(out.double().numpy()))
