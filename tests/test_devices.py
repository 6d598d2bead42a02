"""Device settings (gradfail.devices): deterministic GPU runs and one GPU per xdist worker."""

from __future__ import annotations

import os

import pytest
import torch

from gradfail.devices import make_deterministic, worker_cuda_index


@pytest.mark.parametrize(("worker", "n_gpus", "expected"), [
    ("gw0", 4, 0), ("gw5", 4, 1), ("gw3", 1, 0), ("gw1", 0, None), ("master", 2, None), ("gwx", 2, None),
])
def test_each_xdist_worker_takes_its_own_gpu(worker, n_gpus, expected):
    """Worker gw<i> takes GPU i mod n; without GPUs, or outside xdist, no GPU is chosen."""
    assert worker_cuda_index(worker, n_gpus) == expected


def test_cpu_runs_switch_tf32_off_but_keep_all_kernels():
    make_deterministic(torch.device("cpu"))
    assert not torch.backends.cuda.matmul.allow_tf32 and not torch.backends.cudnn.allow_tf32
    assert not torch.are_deterministic_algorithms_enabled()


def test_cuda_runs_use_deterministic_kernels_and_a_fixed_cublas_workspace(monkeypatch):
    """On a GPU, nondeterministic kernels must raise; cuBLAS gets the workspace its determinism needs."""
    monkeypatch.delenv("CUBLAS_WORKSPACE_CONFIG", raising=False)
    monkeypatch.setattr(torch.backends.cudnn, "benchmark", True)
    try:
        make_deterministic(torch.device("cuda"))     # touches flags only: runs on a machine without a GPU too
        assert torch.are_deterministic_algorithms_enabled()
        assert os.environ["CUBLAS_WORKSPACE_CONFIG"] == ":4096:8"
        assert torch.backends.cudnn.benchmark is False
        assert not torch.backends.cuda.matmul.allow_tf32
    finally:
        torch.use_deterministic_algorithms(False)
