"""The training evaluators (train, low_fidelity, lce) on MNIST-1D, end to end, small and fast."""

from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import replace

import numpy as np
import pytest

from nasbench.cli.main import main
from nasbench.core.errors import NasbenchError
from nasbench.core.registry import evaluators, spaces
from nasbench.core.types import Budget, Status
from nasbench.engine.runner import run
from nasbench.engine.suite import parse_suite

FAST = {"batch_size": 500}
CNN = "conv5-32-s2|conv3-32-s2|conv3-32-s2"


@pytest.fixture(scope="module")
def chain():
    return spaces.create("chain")


def test_train_measures_everything(chain) -> None:
    ev = evaluators.create("train", space=chain, epochs=2, sparsity=0.5, recipe=FAST)
    arch = chain.parse(CNN)
    m = ev.evaluate(arch, 2.0, np.random.default_rng(0))
    counts = chain.counts(arch, ev.task)
    assert m.status is Status.OK and len(m.curve) == 2 and m.val_acc == m.curve[-1]
    assert 0.1 < m.val_acc <= 1 and 0.1 < m.test_acc <= 1 and m.cost_s > 0
    assert abs(m.sparsity - 0.5) <= 0.005
    assert m.params == counts.params and m.macs == counts.macs
    assert m.nonzero_params < m.params and m.effective_macs < m.macs
    again = ev.evaluate(arch, 2.0, np.random.default_rng(0))
    assert again.curve == m.curve and again.test_acc == m.test_acc  # same rng, same run


def test_fidelity_is_whole_epochs(chain) -> None:
    ev = evaluators.create("train", space=chain, epochs=2, recipe=FAST)
    with pytest.raises(NasbenchError, match="whole epochs"):
        ev.evaluate(chain.parse(CNN), 1.5, np.random.default_rng(0))
    with pytest.raises(NasbenchError, match="unknown recipe key 'lr'"):
        evaluators.create("train", space=chain, recipe={"lr": 0.1})


def test_low_fidelity_is_cheaper(chain) -> None:
    nb = spaces.create("nb201")
    arch = nb.sample(np.random.default_rng(3))
    small = evaluators.create("low_fidelity", space=nb, epochs=1, data_fraction=0.2, resolution=2,
                              space_params={"channels": 4, "cells_per_stage": 1}, recipe=FAST)  # fmt: skip
    m = small.evaluate(arch, 1.0, np.random.default_rng(0))
    assert small.task.input_shape == (1, 20) and m.status is Status.OK
    assert m.params < nb.counts(arch, small.task).params  # counted on the narrow network
    assert m.params == spaces.create("nb201", channels=4, cells_per_stage=1).counts(
        arch, small.task).params  # fmt: skip
    with pytest.raises(NasbenchError, match="data_fraction"):
        evaluators.create("low_fidelity", space=nb, data_fraction=0.0)


def test_lce_stops_a_hopeless_curve(chain) -> None:
    ev = evaluators.create("lce", space=chain, epochs=8, min_fraction=0.25, recipe=FAST)
    good = ev.evaluate(chain.parse(CNN), 8.0, np.random.default_rng(0))
    assert good.status is Status.OK and len(good.curve) == 8  # no incumbent yet: full training
    bad = ev.evaluate(chain.parse("conv1-16-s2|conv1-16-s2"), 8.0, np.random.default_rng(1))
    extra = dict(bad.extra)
    assert bad.status is Status.STOPPED and extra["lce_epochs"] < 8
    assert (
        bad.val_acc_pred == extra["lce_pred_mean"] and bad.val_acc_std == extra["lce_pred_std"] > 0
    )
    # observed and predicted stay apart: val_acc is the accuracy when it stopped
    assert bad.val_acc != bad.val_acc_pred and 0.0 <= bad.val_acc <= 1.0
    assert bad.cost_s < good.cost_s
    assert math.isnan(good.val_acc_pred)  # trained to the end: the observation answers


def test_train_in_a_suite(chain) -> None:
    suite = parse_suite("""
[suite]
name = "t"
[budget]
evaluations = 3
sparsity = 0.5
[[task]]
space = "chain"
space_params = { max_layers = 2 }
evaluator = "train"
dataset = "mnist1d"
epochs = 1
recipe = { batch_size = 500 }
[[strategy]]
name = "random"
""")
    rec = run(suite.specs()[0], 0).records
    assert len(rec) == 3 and all(r.status == "ok" and r.cost_s > 0 for r in rec)
    assert all(abs(r.sparsity - 0.5) <= 0.005 for r in rec)
    for r in rec:  # under a sparsity target the pruned sizes are recorded beside the dense ones
        extra = dict(r.extra)
        assert 0.45 < extra["nonzero_params"] / (r.params_m * 1e6) < 0.6
        assert 0 < extra["effective_macs"] < r.macs_m * 1e6
    dense = run(replace(suite.specs()[0], budget=Budget(evaluations=1)), 0).records
    assert "nonzero_params" not in dict(dense[0].extra)  # no target: records as before


def test_cli_evaluate(capsys) -> None:
    code = main(["evaluate", "chain", CNN, "--epochs", "1", "--sparsity", "0.7", "--json",
                 "--latency-device", "cpu"])  # fmt: skip
    row = json.loads(capsys.readouterr().out)
    assert code == 0 and row["status"] == "ok"
    for key in ("val_acc", "test_acc", "sparsity", "params", "nonzero_params", "macs",
                "effective_macs", "latency_ms", "cost_s"):  # fmt: skip
        assert key in row and not (isinstance(row[key], float) and math.isnan(row[key])), key
    assert abs(row["sparsity"] - 0.7) <= 0.005
    code = main(["evaluate", "chain", CNN, "--mode", "lce", "--epochs", "4", "--json"])
    row = json.loads(capsys.readouterr().out)
    assert code == 0 and "predicted_final_acc" in row and "predicted_final_std" in row
    assert main(["evaluate", "chain", CNN, "--sparsity", "1.5"]) == 2
    assert "sparsity must be in [0, 1)" in capsys.readouterr().err
    assert main(["evaluate", "chain", CNN, "--dataset", "cifar10", "--data-root", "/nowhere"]) == 2


def test_lce_replay_restores_the_incumbent_that_drives_stopping(chain) -> None:
    """A resumed run replays journaled answers: the replayed evaluator stops the same hopeless
    curve that the one that evaluated stops, training nothing for the replayed answer."""
    ev = evaluators.create("lce", space=chain, epochs=8, min_fraction=0.25, recipe=FAST)
    good = ev.evaluate(chain.parse(CNN), 8.0, np.random.default_rng(0))
    fresh = evaluators.create("lce", space=chain, epochs=8, min_fraction=0.25, recipe=FAST)
    stopped = dataclasses.replace(good, status=Status.STOPPED, val_acc=0.99)
    fresh.replay(chain.parse(CNN), 8.0, stopped)  # a stopped answer is no incumbent
    assert fresh.best_ == -math.inf
    fresh.replay(chain.parse(CNN), 8.0, good)
    assert fresh.best_ == ev.best_ == good.val_acc
    bad = fresh.evaluate(chain.parse("conv1-16-s2|conv1-16-s2"), 8.0, np.random.default_rng(1))
    assert bad.status is Status.STOPPED
