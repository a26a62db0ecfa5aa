"""Shared pieces of the ``nasbench`` command: one-line errors, strict JSON, argument parsing
helpers (see :mod:`nasbench.cli.main`)."""

from __future__ import annotations

import argparse
import json
import math
import re
import sys
import tomllib
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from nasbench.core.errors import NasbenchError, one_of
from nasbench.core.registry import spaces
from nasbench.core.tasks import task_for
from nasbench.core.types import Task

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
    >>> prose = " and a long explanation that must stay whole" * 2
    >>> one_line("sampler 'a'" + prose + " (use 'tpe')") == "sampler 'a'" + prose + " (use 'tpe')"
    True
    """

    def cut(match: re.Match[str]) -> str:
        quote, body = match.group(0)[0], match.group(0)[1:-1]
        if len(body) <= ECHO_MAX:
            return match.group(0)
        return f"{quote}{body[: ECHO_MAX - 3]}...{quote}"

    # every quoted value, short ones included, so quotes pair up from the left (the prose
    # between two values is never taken for one); a quote inside a word ("can't") is neither
    text = re.sub(r"(?<!\w)'[^'\n]*'(?!\w)|(?<!\w)\"[^\"\n]*\"(?!\w)", cut, message)
    text = re.sub(r"[\x00-\x1f\x7f]", lambda m: repr(m.group(0))[1:-1], text)
    return text if len(text) <= LINE_MAX else text[: LINE_MAX - 3] + "..."


def plain_text(text: str) -> str:
    """A docstring line as plain text for the terminal: reStructuredText roles and literals
    unwrapped (``:class:`~a.b.Name``` -> ``Name``, double backquotes dropped).

    >>> plain_text("over :class:`GraphInput` and :func:`~nasbench.run` with ``x``")
    'over GraphInput and run with x'
    """

    def role(match: re.Match[str]) -> str:
        target = match.group(1)
        return target.rsplit(".", 1)[-1] if target.startswith("~") else target

    return re.sub(r":[a-z]+:`([^`]*)`", role, text).replace("``", "")


def os_error_text(exc: OSError) -> str:
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


def strict_text(text: str) -> str:
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


def parse_ints(text: str, option: str, minimum: int, example: str, what: str) -> list[int]:
    """Comma-separated whole numbers >= ``minimum`` (NasbenchError naming ``option`` else)."""
    parts = [x.strip() for x in text.split(",")]
    if not all(re.fullmatch(r"\+?\d+", x) for x in parts) or min(map(int, parts)) < minimum:
        raise NasbenchError(
            f"{option} takes {what}: whole numbers >= {minimum} like {example}, got {text!r}"
        )
    return [int(x) for x in parts]


def check_seed(value: int, option: str) -> int:
    if value < 0:
        raise NasbenchError(f"{option} must be >= 0, got {value}")
    return value


def capped_workers(requested: int, force: bool, notes: list[str]) -> int:
    """``--workers`` capped at the usable cores unless ``--force-workers`` (a note says so)."""
    from nasbench.engine.execute import cap_workers

    workers, note = cap_workers(requested, force)
    if note:
        notes.append(note)
    return workers


def path_exists(path: Path) -> bool:
    """Whether ``path`` exists; False where even asking fails (a name too long)."""
    try:
        return path.exists()
    except OSError:
        return False


def print_note(text: str) -> None:
    print(f"nasbench: note: {one_line(text)}", file=sys.stderr)


class Parser(argparse.ArgumentParser):
    """argparse that reports errors as one line and exit code 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        """One line: a subcommand's errors name it (``nasbench run: ...``); an unknown
        subcommand or choice gets the standard ``unknown ... did you mean`` line."""
        bad = re.fullmatch(r"argument (.+?): invalid choice: '(.*)' \(choose from (.*)\)", message)
        if bad is not None:
            what, value, choices = bad.groups()
            error = one_of(what, value, re.findall(r"'([^']*)'", choices))
            message = str(error)
        raise NasbenchError(message if " " not in self.prog else f"{self.prog}: {message}")


def parse_param(text: str) -> tuple[str, Any]:
    key, sep, raw = text.partition("=")
    if not sep or not key:
        raise NasbenchError(f"--param expects KEY=VALUE, got {text!r}")
    try:
        value = tomllib.loads(f"v = {raw}")["v"]
    except tomllib.TOMLDecodeError:
        value = raw  # a bare word is a string
    return key, tuple(value) if isinstance(value, list) else value


def space_from(args: argparse.Namespace) -> SearchSpace:
    params = dict(parse_param(p) for p in args.param)
    space: SearchSpace = spaces.create(args.space, **params)
    return space


def task_from(args: argparse.Namespace) -> Task:
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
