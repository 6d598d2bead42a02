"""Figure 5: SNR of the gradient on N1's score layer at initialisation, against k (Section 3.1).

The paper's reading (digest §2.2): at k = 1 both SNRs are about equal (order 1e-4; the axis' top tick is
unlabelled); end-to-end drops to ~0 at k = 2 and "for k >= 3, is below the precision obtained by a 32-bit
floating point representation"; decomposition is roughly constant in k (falls by < 10% from k = 1 to 4).

Drawn on a log scale from the antithetic float64 estimator of `gradfail.experiments.snr`, with 95% jackknife
intervals (the claims use alpha 1e-3). An estimate whose interval reaches zero or below cannot go on a log axis: it is
drawn as a downward triangle at its upper end ("SNR below this"). The dashed curve is the loss the
decomposition is trained with (tuple hinge + mean per-image hinge), not the first-image loss the authors
measured.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from gradfail.figures._save import save_figure  # noqa: E402
import numpy as np  # noqa: E402
from tqdm.auto import tqdm  # noqa: E402

from gradfail.experiments.snr import jackknife, snr_moments  # noqa: E402

ALPHA = 0.05  # display intervals; the claims' checks use 1e-3
K_VALUES = (1, 2, 3, 4)
# (seeds, tuples per k) by profile; the authors used one initialisation and 500,000 tuples per k.
SCALE = {"smoke": (1, 500), "ci": (3, 2_000), "paper": (5, 50_000)}
STYLE = {
    # End-to-end on top: at k = 1 it sits on the first-image decomposition curve.
    "end_to_end": dict(color="tab:red", marker="o", ms=4, ls="-", zorder=3, label="end-to-end"),
    "decomposition": dict(color="tab:blue", marker="s", ls="-", label="decomposition (first image, as measured)"),
    "decomposition_training": dict(color="tab:blue", marker="^", ls="--", label="decomposition (training loss)"),
}
FLOAT32_EPS = float(np.finfo(np.float32).eps)


def draw_fig5(out_dir: str | Path, *, profile: str = "ci", device="cpu", progress: bool = True) -> Path:
    """Measure the SNRs of every seed of the profile on the faithful CNN and draw them against k."""
    n_seeds, n_tuples = SCALE[profile]
    fig, ax = plt.subplots(figsize=(6.4, 4.4))
    top = 0.0
    for seed in tqdm(range(n_seeds), desc="Figure 5", disable=not progress, leave=False):
        moments = snr_moments(k_values=K_VALUES, losses=tuple(STYLE), n_tuples=n_tuples, seed=seed, device=device)
        for loss, style in STYLE.items():
            estimates = [jackknife(moments[(k, loss)].snr, moments[(k, loss)].groups, ALPHA) for k in K_VALUES]
            top = max([top, *(e.hi for e in estimates)])
            shown = [e.value if e.lo > 0 else np.nan for e in estimates]
            kwargs = dict(style, label=style["label"] if seed == 0 else None)
            ax.plot(K_VALUES, shown, alpha=0.8, **kwargs)
            for k, e in zip(K_VALUES, estimates):
                if e.lo > 0:
                    ax.plot([k, k], [e.lo, e.hi], color=style["color"], lw=0.8, alpha=0.6)
                elif e.hi > 0:
                    ax.plot(k, e.hi, marker="v", color=style["color"], ls="none", alpha=0.8)
    # The paper's "below float32 precision": relative to the largest SNR drawn, float32's epsilon.
    ax.axhline(FLOAT32_EPS * top, color="grey", ls=":", lw=0.8)
    ax.text(1.05, FLOAT32_EPS * top * 1.5, "float32 eps x largest SNR", fontsize=7, color="grey")
    ax.set_yscale("log")
    ax.set_xticks(K_VALUES)
    ax.set_xlabel("k (images per tuple)")
    ax.set_ylabel("SNR = ||E g||^2 / E||g - E g||^2")
    ax.set_title("paper: equal at k = 1 (~1e-4); end-to-end ~0 from k = 2, below float32 for k >= 3;\n"
                 "decomposition within 10% for every k.  v = upper end of an interval reaching 0", fontsize=8)
    ax.legend(fontsize=7, loc="lower left")
    fig.suptitle(f"Figure 5 (SNR at initialisation, N1's score layer): {n_seeds} seeds x {n_tuples:,} tuples per k — "
                 f"gradfail, profile {profile}", fontsize=9)
    fig.tight_layout()
    return save_figure(fig, out_dir, "fig5_snr")
