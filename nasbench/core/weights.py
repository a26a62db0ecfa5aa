"""Weight initialisation from an explicit generator, so building a network never touches
torch's global RNG.

Spaces construct modules on the ``meta`` device (no memory, no random draws), then
:func:`materialise` allocates them on a real device and initialises every parameter from a
``torch.Generator`` derived from the caller's ``numpy.random.Generator``. The scheme equals
PyTorch's defaults: convolution and linear weights and biases uniform in
``±1/sqrt(fan_in)`` (kaiming-uniform with ``a = sqrt(5)``), normalisation layers reset to
weight 1, bias 0 and fresh running statistics.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn

from nasbench.core.seeding import torch_generator

_NORMS = (nn.modules.batchnorm._NormBase, nn.GroupNorm, nn.LayerNorm)


def materialise(
    module: nn.Module, rng: np.random.Generator, device: str | torch.device = "cpu"
) -> nn.Module:
    """Allocate a (meta-device) ``module`` on ``device`` and initialise it from ``rng``.

    Draws one integer from ``rng``. A module type this function does not know may define
    ``init_parameters(generator: torch.Generator)`` to initialise its own direct parameters.
    """
    module = module.to_empty(device=device)
    gen = torch_generator(rng, device="cpu")
    with torch.no_grad():
        for mod in module.modules():
            custom = getattr(mod, "init_parameters", None)
            if callable(custom):
                custom(gen)
            elif isinstance(mod, nn.Conv1d | nn.Conv2d | nn.Conv3d | nn.Linear):
                _uniform_fan_in(mod, gen)
            elif isinstance(mod, _NORMS):
                mod.reset_parameters()
            elif any(True for _ in mod.parameters(recurse=False)) or any(
                True for _ in mod.buffers(recurse=False)
            ):
                raise TypeError(
                    f"{type(mod).__name__} has parameters or buffers that materialise() cannot "
                    "initialise; give it an init_parameters(generator) method"
                )
    return module


def _uniform_fan_in(
    mod: nn.Conv1d | nn.Conv2d | nn.Conv3d | nn.Linear, gen: torch.Generator
) -> None:
    weight = mod.weight
    fan_in = weight[0].numel()
    bound = 1.0 / math.sqrt(fan_in) if fan_in > 0 else 0.0
    _fill_uniform(weight, bound, gen)
    if mod.bias is not None:
        _fill_uniform(mod.bias, bound, gen)


def _fill_uniform(tensor: torch.Tensor, bound: float, gen: torch.Generator) -> None:
    values = torch.empty(tensor.shape, dtype=tensor.dtype).uniform_(-bound, bound, generator=gen)
    tensor.copy_(values)
