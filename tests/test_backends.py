"""The Ray backend against the local one: the same records, the same failure report, resume."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

from nasbench.analysis.report import compare
from nasbench.cli.main import main
from nasbench.core.errors import NasbenchError
from nasbench.core.types import Proposal
from nasbench.engine.execute import RAY_MISSING, _ray_run, run_suite
from nasbench.engine.journal import read_journal
from nasbench.engine.records import read_run
from nasbench.engine.suite import parse_suite
from nasbench.strategies.random import RandomSearch
from tests.suites import nb201_suite

SUITE = (
    nb201_suite("backends", evaluations=30)
    + """[[strategy]]
name = "tests.test_backends:Flaky"
label = "flaky"
flag = "{flag}"
"""
)
FAILED = "flaky: the flag file is there at the 6th proposal"


class Flaky(RandomSearch):
    """Random search that raises NasbenchError at its 6th proposal while the file ``flag``
    exists (a Ray worker sees the file too; a monkeypatch would not reach it)."""

    def __init__(self, flag: str = "") -> None:
        super().__init__()
        self.flag = flag

    def ask(self, n: int = 1) -> list[Proposal]:
        if self.asked_ == 5 and self.flag and Path(self.flag).exists():
            raise NasbenchError(FAILED)
        return super().ask(n)


def journals(folder: Path, *fields: str) -> dict[str, list[tuple[Any, ...]]]:
    """Each journal's evaluations, as the record ``fields`` of each."""
    return {
        path.stem: [tuple(e["record"][f] for f in fields) for e in read_journal(path)[1:]]
        for path in sorted((folder / "runs").glob("*.journal"))
    }


@pytest.mark.slow  # CI runs it (.ci/run: pytest -m slow)
def test_ray_gives_the_local_records_failures_and_resume(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # the ray extra (pip install -e '.[ray]'); .ci/run installs it, so CI runs this test
    ray = pytest.importorskip("ray")

    flag, config = tmp_path / "fail", tmp_path / "s.toml"
    config.write_text(SUITE.format(flag=flag))
    flag.touch()
    expected = f"nasbench: error: {FAILED}\n"
    folders = {"local": tmp_path / "local", "ray": tmp_path / "ray"}
    for backend, out in folders.items():
        args = ["run", str(config), "--out", str(out), "--backend", backend, "--quiet"]
        assert main([*args, "--workers", "2"]) == 2  # both seeds of flaky fail
        assert capsys.readouterr().err == expected
        assert not ray.is_initialized()  # the local instance was shut down
        names = sorted(p.name for p in (out / "runs").iterdir())  # no marker file is left
        assert len(names) == 6 and names[:2] == [f"nb__flaky__seed{k}.journal" for k in (0, 1)]
    assert compare(folders["local"], folders["ray"]) == []  # the four runs that finished
    left = journals(folders["ray"], "trial", "arch", "cum_cost_s")
    assert left == journals(folders["local"], "trial", "arch", "cum_cost_s")
    assert [[t for t, _, _ in v] for v in left.values()] == [[0, 1, 2, 3, 4]] * 2
    walls = {backend: journals(out, "eval_wall_s") for backend, out in folders.items()}

    flag.unlink()
    for backend, out in folders.items():
        args = ["run", str(config), "--out", str(out), "--backend", backend, "--resume"]
        assert main([*args, "--workers", "1", "--quiet"]) == 0
        names = sorted(p.name for p in (out / "runs").iterdir())
        assert names[:2] == [f"nb__flaky__seed{k}.parquet" for k in (0, 1)] and len(names) == 6
        for run_id, journaled in walls[backend].items():  # replayed, not evaluated again
            table, meta = read_run(out / "runs" / f"{run_id}.parquet")
            measured = table.column("eval_wall_s").to_pylist()
            assert meta.trials == 30 and [(w,) for w in measured[:5]] == journaled
    assert compare(folders["local"], folders["ray"]) == []


def test_a_ray_task_journals_only_into_a_folder_it_sees(tmp_path: Path) -> None:
    """Where the driver's marker file is missing (another machine), the run goes without a
    journal; where it is there, the run journals into the folder and leaves the journal for
    the driver to delete after the record file."""
    text = SUITE.format(flag=tmp_path / "no-flag")
    spec = parse_suite(text).specs()[0]
    runs = tmp_path / "runs"
    runs.mkdir()
    record = str(runs / f"{spec.run_id(0)}.parquet")
    alone = _ray_run(spec, 0, record, ".ray-driver-0123")
    assert len(alone.records) == 30 and not list(runs.iterdir())
    (runs / ".ray-driver-0123").write_text(".ray-driver-0123")
    shared = _ray_run(spec, 0, record, ".ray-driver-0123")
    lines = read_journal(runs / f"{spec.run_id(0)}.journal")
    assert len(lines) == 31 and lines[0]["run"] == "nb__random__seed0"
    assert [e["record"]["arch"] for e in lines[1:]] == [r.arch for r in shared.records]
    assert [r.arch for r in shared.records] == [r.arch for r in alone.records]


def test_missing_ray_is_one_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` raises ImportError
    config, out = tmp_path / "s.toml", tmp_path / "out"
    config.write_text(SUITE.format(flag=""))
    assert main(["run", str(config), "--out", str(out), "--backend", "ray"]) == 2
    assert capsys.readouterr().err == f"nasbench: error: {RAY_MISSING}\n"
    assert RAY_MISSING == "the ray backend needs ray: pip install 'nasbench[ray]'"
    assert not out.exists()  # nothing written


def test_backend_arguments_are_checked(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    suite, out = parse_suite(SUITE.format(flag="")), tmp_path / "out"
    with pytest.raises(NasbenchError, match=r"unknown backend 'dask' \(valid: local, ray\)"):
        run_suite(suite, "", out, backend="dask")
    with pytest.raises(NasbenchError, match="--address ray://x:10001 needs --backend ray"):
        run_suite(suite, "", out, address="ray://x:10001")
    assert main(["run", "--backend", "dask", "--out", str(out)]) == 2
    assert "unknown --backend 'dask' (valid: local, ray)" in capsys.readouterr().err
    assert not out.exists()
