"""The zero-cost proxy study (experiments/zero_cost_correlation.py): resumable scores, and a
README rebuilt from them without scoring anything (``--report-only``)."""

from __future__ import annotations

import json

from experiments import zero_cost_correlation as study


def test_scores_resume_and_report_only_rebuilds_the_readme(tmp_path, capsys, monkeypatch) -> None:
    out = tmp_path / "zc"
    argv = ["--part", "own", "--tables", "chain-mnist1d", "--proxies", "params,flops",
            "--limit", "4", "--write", "--out", str(out)]  # fmt: skip
    study.main(argv)
    first = capsys.readouterr().out
    lines = [json.loads(line) for line in (out / "scores.jsonl").read_text().splitlines()]
    assert len(lines) == 4 and all(set(x["scores"]) == {"params", "flops"} for x in lines)
    assert "| chain-mnist1d | 0 | params |" in first
    assert "- chain-mnist1d: 4 of its 500 architectures" in first
    readme = (out / "README.md").read_text()

    def no_scoring(*args, **kwargs):
        raise AssertionError("a recorded architecture was scored again")

    monkeypatch.setattr(study.evaluators, "create", no_scoring)
    study.main(argv)  # resumed: everything is recorded
    assert len((out / "scores.jsonl").read_text().splitlines()) == 4
    capsys.readouterr()
    study.main(["--part", "own", "--tables", "chain-mnist1d", "--proxies", "params,flops",
                "--report-only", "--out", str(out)])  # fmt: skip
    assert capsys.readouterr().out == first  # the same table, from the file alone
    assert (out / "README.md").read_text() == readme  # without --write: untouched
