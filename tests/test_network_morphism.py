"""The network morphism evaluator: function-preserving transfers, the weight cache, the runner's
dispatch of a proposal's parent, and whole searches (determinism, sparsity, resume)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from nasbench.core.evaluator import Inheriting
from nasbench.core.registry import evaluators, spaces, strategies
from nasbench.core.seeding import role_rng
from nasbench.core.strategy import SearchInfo
from nasbench.core.types import Budget, Observation, Status, Task, TrialRecord
from nasbench.engine import runner
from nasbench.engine.journal import RunJournal
from nasbench.engine.runner import journal_header, run
from nasbench.engine.suite import parse_suite
from nasbench.evaluation.network_morphism import WeightCache, inherit

FAST = {"batch_size": 500}
TASK = Task((1, 40), 10)
X = torch.randn(200, 1, 40, generator=torch.Generator().manual_seed(0))


@pytest.fixture(scope="module")
def chain() -> Any:
    return spaces.create("chain", max_layers=4)


def trained_like(space: Any, text: str) -> tuple[Any, torch.nn.Module]:
    """``text`` built and given batch-norm statistics of ``X`` (what training leaves), with
    shifted affine parameters: a parent whose function is not the fresh one."""
    arch = space.parse(text)
    model = space.build(arch, TASK, np.random.default_rng(0))
    gen = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
                m.momentum = None  # cumulative: one pass sets the statistics of X
                m.weight.add_(torch.randn(m.weight.shape, generator=gen) * 0.2)
                m.bias.add_(torch.randn(m.bias.shape, generator=gen) * 0.2)
        model.train()
        model(X)
    return arch, model


def morph(space: Any, parent: str, child: str) -> tuple[Any, Any, Any]:
    """The transfer, the parent model and the child model initialised from it."""
    p_arch, p_model = trained_like(space, parent)
    c_arch = space.parse(child)
    c_model = space.build(c_arch, TASK, np.random.default_rng(2))
    weights = {k: v.clone() for k, v in p_model.state_dict().items()}
    transfer = inherit(space, p_arch, weights, c_arch, c_model, np.random.default_rng(3), X)
    return transfer, p_model, c_model


def gap(a: torch.nn.Module, b: torch.nn.Module, training: bool = False) -> float:
    a.train(training)
    b.train(training)
    with torch.no_grad():
        return float((a(X) - b(X)).abs().max())


# ---- the morphisms ----------------------------------------------------------------------------
@pytest.mark.parametrize("parent, child", [
    ("conv3-16-s1|conv5-16-s2", "conv3-32-s1|conv5-16-s2"),  # the consumer's inputs are split
    ("conv3-16-s1|conv5-16-s2", "conv3-16-s1|conv5-64-s2"),  # the classifier's
    ("conv3-16-s1|sep3-16-s1", "conv3-16-s1|sep3-64-s1"),
    ("conv1-16-s1|sep3-16-s1", "conv5-16-s1|sep5-16-s1"),  # larger kernels (two decisions)
])  # fmt: skip
def test_a_wider_layer_computes_the_parent_function(chain: Any, parent: str, child: str) -> None:
    transfer, p_model, c_model = morph(chain, parent, child)
    assert transfer.exact and transfer.fraction == 1.0
    assert gap(p_model, c_model) < 1e-6
    assert gap(p_model, c_model, training=True) < 1e-5  # replicated channels, same batch stats


def test_widened_copies_share_a_unit_unequally(chain: Any) -> None:
    """WiderNet's 1/n with zero-sum noise: the copies' outgoing weights sum to the parent's,
    and differ from each other (so training does not keep them twins)."""
    _, p_model, c_model = morph(chain, "conv3-16-s1", "conv3-64-s1")
    old, new = p_model.classifier.weight.detach(), c_model.classifier.weight.detach()
    units, copies = p_model.features[0][0].weight, c_model.features[0][0].weight  # (16|64, 1, 3)
    unit = [int((units == row).all(dim=(1, 2)).nonzero()[0]) for row in copies]
    assert unit[:16] == list(range(16))  # the parent's units first, then copies of them
    summed = torch.zeros_like(old).index_add_(1, torch.tensor(unit), new)
    assert torch.allclose(summed, old, atol=1e-6)
    u = unit[16]
    shared = new[:, [j for j in range(64) if unit[j] == u]]
    assert shared.shape[1] >= 2 and not torch.allclose(shared[:, :1], shared[:, 1:])


@pytest.mark.parametrize("child", [
    "conv3-16-s1|conv3-16-s1", "conv3-16-s1|conv5-32-s1", "conv3-16-s1|sep3-64-s1",
])  # fmt: skip
def test_a_deeper_network_starts_with_identity_layers(chain: Any, child: str) -> None:
    transfer, p_model, c_model = morph(chain, "conv3-16-s1", child)
    assert transfer.exact and 0 < transfer.fraction < 1  # identity layers are not inherited
    assert gap(p_model, c_model) < 1e-6
    assert gap(p_model, c_model, training=True) < 1e-3  # batch statistics of X: calibrated


def test_a_swapped_op_alone_gets_fresh_weights(chain: Any) -> None:
    transfer, p_model, c_model = morph(chain, "conv3-16-s1|conv3-16-s1|conv3-32-s1",
                                       "conv3-16-s1|sep3-16-s1|conv3-32-s1")  # fmt: skip
    fresh = spaces.create("chain", max_layers=4).build(
        chain.parse("conv3-16-s1|sep3-16-s1|conv3-32-s1"), TASK, np.random.default_rng(2)
    )
    assert not transfer.exact and 0 < transfer.fraction < 1
    for name, t in c_model.state_dict().items():
        expected = fresh.state_dict()[name] if name.startswith("features.1.") else \
            p_model.state_dict()[name]  # fmt: skip
        assert torch.equal(t, expected), name


@pytest.mark.parametrize("name", ["nb201", "cell", "multibranch", "hierarchical", "chain"])
def test_every_space_inherits_by_name_at_least(name: str) -> None:
    params = {"nb201": {"cells_per_stage": 1, "channels": 4}, "cell": {"cells_per_stage": 1},
              "multibranch": {"layers": 4}}.get(name, {})  # fmt: skip
    space = spaces.create(name, **params)
    rng = np.random.default_rng(5)
    parent = space.sample(rng)
    child = space.mutate(parent, rng)
    p_model = space.build(parent, TASK, np.random.default_rng(0))
    c_model = space.build(child, TASK, np.random.default_rng(1))
    weights = {k: v + 1 for k, v in p_model.state_dict().items()}  # tell them apart
    transfer = inherit(space, parent, weights, child, c_model, np.random.default_rng(2))
    assert 0 < transfer.fraction <= 1
    if name != "chain":  # by name: same name and shape, same tensor
        state = c_model.state_dict()
        same = [n for n, w in weights.items() if n in state and state[n].shape == w.shape]
        assert same and all(torch.equal(state[n], weights[n]) for n in same)
    assert c_model(X[:4]).shape == (4, 10)


# ---- the evaluator ----------------------------------------------------------------------------
def make(chain: Any, **params: Any) -> Any:
    return evaluators.create("network_morphism", space=chain, recipe=FAST, **params)


def test_a_child_inherits_and_costs_less_than_from_scratch(chain: Any) -> None:
    ev = make(chain, epochs=4, child_epochs=1)
    parent, child = chain.parse("conv5-32-s2|conv3-32-s2"), chain.parse("conv5-32-s2|conv3-64-s2")
    ev.evaluate(parent, 4.0, np.random.default_rng(0))
    kid = ev.evaluate_child(child, parent, 4.0, np.random.default_rng(1))
    scratch = ev.evaluate(child, 4.0, np.random.default_rng(1))
    extra, alone = dict(kid.extra), dict(scratch.extra)
    assert extra["inherited"] == 1 and extra["inherited_fraction"] == 1.0
    assert extra["function_preserved"] == 1 and extra["epochs_trained"] == 1 == len(kid.curve)
    assert alone["inherited"] == 0 and alone["epochs_trained"] == 4
    assert kid.cost_s < scratch.cost_s  # 1 epoch charged against 4
    assert kid.curve[0] > scratch.curve[0] + 0.05  # one epoch ahead of the parent's training


def test_without_a_cached_parent_it_is_the_train_evaluator(chain: Any) -> None:
    ev, plain = (
        make(chain, epochs=2),
        evaluators.create("train", space=chain, epochs=2, recipe=FAST),
    )
    arch = chain.parse("conv3-16-s1|maxpool2-s2")
    ours = ev.evaluate_child(arch, chain.parse("conv3-16-s1"), 2.0, np.random.default_rng(4))
    theirs = plain.evaluate(arch, 2.0, np.random.default_rng(4))
    assert ours.curve == theirs.curve and ours.test_acc == theirs.test_acc
    assert dict(ours.extra)["inherited"] == 0 and dict(ours.extra)["epochs_trained"] == 2


def test_the_cache_is_bounded_and_least_recently_used_goes(tmp_path: Path) -> None:
    cache = WeightCache(2, tmp_path)
    w = {name: {"w": torch.full((3,), float(i))} for i, name in enumerate("abc")}
    ids = {name: cache.store(name, w[name]) for name in "ab"}
    assert cache.use("a") is not None  # a used: b is now the least recently used
    ids["c"] = cache.store("c", w["c"])
    assert len(cache) == 2 and list(cache.entries) == ["a", "c"] and cache.use("b") is None
    assert len(list(tmp_path.glob("*.pt"))) == 3  # files are content-named and kept
    again = WeightCache(2, tmp_path)  # a resumed run: entries from the journal, weights on disk
    again.record("c", ids["c"])
    again.record("x", math.nan)  # a failed evaluation stores nothing
    assert torch.equal(again.use("c")["w"], w["c"]["w"]) and len(again) == 1
    next(tmp_path.glob("*.pt")).write_bytes(b"not a torch file")
    broken = WeightCache(3, tmp_path)
    for name in "abc":
        broken.record(name, ids[name])
    assert sum(broken.use(name) is None for name in "abc") == 1  # unreadable: as if absent


def test_the_evaluator_cache_keeps_cache_size_entries(chain: Any) -> None:
    ev = make(chain, epochs=1, cache_size=2)
    archs = [chain.parse(t) for t in ("conv1-16-s2", "conv3-16-s2", "conv5-16-s2")]
    for i, arch in enumerate(archs):
        ev.evaluate(arch, 1.0, np.random.default_rng(i))
    assert list(ev.cache_.entries) == [a.text for a in archs[1:]]
    m = ev.evaluate_child(chain.parse("conv1-32-s2"), archs[0], 1.0, np.random.default_rng(9))
    assert dict(m.extra)["inherited"] == 0  # its parent was evicted


def test_strategies_name_the_parent() -> None:
    space = spaces.create("nb201")
    info = SearchInfo(12.0, (), Budget(evaluations=100))
    for name, params in (("regularized_evolution", {"population": 3, "sample_size": 2}),
                         ("local_search", {})):  # fmt: skip
        search = strategies.create(name, **params)
        search.start(space, info, role_rng(0, "strategy"), role_rng(0, "initial_design"))
        for trial in range(6):
            (proposal,) = search.ask(1)
            if trial >= 3 or (name == "local_search" and trial >= 1):
                assert proposal.parent is not None
                assert proposal.arch in space.neighbours(proposal.parent)
            else:
                assert proposal.parent is None  # the initial design
            score = proposal.arch.values.count("nor_conv_3x3") / 6
            search.tell([Observation(trial, proposal.arch, 12.0, score, score, 1.0, True,
                                     Status.OK)])  # fmt: skip


# ---- whole searches -----------------------------------------------------------------------------
SUITE = """
[suite]
name = "morphism"
[budget]
evaluations = {evaluations}
sparsity = {sparsity}
[[task]]
space = "chain"
space_params = {{ max_layers = 3, filters = [8, 16, 32] }}
evaluator = "network_morphism"
dataset = "mnist1d"
epochs = 2
child_epochs = 1
recipe = {{ batch_size = 500 }}
{task}
[[strategy]]
name = "regularized_evolution"
population = 3
sample_size = 2
"""


def spec(evaluations: int = 7, sparsity: float = 0.0, task: str = "") -> Any:
    return parse_suite(SUITE.format(evaluations=evaluations, sparsity=sparsity,
                                    task=task)).specs()[0]  # fmt: skip


def rows(records: list[TrialRecord]) -> list[dict[str, Any]]:
    """The records without the measured columns (training time, wall clock)."""
    out = []
    for r in records:
        row = {k: v for k, v in vars(r).items() if k not in ("cost_s", "cum_cost_s")
               and not k.endswith("_wall_s")}  # fmt: skip
        row["extra"] = tuple((k, repr(v)) for k, v in r.extra)  # nan == nan as text
        out.append({k: ("nan" if isinstance(v, float) and math.isnan(v) else v)
                    for k, v in row.items()})  # fmt: skip
    return out


def test_the_runner_hands_children_to_evaluate_child_deterministically() -> None:
    assert isinstance(evaluators.create("network_morphism", space=spaces.create("chain")),
                      Inheriting)  # fmt: skip
    first = run(spec(), 0).records
    torch.manual_seed(123)  # scrambled global streams change nothing
    np.random.seed(7)  # noqa: NPY002
    second = run(spec(), 0).records
    assert rows(first) == rows(second)
    inherited = [dict(r.extra)["inherited"] for r in first]
    assert inherited == [0.0] * 3 + [1.0] * 4  # the initial population, then its children
    assert all(r.status == "ok" and r.cost_s > 0 for r in first)


def test_a_search_under_sparsity_ends_at_the_target() -> None:
    records = run(spec(evaluations=6, sparsity=0.5), 1).records
    assert any(dict(r.extra)["inherited"] for r in records)
    assert all(abs(r.sparsity - 0.5) <= 0.005 for r in records)


class KilledError(Exception):
    """Stands for a kill in the middle of an evaluation."""


def crash_then_resume(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, the_spec: Any,
                      k: int) -> list[TrialRecord]:  # fmt: skip
    """Run until a crash before evaluation ``k`` (0-based), then resume from the journal."""
    evaluate, calls = runner._Loop.evaluate, list[str]()

    def crashing(self: Any, *args: Any) -> Any:
        if len(calls) == k:
            raise KilledError
        calls.append(args[0].text)
        return evaluate(self, *args)

    path = tmp_path / "run.journal"
    monkeypatch.setattr(runner._Loop, "evaluate", crashing)
    with RunJournal(path, journal_header(the_spec, 0), window_s=0) as journal, \
            pytest.raises(KilledError):  # fmt: skip
        run(the_spec, 0, journal)
    monkeypatch.undo()
    with RunJournal(path, journal_header(the_spec, 0), window_s=0) as journal:
        assert len(journal.replay) == k
        return run(the_spec, 0, journal).records


def test_a_resumed_run_with_cache_dir_equals_an_uninterrupted_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    the_spec = spec(task=f'cache_dir = "{tmp_path / "weights"}"')
    whole = run(the_spec, 0).records
    resumed = crash_then_resume(tmp_path, monkeypatch, the_spec, 4)  # after a child
    assert rows(resumed) == rows(whole)
    assert [dict(r.extra)["inherited"] for r in resumed][4:] == [1.0] * 3


def test_without_cache_dir_a_resumed_child_of_a_journaled_parent_trains_from_scratch(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    whole = run(spec(), 0).records
    resumed = crash_then_resume(tmp_path, monkeypatch, spec(), 4)
    assert rows(resumed)[:4] == rows(whole)[:4]  # replayed as journaled
    assert resumed[4].arch == whole[4].arch  # the same child (the search saw the same)
    assert dict(whole[4].extra)["inherited"] == 1 and dict(resumed[4].extra)["inherited"] == 0
