"""The one exception type a user can cause.

Every error that bad input can trigger (unknown plugin name, malformed architecture string,
out-of-range sparsity, missing data file, bad config key) raises :class:`NasbenchError` with a
message naming the bad value and the valid ones. The CLI turns it into one line on stderr and
exit code 2.
"""

from __future__ import annotations

from collections.abc import Iterable


class NasbenchError(ValueError):
    """A problem with user input: the message names the bad value and what would be valid."""


def one_of(kind: str, value: object, valid: Iterable[object]) -> NasbenchError:
    """Build the standard 'unknown X' error: ``unknown space 'foo' (valid: a, b, c)``."""
    shown = ", ".join(str(v) for v in valid)
    return NasbenchError(f"unknown {kind} {value!r} (valid: {shown})")
