"""Section 4.1 (Figure 6): learning to encode piecewise-linear curves, every seed trained as one batched model.

A curve f = W p (gradfail.data.curves) is to be mapped back to its encoding p = U f, U = W^{-1} (Lemma 1).
The four set-ups of the authors' PWL_fail1.py (digest §3.5-3.8, original_code.md §2.4):

- 4.1.1 "fc" (FtoK, Figure 6a): p^ = U^ f with U^ (n x n, no bias) initialised to 0; loss: per-example SUM
  of squared errors ||p^ - p||^2, averaged over the batch; Adam lr 1e-4, batch 100.
- 4.1.2 "conv" (FtoKConv, Figure 6b): one 3-tap filter w, initialised to 0; row t = [f_{t-1}, f_t, f_{t+1}]
  (t = 1..n-2) predicts p^_{t+1} = row_t . w, and p^_0 = p^_1 = 0 (the authors' zero padding); loss: mean
  squared error over all n entries; Adam lr 0.05, batch 100. The ideal filter is [1, -2, 1].
- 4.1.3 "conv" with whiten=True (FtoKConvCond, Figure 6c): every row is multiplied by C^{-1/2}, where
  C = F^T F / rows is the uncentred second moment of all rows of the model's training pool, so
  p^_{t+1} = row_t C^{-1/2} w and the *effective* filter is C^{-1/2} w; Adam lr 0.99, batch 10.
- 4.1.4 the auto-encoder (Figure 6d): n -> 500 -> 100 -> 6 -> 100 -> 100 -> n, ReLU after every layer but
  the last (including the 6-unit code, as in the code); MSE; Adam lr 1e-3, batch 100; data from
  gradfail.data.curves.smooth_kink_curves.

Data: a fixed pool of 10,000 training and 1,000 validation curves per seed; minibatches are drawn from the
pool with replacement (as the authors do). Adam has torch's defaults (betas 0.9, 0.999; eps 1e-8), which
are TensorFlow's defaults too.

Plain SGD (the algorithm of the paper's theory, Lemma 2 / Theorem 3 and Appendix A.5) is offered with a
step size that is stable by construction: with optimizer="sgd" the step of model m is lr / L_m, where L_m
is the largest eigenvalue of the Hessian of the training loss on the model's own pool (so lr < 2 is
stable and lr = 1 is A.5's eta = 1/lambda_1). Only that normalisation makes the whitened and the plain
convolution comparable at "the same" step size.

Note [Curve ensembles]: one model per seed, trained as one batched model (Note [Ensembles] in
gradfail.engine.ensemble). Seed s owns the generators ("curves", law, n, "train" / "validation") of its
pools and ("curves", "batches") of its minibatch indices, so every variant of one seed (fc or conv,
whitened or not, Adam or SGD) sees the same curves and the same minibatches: a paired comparison.
Per-model step sizes (SGD) are per-model loss weights 1/L_m, which for SGD is the same update.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial

import numpy as np
import torch
from torch import nn

from gradfail.data.curves import CURVE_LAWS, curves_from_encodings, sample_curves, smooth_kink_curves
from gradfail.engine.ensemble import BatchedMLP, ChunkedStream, Trace, train_ensemble
from gradfail.engine.guards import seed_names
from gradfail.measure.conditioning import conv_rows, inverse_sqrt, second_moment
from gradfail.seeding import make_generator
from gradfail.validation import check_choice, check_int, check_real

ENCODERS = ("fc", "conv")
OPTIMIZERS = ("adam", "sgd")
CURVE_SHAPES = ("kinked", "linear")
IDEAL_FILTER = (1.0, -2.0, 1.0)
TRAIN_CURVES, VALIDATION_CURVES = 10_000, 1_000     # the authors' pools
STREAM_ELEMENTS = 2**16                              # per model: minibatches are gathered this many numbers at a time
PSEUDO_INVERSE_RTOL = 1e-12                          # see pseudo_inverse_sqrt


# --- Rows and whitening -------------------------------------------------------------------------------

def conv_windows(f: torch.Tensor) -> torch.Tensor:
    """(..., n) curves -> (..., n-2, 3) rows [f_{t-1}, f_t, f_{t+1}], t = 1..n-2, kept per curve (the
    flattened version is gradfail.measure.conditioning.conv_rows)."""
    return f.unfold(-1, 3, 1)


def pseudo_inverse_sqrt(c: torch.Tensor, *, rtol: float = PSEUDO_INVERSE_RTOL) -> torch.Tensor:
    """C^{+1/2} = V diag(s^{-1/2}) V^T over the eigenvalues s > rtol * max(s), zero on the rest.

    For the n x n second moment of whole curves, which is singular under the code law (f_0 = f_1 = f_2 = 0
    for every curve); on a positive definite C it equals gradfail.measure.conditioning.inverse_sqrt.
    """
    s, v = torch.linalg.eigh(c.to(torch.float64))
    keep = s > rtol * s.max()
    scale = torch.where(keep, s.clamp(min=torch.finfo(s.dtype).tiny).rsqrt(), torch.zeros_like(s))
    return (v * scale) @ v.T


# --- The batched encoders --------------------------------------------------------------------------

class BatchedLinearEncoder(nn.Module):
    """M fully connected maps (4.1.1): p^ = U^_m (A_m f), U^_m (n x n) initialised to 0, no bias.

    A_m is the model's whitener (identity unless whitened); the effective map on raw curves is U^_m A_m.
    """

    def __init__(self, whiteners: torch.Tensor):
        super().__init__()
        n_models, n, _ = whiteners.shape
        self.weight = nn.Parameter(torch.zeros(n_models, n, n, dtype=whiteners.dtype, device=whiteners.device))
        self.register_buffer("whitener", whiteners)
        # Skip the n x n product when every A_m is the identity: it would double the cost of a step.
        eye = torch.eye(n, dtype=whiteners.dtype, device=whiteners.device)
        self.whitened = not bool((whiteners == eye).all())

    @property
    def n_models(self) -> int:
        return self.weight.shape[0]

    def forward(self, f: torch.Tensor) -> torch.Tensor:
        if self.whitened:
            f = torch.bmm(f, self.whitener)               # rows f^T A = (A f)^T, since A is symmetric
        return torch.bmm(f, self.weight.transpose(1, 2))

    def effective_map(self) -> torch.Tensor:
        """U^_m A_m, (M, n, n): the map applied to raw curves."""
        return torch.bmm(self.weight, self.whitener).detach()


class BatchedConvEncoder(nn.Module):
    """M 3-tap convolutions (4.1.2, 4.1.3): p^_{t+1} = (row_t A_m) . w_m, p^_0 = p^_1 = 0; w_m initialised to 0."""

    def __init__(self, whiteners: torch.Tensor):
        super().__init__()
        n_models = whiteners.shape[0]
        self.weight = nn.Parameter(torch.zeros(n_models, 3, dtype=whiteners.dtype, device=whiteners.device))
        self.register_buffer("whitener", whiteners)

    @property
    def n_models(self) -> int:
        return self.weight.shape[0]

    def forward(self, f: torch.Tensor) -> torch.Tensor:
        # (row_t A) . w = row_t . (A w): the same function of w, so the same gradient, as whitening every
        # row first, at a third of the cost.
        interior = (conv_windows(f) @ self._filter()[:, None, :, None]).squeeze(-1)     # (M, B, n-2)
        return nn.functional.pad(interior, (2, 0))                                       # the authors' padding

    def _filter(self) -> torch.Tensor:
        return (self.whitener @ self.weight[..., None]).squeeze(-1)

    def effective_filter(self) -> torch.Tensor:
        """A_m w_m, (M, 3): the filter applied to raw rows; [1, -2, 1] is exact."""
        return self._filter().detach()


def sum_squared_error(prediction: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """The FtoK loss per model: ||p^ - p||^2 summed over coordinates, averaged over the batch, (M,)."""
    return (prediction - target).pow(2).sum(-1).mean(-1)


def mean_squared_error(prediction: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """The convolutions' and the auto-encoder's loss per model: the mean over batch and coordinates, (M,)."""
    return (prediction - target).pow(2).mean((-2, -1))


ENCODER_LOSS = {"fc": sum_squared_error, "conv": mean_squared_error}


# --- Data --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class CurvePools:
    """Per-model pools, float64 on the CPU: train (M, N, n) and validation (M, V, n) curves f and encodings p."""

    train_f: torch.Tensor
    train_p: torch.Tensor
    validation_f: torch.Tensor
    validation_p: torch.Tensor


def curve_pools(seeds: Sequence[int], *, n: int, law: str, train_curves: int = TRAIN_CURVES,
                validation_curves: int = VALIDATION_CURVES) -> CurvePools:
    """The fixed pools of every seed, from that seed's own generators (Note [Curve ensembles])."""
    check_choice("law", law, CURVE_LAWS)
    train = [sample_curves(n, train_curves, law=law, generator=make_generator(s, "curves", law, n, "train"))
             for s in seeds]
    validation = [sample_curves(n, validation_curves, law=law,
                                generator=make_generator(s, "curves", law, n, "validation")) for s in seeds]
    return CurvePools(torch.stack([f for f, _ in train]), torch.stack([p for _, p in train]),
                      torch.stack([f for f, _ in validation]), torch.stack([p for _, p in validation]))


def _pool_sampler(x: torch.Tensor, y: torch.Tensor, generator: torch.Generator, n_batches: int, batch: int):
    """Minibatches drawn from a fixed pool with replacement, as in PWL_fail1.py."""
    index = torch.randint(x.shape[0], (n_batches, batch), generator=generator)
    return x[index], y[index]


def _stream(xs: torch.Tensor, ys: torch.Tensor, seeds: Sequence[int], label: str, *, batch: int,
            dtype: torch.dtype, device) -> ChunkedStream:
    # The chunk depends on (batch, n) only, so a model's stream is the same in any ensemble.
    chunk = max(1, min(100, STREAM_ELEMENTS // (batch * xs.shape[-1])))
    samplers = [partial(_pool_sampler, x, y, make_generator(s, label, "batches")) for x, y, s in zip(xs, ys, seeds)]
    return ChunkedStream(samplers, batch=batch, chunk=chunk, dtype=dtype, device=device)


# --- Training the encoders (4.1.1-4.1.3) --------------------------------------------------------------

def encoder_whiteners(encoder: str, train_f: torch.Tensor, whiten: bool) -> torch.Tensor:
    """A_m per model, float64 (M, d, d): C^{-1/2} of the model's training rows (conv, d = 3) or curves
    (fc, d = n, a pseudo-inverse), or the identity when not whitened."""
    d = 3 if encoder == "conv" else train_f.shape[-1]
    if not whiten:
        return torch.eye(d, dtype=torch.float64).expand(train_f.shape[0], d, d).clone()
    if encoder == "conv":
        return torch.stack([inverse_sqrt(second_moment(conv_rows(f))) for f in train_f])
    return torch.stack([pseudo_inverse_sqrt(second_moment(f)) for f in train_f])


def loss_curvature(encoder: str, train_f: torch.Tensor, whiteners: torch.Tensor) -> torch.Tensor:
    """L_m, (M,): the largest Hessian eigenvalue of model m's training loss over its whole pool.

    fc: 2 lambda_max(A S A), S = F^T F / N of the curves (the loss sums over coordinates);
    conv: 2 (n-2)/n lambda_max(A C A), C the rows' second moment (the MSE averages over n entries, n-2 of
    which depend on w).
    """
    n = train_f.shape[-1]
    if encoder == "conv":
        moments = torch.stack([second_moment(conv_rows(f)) for f in train_f])
        factor = 2 * (n - 2) / n
    else:
        moments = torch.stack([second_moment(f) for f in train_f])
        factor = 2.0
    return factor * torch.linalg.eigvalsh(whiteners @ moments @ whiteners)[:, -1]


@dataclass(frozen=True)
class EncoderRun:
    """A trained batch of encoders; model m belongs to seeds[m].

    trace.values (E, M) is the held-out loss ratio at trace.steps; errors (E, M, V) holds the per-curve
    validation errors ||p^_i - p_i||^2 behind it (float64, CPU), for intervals over curves.
    """

    encoder: str
    seeds: tuple[int, ...]
    model: BatchedLinearEncoder | BatchedConvEncoder
    pools: CurvePools
    trace: Trace
    errors: torch.Tensor

    def filter_error(self) -> np.ndarray:
        """max_j |(A_m w_m)_j - [1, -2, 1]_j| per model (conv only), exact given the trained weights."""
        if self.encoder != "conv":
            raise ValueError(f"filter_error needs encoder 'conv', got {self.encoder!r}")
        ideal = torch.tensor(IDEAL_FILTER, dtype=torch.float64)
        return (self.model.effective_filter().cpu().double() - ideal).abs().amax(-1).numpy()


def predict(model: nn.Module, f: torch.Tensor) -> torch.Tensor:
    """The batched model's outputs on curves f (M, V, n): encodings p^ or reconstructions, float64 on the CPU."""
    parameter = next(model.parameters())
    with torch.no_grad():
        return model(f.to(parameter.device, parameter.dtype)).double().cpu()


def validation_errors(model: nn.Module, pools: CurvePools) -> torch.Tensor:
    """||p^ - p||^2 of every validation curve, (M, V), float64 on the CPU."""
    return (predict(model, pools.validation_f) - pools.validation_p).pow(2).sum(-1)


def held_out_loss_ratio(errors: torch.Tensor, pools: CurvePools) -> torch.Tensor:
    """sum_i ||p^_i - p_i||^2 / sum_i ||p_i||^2 over the validation curves, (M,): the held-out loss relative
    to its value at the zero initialisation (p^ = 0), the same ratio for either loss normalisation."""
    return errors.sum(-1) / pools.validation_p.pow(2).sum((-2, -1))


def train_encoders(*, encoder: str, seeds: Sequence[int], steps: int, lr: float, batch: int,
                   optimizer: str = "adam", whiten: bool = False, n: int = 100, law: str = "code",
                   train_curves: int = TRAIN_CURVES, validation_curves: int = VALIDATION_CURVES,
                   dtype: torch.dtype = torch.float64, device: torch.device | str = "cpu", eval_every: int = 0,
                   eval_steps: Sequence[int] = (), on_eval: Callable[[nn.Module, torch.Tensor], None] | None = None,
                   progress: str | None = None) -> EncoderRun:
    """Train one encoder per seed as one batched model (Note [Curve ensembles]); see the module doc.

    The trace holds every model's held-out loss ratio (`held_out_loss_ratio`) at step 0, every `eval_every`
    steps, at `eval_steps` and at the end; `on_eval(model, validation_f)` is called at the same points with the
    (M, V, n) validation curves (for snapshots).
    """
    check_choice("encoder", encoder, ENCODERS)
    check_choice("optimizer", optimizer, OPTIMIZERS)
    check_int("number of seeds", len(seeds), 1)
    check_int("steps", steps, 0)
    check_real("lr", lr, 0.0, lo_open=True)
    check_int("batch", batch, 1)
    pools = curve_pools(seeds, n=n, law=law, train_curves=train_curves, validation_curves=validation_curves)
    whiteners = encoder_whiteners(encoder, pools.train_f, whiten)
    builder = BatchedConvEncoder if encoder == "conv" else BatchedLinearEncoder
    model = builder(whiteners.to(device, dtype))
    base_loss = ENCODER_LOSS[encoder]
    if optimizer == "sgd":
        weights = (1 / loss_curvature(encoder, pools.train_f, whiteners)).to(device, dtype)

        def loss(prediction, target):
            return base_loss(prediction, target) * weights       # step lr / L_m for model m
    else:
        loss = base_loss

    history = []

    def evaluate(net: nn.Module) -> torch.Tensor:
        if on_eval is not None:
            on_eval(net, pools.validation_f)
        history.append(validation_errors(net, pools))
        return held_out_loss_ratio(history[-1], pools)

    stream = _stream(pools.train_f, pools.train_p, seeds, "curves", batch=batch, dtype=dtype, device=device)
    trace = train_ensemble(model, stream, steps=steps, lr=lr, loss=loss, optimizer=optimizer, evaluate=evaluate,
                           eval_every=eval_every, eval_steps=eval_steps, progress=progress,
                           model_names=seed_names(seeds))
    return EncoderRun(encoder, tuple(seeds), model, pools, trace, torch.stack(history))


def decode(p_hat: torch.Tensor) -> torch.Tensor:
    """W p^ per curve: the curve an encoding describes (Figure 6 draws decoded encodings)."""
    return curves_from_encodings(p_hat)


# --- The auto-encoder (4.1.4) -------------------------------------------------------------------------

def autoencoder_sizes(n: int, kinks: int) -> tuple[int, ...]:
    """N: n -> 500 -> 100 -> 2k, then M: 2k -> 100 -> 100 -> n (PWL_fail1.py's FAutoEncoder)."""
    return (n, 500, 100, 2 * kinks, 100, 100, n)


def autoencoder_curves(n: int, count: int, *, kinks: int, shape: str,
                       generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """(f, theta) float64: smooth_kink_curves, or (shape "linear") the same draws with [.]_+ removed.

    "linear" curves f(x) = sum_i a_i (x - theta_i) have no kink at all, while theta still marks where the
    kinks would be: the control for the near-kink error ratio.
    """
    check_choice("shape", shape, CURVE_SHAPES)
    f, theta = smooth_kink_curves(n, count, kinks=kinks, hinge=shape == "kinked", generator=generator)
    return f, theta


@dataclass(frozen=True)
class AutoencoderRun:
    """A trained batch of auto-encoders; model m belongs to seeds[m]. trace.values: validation MSE (E, M)."""

    seeds: tuple[int, ...]
    model: BatchedMLP
    validation_f: torch.Tensor       # (M, V, n) float64
    validation_theta: torch.Tensor   # (M, V, kinks) float64
    trace: Trace

    def reconstructions(self) -> torch.Tensor:
        """The model's output on every validation curve, (M, V, n) float64 on the CPU."""
        return predict(self.model, self.validation_f)


def train_autoencoders(*, seeds: Sequence[int], steps: int, lr: float = 1e-3, batch: int = 100, n: int = 100,
                       kinks: int = 3, shape: str = "kinked", train_curves: int = TRAIN_CURVES,
                       validation_curves: int = VALIDATION_CURVES, dtype: torch.dtype = torch.float32,
                       device: torch.device | str = "cpu", eval_every: int = 0, eval_steps: Sequence[int] = (),
                       on_eval: Callable[[nn.Module, torch.Tensor], None] | None = None,
                       progress: str | None = None) -> AutoencoderRun:
    """Train one auto-encoder per seed as one batched BatchedMLP (the authors' truncated-normal init).

    Streams of seed s: ("autoencoder", n, kinks, "train" / "validation") for the pools (shared by both
    shapes, so "linear" is the same draws without kinks), ("autoencoder", n, kinks, "init") and
    ("autoencoder", "batches"). The trace and `on_eval(model, validation_f)` work as in `train_encoders`.
    """
    check_int("number of seeds", len(seeds), 1)
    check_int("steps", steps, 0)
    check_real("lr", lr, 0.0, lo_open=True)
    check_int("batch", batch, 1)
    check_choice("shape", shape, CURVE_SHAPES)
    labels = ("autoencoder", n, kinks)
    pools = {part: [autoencoder_curves(n, count, kinks=kinks, shape=shape,
                                       generator=make_generator(s, *labels, part)) for s in seeds]
             for part, count in (("train", train_curves), ("validation", validation_curves))}
    train_f = torch.stack([f for f, _ in pools["train"]])
    validation_f = torch.stack([f for f, _ in pools["validation"]])
    validation_theta = torch.stack([t for _, t in pools["validation"]])
    model = BatchedMLP(autoencoder_sizes(n, kinks), [make_generator(s, *labels, "init") for s in seeds],
                       dtype=dtype, device=device)

    def evaluate(net: nn.Module) -> torch.Tensor:
        if on_eval is not None:
            on_eval(net, validation_f)
        return (predict(net, validation_f) - validation_f).pow(2).mean((-2, -1))

    stream = _stream(train_f, train_f, seeds, "autoencoder", batch=batch, dtype=dtype, device=device)
    trace = train_ensemble(model, stream, steps=steps, lr=lr, loss=mean_squared_error, optimizer="adam",
                           evaluate=evaluate, eval_every=eval_every, eval_steps=eval_steps, progress=progress,
                           model_names=seed_names(seeds))
    return AutoencoderRun(tuple(seeds), model, validation_f, validation_theta, trace)
