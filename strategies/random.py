"""Random search: every proposal is a fresh uniform sample of the space.

>>> from nasbench.core.registry import spaces
>>> from nasbench.core.seeding import role_rng
>>> from nasbench.core.strategy import SearchInfo
>>> from nasbench.core.types import Budget
>>> space = spaces.create("nb201")
>>> search = RandomSearch()
>>> info = SearchInfo(fidelity=12.0, fidelities=(), budget=Budget(evaluations=10))
>>> search.start(space, info, role_rng(0, "strategy"), role_rng(0, "initial_design"))
>>> proposals = search.ask(2)
>>> initial = role_rng(0, "initial_design")  # the seed's shared initial-design stream
>>> [p.arch for p in proposals] == [space.sample(initial), space.sample(initial)]
True

Every architecture is drawn with ``space.sample`` from the seed's shared ``initial_rng``, so for
one seed random search's first ``k`` proposals *are* the random initial design of every other
strategy that starts from one (regularized evolution's first ``population`` proposals, for
example): a comparison against random search isolates what a strategy does after its initial
design. Samples are drawn *with replacement*, as the random-search baseline of NAS-Bench-201
(Dong & Yang, ICLR 2020) does: an architecture may be proposed again, and the runner evaluates
and charges it again. Observations are ignored.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import ClassVar

import numpy as np

from nasbench.core.errors import NasbenchError
from nasbench.core.registry import strategies
from nasbench.core.space import SearchSpace
from nasbench.core.strategy import SearchInfo
from nasbench.core.types import Observation, Proposal


@strategies.register("random")
class RandomSearch:
    """Uniform random search with replacement. No hyperparameters.

    Draws only from ``initial_rng`` (the strategy stream ``rng`` is kept but never used), spends
    no budget itself, and proposes at the default fidelity (``Proposal.fidelity is None``).
    """

    initial_design: ClassVar[str] = "shared"
    paper: ClassVar[str] = (
        "Bergstra & Bengio, Random Search for Hyper-Parameter Optimization, JMLR 2012; "
        "the NAS-Bench-201 baseline (Dong & Yang, ICLR 2020)"
    )
    sources: ClassVar[dict[str, str]] = {}

    def __init__(self) -> None:
        self.asked_ = 0  # proposals made so far (diagnostic; ask does not depend on it)
        self.told_ = 0  # observations received so far

    def start(
        self,
        space: SearchSpace,
        info: SearchInfo,
        rng: np.random.Generator,
        initial_rng: np.random.Generator,
    ) -> None:
        """Begin a search over ``space``; resets the counters."""
        self.space_ = space
        self.info_ = info
        self.initial_size_ = sys.maxsize  # every proposal comes from the initial design
        self.rng_ = rng
        self.initial_rng_ = initial_rng
        self.asked_ = 0
        self.told_ = 0

    def ask(self, n: int = 1) -> list[Proposal]:
        """``n`` architectures, each ``space.sample(initial_rng)`` in turn (draws randomness)."""
        if not hasattr(self, "space_"):
            raise RuntimeError("RandomSearch.ask called before start")
        if n < 0:
            raise NasbenchError(f"ask needs n >= 0 proposals, got {n}")
        self.asked_ += n
        return [Proposal(self.space_.sample(self.initial_rng_)) for _ in range(n)]

    def tell(self, observations: Sequence[Observation]) -> None:
        """Counts the observations; random search learns nothing from them."""
        self.told_ += len(observations)
