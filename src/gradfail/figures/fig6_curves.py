"""Figure 6: two validation curves and their reconstructions by the four Section 4.1 learners, at three steps.

Rows (the authors' PWL_fail1.py set-ups, gradfail.experiments.curves_training; seed 0):
(a) fully connected U^, Adam lr 1e-4, batch 100;  (b) 3-tap convolution, Adam lr 0.05, batch 100;
(c) convolution on whitened rows, Adam lr 0.99, batch 10;  (d) auto-encoder 100-500-100-6-100-100-100,
Adam lr 1e-3, batch 100, on curves with continuous breakpoints (Figure 6d's data).
Each panel shows the original f (solid) and the reconstruction (dashed): the decoded encoding W p^ for
(a)-(c), the auto-encoder's output for (d).

The paper's reading (by eye, digest §3.5-3.8): (a) visually close at 500 but still off at 50,000 (the end of
the rising curve under-estimated); (b) very poor at 500, one of two curves good at 10,000, both at 50,000;
(c) accurate from the first snapshot; (d) noisy at 500, later smooth but rounded at the kinks. The caption
says 500, 10,000 and 50,000 iterations for every row, but the code runs (c) for 500 and (d) for 10,000;
(c) uses the code's 500 here because Adam at lr 0.99 destabilises again after ~550 steps.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import torch  # noqa: E402

from gradfail.experiments.curves_training import decode, predict, train_autoencoders, train_encoders  # noqa: E402
from gradfail.figures._save import save_figure  # noqa: E402

SEED = 0
SHOWN = 2   # validation curves per panel (see _shown)

# Snapshot steps per row, by profile. "ci" keeps the whole figure to seconds on 2 CPU cores.
SCALE = {
    "smoke": {"fc": (10, 50, 100), "conv": (10, 50, 100), "whitened": (5, 20, 50), "autoencoder": (10, 50, 100)},
    "ci": {"fc": (100, 1_000, 3_000), "conv": (100, 1_000, 3_000), "whitened": (10, 50, 200),
           "autoencoder": (100, 500, 2_000)},
    "paper": {"fc": (500, 10_000, 50_000), "conv": (500, 10_000, 50_000), "whitened": (50, 200, 500),
              "autoencoder": (500, 10_000, 50_000)},
}
# Row label and the encoder's training arguments (None: the auto-encoder, with its defaults).
ROWS = {
    "fc": ("(a) fully connected, Adam 1e-4", {"encoder": "fc", "lr": 1e-4, "batch": 100}),
    "conv": ("(b) convolution, Adam 0.05", {"encoder": "conv", "lr": 0.05, "batch": 100}),
    "whitened": ("(c) conv. + whitening, Adam 0.99", {"encoder": "conv", "lr": 0.99, "batch": 10, "whiten": True}),
    "autoencoder": ("(d) auto-encoder, Adam 1e-3", None),
}


def _shown(f: torch.Tensor) -> torch.Tensor:
    """Indices of the SHOWN curves among the first 100 of f (V, n) with the sharpest kinks (largest
    sum |second difference|), so that the panels show what the learners get wrong, not flat curves."""
    sharpness = f[:100].diff(n=2, dim=-1).abs().sum(-1)
    return sharpness.topk(SHOWN).indices


def _snapshots(row: str, steps: tuple[int, ...], device, progress: bool):
    """(original curves (SHOWN, n), {step: reconstructions (SHOWN, n)}) for the row's learner on seed 0."""
    taken: list[torch.Tensor] = []
    arguments = ROWS[row][1]
    common = {"seeds": (SEED,), "steps": steps[-1], "eval_steps": steps, "device": device,
              "progress": f"Figure 6, {row}" if progress else None}
    if arguments is None:
        run = train_autoencoders(on_eval=lambda net, f: taken.append(predict(net, f[:, _shown(f[0])])[0]),
                                 **common)
        validation_f = run.validation_f[0]
    else:
        run = train_encoders(on_eval=lambda net, f: taken.append(decode(predict(net, f[:, _shown(f[0])])[0])),
                             **arguments, **common)
        validation_f = run.pools.validation_f[0]
    by_step = dict(zip((int(s) for s in run.trace.steps), taken))
    return validation_f[_shown(validation_f)], {s: by_step[s] for s in steps}


def draw_fig6_curves(out_dir: str | Path, *, profile: str = "ci", device="cpu", progress: bool = True) -> Path:
    """Train each learner once (seed 0) and draw its reconstructions of two validation curves at three steps."""
    scale = SCALE[profile]
    fig, axes = plt.subplots(len(ROWS), 3, figsize=(11, 2.3 * len(ROWS)), squeeze=False)
    for r, row in enumerate(ROWS):
        original, snapshots = _snapshots(row, scale[row], device, progress)
        for c, (step, decoded) in enumerate(snapshots.items()):
            ax = axes[r, c]
            for i in range(SHOWN):
                ax.plot(original[i].numpy(), color=f"C{i}", lw=1.2, label="original f" if i == 0 else None)
                ax.plot(decoded[i].numpy(), color=f"C{i}", lw=1.2, ls="--",
                        label="reconstruction" if i == 0 else None)
            # Early reconstructions can be off by orders of magnitude: keep the originals readable.
            low, high = float(original.min()), float(original.max())
            ax.set_ylim(low - 0.5 * (high - low) - 1, high + 0.5 * (high - low) + 1)
            ax.set_title(f"{ROWS[row][0]}: step {step:,}", fontsize=8)
            ax.tick_params(labelsize=7)
    axes[0, 0].legend(fontsize=7, loc="best")
    for ax in axes[-1]:
        ax.set_xlabel("x", fontsize=8)
    fig.suptitle("Figure 6 (piecewise-linear curves, n = 100): dashed = W p^ for (a)-(c), the output for (d) "
                 f"— gradfail, profile {profile}, seed {SEED}", fontsize=9)
    fig.tight_layout()
    return save_figure(fig, out_dir, "fig6_curves")
