"""What every on-disk cache shares: where it may live, how a bad file is reported, how a file is
replaced.

nasbench keeps three kinds of cache files, each rebuildable from its inputs: generated datasets
(:func:`nasbench.training.datasets.cache_dir`), trained one-shot models (the ``cache_dir`` of the
``weight_sharing`` and ``hypernetwork`` evaluators) and latency lookup tables (the ``table_dir``
of :class:`nasbench.tables.latency_models.LookupTableLatency`). The rules they follow:

- A cache location that exists but is not a folder (or lies under a file) is a NasbenchError
  (:func:`check_folder`): one line naming it, raised before anything is built.
- A cache file that is corrupt, truncated or foreign (wrong format, keys, shapes or settings) is
  reported once, as one warning line on the ``nasbench.core.caches`` logger (:func:`rebuilding`;
  without logging configured Python prints a warning as its bare message on stderr), then
  rebuilt and replaced.
- A file is written whole under a fresh temporary name in its folder and renamed over the old
  one (:func:`replace_atomically`), so a concurrent reader sees the old file or the new one.
- Reading never executes code: ``numpy.load(allow_pickle=False)``,
  ``torch.load(weights_only=True)``, JSON.
"""

from __future__ import annotations

import logging
import os
import uuid
from collections.abc import Callable
from pathlib import Path

from nasbench.core.errors import NasbenchError

log = logging.getLogger(__name__)


def check_folder(path: str | os.PathLike[str], what: str, hint: str = "") -> Path:
    """``path`` as a Path, after checking that it can be a folder: it is one, or it does not
    exist yet and its nearest existing parent is one. Raises NasbenchError naming ``what`` (for
    example ``"NASBENCH_CACHE"``) and the file in the way, followed by ``hint``. Creates
    nothing.

    >>> check_folder("/dev/null/cache", "cache_dir")
    Traceback (most recent call last):
    ...
    nasbench.core.errors.NasbenchError: cache_dir '/dev/null/cache' lies under the file /dev/null;
    ...
    """
    folder = Path(path)
    probe = folder
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    if probe.exists() and not probe.is_dir():
        where = "is a file" if probe == folder else f"lies under the file {probe}"
        raise NasbenchError(f"{what} {str(folder)!r} {where}; it must name a folder{hint}")
    return folder


def one_line(text: object, limit: int = 200) -> str:
    """``text`` on one line (whitespace runs collapsed), cut to ``limit`` characters."""
    flat = " ".join(str(text).split())
    return flat if len(flat) <= limit else flat[: limit - 3] + "..."


def rebuilding(path: str | os.PathLike[str], reason: str) -> None:
    """Report, as one warning line, that the cache file ``path`` is unusable (``reason``, for
    example ``"truncated (EOFError)"``) and is being rebuilt."""
    log.warning("cache file %s %s; rebuilding it", path, one_line(reason))


def replace_atomically(path: str | os.PathLike[str], write: Callable[[Path], object]) -> None:
    """Call ``write(tmp)`` to write the whole new file at a temporary path beside ``path``
    (unique to this call, same suffix: ``numpy.savez`` adds ``.npz`` to any other name), then
    rename it over ``path``. The temporary file is removed when
    ``write`` or the rename raises (the error propagates)."""
    target = Path(path)
    tag = f"{os.getpid()}.{uuid.uuid4().hex[:8]}"
    tmp = target.with_name(f".{target.stem}.{tag}.tmp{target.suffix}")  # keeps the suffix
    try:
        write(tmp)
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
