"""The network morphism study (experiments/network_morphism_study.py): its progress file makes a
stopped study resume where it was, and a resumed study reports what an uninterrupted one does."""

from __future__ import annotations

import json

import pytest

from experiments import network_morphism_study as study


def test_progress_keeps_finished_items_and_ignores_a_torn_line(tmp_path):
    path = tmp_path / "progress.jsonl"
    done = study.Progress(path)
    assert done.get({"kind": "rank", "row": 0}) is None
    done.add({"kind": "rank", "row": 0}, {"inherited": 0.5})
    done.add({"row": 1, "kind": "rank"}, {"inherited": 0.25})
    with path.open("a") as f:
        f.write('{"key": {"kind": "rank", "row": 2}, "value": {"inher')  # killed mid-line
    again = study.Progress(path)
    assert again.get({"row": 0, "kind": "rank"}) == {"inherited": 0.5}  # key order is irrelevant
    assert again.get({"kind": "rank", "row": 1}) == {"inherited": 0.25}
    assert again.get({"kind": "rank", "row": 2}) is None  # torn: redone
    assert len(path.read_text().splitlines()) == 3
    memory = study.Progress(None)
    memory.add({"a": 1}, 2)
    assert memory.get({"a": 1}) == 2


@pytest.mark.slow
def test_a_resumed_study_trains_nothing_and_reports_the_same(tmp_path, capsys, monkeypatch):
    progress = tmp_path / "progress.jsonl"
    argv = ["--limit", "1", "--tables", "chain-mnist1d", "--progress", str(progress)]
    study.main(argv)
    first = capsys.readouterr().out
    lines = [json.loads(line) for line in progress.read_text().splitlines()]
    assert [line["key"]["kind"] for line in lines] == ["rank", "search"]
    rows = lines[1]["value"]["rows"]
    assert [r["evaluator"] for r in rows] == ["train", "network_morphism"]
    assert rows[0]["inherited"] == 0 and rows[1]["inherited"] >= 1
    assert all(r["evaluations"] == 2 for r in rows)

    def no_training(*args, **kwargs):
        raise AssertionError("a finished item was computed again")

    monkeypatch.setattr(study, "search", no_training)
    monkeypatch.setattr(study.evaluators, "create", lambda *a, **k: _NoTraining())
    study.main(argv)
    assert capsys.readouterr().out == first


class _NoTraining:
    child_epochs = 2

    def __getattr__(self, name):
        raise AssertionError(f"a finished item was computed again ({name})")
