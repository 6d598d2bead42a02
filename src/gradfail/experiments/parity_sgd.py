"""Experiment 2.1 (Figure 1): SGD on random parities with a one-hidden-layer ReLU network.

Set-up of the authors' parity.py (digest §1.7): x uniform on {+-1}^d, y = chi_v(x) for a random support
v ~ U({0,1}^d); network d -> 10d ReLU -> 1; mean hinge loss; plain SGD, lr 0.01, batch 128, a fresh batch
every step; accuracy on fresh samples. Every seed is one model with its own support, initialisation and
data; all seeds train as one batched model (Note [Ensembles]).
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial

import numpy as np
import torch

from gradfail.data.parity import random_support, sample_parity_batch
from gradfail.engine.ensemble import BatchedMLP, ChunkedStream, Trace, train_ensemble
from gradfail.engine.guards import seed_names
from gradfail.seeding import make_generator

CURVE_SAMPLES = 1000  # fresh samples per point of the accuracy curve (the authors used 500)


def _draw(support: torch.Tensor, generator: torch.Generator, n_batches: int, batch: int):
    return sample_parity_batch(support.expand(n_batches, -1), batch, generator=generator)


def parity_sgd(*, d: int, seeds: Sequence[int], steps: int, width_factor: int = 10, lr: float = 0.01,
               batch: int = 128, test_samples: int = 10_000, eval_every: int = 0,
               device: torch.device | str = "cpu", progress: str | None = None) -> tuple[Trace, np.ndarray]:
    """Train one model per seed; return the accuracy trace and the final number of correct test answers.

    The trace holds accuracy on CURVE_SAMPLES fresh examples every `eval_every` steps (none if 0). The
    final evaluation uses `test_samples` fresh examples per model from its own "test" generator, so each
    count is Binomial(test_samples, accuracy) given the trained model.
    """
    streams = {name: [make_generator(s, "parity", d, name) for s in seeds] for name in ("support", "init", "data")}
    supports = torch.stack([random_support(d, generator=g) for g in streams["support"]])        # (M, d)
    model = BatchedMLP((d, width_factor * d, 1), streams["init"], device=device)
    stream = ChunkedStream([partial(_draw, v, g) for v, g in zip(supports, streams["data"])], batch=batch,
                           device=device)

    def fresh(name: str, n: int) -> tuple[torch.Tensor, torch.Tensor]:
        pairs = [sample_parity_batch(v, n, generator=make_generator(s, "parity", d, name))
                 for v, s in zip(supports, seeds)]
        return torch.stack([x for x, _ in pairs]).to(device), torch.stack([y for _, y in pairs]).to(device)

    curve_x, curve_y = fresh("curve", CURVE_SAMPLES) if eval_every else (None, None)

    def accuracy(net: BatchedMLP) -> torch.Tensor:
        return (torch.sign(net(curve_x)) == curve_y).float().mean(dim=1)

    trace = train_ensemble(model, stream, steps=steps, lr=lr, evaluate=accuracy if eval_every else None,
                           eval_every=eval_every, progress=progress, model_names=seed_names(seeds))
    test_x, test_y = fresh("test", test_samples)
    with torch.no_grad():
        correct = (torch.sign(model(test_x)) == test_y).sum(dim=1)
    return trace, correct.cpu().numpy()
