"""Figure 1: test accuracy of SGD on random parities for d = 5, 10, 30 (paper Section 2.1).

The paper's reading (by eye, digest §1.7): d = 5 reaches 1.0 by about 2,000 iterations; d = 10 sits near 0.5
until about 6,000, reaches 0.95 at 9,000-10,000 and is stable at 1.0 from about 20,000; d = 30 stays at
chance (0.5 +- 0.03) for all 50,000 iterations.
"""

from __future__ import annotations

import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402

from gradfail.engine.ensemble import Trace  # noqa: E402
from gradfail.engine.processes import default_workers, map_in_processes  # noqa: E402
from gradfail.experiments.parity_sgd import parity_sgd  # noqa: E402
from gradfail.figures._save import save_figure  # noqa: E402

# (seeds, steps per d) by profile; the paper's own scale is 50,000 steps for every d.
SCALE = {
    "smoke": (2, {5: 3_000, 10: 5_000, 30: 3_000}),
    "ci": (4, {5: 5_000, 10: 30_000, 30: 20_000}),
    "paper": (5, {5: 50_000, 10: 50_000, 30: 50_000}),
}
PAPER_READING = {5: "paper: 1.0 by ~2k", 10: "paper: 0.95 at ~9-10k, 1.0 from ~20k", 30: "paper: chance for 50k"}
PAPER_REACHES_095 = {5: 2_000, 10: 9_500}  # iterations, read by eye from the paper's Figure 1
EVAL_POINTS = 100


def _accuracy_curves(d: int, seeds: list[int], steps: int, device: str) -> Trace:
    """One job: the accuracy trace of every seed at one d (top level, so worker processes can run it)."""
    trace, _ = parity_sgd(d=d, seeds=seeds, steps=steps, eval_every=max(1, steps // EVAL_POINTS),
                          test_samples=1000, device=device)
    return trace


def training_jobs(n_seeds: int, steps: dict[int, int], workers: int) -> list[dict]:
    """The figure's training as independent jobs, longest first.

    A step costs about width x batch = 10d x 128 per model, so d = 30 is ~3/4 of the work: with more than one
    worker its seeds are split in two jobs (every seed is an independent model, Note [Ensembles]).
    """
    jobs = []
    for d in sorted(steps, reverse=True):
        seeds = list(range(n_seeds))
        groups = [seeds[: (n_seeds + 1) // 2], seeds[(n_seeds + 1) // 2:]] if workers > 1 and d == max(steps) else [seeds]
        jobs += [{"d": d, "seeds": group, "steps": steps[d]} for group in groups if group]
    return jobs


def draw_fig1(out_dir: str | Path, *, profile: str = "ci", device="cpu", progress: bool = True,
              workers: int | None = None) -> Path:
    """Train every (d, seed) of the profile, batched over seeds, and draw one panel per d.

    On the CPU the jobs of `training_jobs` run in `workers` processes of one thread each (default: every
    core this process may use); on a GPU they run one after the other in this process.
    """
    n_seeds, steps = SCALE[profile]
    device = torch.device(device)
    workers = 1 if device.type != "cpu" else (workers or default_workers())
    jobs = training_jobs(n_seeds, steps, workers)
    if progress:
        print(f"Figure 1 ({profile}): {len(jobs)} training jobs in {workers} process(es)", flush=True)
    started = time.perf_counter()
    traces = map_in_processes(_accuracy_curves, [{**job, "device": str(device)} for job in jobs], workers=workers)
    if progress:
        print(f"Figure 1 ({profile}): trained {n_seeds} seeds x d = 5, 10, 30 in {time.perf_counter() - started:.1f} s",
              flush=True)
    curves: dict[int, list[Trace]] = {}
    for job, trace in zip(jobs, traces):
        curves.setdefault(job["d"], []).append(trace)
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.6), sharey=True)
    for ax, d in zip(axes, (5, 10, 30)):
        parts = curves[d]
        values = np.concatenate([trace.values for trace in parts], axis=1)    # (evaluations, seeds)
        for m in range(values.shape[1]):
            ax.plot(parts[0].steps, values[:, m], lw=1, alpha=0.8, label=f"seed {m}")
        ax.axhline(0.5, color="grey", ls=":", lw=1)
        ax.axhline(0.95, color="grey", ls="--", lw=0.8)
        if d in PAPER_REACHES_095:
            ax.axvline(PAPER_REACHES_095[d], color="black", ls="-.", lw=0.8, label="paper reading")
        ax.set_title(f"d = {d}  ({PAPER_READING[d]})", fontsize=9)
        ax.set_xlabel("SGD iterations")
    axes[0].set_ylabel("test accuracy (1,000 fresh samples)")
    axes[0].set_ylim(0.3, 1.02)
    axes[0].legend(fontsize=7, loc="lower right")
    fig.suptitle(f"Figure 1 (parities): ReLU width 10d, hinge, SGD lr 0.01, batch 128 — gradfail, profile {profile}",
                 fontsize=10)
    fig.tight_layout()
    return save_figure(fig, out_dir, "fig1_parity")
