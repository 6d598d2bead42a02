"""Figure 4: loss of the stocks toy trained end-to-end or by decomposition, k = 10, 1000, 2000 (Section 3.2).

The paper's reading (by eye, digest §2.3; d = 1000, Adam lr 0.1, batch 100): at k = 10 both estimators reach
-1 within about 200-300 iterations; at k = 1000 end-to-end falls to about -0.3 by 700 iterations and plateaus
at -0.25...-0.37 while decomposition descends roughly linearly to -1 at about 2,200; at k = 2000 end-to-end
is at -0.15...-0.25 after 2,500 iterations while decomposition reaches -1 at about 2,300.

The curves show the exact loss L(w) = E[-z^T N_w(x)] (see gradfail.experiments.stocks.population_loss); the
authors plotted its estimate on 500 fresh samples, which is the same curve plus noise of about +-0.04.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from gradfail.figures._save import save_figure  # noqa: E402

from gradfail.experiments.stocks import ESTIMATORS, stocks_training  # noqa: E402

# (seeds, steps per k) by profile; the paper's own scale is 2,500 iterations for every k.
SCALE = {
    "smoke": (1, {10: 1_000, 1000: 1_000}),
    "ci": (2, {10: 1_000, 1000: 2_500}),
    "paper": (5, {10: 2_500, 1000: 2_500, 2000: 2_500}),
}
PAPER_READING = {
    10: "paper: both reach -1 by ~200-300",
    1000: "paper: E2E plateaus at -0.25...-0.37, Dec -1 at ~2.2k",
    2000: "paper: E2E -0.15...-0.25 at 2.5k, Dec -1 at ~2.3k",
}
PAPER_DEC_REACHES_MINUS_1 = {10: 250, 1000: 2_200, 2000: 2_300}   # iterations, read by eye
PAPER_E2E_PLATEAU = {1000: (-0.37, -0.25), 2000: (-0.25, -0.15)}   # loss band, read by eye
STYLE = {"end_to_end": ("C3", "end-to-end (-z^T N)"), "decomposition": ("C0", "decomposition (-e_y^T N)")}
EVAL_POINTS = 100


def draw_fig4(out_dir: str | Path, *, profile: str = "ci", device="cpu", progress: bool = True) -> Path:
    """Train both estimators for every (k, seed) of the profile, batched, and draw one panel per k."""
    n_seeds, steps = SCALE[profile]
    fig, axes = plt.subplots(1, len(steps), figsize=(4.4 * len(steps), 3.6), sharey=True, squeeze=False)
    for ax, (k, n_steps) in zip(axes[0], steps.items()):
        run = stocks_training(k=k, seeds=tuple(range(n_seeds)), steps=n_steps,
                              eval_every=max(1, n_steps // EVAL_POINTS), device=device,
                              progress=f"Figure 4, k={k}" if progress else None)
        for estimator in ESTIMATORS:
            color, label = STYLE[estimator]
            curves = run.curve(estimator)
            for m in range(curves.shape[1]):
                ax.plot(run.trace.steps, curves[:, m], color=color, lw=1, alpha=0.8, label=label if m == 0 else None)
        if k in PAPER_E2E_PLATEAU:
            ax.axhspan(*PAPER_E2E_PLATEAU[k], color=STYLE["end_to_end"][0], alpha=0.12, label="paper: E2E plateau")
        ax.axvline(PAPER_DEC_REACHES_MINUS_1[k], color="black", ls="-.", lw=0.8, label="paper: Dec reaches -1")
        ax.axhline(-0.95, color="grey", ls="--", lw=0.8)
        ax.set_title(f"k = {k}  ({PAPER_READING[k]})", fontsize=8)
        ax.set_xlabel("Adam iterations")
    axes[0, 0].set_ylabel("loss E[-z^T N(x)] (exact)")
    axes[0, 0].set_ylim(-1.05, 0.05)
    labelled = {}
    for ax in axes[0]:
        for handle, label in zip(*ax.get_legend_handles_labels()):
            labelled.setdefault(label, handle)   # one entry per label, across panels
    axes[0, 0].legend(labelled.values(), labelled.keys(), fontsize=7, loc="upper right")
    fig.suptitle(f"Figure 4 (stocks): d = 1000, linear + softmax, Adam lr 0.1, batch 100, {n_seeds} seed(s) — "
                 f"gradfail, profile {profile}", fontsize=10)
    fig.tight_layout()
    return save_figure(fig, out_dir, "fig4_stocks")
