"""Experiment I (paper Section 3.1, Figure 3): end-to-end vs decomposition on k-tuples of line images.

Set-up of the authors' tuple_rect.py (digest §2.1): the network N2(sigmoid(N1(x_1)), ..., sigmoid(N1(x_k)))
of `gradfail.models.tuple_net`, trained with Adam (lr 1e-3, betas (0.9, 0.99), eps 1e-5) on batches of
200 fresh k-tuples (`gradfail.data.lines`), with one of two losses:

    end-to-end:     mean_v hinge(y~(v) N(v))                                    (the "primary" loss)
    decomposition:  mean_v hinge(y~(v) N(v)) + mean_{v, j} hinge(y(x_j) N1(x_j))  (plus the "secondary")

where hinge(z) = max(0, 1 - z). The outcome is the zero-one accuracy of sign N(v) on fresh test tuples.
Paper (Figure 3): end-to-end learns k = 1, 2 and stays at chance for k >= 3 after 20,000 iterations;
decomposition reaches about 0.85-0.9 for every k = 1..4 within 2,500.

Every (method, seed) pair is one model of a batched `TupleNet` (Note [Batched tuple nets]). The two methods
of a seed share the initialisation and see the same batches, so they differ in the loss only (a paired
comparison). The training data are drawn on the fly from per-seed generators; nothing is cached, so no
batch is ever seen twice (the authors cycled 8 times through 500,000 cached tuples).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from gradfail.data.lines import IMAGE_SIZE, sample_tuples, tuple_labels
from gradfail.engine.ensemble import Trace, train_ensemble
from gradfail.models.tuple_net import TupleNet, TupleNetShape
from gradfail.seeding import make_generator
from gradfail.validation import check_choice, check_int, check_real

METHODS = ("end_to_end", "decomposition")
ADAM = {"betas": (0.9, 0.99), "eps": 1e-5}  # the authors' AdamOptimizer(beta1=0.9, beta2=0.99, epsilon=1e-5)
CURVE_TUPLES = 1000                          # fresh tuples per point of an accuracy curve (authors: 2,000)
_EVAL_CHUNK = 1000                           # tuples per forward pass when evaluating


@dataclass(frozen=True)
class TupleRun:
    """Outcome of `train_tuples`.

    trace.values[:, i * len(seeds) + j] is the curve of method i, seed j (empty without eval_every).
    correct[i, j] counts the right answers of that model on `test_tuples` fresh tuples, so given the
    trained model it is Binomial(test_tuples, accuracy).
    """

    methods: tuple[str, ...]
    seeds: tuple[int, ...]
    trace: Trace
    correct: np.ndarray
    test_tuples: int

    def accuracy(self, method: str) -> np.ndarray:
        """Final test accuracy of every seed for `method`."""
        return self.correct[self.methods.index(method)] / self.test_tuples


def _hinge(z: torch.Tensor) -> torch.Tensor:
    return torch.clamp(1 - z, min=0)


class _Stream:
    """Batches of fresh k-tuples for every model, rendered `chunk` steps at a time (uint8 until used).

    Seeds draw; every method of a seed trains on that seed's batch (models are method-major, `_per_model`).
    """

    def __init__(self, seeds: Sequence[int], k: int, batch: int, chunk: int, *, n_methods: int,
                 dtype: torch.dtype, device: torch.device | str):
        self.generators = [make_generator(s, "tuples", k, "data") for s in seeds]
        self.k, self.batch, self.chunk = k, batch, chunk
        self.n_methods, self.dtype, self.device = n_methods, dtype, device
        self._buffer: tuple[torch.Tensor, torch.Tensor] | None = None
        self._next = chunk

    def next(self) -> tuple[torch.Tensor, torch.Tensor]:
        """images (M, batch, k, 28, 28) and per-image labels (M, batch, k), M = methods x seeds."""
        if self._next == self.chunk:
            drawn = [sample_tuples(self.chunk * self.batch, self.k, generator=g)[:2] for g in self.generators]
            shape = (self.chunk, self.batch, self.k)
            self._buffer = (torch.stack([x.reshape(*shape, IMAGE_SIZE, IMAGE_SIZE) for x, _ in drawn], 1),
                            torch.stack([y.reshape(shape) for _, y in drawn], 1))
            self._next = 0
        images, labels = self._buffer[0][self._next], self._buffer[1][self._next]
        self._next += 1
        return (_per_model(images, self.n_methods).to(self.device, self.dtype),
                _per_model(labels, self.n_methods).to(self.device, self.dtype))


def _per_model(x: torch.Tensor, n_methods: int) -> torch.Tensor:
    """Repeat the seeds' tensor (S, ...) for every method: (n_methods * S, ...), method-major."""
    return x.unsqueeze(0).expand(n_methods, *x.shape).reshape(n_methods * x.shape[0], *x.shape[1:])


def train_tuples(*, k: int, seeds: Sequence[int], steps: int, methods: Sequence[str] = METHODS,
                 shape: TupleNetShape = TupleNetShape(), batch: int = 200, lr: float = 1e-3,
                 test_tuples: int = 10_000, eval_every: int = 0, curve_tuples: int = CURVE_TUPLES,
                 dtype: torch.dtype = torch.float32, device: torch.device | str = "cpu",
                 progress: str | None = None) -> TupleRun:
    """Train one model per (method, seed) for `steps` Adam steps; return curves and test counts.

    The curve holds the accuracy on `curve_tuples` fresh tuples (a "curve" stream per seed) every
    `eval_every` steps (none if 0); the final count uses `test_tuples` tuples from a separate "test"
    stream, so the curve never selects the reported model.
    """
    check_int("k", k, 1, 8)
    check_int("number of seeds", len(seeds), 1)
    check_int("steps", steps, 0)
    check_int("number of methods", len(methods), 1, len(METHODS))
    for method in methods:
        check_choice("method", method, METHODS)
    check_int("batch", batch, 1)
    check_real("lr", lr, 0.0, 1.0, lo_open=True)
    check_int("test_tuples", test_tuples, 1)
    check_int("eval_every", eval_every, 0)
    methods, seeds = tuple(methods), tuple(seeds)
    n_methods = len(methods)
    # Both methods of a seed start from the same weights (separate generators with the same seed).
    net = TupleNet(k, shape, n1_generators=[make_generator(s, "tuples", "n1") for _ in methods for s in seeds],
                   n2_generators=[make_generator(s, "tuples", k, "n2") for _ in methods for s in seeds],
                   dtype=dtype, device=device)
    decomposition = torch.tensor([m == "decomposition" for m in methods for _ in seeds], device=device)
    # About 4 MB of uint8 images per seed and chunk: large enough to amortise drawing, small in memory.
    stream = _Stream(seeds, k, batch, chunk=max(1, min(steps, 4_000_000 // (batch * k * IMAGE_SIZE**2))),
                     n_methods=n_methods, dtype=dtype, device=device)

    def correct_answers(name: str, n: int) -> torch.Tensor:
        """Right answers per model on n fresh tuples of every seed's stream `name`, drawn chunk by chunk."""
        generators = [make_generator(s, "tuples", k, name) for s in seeds]
        total = torch.zeros(n_methods * len(seeds), dtype=torch.int64, device=device)
        with torch.no_grad():
            for start in range(0, n, _EVAL_CHUNK):
                drawn = [sample_tuples(min(_EVAL_CHUNK, n - start), k, generator=g) for g in generators]
                x = _per_model(torch.stack([images for images, _, _ in drawn]), n_methods).to(device, dtype)
                y = _per_model(torch.stack([labels for _, _, labels in drawn]), n_methods).to(device, dtype)
                total += (torch.sign(net(x)[0]) == y).sum(dim=1)
        return total

    def tuple_loss(outputs: tuple[torch.Tensor, torch.Tensor], y: torch.Tensor) -> torch.Tensor:
        """Per-model hinge loss (M,) on the tuple label, plus each image's own label for decomposition."""
        tuple_scores, image_scores = outputs
        loss = _hinge(tuple_labels(y) * tuple_scores).mean(dim=1)
        return loss + torch.where(decomposition, _hinge(y * image_scores).mean(dim=(1, 2)), 0.0)

    # The same curve tuples at every evaluation: the "curve" stream is re-created from its seed each time.
    trace = train_ensemble(net, stream, steps=steps, lr=lr, loss=tuple_loss, optimizer="adam", optimizer_options=ADAM,
                           evaluate=(lambda _: correct_answers("curve", curve_tuples) / curve_tuples) if eval_every
                           else None, eval_every=eval_every, progress=progress,
                           model_names=[f"{m}, seed {s}" for m in methods for s in seeds])
    correct = correct_answers("test", test_tuples).cpu().numpy().reshape(n_methods, len(seeds))
    return TupleRun(methods=methods, seeds=seeds, trace=trace, correct=correct, test_tuples=test_tuples)
