"""The ``nasbench`` subcommands, one ``cmd_*`` function each (see :mod:`nasbench.cli.main` for
the command line and its parser)."""

from __future__ import annotations

import argparse
import gc
import json
import math
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from nasbench.cli.common import (
    Interrupted,
    capped_workers,
    check_seed,
    dumps,
    os_error_text,
    parse_ints,
    parse_param,
    path_exists,
    plain_text,
    print_note,
    space_from,
    strict_text,
    task_from,
)
from nasbench.core.errors import NasbenchError
from nasbench.core.registry import inert, spaces

if TYPE_CHECKING:  # the space module imports torch: `nasbench --help` does not need it
    from nasbench.core.space import SearchSpace
    from nasbench.engine.suite import Suite


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
    check_seed(args.seed, "--seed")
    space = space_from(args)
    rng = np.random.default_rng(args.seed)
    write = sys.stdout.write
    for _ in range(args.n):  # streamed: `| head -1` reads the first line at once
        write(space.sample(rng).text + "\n")


def cmd_describe(args: argparse.Namespace) -> None:
    space = space_from(args)
    task = task_from(args)
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

    from nasbench.core.registry import evaluators
    from nasbench.core.seeding import role_rng

    check_seed(args.seed, "--seed")
    space = space_from(args)
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

    check_seed(args.sample_seed, "--sample-seed")
    notes: list[str] = []
    workers = capped_workers(args.workers, args.force_workers, notes)
    params = dict(parse_param(p) for p in args.param)
    spec = TableSpec(
        space=args.space,
        space_params={k: list(v) if isinstance(v, tuple) else v for k, v in params.items()},
        dataset=args.dataset,
        epochs=args.epochs,
        recipe=dict(parse_param(p) for p in args.recipe),
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
        print_note(note)


def cmd_surrogates(args: argparse.Namespace) -> None:
    from nasbench.core.registry import constructor_params, surrogates

    for name in surrogates.names():
        cls = surrogates.get(name)
        params = {k: v for k, v in constructor_params(cls).items()}
        kind = str(getattr(cls, "input_kind", "vector"))
        doc = plain_text((cls.__doc__ or "").strip().splitlines()[0]) if cls.__doc__ else ""
        if args.json:
            print(dumps({"name": name, "input": kind, "params": params, "doc": doc},
                        default=repr))  # fmt: skip
        else:
            shown = ", ".join(f"{k}={v!r}" for k, v in params.items())
            print(f"{name:<18} {kind:<7} {doc}\n{'':<26}{shown}")


def cmd_surrogate_eval(args: argparse.Namespace) -> None:
    from dataclasses import asdict

    from nasbench.core.registry import surrogates
    from nasbench.tables.surrogate_benchmark import score_surrogate

    surrogates.get(args.surrogate)
    sizes = parse_ints(
        args.train_sizes, "--train-sizes", 1, "100,300,1000", "train sizes (architectures)"
    )
    seeds = parse_ints(args.seeds, "--seeds", 0, "0,1,2", "split seeds")
    params = dict(parse_param(p) for p in args.param)
    found = score_surrogate(args.surrogate, args.benchmark, params, sizes, seeds, args.max_test)
    rows = [asdict(q) for q in found]
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
    from nasbench.engine.suite import load_suite
    from nasbench.training.workers import tune_gc

    suite, text = load_suite(args.config or DEFAULT_SUITE)
    out = Path(args.out) if args.out else Path("results") / suite.name
    gc_before = tune_gc()  # this process runs the runs (one worker) and holds their records
    try:
        _run(args, suite, text, out)
    finally:
        gc.set_threshold(*gc_before)  # main() called from Python leaves the setting as it was


def _run(args: argparse.Namespace, suite: Suite, text: str, out: Path) -> None:
    from nasbench.engine.execute import default_workers, run_suite, stop_notes
    from nasbench.engine.progress import Progress

    notes: list[str] = []
    workers = default_workers() if args.workers is None else args.workers  # 0 is an error
    if args.address is None:  # a cluster's CPUs set its parallelism, not this machine's
        workers = capped_workers(workers, args.force_workers, notes)
    existed = path_exists(out)
    start = time.perf_counter()
    progress = None if args.quiet else Progress(sys.stderr)  # stdout stays the table
    try:
        run_suite(suite, text, out, workers=workers, resume=args.resume, progress=progress,
                  backend=args.backend, address=args.address,
                  journal_window_s=args.journal_window)  # fmt: skip
    except KeyboardInterrupt:
        kept = path_exists(out) and (args.resume or not existed)
        raise Interrupted(f"interrupted; {out} is kept: rerun with --resume to continue it"
                          if kept else "interrupted") from None  # fmt: skip
    except OSError as exc:
        if not (path_exists(out) and (args.resume or not existed)):
            raise
        raise NasbenchError(f"{os_error_text(exc)}; {out} is kept: fix that, then rerun with "
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
        print(f"\n{len(suite.runs())} runs in {out} ({wall:.1f} s wall, {workers} "
              f"worker{'s' if workers != 1 else ''}, {args.backend} backend)")  # fmt: skip
    for note in notes + stop_notes(out, suite):
        print_note(note)


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
        at = parse_ints(args.at, "--at", 1, "10,50,100", "evaluation counts")
        rows = report.anytime(folders, at)
        files = report.rows_files("anytime", rows, fmt, report.format_anytime(rows))
    elif args.pareto:
        prows = report.pareto(folders, args.pareto)
        files = report.rows_files("pareto", prows, fmt, report.format_pareto(prows))
    else:
        # Markdown ends with each folder's overshoot rule and dependency versions
        files = stats_format.stats_files(build_report(folders), fmt, folders)
    files = {n: strict_text(t) if n.endswith(".json") else t for n, t in files.items()}
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
            files = plots.plot_all(folders, out, formats, overwrite=args.overwrite,
                                   per_task=args.per_task)  # fmt: skip
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
