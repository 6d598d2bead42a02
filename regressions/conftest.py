"""Fixtures shared by the perf benchmarks."""

from __future__ import annotations

import pytest
import torch


@pytest.fixture
def one_thread():
    """Both timed paths on one thread: the ratio then measures the algorithm, not thread scheduling. (On 2 shared
    cores, torch's 2-thread kernels wait up to ~10 ms per call for a descheduled worker, which made vectorised
    paths 10-25x slower and ratios meaningless.)"""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
