"""Figure 3: test accuracy of end-to-end vs decomposition training on k-tuples of line images (Section 3.1).

The paper's reading (by eye, digest §2.1): end-to-end (20,000 iterations) reaches 0.97-1.0 at k = 1 almost at
once and 0.93-0.95 at k = 2, and stays at chance (0.5) for k = 3, 4; decomposition (2,500 iterations)
reaches 0.97-1.0 at k = 1, about 0.95 at k = 2 and 0.85-0.9 at k = 3, 4.

The ci profile trains the reduced network of the claims (N1 with 4 channels, 64 tuples per step, Adam lr
3e-3) for the same number of steps with both methods; the paper profile uses the paper's sizes and step
counts (end-to-end 20,000, decomposition 2,500).
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from gradfail.figures._save import save_figure  # noqa: E402

from gradfail.experiments.tuples import METHODS, train_tuples  # noqa: E402
from gradfail.models.tuple_net import TupleNetShape  # noqa: E402

# (seeds, {method: steps}, shape, batch, lr) by profile.
SCALE = {
    "smoke": (1, {"end_to_end": 150, "decomposition": 150}, TupleNetShape(channels=4), 64, 3e-3),
    "ci": (2, {"end_to_end": 500, "decomposition": 500}, TupleNetShape(channels=4), 64, 3e-3),
    "paper": (2, {"end_to_end": 20_000, "decomposition": 2_500}, TupleNetShape(), 200, 1e-3),
}
PAPER_READING = {
    1: "paper: both 0.97-1.0",
    2: "paper: e2e 0.93-0.95, dec ~0.95",
    3: "paper: e2e ~0.5 (20k it.), dec 0.85-0.9 (2.5k)",
    4: "paper: e2e ~0.5 (20k it.), dec 0.85-0.9 (2.5k)",
}
PAPER_DECOMPOSITION = {1: 0.97, 2: 0.95, 3: 0.85, 4: 0.85}  # lower ends of the readings, by eye
COLOURS = {"end_to_end": "tab:red", "decomposition": "tab:blue"}
EVAL_POINTS = 25


def draw_fig3(out_dir: str | Path, *, profile: str = "ci", device="cpu", progress: bool = True) -> Path:
    """Train every (k, method, seed) of the profile, batched over seeds, and draw one panel per k."""
    n_seeds, steps, shape, batch, lr = SCALE[profile]
    fig, axes = plt.subplots(1, 4, figsize=(16, 3.8), sharey=True)
    for ax, k in zip(axes, (1, 2, 3, 4)):
        # Methods trained for equally many steps share one batched run; otherwise one run per method.
        groups = [METHODS] if len(set(steps.values())) == 1 else [(m,) for m in METHODS]
        for methods in groups:
            n_steps = steps[methods[0]]
            run = train_tuples(k=k, seeds=list(range(n_seeds)), steps=n_steps, methods=methods, shape=shape,
                               batch=batch, lr=lr, test_tuples=1000, eval_every=max(1, n_steps // EVAL_POINTS),
                               device=device, progress=f"Figure 3, k={k}" if progress else None)
            for i, method in enumerate(methods):
                for j in range(n_seeds):
                    ax.plot(run.trace.steps, run.trace.values[:, i * n_seeds + j], color=COLOURS[method], lw=1,
                            alpha=0.8, label=method.replace("_", "-") if j == 0 else None)
        ax.axhline(0.5, color="grey", ls=":", lw=1)
        ax.axhline(PAPER_DECOMPOSITION[k], color="tab:blue", ls="--", lw=0.8, alpha=0.6,
                   label="paper: decomposition")
        ax.set_title(f"k = {k}  ({PAPER_READING[k]})", fontsize=8)
        ax.set_xlabel("Adam iterations")
    axes[0].set_ylabel(f"test accuracy ({1000} fresh tuples)")
    axes[0].set_ylim(0.3, 1.02)
    axes[0].legend(fontsize=7, loc="lower right")
    fig.suptitle(f"Figure 3 (k-tuples of lines): N1 {shape.channels} channels, batch {batch}, Adam lr {lr:g} — "
                 f"gradfail, profile {profile}", fontsize=10)
    fig.tight_layout()
    return save_figure(fig, out_dir, "fig3_tuples")
