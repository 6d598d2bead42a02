"""Figure 7: the staircase target against each learner's output over r = v*^T x + b* (Section 5).

The paper's reading (digest §4.2-4.5, by eye): (a) the smooth approximation's output is completely flat
(stuck); (b) the end-to-end MLP is "reasonable ... far from perfect", noisy with blurred steps; (c-d) the
multi-class model's boundaries are jittery; (e) forward-only overlaps the target after 5,000 iterations.
We draw seed 0's model of every learner on 2,560 fresh samples (the authors' plot size), sorted by r.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import torch  # noqa: E402
from tqdm.auto import tqdm  # noqa: E402

from gradfail.experiments.staircase import predicted_levels, staircase_training  # noqa: E402
from gradfail.figures._save import save_figure  # noqa: E402
from gradfail.seeding import make_generator  # noqa: E402

# (panel, method, title, paper's reading) and the steps per method by profile.
PANELS = (
    ("a", "smooth", "non-flat approximation", "paper: flat, stuck"),
    ("b", "mlp", "end-to-end MLP", "paper: blurred steps"),
    ("c-d", "multiclass", "multi-class", "paper: jittery boundaries"),
    ("e", "forward_only", "forward-only", "paper: overlaps the target"),
)
SCALE = {
    "smoke": {"smooth": 1000, "mlp": 1000, "multiclass": 1000, "forward_only": 1000},
    "ci": {"smooth": 10_000, "mlp": 3000, "multiclass": 3000, "forward_only": 5000},
    "paper": {"smooth": 10_000, "mlp": 10_000, "multiclass": 10_000, "forward_only": 5000},
}
POINTS = 2560


def draw_fig7(out_dir: str | Path, *, profile: str = "ci", device="cpu", progress: bool = True) -> Path:
    """Train every learner on seed 0's problem and plot its output against r next to the staircase."""
    steps = SCALE[profile]
    fig, axes = plt.subplots(1, len(PANELS), figsize=(4.0 * len(PANELS), 3.4), sharey=True)
    for ax, (panel, method, title, reading) in zip(axes, tqdm(PANELS, desc="Figure 7", disable=not progress,
                                                              leave=False)):
        run = staircase_training(method=method, seeds=(0,), steps=steps[method], test_size=1000, device=device)
        problem = run.problems[0]
        x, y = problem.sample(POINTS, generator=make_generator(0, "figure7"))
        r = x @ problem.v_star + problem.b_star
        order = torch.argsort(r)
        batch = x[None].to(run.model.levels.device, run.model.levels.dtype)
        with torch.no_grad():
            output = predicted_levels(run.model, method, batch) if method == "multiclass" else run.model(batch)
        ax.plot(r[order], y[order], color="black", lw=1.2, label="target u(r)")
        ax.plot(r[order], output[0].cpu()[order], ".", ms=2, color="tab:red", alpha=0.6, label="learnt output")
        ax.set_title(f"({panel}) {title}, {steps[method]:,} steps\n{reading}; accuracy {run.accuracy[0]:.3f}",
                     fontsize=8)
        ax.set_xlabel("r = v*^T x + b*")
    axes[0].set_ylabel("output")
    axes[0].legend(fontsize=7, loc="upper left")
    fig.suptitle(f"Figure 7 (flat activations, seed 0) — gradfail, profile {profile}", fontsize=9)
    fig.tight_layout()
    return save_figure(fig, out_dir, "fig7_flat")
