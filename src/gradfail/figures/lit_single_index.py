"""Information exponent (Ben Arous, Gheissari & Jagannath, JMLR 2021): samples to overlap 1/2 against d.

Seed 0's runs of gradfail.claims.single_index (scaled for the profile): every run as a faint dot, the median per
(k, d) as a marker, and the least-squares line of log samples on log d whose slope the claim compares with
max(1, k - 1). For k = 2 the samples are divided by log d (the theory's log factor), as in the claim.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from gradfail.claims import get_claim  # noqa: E402
from gradfail.claims.single_index import ALPHA, exponent_slopes, hitting_times, predicted_exponent  # noqa: E402
from gradfail.figures._save import save_figure  # noqa: E402

CLAIM = "single_index.samples_scale_with_information_exponent"
COLOURS = {1: "tab:blue", 2: "tab:green", 3: "tab:red"}


def draw_lit_single_index(out_dir: str | Path, *, profile: str = "ci", device="cpu", progress: bool = True) -> Path:
    """log samples / L_k(d) against log d for k = 1, 2, 3, with fitted and predicted slopes."""
    setting = get_claim(CLAIM).reference_for(profile)
    times = hitting_times(setting, 0)
    slopes = exponent_slopes(setting, 0, ALPHA / len(setting.links))
    fig, ax = plt.subplots(figsize=(5.4, 3.8))
    dims = np.array(setting.dims, dtype=float)
    for k in setting.links:
        mine = times.links == k
        scale = np.log(times.dims[mine]) if k == 2 else 1.0
        values = times.samples[mine] / scale
        ax.loglog(times.dims[mine] * np.exp(np.random.default_rng(k).uniform(-0.05, 0.05, mine.sum())), values, ".",
                  ms=2, alpha=0.25, color=COLOURS[k])
        medians = [np.median(values[times.dims[mine] == d]) for d in setting.dims]
        slope = slopes[k]
        intercept = slope.detail["intercept"]
        ax.loglog(dims, np.exp(intercept) * dims**slope.value, "-", color=COLOURS[k],
                  label=f"He_{k}{' / log d' if k == 2 else ''}: slope {slope.short()} (theory {predicted_exponent(k)})")
        ax.loglog(dims, medians, "o", color=COLOURS[k], ms=5)
    ax.set_xlabel("dimension d")
    ax.set_ylabel("samples until overlap >= 1/2")
    ax.legend(fontsize=7, loc="upper left")
    ax.set_title(f"online spherical SGD from overlap d^-1/2 / 2, {setting.runs} runs per (k, d), seed 0", fontsize=8)
    fig.suptitle(f"Ben Arous, Gheissari & Jagannath (JMLR 2021) — gradfail, profile {profile}", fontsize=9)
    fig.tight_layout()
    return save_figure(fig, out_dir, "lit_single_index")
