"""Intermediate supervision (Wies, Levine & Shashua, ICLR 2023): test accuracy during training, chain vs end to end.

The claim's learners (gradfail.claims.intermediate_supervision, reference setting scaled for the profile) trained
for a few seeds with accuracy on 1,000 fresh samples every 100 steps: the chain-supervised MLP, decoding
autoregressively, leaves chance and reaches ~1; the end-to-end MLP stays at 0.5 for the whole budget.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from gradfail.claims import get_claim  # noqa: E402
from gradfail.experiments.intermediate_supervision import train_parity_learner  # noqa: E402
from gradfail.figures._save import save_figure  # noqa: E402

CLAIM = "intermediate_supervision.chain_learns_parity_end_to_end_does_not"
SEEDS = {"smoke": (0,), "ci": (0, 1, 2), "paper": tuple(range(5))}
COLOURS = {"chain": "tab:green", "end_to_end": "tab:red"}


def draw_lit_intermediate_supervision(out_dir: str | Path, *, profile: str = "ci", device="cpu",
                                      progress: bool = True) -> Path:
    """Accuracy against training steps for every seed of SEEDS[profile], both learners."""
    setting = get_claim(CLAIM).reference_for(profile)
    fig, ax = plt.subplots(figsize=(5.2, 3.6))
    for supervision, label in (("chain", "chain of partial parities"), ("end_to_end", "end to end")):
        run = train_parity_learner(supervision=supervision, n=setting.n, k=setting.k, seeds=SEEDS[profile],
                                   steps=setting.steps, width=setting.width, lr=setting.lr, batch=setting.batch,
                                   test_size=1000, eval_every=100, device=device)
        for i in range(run.trace.values.shape[1]):
            ax.plot(run.trace.steps, run.trace.values[:, i], color=COLOURS[supervision], alpha=0.8,
                    label=label if i == 0 else None)
    ax.axhline(0.5, color="grey", lw=0.8, ls=":")
    ax.set_xlabel("training step (Adam, batch 64)")
    ax.set_ylabel("accuracy on fresh inputs")
    ax.set_ylim(0.35, 1.05)
    ax.legend(fontsize=8, loc="center right")
    ax.set_title(f"parity of a hidden {setting.k}-subset of {setting.n} bits, MLP width {setting.width}, "
                 f"seeds {', '.join(map(str, SEEDS[profile]))}", fontsize=8)
    fig.suptitle(f"Wies, Levine & Shashua (ICLR 2023): sub-task decomposition — gradfail, profile {profile}",
                 fontsize=9)
    fig.tight_layout()
    return save_figure(fig, out_dir, "lit_intermediate_supervision")
