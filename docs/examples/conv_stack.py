"""A new search space in one file: a stack of three 1-D convolutions, each choosing its kernel
size and width, then global average pooling and a linear classifier (an image is read as the
sequence of its pixels).

``ConvStack().parse("k3-8|k5-16|k3-8")`` is one architecture; register it with
``@nasbench.registry.spaces.register("conv_stack")`` or name it as ``"conv_stack:ConvStack"``
in a suite.
"""

from collections.abc import Sequence

import numpy as np
from torch import nn

from nasbench import ArchGraph, Architecture, BaseSpace, Choice, Decision, ModelCounts, Task

LAYERS, KERNELS, WIDTHS = 3, ("3", "5"), ("8", "16")


class ConvStack(BaseSpace):
    """Three conv-BN-ReLU layers (kernel 3 or 5, width 8 or 16), pooled and classified."""

    name = "conv_stack"

    def decisions(self) -> tuple[Decision, ...]:
        out: list[Decision] = []
        for i in range(LAYERS):
            out += [Decision(f"layer{i}.kernel", KERNELS), Decision(f"layer{i}.width", WIDTHS)]
        return tuple(out)

    def next_decision(self, prefix: Sequence[Choice]) -> Decision | None:
        universe = self.decisions()
        return universe[len(prefix)] if len(prefix) < len(universe) else None

    def _format(self, values: tuple[Choice, ...]) -> str:
        return "|".join(f"k{values[2 * i]}-{values[2 * i + 1]}" for i in range(LAYERS))

    def _parse(self, text: str) -> tuple[Choice, ...]:
        return tuple(v for layer in text.split("|") for v in layer[1:].split("-"))

    def _layers(self, arch: Architecture) -> list[tuple[int, int]]:
        v = arch.values
        return [(int(v[2 * i]), int(v[2 * i + 1])) for i in range(LAYERS)]

    def graph(self, arch: Architecture) -> ArchGraph:
        labels = ("input", *(f"conv{k}x{w}" for k, w in self._layers(arch)), "output")
        return ArchGraph(np.eye(len(labels), k=1, dtype=np.int64), labels)

    def cardinality(self) -> int:
        return (len(KERNELS) * len(WIDTHS)) ** LAYERS

    def counts(self, arch: Architecture, task: Task) -> ModelCounts:
        channels, length = task.input_shape[0], int(np.prod(task.input_shape[1:]))
        params = macs = 0
        for kernel, width in self._layers(arch):
            params += channels * width * kernel + 2 * width  # conv (no bias) + batch norm
            macs += channels * width * kernel * length
            channels = width
        params += channels * task.num_classes + task.num_classes
        macs += channels * task.num_classes
        return ModelCounts(params, macs)

    def _build(self, arch: Architecture, task: Task) -> nn.Module:
        layers: list[nn.Module] = [nn.Flatten(2)]  # an image's pixels become one sequence
        channels = task.input_shape[0]
        for kernel, width in self._layers(arch):
            layers += [nn.Conv1d(channels, width, kernel, padding=kernel // 2, bias=False),
                       nn.BatchNorm1d(width), nn.ReLU()]  # fmt: skip
            channels = width
        layers += [nn.AdaptiveAvgPool1d(1), nn.Flatten(), nn.Linear(channels, task.num_classes)]
        return nn.Sequential(*layers)
