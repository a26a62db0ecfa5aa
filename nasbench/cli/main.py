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
                      [--backend local|ray] [--address ADDR] [--journal-window S] [--quiet]
    nasbench report DIR [DIR ...] [--format md|csv|json] [--out FOLDER [--overwrite]]
                      [--at 10,50,100 | --pareto latency_ms | --rescore | --seeds-for PP]
    nasbench compare DIR_A DIR_B          (exit 0: identical records, 1: different)
    nasbench plot DIR [DIR ...] [--out FOLDER] [--formats png,pdf] [--overwrite]
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

from nasbench.cli.commands import (
    cmd_build_table,
    cmd_compare,
    cmd_describe,
    cmd_evaluate,
    cmd_plot,
    cmd_report,
    cmd_run,
    cmd_sample,
    cmd_spaces,
    cmd_strategies,
    cmd_surrogate_eval,
    cmd_surrogates,
)
from nasbench.cli.common import INTERRUPTED, Parser, one_line, os_error_text, plain_text
from nasbench.core.errors import NasbenchError
from nasbench.core.tasks import DATASET_TASKS
from nasbench.core.version import __version__

if TYPE_CHECKING:  # the space module imports torch: `nasbench --help` does not need it
    pass


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(prog="nasbench", description=plain_text(__doc__.split("\n\n")[0]))
    parser.add_argument("--version", action="version", version=f"nasbench {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=Parser)

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
    p.add_argument("--journal-window", type=float, default=1.0, metavar="S",
                   help="quick evaluations are journaled in groups at most S seconds old: the "
                   "most quick work a kill can lose (default 1; 0: each at once)")  # fmt: skip
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
    p.add_argument("--per-task", action="store_true",
                   help="one file per task for the regret, Pareto and sparsity figures "
                   "(regret-<task>.png), not one file with a panel per task")  # fmt: skip
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
        print(f"nasbench: error: {one_line(os_error_text(exc))}", file=sys.stderr)
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
