"""Conditioning against n (Section 4, Theorem 3 and Appendix A.5-A.6): the paper has no such figure.

Drawn from the same functions the claims use: kappa(W) = S_11^2 / S_nn^2 by exact SVD, kappa(C) of the
convolution's 3x3 row second moment by Monte Carlo for both curve laws (median over replicates, with the
replicates' range as a bar), and kappa after whitening (1 up to rounding). Fitted log-log slopes are in
the legend; the dotted line is the paper's lower bound's rate n^3.5 (through kappa(W) at the smallest n).
The digest measured kappa(W) ~ 1.3 n^4 and kappa(C) ~ 1.5-1.7 n^3 (paper law) or 0.10-0.15 n^3 (code law).
"""

from __future__ import annotations

from pathlib import Path

import matplotlib
import matplotlib.ticker

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from tqdm.auto import tqdm  # noqa: E402

from gradfail.data.curves import CURVE_LAWS, encoding_matrix  # noqa: E402
from gradfail.experiments.conditioning import conv_condition_numbers  # noqa: E402
from gradfail.figures._save import save_figure  # noqa: E402
from gradfail.measure.conditioning import encoding_condition_number, singular_values  # noqa: E402

# (sizes n, curves per replicate, replicates) by profile.
SCALE = {
    "smoke": ((25, 50, 100, 200), 200, 2),
    "ci": ((25, 50, 100, 200, 400, 800), 1000, 4),
    "paper": ((25, 50, 100, 200, 400, 800, 1600), 4000, 8),
}
LAW_STYLE = {"paper": ("tab:blue", "s"), "code": ("tab:green", "^")}


def _slope(ns, values) -> float:
    return float(np.polyfit(np.log(ns), np.log(values), 1)[0])


def draw_fig6_conditioning(out_dir: str | Path, *, profile: str = "ci", device="cpu", progress: bool = True) -> Path:
    """kappa(W), kappa(C) (both laws) and kappa(whitened C) against n on log-log axes."""
    ns, curves, replicates = SCALE[profile]
    fig, ax = plt.subplots(figsize=(6.4, 4.6))
    steps = tqdm(total=2 + 2 * len(CURVE_LAWS), desc="Figure 6 (conditioning)", disable=not progress, leave=False)

    kappa_w = np.array([encoding_condition_number(singular_values(encoding_matrix(n))) for n in ns])
    ax.loglog(ns, kappa_w, "o-", color="tab:red", label=f"kappa(W), fully connected (slope {_slope(ns, kappa_w):.2f})")
    ax.loglog(ns, kappa_w[0] * (np.asarray(ns) / ns[0]) ** 3.5, ":", color="tab:red", lw=1,
              label="n^3.5 (Theorem 3's rate)")
    steps.update()
    for law in CURVE_LAWS:
        color, marker = LAW_STYLE[law]
        for whiten in (False, True):
            kappas = conv_condition_numbers(ns, law=law, curves=curves, replicates=replicates, seed=0, whiten=whiten)
            steps.update()
            median = np.median(kappas, axis=0)
            if whiten:
                ax.loglog(ns, median, marker=marker, ls="--", color=color, mfc="none",
                          label=f"kappa after whitening, {law} law (max - 1 = {kappas.max() - 1:.0e})")
                continue
            spread = np.stack([median - kappas.min(axis=0), kappas.max(axis=0) - median])
            ax.errorbar(ns, median, yerr=spread, marker=marker, color=color, capsize=2,
                        label=f"kappa(C), 3-tap convolution, {law} law (slope {_slope(ns, median):.2f})")
    steps.update()
    steps.close()
    ax.set_xticks(ns, [str(n) for n in ns])
    ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
    ax.set_xlabel("n (samples per curve)")
    ax.set_ylabel("condition number")
    ax.legend(fontsize=7, loc="upper left")
    ax.grid(True, which="major", alpha=0.3)
    fig.suptitle(f"Conditioning of curve encoding (Section 4): {replicates} x {curves:,} curves per n — "
                 f"gradfail, profile {profile}", fontsize=9)
    fig.tight_layout()
    return save_figure(fig, out_dir, "fig6_conditioning")
