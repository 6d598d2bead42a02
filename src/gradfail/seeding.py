"""Explicit random streams.

Note [Seeding]: library code never touches torch's global RNG. Every random draw comes from a
`torch.Generator` built here, on the CPU, from an integer seed and a label naming the stream
("init", "data", "targets", ...). Data and weights are drawn on the CPU and then moved, so a run on a GPU
sees the same numbers as a run on the CPU. Labels are hashed with crc32 (stable across processes),
never with `hash()` (salted per process).
"""

from __future__ import annotations

import zlib

import torch

from gradfail.validation import check_int

MAX_SEED = 2**31 - 1


def derive_seed(seed: int, *labels: str | int) -> int:
    """A 63-bit seed for the stream named by `labels` under the user-facing `seed`."""
    check_int("seed", seed, 0, MAX_SEED)
    value = seed
    for label in labels:
        value = zlib.crc32(f"{value}/{label}".encode()) ^ (value << 17)
    return value & (2**63 - 1)


def make_generator(seed: int, *labels: str | int) -> torch.Generator:
    """A CPU generator for the stream `labels` of `seed` (see Note [Seeding])."""
    generator = torch.Generator(device="cpu")
    generator.manual_seed(derive_seed(seed, *labels))
    return generator


SEED_CONTRACT = range(0, 20)  # every claim must hold for each of these seeds ("all")


def parse_seeds(spec: str) -> tuple[int, ...]:
    """Parse a seed selection: '7', '0-9' (inclusive), '1,4,9', or 'all' (the contract range 0-19)."""
    text = str(spec).strip()
    if text == "all":
        return tuple(SEED_CONTRACT)
    seeds: list[int] = []
    for part in text.split(","):
        part = part.strip()
        low, sep, high = part.partition("-")
        try:
            first, last = (int(low), int(high)) if sep else (int(part), int(part))
        except ValueError:
            raise ValueError(f"seeds must look like '0', '0-19', '1,4,9' or 'all'; got {spec!r}") from None
        if first < 0 or last > MAX_SEED:
            raise ValueError(f"seeds must be integers in [0, {MAX_SEED}]; got {spec!r}")
        if first > last:
            raise ValueError(f"a seed range must be low-high with low <= high; got {part!r}")
        seeds.extend(range(first, last + 1))
    if len(set(seeds)) != len(seeds):
        raise ValueError(f"seeds must not repeat; got {spec!r}")
    return tuple(seeds)


def format_seeds(seeds: tuple[int, ...]) -> str:
    """The inverse of parse_seeds for display: '0-19', '3', or '1,4,9'."""
    if len(seeds) > 1 and seeds == tuple(range(seeds[0], seeds[-1] + 1)):
        return f"{seeds[0]}-{seeds[-1]}"
    return ",".join(map(str, seeds))
