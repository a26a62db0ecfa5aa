"""Worker processes that train: the set-up every process pool of nasbench gives its workers (the
suite runner's and the table builder's)."""

from __future__ import annotations

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
    _die_with_parent()


def _die_with_parent() -> None:
    if not sys.platform.startswith("linux"):
        return
    import ctypes

    pr_set_pdeathsig = 1
    ctypes.CDLL(None).prctl(pr_set_pdeathsig, signal.SIGKILL)
    parent = multiprocessing.parent_process()
    if parent is not None and os.getppid() != parent.pid:  # it died before the call
        os._exit(1)
