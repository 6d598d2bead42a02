"""Sparse parities (Barak et al., NeurIPS 2022): one figure per claim of gradfail.claims.sparse_parity.

- lit_sparse_parity_scaling: steps to 99% test accuracy t_c against n (log-log) for k = 2 and 3, every run
  as a dot, the least-squares lines whose slopes the claim compares.
- lit_sparse_parity_hidden_progress: for a few k = 3 runs at the largest n, test accuracy and the largest
  weight change on the relevant (S) and other input columns against steps: the S curve takes off during
  the accuracy plateau.
- lit_sparse_parity_fourier_gap: the exact gap ratio mean|g_S| / mean|g_S^c| of one neuron at initialisation
  against n, for k = 2, 3, 4, with random bias (solid) and zero bias (dashed; absent for odd k, where the
  gradient is exactly zero).
The paper's own numbers were not read (beyond_literature.md, section 2): the figures show this code's runs.
"""

from __future__ import annotations

import math
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import matplotlib.ticker  # noqa: E402
import numpy as np  # noqa: E402

from gradfail.claims import get_claim  # noqa: E402
from gradfail.claims.sparse_parity import (  # noqa: E402
    FourierGapSetting, _run, gap_ratio, persistent_overtake, steps_to_learn)
from gradfail.figures._save import save_figure  # noqa: E402

SCALING = "sparse_parity.steps_to_learn_scale_with_n_and_k"
# Seeds trained for the training figures, by profile (each seed brings the claim's replicates per (n, k)).
SEEDS = {"smoke": (0,), "ci": (0, 1), "paper": tuple(range(5))}
GAP_DEGREES = (2, 3, 4)
GAP_INITS = {"smoke": 64, "ci": 256, "paper": 1024}


def _training_run(profile: str, device):
    import torch

    setting = get_claim(SCALING).reference_for(profile)
    return setting, _run(setting, SEEDS[profile], torch.device(device))


def draw_scaling(out_dir: str | Path, *, profile: str = "ci", device="cpu", progress: bool = True) -> Path:
    """t_c against n on log-log axes, one colour per k, with the fitted lines."""
    setting, run = _training_run(profile, device)
    t_c = steps_to_learn(run)
    fig, ax = plt.subplots(figsize=(6.4, 4.4))
    for k, colour in zip(setting.ks, ("tab:blue", "tab:red")):
        chosen = run.select(k=k)
        ns = np.array([run.specs[i].n for i in chosen], dtype=np.float64)
        jitter = np.exp(np.linspace(-0.03, 0.03, len(chosen)))
        ax.scatter(ns * jitter, t_c[chosen], s=10, color=colour, alpha=0.6)
        slope, intercept = np.polyfit(np.log(ns), np.log(t_c[chosen]), 1)
        grid = np.array(setting.ns, dtype=np.float64)
        ax.plot(grid, np.exp(intercept) * grid**slope, color=colour, label=f"k = {k}: t_c ~ n^{slope:.2f}")
    ax.axhline(setting.max_steps, color="grey", ls=":", lw=1, label="budget (a run not learned counts here)")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xticks(list(setting.ns), [str(n) for n in setting.ns], minor=False)
    ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
    ax.set_xlabel("n (input bits)")
    ax.set_ylabel("SGD steps to 99% test accuracy (CP lower bound)")
    ax.set_title(f"Sparse parity, online SGD (ReLU width {setting.width}, hinge, lr {setting.lr}, batch "
                 f"{setting.batch}); seeds {len(SEEDS[profile])} x {setting.replicates} runs", fontsize=9)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return save_figure(fig, out_dir, "lit_sparse_parity_scaling")


def draw_hidden_progress(out_dir: str | Path, *, profile: str = "ci", device="cpu", progress: bool = True) -> Path:
    """Accuracy and max|W - W0| on S and off S against steps, for the high-k runs at the largest n."""
    setting, run = _training_run(profile, device)
    chosen = run.select(n=setting.ns[-1], k=setting.ks[1])[:4]
    overtakes = persistent_overtake(run)
    fig, axes = plt.subplots(2, 1, figsize=(6.4, 5.6), sharex=True)
    for j, m in enumerate(chosen):
        colour = f"C{j}"
        axes[0].plot(run.steps, run.accuracy[:, m], color=colour, lw=1.2, label=f"run {run.specs[m].run}")
        axes[1].plot(run.steps, run.support_move[:, m], color=colour, lw=1.5)
        axes[1].plot(run.steps, run.off_support_move[:, m], color=colour, lw=1, ls="--")
        if math.isfinite(overtakes[m]):
            for ax in axes:
                ax.axvline(overtakes[m], color=colour, ls=":", lw=0.8)
    axes[0].axhline(0.5, color="grey", ls=":", lw=1)
    axes[0].set_ylabel("test accuracy")
    axes[0].legend(fontsize=7)
    axes[1].set_ylabel("max |W - W0| per column group")
    axes[1].plot([], [], color="black", lw=1.5, label="relevant columns S")
    axes[1].plot([], [], color="black", lw=1, ls="--", label="other columns")
    axes[1].plot([], [], color="black", lw=0.8, ls=":", label="S leads from here on")
    axes[1].legend(fontsize=7)
    axes[1].set_xlabel("SGD steps")
    axes[0].set_title(f"Hidden progress: n = {setting.ns[-1]}, k = {setting.ks[1]} (online SGD, width "
                      f"{setting.width})", fontsize=9)
    fig.tight_layout()
    return save_figure(fig, out_dir, "lit_sparse_parity_hidden_progress")


def draw_fourier_gap(out_dir: str | Path, *, profile: str = "ci", device="cpu", progress: bool = True) -> Path:
    """The exact gap ratio against n, k = 2, 3, 4, random and zero bias."""
    fig, ax = plt.subplots(figsize=(6.4, 4.4))
    for k, colour in zip(GAP_DEGREES, ("tab:blue", "tab:red", "tab:green")):
        for bias_scale, style in ((1.0, "-"), (0.0, "--")):
            setting = FourierGapSetting(k=k, inits=GAP_INITS[profile], bias_scale=bias_scale)
            ratios = [gap_ratio(setting, n, 0, device) for n in setting.ns]
            value = np.array([r[0] for r in ratios])
            if np.isnan(value).all():      # odd k at zero bias: the gradient is exactly zero
                continue
            lower = value - np.array([r[1] for r in ratios])
            upper = np.array([r[2] for r in ratios]) - value
            bias = "random bias" if bias_scale else "zero bias"
            ax.errorbar(setting.ns, value, yerr=[lower, upper], color=colour, ls=style, marker="o", ms=3, capsize=2,
                        label=f"k = {k}, {bias}")
    ax.axhline(1.0, color="grey", ls=":", lw=1)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ns = FourierGapSetting().ns
    ax.set_xticks(list(ns), [str(n) for n in ns], minor=False)
    ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
    ax.set_xlabel("n (input bits)")
    ax.set_ylabel("mean|g_S| / mean|g_S^c| (exact over {±1}^n)")
    ax.set_title(f"Fourier gap of one ReLU neuron at init ({GAP_INITS[profile]} inits per point, intervals at "
                 "alpha 5e-4;\nk = 3 at zero bias: g = 0 exactly)", fontsize=9)
    ax.legend(fontsize=7, ncol=2)
    fig.tight_layout()
    return save_figure(fig, out_dir, "lit_sparse_parity_fourier_gap")
