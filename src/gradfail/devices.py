"""Device resolution: the one place that looks at which accelerators exist.

Library functions take `device` as an argument and never choose one; the pytest plugin calls
`resolve_device` once per run.
"""

from __future__ import annotations

import os

import torch

DEVICE_CHOICES = ("auto", "cpu", "cuda")


class DeviceUnavailable(RuntimeError):
    """The requested device does not exist on this machine."""


def resolve_device(name: str) -> torch.device:
    """Map a user choice ('auto', 'cpu', 'cuda') to a concrete device.

    'auto' is CUDA when available, else the CPU. Asking for 'cuda' on a machine without a usable GPU
    raises `DeviceUnavailable` with the reason, instead of failing later inside a kernel.
    """
    if name not in DEVICE_CHOICES:
        raise ValueError(f"device must be one of {', '.join(DEVICE_CHOICES)}; got {name!r}")
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        build = "a CPU-only build" if torch.version.cuda is None else f"a CUDA {torch.version.cuda} build"
        raise DeviceUnavailable(
            f"device 'cuda' was requested but no CUDA GPU is usable here (torch {torch.__version__} is {build}); "
            "use --claims-device cpu or auto"
        )
    return torch.device(name)


def describe_device(device: torch.device) -> str:
    """A short human-readable name: 'cpu' or 'cuda (NVIDIA H200)'."""
    if device.type == "cuda":
        return f"cuda ({torch.cuda.get_device_name(device)})"
    return device.type


def make_deterministic(device: torch.device) -> None:
    """Settings under which a GPU run reproduces itself: no TF32, deterministic kernels only.

    TF32 would round float32 matmuls to 10 mantissa bits on Ampere and later GPUs, which exact checks must not
    see. Deterministic algorithms make a kernel without a deterministic implementation raise instead of
    returning run-to-run different sums; cuBLAS needs a fixed workspace for that (CUBLAS_WORKSPACE_CONFIG,
    read when cuBLAS starts, so it is set here, before any CUDA work).
    """
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    if device.type == "cuda":
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
        torch.backends.cudnn.benchmark = False
        torch.use_deterministic_algorithms(True)


def worker_cuda_index(worker_id: str, n_gpus: int) -> int | None:
    """The GPU an xdist worker ('gw3') takes: worker i uses GPU i mod n_gpus, so several GPUs share the work."""
    if n_gpus < 1 or not worker_id.startswith("gw") or not worker_id[2:].isdigit():
        return None
    return int(worker_id[2:]) % n_gpus
