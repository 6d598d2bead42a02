"""Experiment II of Section 3.2 (Figure 4): the stocks toy trained end-to-end or by decomposition.

Set-up of the authors' dec_vs_e2e_stocks.py (digest §2.3): one-hot inputs e_1..e_d (d = 1000), a linear
layer d -> k and a softmax, so N_w(x) = softmax(W^T x + b) lies on the simplex; weights truncated normal with
std 1/sqrt(d), zero bias; Adam with lr 0.1, betas (0.9, 0.99), eps 1e-5; batch 100, a fresh batch every step.
The two gradient estimators differ only in the target t of the per-sample loss -t^T N_w(x):
- end-to-end: t = z, the observed outcome vector (Eq. (2) of Section 3.3 gives its second moment);
- decomposition: t = e_{y(x)}, the label of the best stock (Eq. (3)).
Both are unbiased estimates of grad L(w) (Section 3.3), since E[z | x] = e_{y(x)}.

Note [Stocks ensembles]: every (estimator, seed) pair is one model of a batched model whose weights are
stacked as (M, d, k). Model (e, s) draws its problem instance (the best classes), its initialisation and its
input stream from generators of seed s only, so the two estimators of one seed see the same problem, the same
initial weights and the same inputs: a paired comparison whose only difference is the estimator. The training
loss is the sum over models of each model's mean loss, so each weight slice gets exactly its own model's
gradient, and Adam, being element-wise, keeps exact per-model state (as in Note [Ensembles]).

Adam is dense here, as in the authors' TensorFlow code: rows of W whose input is not in the batch get a zero
gradient but still move with the momentum. That dense update over M*d*k weights is the cost of a step.
One difference remains: TensorFlow adds eps to the uncorrected sqrt(v), torch to the bias-corrected one, so
torch's step equals TensorFlow's with eps * sqrt(1 - 0.99^t); the two agree within 1% of eps after 400 steps.

Training goes through the one engine, gradfail.engine.ensemble.train_ensemble, with the authors' Adam constants
as optimizer options; ChunkedStream keeps the integer input indices as integers.
"""

from __future__ import annotations

import inspect
from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial

import numpy as np
import torch
from torch import nn
from torch.func import functional_call, jacrev, vmap

from gradfail.data.stocks import (best_classes, check_outcome_law, one_hot, outcome_distribution, sample_inputs,
                                  sample_outcomes)
from gradfail.engine.ensemble import ChunkedStream, Trace, train_ensemble
from gradfail.models.mlp import truncated_normal_
from gradfail.seeding import make_generator
from gradfail.validation import check_choice, check_int, check_real

ESTIMATORS = ("end_to_end", "decomposition")
ADAM_BETAS = (0.9, 0.99)   # the authors' values (dec_vs_e2e_stocks.py), not torch's defaults
ADAM_EPS = 1e-5
CHUNK_ELEMENTS = 2**20     # per model: batches are drawn max(1, min(100, this // (batch k))) steps at a time


class BatchedLinearSoftmax(nn.Module):
    """M linear-softmax allocators d -> k; forward maps input indices (M, B) to allocations (M, B, k).

    Model m computes N_m(e_j) = softmax(W_m^T e_j + b_m) = softmax(W_m[j] + b_m). The authors multiply the
    one-hot vector by W; selecting row j is exactly that product (every other term is an exact zero), with
    B*k instead of B*d*k work per model, and its backward adds the same gradient into row j only.

    Weights are stored (M, d, k); model m's are drawn as nn.Linear's (k, d) matrix from generators[m] with
    the authors' truncated normal (std init_scale/sqrt(d)) and transposed, as BatchedMLP does. Biases are 0.
    """

    def __init__(self, d: int, k: int, generators: Sequence[torch.Generator], *, init_scale: float = 1.0,
                 dtype: torch.dtype = torch.float32, device: torch.device | str = "cpu"):
        super().__init__()
        check_int("d", d, 1)
        check_int("k", k, 2)
        check_int("number of models", len(generators), 1)
        check_real("init_scale", init_scale, 0.0, 100.0, lo_open=True)
        stacked = torch.empty(len(generators), d, k, dtype=dtype)
        for m, generator in enumerate(generators):
            drawn = torch.empty(k, d, dtype=dtype)
            truncated_normal_(drawn, init_scale / d**0.5, generator=generator)
            stacked[m] = drawn.T
        self.weight = nn.Parameter(stacked.to(device))
        self.bias = nn.Parameter(torch.zeros(len(generators), 1, k, dtype=dtype, device=device))

    @property
    def n_models(self) -> int:
        return self.weight.shape[0]

    def forward(self, index: torch.Tensor) -> torch.Tensor:
        n_models, d, k = self.weight.shape
        offset = d * torch.arange(n_models, device=index.device).unsqueeze(1)     # model m's rows start at m d
        rows = nn.functional.embedding(index + offset, self.weight.reshape(n_models * d, k))   # (M, B, k)
        return torch.softmax(rows + self.bias, dim=-1)

    def allocations_all(self) -> torch.Tensor:
        """N_m(e_j) for every model and every input: (M, d, k)."""
        return torch.softmax(self.weight + self.bias, dim=-1)


def estimator_loss(allocations: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Per-model mean of -t^T N(x) over the batch, shape (M,): t = z (end-to-end) or e_y (decomposition)."""
    return -(targets * allocations).sum(-1).mean(-1)


def population_loss(model: BatchedLinearSoftmax, best: torch.Tensor) -> torch.Tensor:
    """L(w) = E_{x,z}[-z^T N_w(x)] = -(1/d) sum_j N_w(e_j)_{y(e_j)} exactly, per model (M,).

    Exact because x is uniform on d points and E[z | x] = e_{y(x)} (Section 3.3); `best` is (M, d).
    """
    with torch.no_grad():
        return -model.allocations_all().gather(-1, best.unsqueeze(-1)).squeeze(-1).mean(-1)


def fresh_sample_loss(model: BatchedLinearSoftmax, best: torch.Tensor, n: int, *,
                      generators: Sequence[torch.Generator]) -> torch.Tensor:
    """The authors' evaluation: the mean of -z^T N(x) over n fresh (x, z) per model, (M,).

    Each term lies in [-1, 1] and has mean `population_loss`, so the two differ by O(1/sqrt(n)).
    """
    check_int("n", n, 1)
    d, k = model.weight.shape[1:]
    index = torch.stack([sample_inputs((n,), d, generator=g) for g in generators])            # (M, n)
    labels = best.cpu().gather(1, index)
    z = torch.stack([sample_outcomes(y, k, generator=g, dtype=model.weight.dtype) for y, g in zip(labels, generators)])
    with torch.no_grad():
        return estimator_loss(model(index.to(model.weight.device)), z.to(model.weight.device))


def gradient_sq_norms(allocations: torch.Tensor) -> torch.Tensor:
    """||G_i||^2 = ||grad_w N_w(x)_i||^2 = 2 s_i^2 (1 - 2 s_i + ||s||^2) for s = N_w(x), shape (..., k).

    For the linear-softmax model at a one-hot input e_j, N depends on the weights only through the logits
    W[j] + b, and d s_i / d logits = s_i (e_i - s); the same vector appears in the row-j block and in the
    bias block, hence the factor 2 (digest §2.4 states the row block only; the factor cancels in ratios).
    """
    s = allocations
    return 2 * s.pow(2) * (1 - 2 * s + s.pow(2).sum(-1, keepdim=True))


def allocation_jacobian(model: BatchedLinearSoftmax) -> torch.Tensor:
    """J (d, k, P): J[j, i] = G_i(e_j) = grad_w N_w(e_j)_i of model 0, by autograd (torch.func.jacrev).

    Columns follow named_parameters order (weight (d, k) flattened, then bias (k,)). Memory d^2 k^2: meant for
    the exact checks with small d and k.
    """
    params = {name: p.detach()[:1] for name, p in model.named_parameters()}
    d, k = model.weight.shape[1:]

    def allocation(p: dict[str, torch.Tensor], j: torch.Tensor) -> torch.Tensor:
        return functional_call(model, p, (j.reshape(1, 1),)).reshape(k)

    inputs = torch.arange(d, device=model.weight.device)
    jac = vmap(jacrev(allocation), in_dims=(None, 0))(params, inputs)
    return torch.cat([jac[name].reshape(d, k, -1) for name in params], dim=-1)


@dataclass(frozen=True)
class EstimatorMoments:
    """Exact moments over z of both estimators at every input e_j (claims T10, T11)."""

    end_to_end_mean: torch.Tensor       # (d, P): E_z[-z^T grad N(e_j)], the mean of all 2^(k-1) estimates
    end_to_end_second: torch.Tensor     # (d,):   E_z||-z^T grad N(e_j)||^2
    decomposition: torch.Tensor         # (d, P): -e_y^T grad N(e_j) = -G_y
    sum_sq_norms: torch.Tensor          # (d,):   sum_i ||G_i||^2, Eq. (2)'s right-hand side


def enumerate_estimators(model: BatchedLinearSoftmax, best: torch.Tensor, *, plus_probability: float = 0.5,
                         common_sign: float = 0.0) -> EstimatorMoments:
    """Evaluate the end-to-end estimate -z^T grad N(x) for every outcome vector z and average with P(z).

    Exact up to rounding: the 2^(k-1) outcome vectors of `outcome_distribution` are enumerated, one input at
    a time, for model 0 of `model`; `best` (d,) holds y(e_j).
    """
    check_outcome_law(plus_probability, common_sign)
    jacobian = allocation_jacobian(model)                                             # (d, k, P)
    d, k, _ = jacobian.shape
    laws = [tuple(t.to(jacobian) for t in outcome_distribution(
        k, c, plus_probability=plus_probability, common_sign=common_sign, dtype=jacobian.dtype)) for c in range(k)]
    means, seconds = [], []
    for j in range(d):
        z, probability = laws[int(best[j])]
        estimates = -z @ jacobian[j]                                                  # (2^(k-1), P)
        means.append(probability @ estimates)
        seconds.append(probability @ estimates.pow(2).sum(1))
    rows = torch.arange(d, device=jacobian.device)
    return EstimatorMoments(end_to_end_mean=torch.stack(means), end_to_end_second=torch.stack(seconds),
                            decomposition=-jacobian[rows, best.to(jacobian.device)],
                            sum_sq_norms=jacobian.pow(2).sum((1, 2)))


@dataclass(frozen=True)
class StocksRun:
    """A trained batch of models: trace.values[:, m] is model m's exact loss L(w) (see population_loss).

    Models are estimator-major: model e * len(seeds) + s is estimator `estimators[e]` on seed `seeds[s]`.
    """

    estimators: tuple[str, ...]
    seeds: tuple[int, ...]
    trace: Trace
    final_loss: np.ndarray               # (M,) exact L(w) after training
    model: BatchedLinearSoftmax
    best: torch.Tensor                   # (M, d) y(e_j) of each model's problem instance

    def final(self, estimator: str) -> np.ndarray:
        """The final loss of each seed (in `seeds` order) trained with `estimator`."""
        e = self.estimators.index(estimator)
        return self.final_loss[e * len(self.seeds):(e + 1) * len(self.seeds)]

    def curve(self, estimator: str) -> np.ndarray:
        """(E, len(seeds)) loss trace of `estimator`."""
        e = self.estimators.index(estimator)
        return self.trace.values[:, e * len(self.seeds):(e + 1) * len(self.seeds)]


def adam_options() -> dict:
    """The authors' betas and eps, and the fused Adam kernel when this torch has one (CPU: torch >= 2.4)."""
    options = {"betas": ADAM_BETAS, "eps": ADAM_EPS}
    if "fused" in inspect.signature(torch.optim.Adam).parameters:
        options["fused"] = True
    return options


def stocks_training(*, k: int, seeds: Sequence[int], steps: int, estimators: Sequence[str] = ESTIMATORS,
                    d: int = 1000, lr: float = 0.1, batch: int = 100, init_scale: float = 1.0, eval_every: int = 0,
                    dtype: torch.dtype = torch.float32, device: torch.device | str = "cpu",
                    progress: str | None = None) -> StocksRun:
    """Train one model per (estimator, seed) as one batched model (Note [Stocks ensembles]).

    The trace holds the exact loss L(w) of every model at step 0, every `eval_every` steps (none if 0) and
    at the end. Streams of seed s: "problem" (best classes), "init", "inputs" and "outcomes", all under
    ("stocks", d, k).
    """
    check_int("k", k, 2)
    check_int("d", d, 1)
    check_int("steps", steps, 0)
    check_int("number of seeds", len(seeds), 1)
    check_int("number of estimators", len(estimators), 1, len(ESTIMATORS))
    for estimator in estimators:
        check_choice("estimator", estimator, ESTIMATORS)
    if len(set(estimators)) != len(estimators):
        raise ValueError(f"estimators must not repeat; got {tuple(estimators)!r}")
    check_real("lr", lr, 0.0, lo_open=True)
    check_int("batch", batch, 1)
    check_int("eval_every", eval_every, 0)
    pairs = [(e, s) for e in estimators for s in seeds]
    labels = ("stocks", d, k)
    problems = {s: best_classes(d, k, generator=make_generator(s, *labels, "problem")) for s in seeds}
    model = BatchedLinearSoftmax(d, k, [make_generator(s, *labels, "init") for _, s in pairs],
                                 init_scale=init_scale, dtype=dtype, device=device)
    best = torch.stack([problems[s] for _, s in pairs])                               # (M, d) on the CPU
    best_device = best.to(device)
    inputs = [make_generator(s, *labels, "inputs") for _, s in pairs]
    outcomes = [make_generator(s, *labels, "outcomes") if e == "end_to_end" else None for e, s in pairs]

    def draw(m: int, n_steps: int, batch: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Model m's x (n_steps, batch) indices and targets (n_steps, batch, k), drawn on the CPU."""
        index = sample_inputs((n_steps, batch), d, generator=inputs[m])
        y = best[m][index]
        targets = (sample_outcomes(y, k, generator=outcomes[m], dtype=dtype) if pairs[m][0] == "end_to_end"
                   else one_hot(y, k, dtype=dtype))
        return index, targets

    # The chunk depends on (batch, k) only, so a model's stream is the same in any ensemble.
    stream = ChunkedStream([partial(draw, m) for m in range(len(pairs))], batch=batch,
                           chunk=max(1, min(100, CHUNK_ELEMENTS // (batch * k))), dtype=dtype, device=device)
    trace = train_ensemble(model, stream, steps=steps, lr=lr, loss=estimator_loss, optimizer="adam",
                           optimizer_options=adam_options(), evaluate=lambda net: population_loss(net, best_device),
                           eval_every=eval_every, progress=progress,
                           model_names=[f"{e}, seed {s}" for e, s in pairs])   # Note [Stocks ensembles]
    return StocksRun(tuple(estimators), tuple(seeds), trace, trace.values[-1].copy(), model, best)
