"""Run independent training jobs in worker processes, one torch thread each.

Small-model training does not scale with torch's intra-op threads (the tensors are too small to split), but
independent jobs do scale with processes: on 2 cores, two processes of one thread each finish two jobs in the
time of one. Jobs must be picklable top-level calls; each result comes back in job order. Spawned (not
forked) workers never inherit a parent's torch thread pool.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from typing import Any

import torch

from gradfail.validation import check_int


def _one_thread() -> None:
    torch.set_num_threads(1)


def default_workers() -> int:
    """The cores this process may use (os.sched_getaffinity where available)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - macOS, Windows
        return max(1, os.cpu_count() or 1)


def map_in_processes(function: Callable[..., Any], jobs: Sequence[dict[str, Any]], *, workers: int) -> list[Any]:
    """[function(**job) for job in jobs], run by `workers` processes (in this process when workers == 1).

    Jobs are submitted in the order given, so list the longest first: a free worker takes the next job.
    """
    check_int("workers", workers, 1, 256)
    if workers == 1 or len(jobs) <= 1:
        return [function(**job) for job in jobs]
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=min(workers, len(jobs)), mp_context=context, initializer=_one_thread) as pool:
        futures = [pool.submit(function, **job) for job in jobs]
        return [future.result() for future in futures]
