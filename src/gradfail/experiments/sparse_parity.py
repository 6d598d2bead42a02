"""Online SGD on sparse parities (Barak, Edelman, Goel, Kakade, Malach & Zhang, NeurIPS 2022).

x uniform on {+-1}^n, y = prod_{i in S} x_i for a hidden k-subset S. A one-hidden-layer ReLU MLP
(n -> width -> 1, PyTorch-default-like initialisation: weights ~ N(0, 1/n) truncated at 2 std, biases
U(-1/sqrt(n), 1/sqrt(n)) -- random biases, because zero biases cancel the odd-k population gradient of
the first layer) is trained with the hinge loss and plain SGD on a fresh batch every step (the "online"
protocol of the paper). At every evaluation (every `eval_every` steps, or every `eval_growth` x step steps
once that is longer) the run records, per model:
- the number of correct answers on its own test set of `test_samples` examples, drawn once from a stream
  the training never sees, and
- the "hidden progress" measures max_j |W_ij(t) - W_ij(0)| over the hidden units j, maximised over the
  relevant input columns i in S and over the others i not in S.

Note [Padding]: all (n, k, replicate) models of one width train as ONE batched model
(gradfail.engine.ensemble). A model with n < n_max sees its x zero-padded to n_max columns. The padded
columns never change the output, and their first-layer weights get exactly zero loss gradient, so the
model trains exactly as an n-input model would: its weights are drawn for n inputs from its own generator
(`init_weights`) and copied into the ensemble with zero rows for the padded columns, so nothing depends on
n_max or on the other models (up to float32 summation order).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from gradfail.data.parity import sample_parity_batch
from gradfail.engine.ensemble import BatchedMLP, ChunkedStream, train_ensemble
from gradfail.models.mlp import truncated_normal_
from gradfail.seeding import make_generator
from gradfail.stats import clopper_pearson
from gradfail.validation import check_int, check_real

MAX_N = 64


def random_k_support(n: int, k: int, *, generator: torch.Generator) -> torch.Tensor:
    """A 0/1 vector of length n with exactly k ones at a uniformly random k-subset S."""
    check_int("n", n, 1)
    check_int("k", k, 0, n)
    support = torch.zeros(n, dtype=torch.int64)
    support[torch.randperm(n, generator=generator)[:k]] = 1
    return support


@dataclass(frozen=True)
class ModelSpec:
    """One model of the ensemble: input size n, parity degree k and the replicate number `run`."""

    n: int
    k: int
    run: int


@dataclass(frozen=True)
class SparseParityRun:
    """What one ensemble run recorded; arrays are (E evaluations, M models) unless noted."""

    specs: tuple[ModelSpec, ...]
    steps: np.ndarray            # (E,) the step of each evaluation (0 = initialisation)
    correct: np.ndarray          # fresh test examples answered correctly
    test_samples: int
    support_move: np.ndarray     # max over S columns and hidden units of |W(t) - W(0)|
    off_support_move: np.ndarray  # the same over the columns not in S (real columns only)
    max_steps: int

    @property
    def accuracy(self) -> np.ndarray:
        return self.correct / self.test_samples

    def first_step(self, reached: np.ndarray) -> np.ndarray:
        """(M,) the first evaluated step where `reached` (E, M) is true; inf where it never is."""
        hit = reached.any(axis=0)
        first = self.steps[np.argmax(reached, axis=0)].astype(np.float64)
        return np.where(hit, first, np.inf)

    def accuracy_bounds(self, alpha: float) -> tuple[np.ndarray, np.ndarray]:
        """Clopper-Pearson (lo, hi) of every recorded accuracy, each at level alpha."""
        lo = np.empty(self.correct.shape)
        hi = np.empty(self.correct.shape)
        for index, count in np.ndenumerate(self.correct):
            lo[index], hi[index] = _cp(int(count), self.test_samples, alpha)
        return lo, hi

    def select(self, **fields) -> np.ndarray:
        """Indices of the models whose spec matches every given field, e.g. select(n=20, k=3)."""
        return np.array([i for i, s in enumerate(self.specs)
                         if all(getattr(s, name) == value for name, value in fields.items())], dtype=np.int64)


_CP_CACHE: dict[tuple[int, int, float], tuple[float, float]] = {}


def _cp(successes: int, trials: int, alpha: float) -> tuple[float, float]:
    key = (successes, trials, alpha)
    if key not in _CP_CACHE:
        _CP_CACHE[key] = clopper_pearson(successes, trials, alpha)
    return _CP_CACHE[key]


def init_weights(n: int, width: int, *, generator: torch.Generator) -> tuple[torch.Tensor, ...]:
    """(W1 (width, n), b1 (width,), W2 (1, width)) of one model: W1 ~ N(0, 1/n) and W2 ~ N(0, 1/width), both
    truncated at 2 std (gradfail.models.mlp), b1 ~ U(-1/sqrt(n), 1/sqrt(n)) as PyTorch's nn.Linear draws it."""
    first = truncated_normal_(torch.empty(width, n), 1 / math.sqrt(n), generator=generator)
    bias = (2 * torch.rand(width, generator=generator) - 1) / math.sqrt(n)
    second = truncated_normal_(torch.empty(1, width), 1 / math.sqrt(width), generator=generator)
    return first, bias, second


def _generators(spec: ModelSpec, name: str) -> torch.Generator:
    return make_generator(spec.run, "sparse_parity", spec.n, spec.k, name)


def _sampler(support: torch.Tensor, generator: torch.Generator, n_max: int, random_labels: bool):
    def draw(n_batches: int, batch: int) -> tuple[torch.Tensor, torch.Tensor]:
        x, y = sample_parity_batch(support.expand(n_batches, -1), batch, generator=generator)
        if random_labels:   # labels independent of x: the same marginal, no signal
            y = (1 - 2 * torch.randint(0, 2, y.shape, generator=generator)).to(y.dtype)
        return F.pad(x, (0, n_max - x.shape[-1])), y      # Note [Padding]
    return draw


def sparse_parity_sgd(specs: Sequence[ModelSpec], *, width: int, max_steps: int, eval_every: int,
                      lr: float = 0.1, batch: int = 32, test_samples: int = 1000,
                      stop_accuracy: float | None = 0.99, stop_alpha: float = 1e-3, random_labels: bool = False,
                      eval_growth: float = 0.0, device: torch.device | str = "cpu") -> SparseParityRun:
    """Train every model of `specs` as one batched model; evaluate every `eval_every` steps.

    Training stops early once every model's Clopper-Pearson lower accuracy bound (at `stop_alpha`) has
    reached `stop_accuracy` at some evaluation (None: always run `max_steps`).
    """
    specs = tuple(specs)
    check_int("number of models", len(specs), 1)
    for spec in specs:
        check_int("n", spec.n, 2, MAX_N)
        check_int("k", spec.k, 1, spec.n)
    check_int("width", width, 1, 65_536)
    check_int("max_steps", max_steps, 1)
    check_int("eval_every", eval_every, 1, max_steps)
    check_int("test_samples", test_samples, 10)
    if stop_accuracy is not None and _cp(test_samples, test_samples, stop_alpha)[0] < stop_accuracy:
        raise ValueError(f"test_samples={test_samples} is too few to certify accuracy {stop_accuracy} at alpha "
                         f"{stop_alpha} (even with every answer right); use more")
    check_real("lr", lr, 0.0, 10.0, lo_open=True)
    n_max = max(s.n for s in specs)
    supports = [random_k_support(s.n, s.k, generator=_generators(s, "support")) for s in specs]
    inits = [_generators(s, "init") for s in specs]
    model = BatchedMLP((n_max, width, 1), [_generators(s, "engine") for s in specs], device=device)
    columns = torch.zeros(len(specs), n_max, dtype=torch.bool)      # real input columns of each model
    relevant = torch.zeros(len(specs), n_max, dtype=torch.bool)
    with torch.no_grad():
        for m, (spec, support) in enumerate(zip(specs, supports)):
            first, bias, second = init_weights(spec.n, width, generator=inits[m])
            model.weights[0][m] = F.pad(first.T, (0, 0, 0, n_max - spec.n)).to(device)   # Note [Padding]
            model.biases[0][m, 0] = bias.to(device)
            model.weights[1][m] = second.T.to(device)
            columns[m, :spec.n] = True
            relevant[m, :spec.n] = support.bool()
    columns, relevant = columns.to(device), relevant.to(device)
    stream = ChunkedStream([_sampler(v, g, n_max, random_labels) for v, g in
                            zip(supports, (_generators(s, "data") for s in specs))],
                           batch=batch, chunk=100, device=device)
    # One test set per model, drawn once from its own stream and never trained on: each evaluation's
    # count is Binomial(test_samples, accuracy of the model at that step).
    test_x, test_y = (torch.cat(parts).to(device) for parts in zip(
        *(_sampler(v, _generators(s, "test"), n_max, random_labels)(1, test_samples) for v, s in zip(supports, specs))))
    w0 = model.weights[0].detach().clone()
    steps, correct, on_s, off_s = [], [], [], []
    done = torch.zeros(len(specs), dtype=torch.bool)

    def evaluate(step: int) -> None:
        with torch.no_grad():
            right = (torch.sign(model(test_x)) == test_y).sum(dim=1).cpu()
            move = (model.weights[0] - w0).abs().amax(dim=2)              # (M, n_max): per input column
            on_s.append(torch.where(relevant, move, 0.0).amax(dim=1).cpu().numpy())
            off_s.append(torch.where(columns & ~relevant, move, 0.0).amax(dim=1).cpu().numpy())
        steps.append(step)
        correct.append(right.numpy())
        if stop_accuracy is not None:
            lows = torch.tensor([_cp(int(c), test_samples, stop_alpha)[0] for c in right])
            done.logical_or_(lows >= stop_accuracy)

    evaluate(0)
    step = 0
    while step < max_steps and not bool(done.all()):
        # Evaluations every eval_every steps, or every eval_growth * step steps when that is longer: a
        # relative resolution of eval_growth on log t_c at a cost logarithmic in max_steps.
        chunk = min(max(eval_every, math.ceil(eval_growth * step)), max_steps - step)
        train_ensemble(model, stream, steps=chunk, lr=lr)   # plain SGD is stateless: chunks chain exactly
        step += chunk
        evaluate(step)
    return SparseParityRun(specs, np.array(steps), np.array(correct), test_samples, np.array(on_s), np.array(off_s),
                           max_steps)
