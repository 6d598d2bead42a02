"""Figure 1: test accuracy of SGD on random parities for d = 5, 10, 30 (paper Section 2.1).

The paper's reading (by eye, digest §1.7): d = 5 reaches 1.0 by about 2,000 iterations; d = 10 sits near 0.5
until about 6,000, reaches 0.95 at 9,000-10,000 and is stable at 1.0 from about 20,000; d = 30 stays at
chance (0.5 +- 0.03) for all 50,000 iterations.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from gradfail.figures._save import save_figure  # noqa: E402

from gradfail.experiments.parity_sgd import parity_sgd  # noqa: E402

# (seeds, steps per d) by profile; the paper's own scale is 50,000 steps for every d.
SCALE = {
    "smoke": (2, {5: 3_000, 10: 5_000, 30: 3_000}),
    "ci": (4, {5: 5_000, 10: 30_000, 30: 20_000}),
    "paper": (5, {5: 50_000, 10: 50_000, 30: 50_000}),
}
PAPER_READING = {5: "paper: 1.0 by ~2k", 10: "paper: 0.95 at ~9-10k, 1.0 from ~20k", 30: "paper: chance for 50k"}
PAPER_REACHES_095 = {5: 2_000, 10: 9_500}  # iterations, read by eye from the paper's Figure 1
EVAL_POINTS = 100


def draw_fig1(out_dir: str | Path, *, profile: str = "ci", device="cpu", progress: bool = True) -> Path:
    """Train every (d, seed) of the profile, batched over seeds, and draw one panel per d."""
    n_seeds, steps = SCALE[profile]
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.6), sharey=True)
    for ax, d in zip(axes, (5, 10, 30)):
        trace, _ = parity_sgd(d=d, seeds=list(range(n_seeds)), steps=steps[d], eval_every=max(1, steps[d] // EVAL_POINTS),
                              test_samples=1000, device=device, progress=f"Figure 1, d={d}" if progress else None)
        for m in range(trace.values.shape[1]):
            ax.plot(trace.steps, trace.values[:, m], lw=1, alpha=0.8, label=f"seed {m}")
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
