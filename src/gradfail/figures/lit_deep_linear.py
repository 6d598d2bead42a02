"""Deep linear networks (Shamir, COLT 2019): failure share of GD against depth, with Clopper-Pearson bars.

Seed 0's runs of gradfail.claims.deep_linear at the standard initialisation w_i ~ N(0, 1) and at the warm start
(the claim's violation), scaled for the profile: the share of runs not converged within the GD budget rises from
0 to 1 with depth from the standard initialisation and stays at 0 from the warm start.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from gradfail.claims import get_claim  # noqa: E402
from gradfail.claims.deep_linear import ALPHA, failure_shares  # noqa: E402
from gradfail.figures._save import save_figure  # noqa: E402

CLAIM = "deep_linear.failure_share_rises_with_depth"


def draw_lit_deep_linear(out_dir: str | Path, *, profile: str = "ci", device="cpu", progress: bool = True) -> Path:
    """Failure share against depth k, standard initialisation and warm start, seed 0."""
    claim = get_claim(CLAIM)
    fig, ax = plt.subplots(figsize=(5.2, 3.6))
    for label, setting, colour in (("w_i ~ N(0, 1) (theorem)", claim.reference_for(profile), "tab:red"),
                                   ("warm start w_i ~ N(1, 0.1^2)", claim.violation, "tab:blue")):
        shares, intervals = failure_shares(setting, 0, device, ALPHA)
        errors = [shares - intervals[:, 0], intervals[:, 1] - shares]
        ax.errorbar(setting.depths, shares, yerr=errors, marker="o", ms=4, capsize=3, color=colour, label=label)
    reference = claim.reference_for(profile)
    ax.set_xlabel("depth k")
    ax.set_ylabel(f"share not converged in {reference.steps:,} GD steps")
    ax.set_ylim(-0.05, 1.05)
    ax.legend(fontsize=8, loc="center right")
    ax.set_title(f"GD on 1/2 (w_1...w_k - 1)^2, lr {reference.lr}, {reference.runs} runs per depth, seed 0; "
                 f"bars: Clopper-Pearson {ALPHA:g}", fontsize=7)
    fig.suptitle(f"Shamir (COLT 2019): exponential convergence time in depth — gradfail, profile {profile}",
                 fontsize=9)
    fig.tight_layout()
    return save_figure(fig, out_dir, "lit_deep_linear")
