"""The search-space role: architectures as sequences of named categorical decisions.

A space exposes one view every strategy works through: :meth:`SearchSpace.next_decision` gives the
decision that follows a prefix of values (``None`` when the architecture is complete), so later
decisions may depend on earlier ones (a chain's depth, MetaQNN's validity rules).
:meth:`SearchSpace.decisions` lists every decision that can ever occur with all its choices (the
*universe*): the name of a decision always refers to the same universe, while ``next_decision``
returns the subset allowed after a given prefix.

Subclass :class:`BaseSpace` and implement ``decisions``, ``next_decision``, ``graph``,
``cardinality``, ``counts`` and ``_build`` (construction only: :meth:`BaseSpace.build` runs it
on the meta device and initialises weights from the caller's generator); override
``_format``/``_parse`` for a readable string form, and ``_canonical`` and ``canonicalize``
where isomorphic architectures exist. A weight-sharing supernet lives in its own module, which
registers a factory for the space's name with
:func:`nasbench.core.supernet.register_supernet`; build it with
:func:`nasbench.core.supernet.build_supernet`. Sampling, mutation, neighbours,
validation and the one-hot encoding come generically from the decision view.

>>> import numpy as np
>>> from nasbench.core.registry import spaces
>>> space = spaces.create("nb201")
>>> arch = space.sample(np.random.default_rng(0))
>>> space.parse(str(arch)) == arch
True
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cached_property
from typing import ClassVar, Protocol, runtime_checkable

import numpy as np
import torch
from torch import nn

from nasbench.core.errors import NasbenchError
from nasbench.core.types import ArchGraph, Architecture, Choice, Decision, ModelCounts, Task
from nasbench.core.weights import materialise


@runtime_checkable
class SearchSpace(Protocol):
    """What every search space provides. All methods are pure; those that draw take ``rng``.

    Supernets are not part of the protocol: :func:`nasbench.core.supernet.build_supernet`
    builds one from the factory registered for the space's name
    (:func:`nasbench.core.supernet.register_supernet`) or, for a space without one, calls the
    space's own ``supernet(task, rng)`` method where it has one.
    """

    name: ClassVar[str]

    def decisions(self) -> tuple[Decision, ...]:
        """Every decision that can occur, with all its choices, in a fixed order."""
        ...

    def next_decision(self, prefix: Sequence[Choice]) -> Decision | None:
        """The decision after ``prefix`` with the choices allowed there, or ``None`` when done."""
        ...

    def make(self, values: Sequence[Choice]) -> Architecture:
        """Validate a complete value sequence and return the architecture; raises NasbenchError."""
        ...

    def sample(self, rng: np.random.Generator) -> Architecture:
        """A random architecture (each decision uniform over its allowed choices)."""
        ...

    def mutate(self, arch: Architecture, rng: np.random.Generator) -> Architecture:
        """A valid architecture that differs from ``arch`` in one decision (later ones repaired)."""
        ...

    def neighbours(self, arch: Architecture) -> list[Architecture]:
        """All architectures one decision away, deterministic order, without ``arch``."""
        ...

    def validate(self, arch: Architecture) -> None:
        """Raise NasbenchError naming the bad decision when ``arch`` is not in this space."""
        ...

    def encode(self, arch: Architecture) -> np.ndarray:
        """Fixed-length float32 vector of length :attr:`encoding_size`."""
        ...

    @property
    def encoding_size(self) -> int: ...

    def graph(self, arch: Architecture) -> ArchGraph:
        """Adjacency matrix with node (and edge) operation labels."""
        ...

    def format(self, arch: Architecture) -> str: ...

    def parse(self, text: str) -> Architecture:
        """Inverse of :meth:`format`; raises NasbenchError on a malformed string."""
        ...

    def cardinality(self) -> int | None:
        """Number of distinct decision sequences (``None`` if infinite)."""
        ...

    def counts(self, arch: Architecture, task: Task) -> ModelCounts:
        """Parameters and MACs of ``build(arch, task)``, computed without building it."""
        ...

    def build(self, arch: Architecture, task: Task, rng: np.random.Generator) -> nn.Module:
        """A ``torch.nn.Module`` mapping ``(N, *task.input_shape)`` to ``(N, task.num_classes)``,
        on the CPU, weights initialised from ``rng`` (global torch RNG untouched)."""
        ...

    def canonicalize(self, arch: Architecture) -> Architecture:
        """A member of ``arch``'s isomorphism class (same key) that is its own canonical form."""
        ...


class BaseSpace:
    """Generic implementations of the decision-sequence machinery (see module docstring)."""

    name: ClassVar[str] = ""
    fixed_decisions: ClassVar[bool] = False
    """True for a space whose decision sequence never depends on earlier values
    (``next_decision(prefix) is decisions()[len(prefix)]`` for every prefix): :meth:`sample`
    and :meth:`mutate` then skip the walk over the decisions (the same draws, the same
    architectures as the walk)."""

    # ---- to implement -------------------------------------------------------------------
    def decisions(self) -> tuple[Decision, ...]:
        raise NotImplementedError

    def next_decision(self, prefix: Sequence[Choice]) -> Decision | None:
        raise NotImplementedError

    def graph(self, arch: Architecture) -> ArchGraph:
        raise NotImplementedError

    def cardinality(self) -> int | None:
        raise NotImplementedError

    def counts(self, arch: Architecture, task: Task) -> ModelCounts:
        raise NotImplementedError

    def _build(self, arch: Architecture, task: Task) -> nn.Module:
        """Construct the network; called on the meta device, so it must not allocate or draw."""
        raise NotImplementedError

    def build(self, arch: Architecture, task: Task, rng: np.random.Generator) -> nn.Module:
        self.validate(arch)
        with torch.device("meta"):
            module = self._build(arch, task)
        return materialise(module, rng)

    def canonicalize(self, arch: Architecture) -> Architecture:
        """Default: every architecture is its own canonical form."""
        self.validate(arch)
        return arch

    # ---- string form and canonical key (override for readable forms / isomorphisms) -----
    def _format(self, values: tuple[Choice, ...]) -> str:
        return "|".join(values)

    def _parse(self, text: str) -> tuple[Choice, ...]:
        return tuple(text.split("|"))

    def _canonical(self, values: tuple[Choice, ...]) -> str:
        """Key shared by isomorphic architectures; by default every architecture is its own."""
        return self._format(values)

    # ---- generic machinery ----------------------------------------------------------------
    def _walk(self, values: Sequence[Choice]) -> tuple[str, ...]:
        """Check ``values`` against the decision sequence; return the decision names."""
        names: list[str] = []
        for i, value in enumerate(values):
            decision = self.next_decision(values[:i])
            if decision is None:
                raise NasbenchError(
                    f"{self.name}: architecture is complete after {i} decisions, "
                    f"but {len(values)} values were given"
                )
            if value not in decision.choices:
                raise NasbenchError(
                    f"{self.name}: decision {decision.name!r} got {value!r} "
                    f"(valid here: {', '.join(decision.choices)})"
                )
            names.append(decision.name)
        last = self.next_decision(values)
        if last is not None:
            raise NasbenchError(
                f"{self.name}: architecture is incomplete: decision {last.name!r} is missing "
                f"(valid: {', '.join(last.choices)})"
            )
        return tuple(names)

    def make(self, values: Sequence[Choice]) -> Architecture:
        vals = tuple(values)
        arch = self._made.get(vals)
        return arch if arch is not None else self._architecture(vals, self._walk(vals))

    @cached_property
    def _made(self) -> dict[tuple[Choice, ...], Architecture]:
        """The architectures this space made, by values (each checked once: a search proposes
        the same ones again and again, and validating or formatting them was most of a
        tabular evaluation's cost). Architectures are frozen, so sharing one is safe."""
        return {}

    def _architecture(self, vals: tuple[Choice, ...], names: tuple[str, ...]) -> Architecture:
        """The Architecture of ``vals``, a valid value sequence with decision names ``names``
        (memoised in :attr:`_made`, at most :data:`MADE_CAP` of them)."""
        made = self._made
        arch = made.get(vals)
        if arch is None:
            arch = Architecture(self.name, vals, self._format(vals), self._canonical(vals), names)
            if len(made) >= MADE_CAP:
                made.clear()
            made[vals] = arch
        return arch

    def validate(self, arch: Architecture) -> None:
        if arch.space != self.name:
            raise NasbenchError(
                f"architecture of space {arch.space!r} given to space {self.name!r}"
            )
        if self._made.get(arch.values) is not arch:  # one this space made is valid
            self._walk(arch.values)

    def format(self, arch: Architecture) -> str:
        return self._format(arch.values)

    def parse(self, text: str) -> Architecture:
        if not isinstance(text, str) or not text.strip():
            raise NasbenchError(f"{self.name}: empty architecture string")
        values = self._parse(text.strip())
        arch = self.make(values)
        if arch.text != text.strip():
            raise NasbenchError(
                f"{self.name}: malformed architecture string {text!r} "
                f"(the canonical spelling is {arch.text!r})"
            )
        return arch

    def sample(self, rng: np.random.Generator) -> Architecture:
        if self.fixed_decisions:
            fixed, fixed_names = self._fixed
            drawn = tuple(choices[int(rng.integers(len(choices)))] for choices in fixed)
            return self._architecture(drawn, fixed_names)
        values: list[Choice] = []
        names: list[str] = []
        while (decision := self.next_decision(values)) is not None:
            values.append(decision.choices[int(rng.integers(len(decision.choices)))])
            names.append(decision.name)
        # valid by construction: skip make()'s second walk over the decisions
        return self._architecture(tuple(values), tuple(names))

    def _complete(
        self, prefix: list[Choice], names: list[str], old: dict[str, Choice],
        rng: np.random.Generator | None,
    ) -> tuple[tuple[Choice, ...], tuple[str, ...]]:  # fmt: skip
        """Extend ``prefix`` (a valid start whose decision names are ``names``) to a complete
        sequence, keeping old values (by decision name) where still allowed; other decisions
        are drawn from ``rng`` or, without one, take :meth:`_default_choice`. Returns the
        values and their decision names."""
        values, names = list(prefix), list(names)
        while (decision := self.next_decision(values)) is not None:
            kept = old.get(decision.name)
            if kept is not None and kept in decision.choices:
                values.append(kept)
            elif rng is None:
                values.append(self._default_choice(decision))
            else:
                values.append(decision.choices[int(rng.integers(len(decision.choices)))])
            names.append(decision.name)
        return tuple(values), tuple(names)

    def _default_choice(self, decision: Decision) -> Choice:
        """Value for a decision that a deterministic repair must fill in (neighbours)."""
        return decision.choices[0]

    def _names(self, arch: Architecture) -> tuple[str, ...]:
        """The decision names of a validated ``arch``."""
        return arch.names if len(arch.names) == len(arch.values) else self._walk(arch.values)

    @cached_property
    def _fixed(self) -> tuple[tuple[tuple[Choice, ...], ...], tuple[str, ...]]:
        """The choices and names of a :attr:`fixed_decisions` space's decisions, in order."""
        decisions = self.decisions()
        return tuple(d.choices for d in decisions), tuple(d.name for d in decisions)

    @cached_property
    def _others(self) -> tuple[dict[Choice, tuple[Choice, ...]], ...]:
        """Per decision of a :attr:`fixed_decisions` space, each choice's alternatives (the
        other choices, in order): what a mutation of that decision picks from."""
        return tuple(
            {c: tuple(o for o in choices if o != c) for c in choices} for choices in self._fixed[0]
        )

    def mutate(self, arch: Architecture, rng: np.random.Generator) -> Architecture:
        self.validate(arch)
        if self.fixed_decisions:  # the walk below, without it: later decisions keep their values
            others_of, fixed_names = self._others, self._fixed[1]
            vals = arch.values
            n = len(vals)
            for _ in range(1000):
                i = int(rng.integers(n))
                alternatives = others_of[i][vals[i]]
                if alternatives:
                    new = alternatives[int(rng.integers(len(alternatives)))]
                    return self._architecture((*vals[:i], new, *vals[i + 1 :]), fixed_names)
            raise NasbenchError(f"{self.name}: architecture {arch} has no mutation")
        values, names = arch.values, self._names(arch)
        old = dict(zip(names, values, strict=True))
        for _ in range(1000):
            i = int(rng.integers(len(values)))
            decision = self.next_decision(values[:i])
            assert decision is not None
            others = [c for c in decision.choices if c != values[i]]
            if not others:
                continue
            prefix = [*values[:i], others[int(rng.integers(len(others)))]]
            child, child_names = self._complete(prefix, [*names[:i], decision.name], old, rng)
            if child != values:
                return self._architecture(child, child_names)
        raise NasbenchError(f"{self.name}: architecture {arch} has no mutation")

    def neighbours(self, arch: Architecture) -> list[Architecture]:
        self.validate(arch)
        values, names = arch.values, self._names(arch)
        old = dict(zip(names, values, strict=True))
        seen = {values}
        result = []
        for i, value in enumerate(values):
            decision = self.next_decision(values[:i])
            assert decision is not None
            for choice in decision.choices:
                if choice == value:
                    continue
                prefix, prefix_names = [*values[:i], choice], [*names[:i], decision.name]
                child, child_names = self._complete(prefix, prefix_names, old, None)
                if child not in seen:
                    seen.add(child)
                    result.append(self._architecture(child, child_names))
        return result

    @cached_property
    def _offsets(self) -> dict[str, tuple[int, dict[Choice, int]]]:
        offsets: dict[str, tuple[int, dict[Choice, int]]] = {}
        start = 0
        for d in self.decisions():
            offsets[d.name] = (start, {c: k for k, c in enumerate(d.choices)})
            start += len(d.choices)
        return offsets

    @property
    def encoding_size(self) -> int:
        return sum(len(d.choices) for d in self.decisions())

    def encode(self, arch: Architecture) -> np.ndarray:
        """One-hot of every decision in the universe (all zeros where a decision is absent)."""
        vec = np.zeros(self.encoding_size, dtype=np.float32)
        offsets = self._offsets
        names = self._names(arch)
        for name, value in zip(names, arch.values, strict=True):
            start, index = offsets[name]
            vec[start + index[value]] = 1.0
        return vec


MADE_CAP = 1 << 16
"""How many architectures a space memoises (:meth:`BaseSpace._architecture`) before it forgets
them all and starts again."""

WIDTH, DEPTH = ".filters", ".layers"
"""Suffixes of the width and depth decisions (the hierarchical space's ``block{b}.filters`` and
``block{b}.layers``)."""


def unpruned_architecture(space: SearchSpace) -> Architecture:
    """The space's unpruned network: at every decision the largest width (filter multiplier) or
    depth (layer delta), TAS's unpruned network that the search prunes. Defined for a space whose
    every decision is a width or a depth (the hierarchical space's ``tas`` preset); raises
    NasbenchError naming the first other decision."""
    values: list[str] = []
    while (decision := space.next_decision(values)) is not None:
        if decision.name.endswith(WIDTH):
            values.append(max(decision.choices, key=float))
        elif decision.name.endswith(DEPTH):
            values.append(max(decision.choices, key=int))
        else:
            raise NasbenchError(
                f"space {space.name!r} has no unpruned network: it decides {decision.name!r}, "
                "not only widths and depths (use the hierarchical preset 'tas')"
            )
    return space.make(values)
