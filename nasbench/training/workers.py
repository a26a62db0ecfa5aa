"""Worker processes that train: the set-up every process pool of nasbench gives its workers (the
suite runner's and the table builder's)."""

from __future__ import annotations

import gc
import multiprocessing
import os
import signal
import sys


def worker_init() -> None:
    """One torch thread per worker process: the workers already use the cores, and small
    controller updates are far slower when their threads compete. On Linux a worker also dies
    with its parent (a killed ``nasbench`` leaves no orphan still writing its run). A worker
    ignores SIGINT: Ctrl-C reaches the whole process group, and the driver alone decides (it
    terminates the workers), so no worker prints a traceback of its own."""
    import torch

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    torch.set_num_threads(1)
    tune_gc()
    _die_with_parent()


GC_THRESHOLD = (10_000, 10, 10)
"""Young-generation threshold of a process nasbench owns (``nasbench run`` and its workers):
a run keeps every record, and a journal holds up to thousands of quick evaluations, so
CPython's default (a collection every 700 allocations, traversing those live objects again
and again) cost about a tenth of a table look-up run's time."""


def tune_gc() -> tuple[int, ...]:
    """Collect garbage less often in a process nasbench owns (:data:`GC_THRESHOLD`); library
    calls (``nasbench.run`` from your Python) leave the interpreter's settings alone. Returns
    the thresholds it replaced (``gc.set_threshold(*them)`` restores them)."""
    before = gc.get_threshold()
    gc.set_threshold(*GC_THRESHOLD)
    return before


def _die_with_parent() -> None:
    if not sys.platform.startswith("linux"):
        return
    import ctypes

    pr_set_pdeathsig = 1
    ctypes.CDLL(None).prctl(pr_set_pdeathsig, signal.SIGKILL)
    parent = multiprocessing.parent_process()
    if parent is not None and os.getppid() != parent.pid:  # it died before the call
        os._exit(1)
