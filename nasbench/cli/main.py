"""The ``nasbench`` command line.

Every user error (unknown space, malformed architecture, bad option) prints one line on stderr
and exits with code 2; nothing is written before the input has been checked. The line echoes
input shortened (a quoted value longer than 80 characters ends in ``...``) and with control
characters escaped, so it stays one readable line. An OSError (a full disk, a read-only folder)
is one line and exit code 2 as well; Ctrl-C is one line (``nasbench: interrupted ...``) and exit
code 130 (128 + SIGINT, the shell's convention); a closed pipe (``nasbench sample ... | head``)
ends quietly with exit code 0. ``run`` leaves its results folder resumable after either (the
line says so): rerun with ``--resume``.

Besides the error line, stderr carries only progress (``run`` without ``--quiet``,
``build-table``), ``plot``'s skipped figures and lines that start with ``nasbench: note:``:
``--workers`` capped at the usable cores (``--force-workers`` starts them all), and after a
``run`` the runs that stopped at a cap of the suite (``max_evaluations``, or
``max_infeasible_streak`` infeasible proposals in a row: the note names the limit no architecture
met and the lowest value seen; :mod:`nasbench.engine.suite`). Every ``--json`` output is strict
JSON: NaN and infinities are written as ``null``.

Nothing is overwritten unasked: every command that writes files checks each file it would write
before writing any, and refuses (one line, exit code 2) when one exists, unless its flag says
otherwise: ``run`` writes a new results folder (``--resume`` continues one, rewriting only its
own summary files); ``report --out`` and ``plot`` take ``--overwrite``; ``build-table`` extends
only a table it wrote and replaces only that table's own datasheet (``--overwrite``: any ``.md``
there; :func:`nasbench.tables.tablebuild.check_datasheet`).

Reading is inert: ``report``, ``compare`` and ``plot`` run inside
:func:`nasbench.core.registry.inert`, so no name read from a results folder is imported unless it is
built in or an installed plugin.

    nasbench spaces [--json]
    nasbench strategies [--json]
    nasbench sample SPACE --n N --seed S [--param KEY=VALUE ...]
    nasbench describe SPACE [ARCH ...] [--stdin] [--dataset NAME | --input-shape C,L --classes K]
                      [--json] [--param KEY=VALUE ...]
    nasbench evaluate SPACE ARCH [--dataset mnist1d] [--mode train|low_fidelity|lce]
                      [--sparsity S] [--epochs E] [--seed S] [--latency-device D] [--json]
    nasbench build-table SPACE --n N [--sparsity 0,0.5,0.8] [--seeds K] [--epochs E]
                      [--dataset mnist1d] [--param KEY=VALUE ...] [--recipe KEY=VALUE ...]
                      [--latency-device cpu|none] [--workers W [--force-workers]]
                      --out FILE [--overwrite]
    nasbench surrogates [--json]
    nasbench surrogate-eval --benchmark NAME --surrogate NAME [--train-sizes 100,300,1000]
                      [--seeds 0,1,2] [--max-test N] [--param KEY=VALUE ...] [--json]
    nasbench run [CONFIG] [--out DIR] [--workers N [--force-workers]] [--resume]
                      [--backend local|ray] [--address ADDR] [--quiet]
    nasbench report DIR [DIR ...] [--format md|csv|json] [--out FOLDER [--overwrite]]
                      [--at 10,50,100 | --pareto latency_ms | --rescore | --seeds-for PP]
    nasbench compare DIR_A DIR_B          (exit 0: identical records, 1: different)
    nasbench plot DIR [DIR ...] [--out FOLDER] [--formats png,pdf] [--overwrite]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import sys
import time
import tomllib
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from nasbench.core.errors import NasbenchError
from nasbench.core.registry import inert, spaces
from nasbench.core.tasks import DATASET_TASKS, task_for
from nasbench.core.types import Task
from nasbench.core.version import __version__

if TYPE_CHECKING:  # the space module imports torch: `nasbench --help` does not need it
    from nasbench.core.space import SearchSpace

ECHO_MAX = 80
"""Characters of a quoted input value an error line shows (longer ones end in ``...``)."""
LINE_MAX = 2000
"""Characters an error line shows at most."""
INTERRUPTED = 130
"""Exit code after Ctrl-C: 128 + SIGINT, as shells report a command SIGINT ended."""


class Interrupted(KeyboardInterrupt):
    """Ctrl-C, with the line that says what was kept."""


def one_line(message: str) -> str:
    """``message`` as one short line: control characters escaped, quoted values longer than
    :data:`ECHO_MAX` characters cut (ending in ``...``), at most :data:`LINE_MAX` characters.

    >>> line = one_line("bad arch '" + "x" * 200 + "'" + chr(10) + "next")
    >>> len(line), line.count(chr(10)), line.endswith("...'" + chr(92) + "nnext")
    (97, 0, True)
    """

    def cut(match: re.Match[str]) -> str:
        quote, body = match.group(0)[0], match.group(0)[1:-1]
        return f"{quote}{body[: ECHO_MAX - 3]}...{quote}"

    longer = ECHO_MAX + 1
    text = re.sub(rf"'[^'\n]{{{longer},}}'|\"[^\"\n]{{{longer},}}\"", cut, message)
    text = re.sub(r"[\x00-\x1f\x7f]", lambda m: repr(m.group(0))[1:-1], text)
    return text if len(text) <= LINE_MAX else text[: LINE_MAX - 3] + "..."


def _os_error(exc: OSError) -> str:
    """An OSError as the user needs it: what failed, on which file."""
    what = exc.strerror or str(exc) or type(exc).__name__
    where = exc.filename
    return f"{what}: {where}" if where else what


def _strict(value: Any) -> Any:
    """``value`` with NaN and infinities as None, numpy scalars as Python numbers: what strict
    JSON can hold (``json.dumps`` alone writes a bare ``NaN``)."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _strict(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_strict(v) for v in value]
    return value


def dumps(value: Any, **options: Any) -> str:
    """Strict JSON of ``value`` (NaN and infinities as null); ``options`` go to ``json.dumps``."""
    return json.dumps(_strict(value), allow_nan=False, **options)


def _strict_text(text: str) -> str:
    """JSON text that may hold bare NaN or Infinity, as strict JSON (unchanged when strict)."""
    loose: list[str] = []

    def constant(name: str) -> float:
        loose.append(name)
        return math.nan

    value = json.loads(text, parse_constant=constant)
    if not loose:
        return text
    indent = 1 if text.lstrip()[:1] in "[{" and "\n " in text else None
    return dumps(value, indent=indent, sort_keys=indent is not None) + "\n"


def _ints(text: str, option: str, minimum: int, example: str, what: str) -> list[int]:
    """Comma-separated whole numbers >= ``minimum`` (NasbenchError naming ``option`` else)."""
    parts = [x.strip() for x in text.split(",")]
    if not all(re.fullmatch(r"\+?\d+", x) for x in parts) or min(map(int, parts)) < minimum:
        raise NasbenchError(
            f"{option} takes {what}: whole numbers >= {minimum} like {example}, got {text!r}"
        )
    return [int(x) for x in parts]


def _seed(value: int, option: str) -> int:
    if value < 0:
        raise NasbenchError(f"{option} must be >= 0, got {value}")
    return value


def _workers(requested: int, force: bool, notes: list[str]) -> int:
    """``--workers`` capped at the usable cores unless ``--force-workers`` (a note says so)."""
    from nasbench.engine.execute import cap_workers

    workers, note = cap_workers(requested, force)
    if note:
        notes.append(note)
    return workers


def _exists(path: Path) -> bool:
    """Whether ``path`` exists; False where even asking fails (a name too long)."""
    try:
        return path.exists()
    except OSError:
        return False


def _note(text: str) -> None:
    print(f"nasbench: note: {one_line(text)}", file=sys.stderr)


class _Parser(argparse.ArgumentParser):
    """argparse that reports errors as one line and exit code 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise NasbenchError(f"{self.prog}: {message}")


def _param(text: str) -> tuple[str, Any]:
    key, sep, raw = text.partition("=")
    if not sep or not key:
        raise NasbenchError(f"--param expects KEY=VALUE, got {text!r}")
    try:
        value = tomllib.loads(f"v = {raw}")["v"]
    except tomllib.TOMLDecodeError:
        value = raw  # a bare word is a string
    return key, tuple(value) if isinstance(value, list) else value


def _space(args: argparse.Namespace) -> SearchSpace:
    params = dict(_param(p) for p in args.param)
    space: SearchSpace = spaces.create(args.space, **params)
    return space


def _task(args: argparse.Namespace) -> Task:
    if args.input_shape is None:
        if args.classes is not None:
            raise NasbenchError("--classes goes with --input-shape")
        return task_for(args.dataset or "mnist1d")
    if args.dataset is not None:
        raise NasbenchError("give either --dataset or --input-shape, not both")
    try:
        shape = tuple(int(x) for x in args.input_shape.split(","))
    except ValueError:
        raise NasbenchError(
            f"--input-shape must be C,L or C,H,W, got {args.input_shape!r}"
        ) from None
    if args.classes is None:
        raise NasbenchError("--input-shape needs --classes K")
    return Task(shape, args.classes, "custom")


def cmd_spaces(args: argparse.Namespace) -> None:
    listed: list[tuple[str, SearchSpace]] = [(n, spaces.create(n)) for n in spaces.names()]
    if args.json:
        for name, space in listed:
            row = {
                "name": name,
                "cardinality": space.cardinality(),
                "decisions": len(space.decisions()),
                "choices": {d.name: list(d.choices) for d in space.decisions()},
                "encoding_size": space.encoding_size,
            }
            print(dumps(row))
        return
    print(f"{'space':<14}{'cardinality':>28}  {'decisions':>9}  first decisions")
    for name, space in listed:
        card = space.cardinality()
        shown = ", ".join(f"{d.name} ({len(d.choices)})" for d in space.decisions()[:3])
        size = "infinite" if card is None else f"{card:,}"
        print(f"{name:<14}{size:>28}  {len(space.decisions()):>9}  {shown}, ...")


def cmd_strategies(args: argparse.Namespace) -> None:
    from nasbench.core.params import hyperparameters
    from nasbench.core.registry import strategies

    for name in strategies.names():
        cls = strategies.get(name)
        hyper = hyperparameters(cls)  # the declarations (a plain class: __init__ and sources)
        paper = getattr(cls, "paper", "")
        if args.json:
            row = {"name": name, "paper": paper, "hyperparameters": hyper,
                   "initial_design": getattr(cls, "initial_design", "")}  # fmt: skip
            print(dumps(row, default=str))
            continue
        print(f"{name}  ({paper})")
        for hp in hyper:
            allowed = f" ({hp['range']})" if hp["range"] else ""
            print(f"  {hp['name']} = {hp['default']!r}{allowed}  -- {hp['source']}")
        if not hyper:
            print("  (no hyperparameters)")


def cmd_sample(args: argparse.Namespace) -> None:
    if args.n < 0:
        raise NasbenchError(f"--n must be >= 0, got {args.n}")
    _seed(args.seed, "--seed")
    space = _space(args)
    rng = np.random.default_rng(args.seed)
    write = sys.stdout.write
    for _ in range(args.n):  # streamed: `| head -1` reads the first line at once
        write(space.sample(rng).text + "\n")


def cmd_describe(args: argparse.Namespace) -> None:
    space = _space(args)
    task = _task(args)
    texts = list(args.archs)
    if args.stdin:
        texts += [line.strip() for line in sys.stdin if line.strip()]
    if not texts:
        raise NasbenchError("describe needs architecture strings (arguments or --stdin)")
    archs = [space.parse(t) for t in texts]  # all checked before anything is printed
    for arch in archs:
        counts = space.counts(arch, task)
        row = {
            "space": space.name,
            "arch": arch.text,
            "canonical": space.canonicalize(arch).text,
            "key": arch.key,
            "task": task.name,
            "input_shape": list(task.input_shape),
            "classes": task.num_classes,
            "params": counts.params,
            "macs": counts.macs,
        }
        if args.json:
            print(dumps(row))
        else:
            print(
                f"{arch.text}\n  params {counts.params:,}  macs {counts.macs:,}  "
                f"canonical {row['canonical']}"
            )


def cmd_evaluate(args: argparse.Namespace) -> None:
    import math

    from nasbench.core.registry import evaluators
    from nasbench.core.seeding import role_rng

    _seed(args.seed, "--seed")
    space = _space(args)
    arch = space.parse(args.arch)
    params: dict[str, object] = {"dataset": args.dataset, "epochs": args.epochs,
                                 "sparsity": args.sparsity, "data_root": args.data_root,
                                 "latency_device": args.latency_device}  # fmt: skip
    if args.mode == "low_fidelity":
        params["data_fraction"] = args.data_fraction
        params["resolution"] = args.resolution
    evaluator = evaluators.create(args.mode, space=space, **params)
    m = evaluator.evaluate(arch, float(args.epochs), role_rng(args.seed, "evaluate"))
    row: dict[str, object] = {
        "arch": arch.text, "mode": args.mode, "dataset": args.dataset, "epochs": args.epochs,
        "status": str(m.status), "val_acc": m.val_acc, "test_acc": m.test_acc,
        "sparsity": m.sparsity, "params": m.params, "nonzero_params": m.nonzero_params,
        "macs": m.macs, "effective_macs": m.effective_macs, "latency_ms": m.latency_ms,
        "cost_s": m.cost_s, "curve": list(m.curve),
    }  # fmt: skip
    extra = dict(m.extra)
    if args.mode == "lce":
        row["predicted_final_acc"] = extra.get("lce_pred_mean", math.nan)
        row["predicted_final_std"] = extra.get("lce_pred_std", math.nan)
        row["epochs_trained"] = extra.get("lce_epochs", math.nan)
    if args.json:
        print(dumps(row))
    else:
        for key, value in row.items():
            print(f"{key:>20}: {value}")


def _floats(text: str, option: str) -> list[float]:
    try:
        return [float(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise NasbenchError(f"{option} takes numbers like 0,0.5,0.8, got {text!r}") from None


def cmd_build_table(args: argparse.Namespace) -> None:
    from nasbench.engine.execute import stderr_progress
    from nasbench.engine.records import write_new
    from nasbench.tables.tablebuild import (
        TableSpec,
        build_table,
        check_datasheet,
        datasheet,
        datasheet_path,
    )

    _seed(args.sample_seed, "--sample-seed")
    notes: list[str] = []
    workers = _workers(args.workers, args.force_workers, notes)
    params = dict(_param(p) for p in args.param)
    spec = TableSpec(
        space=args.space,
        space_params={k: list(v) if isinstance(v, tuple) else v for k, v in params.items()},
        dataset=args.dataset,
        epochs=args.epochs,
        recipe=dict(_param(p) for p in args.recipe),
        latency_device=None if args.latency_device == "none" else args.latency_device,
        sample_seed=args.sample_seed,
    )
    out = Path(args.out)
    if out.suffix != ".parquet":
        raise NasbenchError(f"--out must name a .parquet file, got {args.out!r}")
    start = time.perf_counter()
    levels = _floats(args.sparsity, "--sparsity")
    replace = check_datasheet(out, args.overwrite)  # before anything is trained or written
    runs = build_table(spec, out, n=args.n, sparsities=levels, seeds=args.seeds,
                       workers=workers, progress=stderr_progress)  # fmt: skip
    sheet = datasheet_path(out)
    write_new(sheet, datasheet(out), replace)
    print(f"{runs} runs in {out} ({time.perf_counter() - start:.1f} s wall); datasheet {sheet}")
    for note in notes:
        _note(note)


def cmd_surrogates(args: argparse.Namespace) -> None:
    from nasbench.core.registry import constructor_params, surrogates

    for name in surrogates.names():
        cls = surrogates.get(name)
        params = {k: v for k, v in constructor_params(cls).items()}
        kind = str(getattr(cls, "input_kind", "vector"))
        doc = (cls.__doc__ or "").strip().splitlines()[0] if cls.__doc__ else ""
        if args.json:
            print(dumps({"name": name, "input": kind, "params": params, "doc": doc},
                        default=repr))  # fmt: skip
        else:
            shown = ", ".join(f"{k}={v!r}" for k, v in params.items())
            print(f"{name:<18} {kind:<7} {doc}\n{'':<26}{shown}")


def cmd_surrogate_eval(args: argparse.Namespace) -> None:
    from dataclasses import asdict

    from nasbench.core.registry import surrogates
    from nasbench.tables.benchmarks import load_benchmark
    from nasbench.tables.surrogate_benchmark import quality, table_data

    surrogates.get(args.surrogate)
    sizes = _ints(
        args.train_sizes, "--train-sizes", 1, "100,300,1000", "train sizes (architectures)"
    )
    seeds = _ints(args.seeds, "--seeds", 0, "0,1,2", "split seeds")
    params = dict(_param(p) for p in args.param)
    data = table_data(load_benchmark(args.benchmark))
    rows = [asdict(quality(data, args.surrogate, params, n, seed, args.max_test))
            for n in sizes for seed in seeds]  # fmt: skip
    if args.json:
        print(dumps(rows))
        return
    print("| train archs | seed | Kendall | Kendall, best fifth | Spearman | R2 | cov 68% | "
          "cov 95% | fit s | pred/s |")  # fmt: skip
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for r in rows:
        print(f"| {r['train_archs']} | {r['seed']} | {r['kendall']:.3f} | "
              f"{r['kendall_top']:.3f} | {r['spearman']:.3f} | "
              f"{r['r2']:.3f} | {r['coverage_68']:.3f} | {r['coverage_95']:.3f} | "
              f"{r['fit_s']:.2f} | {r['predictions_per_s']:.0f} |")  # fmt: skip


DEFAULT_SUITE = Path(__file__).parents[1] / "suites" / "default.toml"


def cmd_run(args: argparse.Namespace) -> None:
    from nasbench.engine.execute import default_workers, run_suite, stop_notes
    from nasbench.engine.progress import Progress
    from nasbench.engine.suite import load_suite

    suite, text = load_suite(args.config or DEFAULT_SUITE)
    out = Path(args.out) if args.out else Path("results") / suite.name
    notes: list[str] = []
    workers = default_workers() if args.workers is None else args.workers  # 0 is an error
    if args.address is None:  # a cluster's CPUs set its parallelism, not this machine's
        workers = _workers(workers, args.force_workers, notes)
    existed = _exists(out)
    start = time.perf_counter()
    progress = None if args.quiet else Progress(sys.stderr)  # stdout stays the table
    try:
        run_suite(suite, text, out, workers=workers, resume=args.resume, progress=progress,
                  backend=args.backend, address=args.address)  # fmt: skip
    except KeyboardInterrupt:
        kept = _exists(out) and (args.resume or not existed)
        raise Interrupted(f"interrupted; {out} is kept: rerun with --resume to continue it"
                          if kept else "interrupted") from None  # fmt: skip
    except OSError as exc:
        if not (_exists(out) and (args.resume or not existed)):
            raise
        raise NasbenchError(f"{_os_error(exc)}; {out} is kept: fix that, then rerun with "
                            "--resume to continue it") from None  # fmt: skip
    from nasbench.analysis.results import write_results

    if not args.quiet:  # the statistics of a large suite take a while: say so
        print(f"summarising {len(suite.runs())} runs (tables, statistics) ...", file=sys.stderr,
              flush=True)  # fmt: skip
    write_results(out)
    wall = time.perf_counter() - start
    if args.json:
        summary = json.loads((out / "summary.json").read_text())
        print(dumps({"folder": str(out), "runs": len(suite.runs()), "wall_s": round(wall, 1),
                     "workers": workers, "backend": str(args.backend),
                     "summary": summary}))  # fmt: skip
    else:
        print((out / "summary.md").read_text().rstrip())  # the table, then each task's power
        print(f"\n{len(suite.runs())} runs in {out} ({wall:.1f} s wall, {workers} workers, "
              f"{args.backend} backend)")  # fmt: skip
    for note in notes + stop_notes(out, suite):
        _note(note)


def cmd_report(args: argparse.Namespace) -> None:
    with inert():  # nothing a results folder names is imported
        _report(args)


def _report(args: argparse.Namespace) -> None:
    from nasbench.analysis import report, stats_format
    from nasbench.analysis.stats import build_report
    from nasbench.engine.records import check_new, write_new

    folders = [Path(d) for d in args.dirs]
    fmt = args.format or ("json" if args.json else "md")
    if args.json and fmt != "json":
        raise NasbenchError(f"--json means --format json, not --format {fmt}")
    if args.overwrite and not args.out:
        raise NasbenchError("--overwrite goes with --out (without it nothing is written)")
    if args.seeds_for is not None:  # how many seeds a suite needs to resolve a difference
        if not 0 < args.seeds_for < 100:  # NaN fails the comparison too
            raise NasbenchError(f"--seeds-for takes points in (0, 100), got {args.seeds_for}")
        from nasbench.analysis.stats import final_scores

        print(stats_format.seeds_markdown(final_scores(folders), args.seeds_for / 100))
        return
    if args.rescore:  # issue 21: the final incumbents scored by the table's other surrogate
        if args.at or args.pareto:
            raise NasbenchError("--rescore goes alone, not with --at or --pareto")
        from nasbench.analysis.rescore import print_rescore

        print_rescore(folders, fmt, Path(args.out) if args.out else None, args.overwrite)
        return
    if args.at is not None:  # no incumbent exists after 0 evaluations
        at = _ints(args.at, "--at", 1, "10,50,100", "evaluation counts")
        rows = report.anytime(folders, at)
        files = report.rows_files("anytime", rows, fmt, report.format_anytime(rows))
    elif args.pareto:
        prows = report.pareto(folders, args.pareto)
        files = report.rows_files("pareto", prows, fmt, report.format_pareto(prows))
    else:
        # Markdown ends with each folder's overshoot rule and dependency versions
        files = stats_format.stats_files(build_report(folders), fmt, folders)
    files = {n: _strict_text(t) if n.endswith(".json") else t for n, t in files.items()}
    if args.out:
        out = Path(args.out)
        if out.exists() and not out.is_dir():
            raise NasbenchError(f"--out {out} is a file, not a folder")
        check_new([out / name for name in files], args.overwrite)  # all, before writing any
        out.mkdir(parents=True, exist_ok=True)
        for name, text in files.items():
            write_new(out / name, text, args.overwrite)
            print(out / name)
        return
    for name, text in files.items():  # several CSV tables: each after a '# name' line
        sys.stdout.write(f"# {name}\n{text}\n" if len(files) > 1 else text)


def cmd_plot(args: argparse.Namespace) -> None:
    import logging

    from nasbench.analysis import plots

    formats = [f.strip() for f in args.formats.split(",") if f.strip()]
    plots.check_formats(formats)
    folders = [Path(d) for d in args.dirs]
    out = Path(args.out) if args.out else folders[0] / "plots"
    notes = logging.StreamHandler(sys.stderr)  # skipped figures, as one line each
    notes.setFormatter(logging.Formatter("note: %(message)s"))
    logger, level = plots.log, plots.log.level
    logger.addHandler(notes)
    logger.setLevel(logging.INFO)
    try:
        with inert():  # nothing a results folder names is imported
            files = plots.plot_all(folders, out, formats, overwrite=args.overwrite)
    finally:
        logger.removeHandler(notes)
        logger.setLevel(level)
    for path in files:
        print(path)


def cmd_compare(args: argparse.Namespace) -> int:
    from nasbench.analysis.report import compare

    with inert():  # nothing a results folder names is imported
        diffs = compare(Path(args.a), Path(args.b))
    n = len(list((Path(args.a) / "runs").glob("*.parquet")))
    if args.json:
        print(dumps({"identical": not diffs, "runs": n, "a": str(args.a), "b": str(args.b),
                     "differences": diffs}))  # fmt: skip
        return 1 if diffs else 0
    for line in diffs:
        print(line)
    print(f"{'identical' if not diffs else 'different'}: {n} runs in {args.a} vs {args.b} "
          "(all columns but *_wall_s)")  # fmt: skip
    return 1 if diffs else 0


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="nasbench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--version", action="version", version=f"nasbench {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    p = sub.add_parser("spaces", help="list the registered search spaces")
    p.add_argument("--json", action="store_true", help="one JSON object per space")
    p.set_defaults(func=cmd_spaces)

    def space_args(p: argparse.ArgumentParser) -> None:
        p.add_argument("space", help="a registered space (see `nasbench spaces`) or module:Class")
        p.add_argument(
            "--param",
            action="append",
            default=[],
            metavar="KEY=VALUE",
            help="space constructor parameter, TOML value (repeatable)",
        )

    p = sub.add_parser("strategies", help="list strategies, hyperparameters and their sources")
    p.add_argument("--json", action="store_true", help="one JSON object per strategy")
    p.set_defaults(func=cmd_strategies)

    p = sub.add_parser("sample", help="sample architectures, one string per line")
    space_args(p)
    p.add_argument("--n", type=int, default=10)
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(func=cmd_sample)

    p = sub.add_parser("describe", help="parameters, MACs and canonical form of architectures")
    space_args(p)
    p.add_argument("archs", nargs="*", metavar="ARCH")
    p.add_argument("--stdin", action="store_true", help="read architecture strings, one a line")
    p.add_argument(
        "--dataset",
        choices=sorted(DATASET_TASKS),
        default=None,
        help="task shape by dataset name (default mnist1d)",
    )
    p.add_argument("--input-shape", default=None, metavar="C,L|C,H,W")
    p.add_argument("--classes", type=int, default=None)
    p.add_argument("--json", action="store_true", help="one JSON object per architecture")
    p.set_defaults(func=cmd_describe)

    p = sub.add_parser("evaluate", help="train one architecture and measure it")
    space_args(p)
    p.add_argument("arch", metavar="ARCH")
    p.add_argument("--dataset", default="mnist1d")
    p.add_argument("--mode", choices=["train", "low_fidelity", "lce"], default="train")
    p.add_argument("--epochs", type=int, default=20)
    p.add_argument("--sparsity", type=float, default=0.0, help="target weight sparsity [0, 1)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--latency-device", default=None, help="cpu, lut:cpu, or an nb201 device")
    p.add_argument("--data-root", default=None, help="folder with the dataset's files")
    p.add_argument("--data-fraction", type=float, default=1.0, help="low_fidelity only")
    p.add_argument("--resolution", type=int, default=1, help="low_fidelity only")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_evaluate)

    p = sub.add_parser("build-table", help="train sampled architectures into a benchmark table")
    space_args(p)
    p.add_argument("--n", type=int, required=True, help="architectures (first N samples)")
    p.add_argument("--sparsity", default="0,0.5,0.8", help="target sparsity levels")
    p.add_argument("--seeds", type=int, default=1, help="training seeds 0..K-1 per architecture")
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--dataset", default="mnist1d")
    p.add_argument("--recipe", action="append", default=[], metavar="KEY=VALUE",
                   help="training recipe entry, TOML value (repeatable)")  # fmt: skip
    p.add_argument("--latency-device", default="cpu", help="cpu (measured), lut:cpu or none")
    p.add_argument("--sample-seed", type=int, default=0, help="which uniform samples")
    p.add_argument("--workers", type=int, default=1,
                   help="parallel processes (at most the usable cores)")  # fmt: skip
    p.add_argument("--force-workers", action="store_true",
                   help="start --workers processes even beyond the usable cores")  # fmt: skip
    p.add_argument("--out", required=True, help="the table file (.parquet); extended if present")
    p.add_argument("--overwrite", action="store_true", help="replace an existing .md beside it "
                   "that is not this table's own datasheet")  # fmt: skip
    p.set_defaults(func=cmd_build_table)

    p = sub.add_parser("surrogates", help="list the registered surrogates")
    p.add_argument("--json", action="store_true", help="one JSON object per surrogate")
    p.set_defaults(func=cmd_surrogates)

    p = sub.add_parser("surrogate-eval", help="surrogate quality on held-out architectures")
    p.add_argument("--benchmark", default="nb201-cifar10", help="table name or .parquet path")
    p.add_argument("--surrogate", required=True, help="a registered surrogate")
    p.add_argument("--param", action="append", default=[], metavar="KEY=VALUE",
                   help="surrogate constructor parameter, TOML value (repeatable)")  # fmt: skip
    p.add_argument("--train-sizes", default="100,300,1000", help="training architectures")
    p.add_argument("--seeds", default="0", help="split seeds, e.g. 0,1,2")
    p.add_argument("--max-test", type=int, default=None, help="cap on held-out rows")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_surrogate_eval)

    p = sub.add_parser("run", help="run a suite (default: the shipped default suite)")
    p.add_argument("config", nargs="?", help="suite TOML file (default: the shipped default suite)")
    p.add_argument("--out", help="results folder (default: results/<suite name>)")
    p.add_argument("--workers", type=int, default=None,
                   help="parallel processes (default: up to 4, at most the cores)")  # fmt: skip
    p.add_argument("--force-workers", action="store_true",
                   help="start --workers processes even beyond the usable cores")  # fmt: skip
    p.add_argument("--resume", action="store_true", help="continue an existing results folder")
    p.add_argument("--backend", choices=["local", "ray"], default="local",
                   help="local processes, or Ray tasks (pip install 'nasbench[ray]')")  # fmt: skip
    p.add_argument("--address", help="with --backend ray: the cluster (default: a new local "
                   "Ray instance of --workers CPUs)")  # fmt: skip
    p.add_argument("--quiet", action="store_true", help="no progress on stderr")
    p.add_argument("--json", action="store_true", help="print one JSON object (the folder, "
                   "runs, wall time and the summary rows) instead of the tables")  # fmt: skip
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("report", help="summary table and statistics from results folders")
    p.add_argument("dirs", nargs="+", metavar="DIR", help="results folders (results/<suite>)")
    p.add_argument("--format", choices=["md", "csv", "json"], default=None,
                   help="Markdown (default), CSV (a file a table) or one JSON object")  # fmt: skip
    p.add_argument("--out", metavar="FOLDER", help="write the files there instead of stdout")
    p.add_argument("--overwrite", action="store_true",
                   help="with --out: replace files already there (default: refuse)")  # fmt: skip
    p.add_argument("--json", action="store_true", help="same as --format json")
    p.add_argument("--at", metavar="N,N,...", help="mean incumbent after N evaluations instead")
    p.add_argument(
        "--pareto",
        metavar="COST",
        choices=["latency_ms", "params_m", "macs_m"],
        help="Pareto fronts and hypervolume of val acc against COST instead",
    )
    p.add_argument(
        "--seeds-for",
        type=float,
        metavar="PP",
        help="per task, the seeds needed to "
        "detect a difference of PP accuracy points, from the observed paired spread",
    )
    p.add_argument("--rescore", action="store_true", help="final incumbents re-scored by the "
                   "table's other surrogate instead (Markdown; --out: rescore.md)")  # fmt: skip
    p.set_defaults(func=cmd_report)

    p = sub.add_parser("plot", help="figures (PNG, PDF) rebuilt from results folders")
    p.add_argument("dirs", nargs="+", metavar="DIR", help="results folders (results/<suite>)")
    p.add_argument("--out", help="folder for the figures (default: the first DIR's plots/)")
    p.add_argument("--formats", default="png,pdf", help="comma-separated: png, pdf, svg")
    p.add_argument("--overwrite", action="store_true",
                   help="replace figures already in the folder (default: refuse)")  # fmt: skip
    p.set_defaults(func=cmd_plot)

    p = sub.add_parser("compare", help="check two results folders hold identical records")
    p.add_argument("a")
    p.add_argument("b")
    p.add_argument("--json", action="store_true", help="one JSON object: identical, runs, "
                   "differences")  # fmt: skip
    p.set_defaults(func=cmd_compare)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)
        code = args.func(args)
    except NasbenchError as exc:
        print(f"nasbench: error: {one_line(str(exc))}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # e.g. `nasbench sample ... | head`: ends quietly
        _drop_stdout()
        return 0
    except OSError as exc:  # a full disk, a read-only folder: one line too
        print(f"nasbench: error: {one_line(_os_error(exc))}", file=sys.stderr)
        return 2
    except KeyboardInterrupt as exc:  # Ctrl-C
        print(f"nasbench: {one_line(str(exc) or 'interrupted')}", file=sys.stderr)
        return INTERRUPTED
    return int(code or 0)


def _drop_stdout() -> None:
    """Point stdout at /dev/null: what is still buffered for a closed pipe is dropped at exit
    instead of raising BrokenPipeError again (and printing a warning)."""
    try:
        fd = sys.stdout.fileno()
    except (AttributeError, OSError, ValueError):
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, fd)
    os.close(devnull)


if __name__ == "__main__":
    sys.exit(main())
