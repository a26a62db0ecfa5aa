"""Seeding: one integer seed, independent random streams per role.

Every component draws from a ``numpy.random.Generator`` handed to it; nothing touches global RNG
state. Streams are keyed by role *name* (not by spawn order), so adding a role never changes the
stream another role gets, and every strategy in a suite receives the same ``"initial_design"`` and
``"benchmark_noise"`` streams for the same seed (Syne Tune's fairness rule).

>>> a = role_rng(0, "strategy"); b = role_rng(0, "strategy")
>>> int(a.integers(1000)) == int(b.integers(1000))
True
"""

from __future__ import annotations

import hashlib

import numpy as np
import torch

from nasbench.core.errors import NasbenchError


def _word(part: str | int) -> int:
    """A stable 32-bit word for a key part (Python's ``hash`` is salted per process)."""
    if isinstance(part, int):
        if part < 0:
            raise NasbenchError(f"seed parts must be non-negative, got {part}")
        return part
    return int.from_bytes(hashlib.sha256(part.encode()).digest()[:4], "little")


def seed_sequence(seed: int, *path: str | int) -> np.random.SeedSequence:
    """The ``SeedSequence`` of ``seed`` under a key path such as ``("strategy",)``."""
    if not isinstance(seed, int | np.integer) or seed < 0:
        raise NasbenchError(f"a seed must be a non-negative integer, got {seed!r}")
    return np.random.SeedSequence(int(seed), spawn_key=tuple(_word(p) for p in path))


def role_rng(seed: int, *path: str | int) -> np.random.Generator:
    """An independent Generator for one role (and optional sub-keys) of one seed."""
    return np.random.Generator(np.random.PCG64(seed_sequence(seed, *path)))


def torch_generator(
    rng: np.random.Generator, device: str | torch.device = "cpu"
) -> torch.Generator:
    """A ``torch.Generator`` seeded from ``rng`` (draws one integer from it)."""
    gen = torch.Generator(device=device)
    gen.manual_seed(int(rng.integers(0, 2**63 - 1)))
    return gen
