"""The one exception type a user can cause.

Every error that bad input can trigger (unknown plugin name, malformed architecture string,
out-of-range sparsity, missing data file, bad config key) raises :class:`NasbenchError` with a
message naming the bad value and the valid ones. The CLI turns it into one line on stderr and
exit code 2.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class NasbenchError(ValueError):
    """A problem with user input: the message names the bad value and what would be valid."""


def one_of(kind: str, value: object, valid: Iterable[object]) -> NasbenchError:
    """Build the standard 'unknown X' error: ``unknown space 'foo' (valid: a, b, c)``, with
    ``did you mean 'x'?`` first when the given name is a string close to a valid one (difflib
    ratio at least 0.6).

    >>> one_of("space", "chian", ["cell", "chain"])
    NasbenchError("unknown space 'chian'; did you mean 'chain'? (valid: cell, chain)")
    """
    names = [str(v) for v in valid]
    # a misspelt name, not a number (a sparsity level 0.5 is not "close" to 0.0)
    close = (
        difflib.get_close_matches(value, names, n=1, cutoff=0.6) if isinstance(value, str) else []
    )
    hint = f"; did you mean {close[0]!r}?" if close else ""
    return NasbenchError(f"unknown {kind} {value!r}{hint} (valid: {', '.join(names)})")
