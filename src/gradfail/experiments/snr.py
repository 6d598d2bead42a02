"""Signal-to-noise ratio of the gradient on N1's score layer at initialisation (paper Section 3.1, Figure 5).

For a loss l(w; v) of one k-tuple v and the weights w of N1's last layer (the "score" layer, F2 = 100 numbers;
the code's variable score/weights), with g(v) = grad_w l(w; v) and mu = E g:

    SNR = ||mu||^2 / E||g - mu||^2          (signal over the variance of a single-tuple gradient)

The losses (digest §2.2; the authors' tuple_rect_SNR.py):

    "end_to_end":     hinge(y~(v) N2(sigmoid(s(x_1)), ..., sigmoid(s(x_k))))   with y~ = prod_j y(x_j)
    "decomposition":  hinge(y(x_1) s(x_1))        the per-image loss of the *first* image only, as the
                                                  authors measured it (it does not involve N2 or k)
    "decomposition_training": the sum of the two above with the per-image term averaged over all k
                                                  images, the loss the decomposition is *trained* with

N1 is drawn once per seed and kept for every k; a fresh N2 is drawn for each k (as in the code).

Note [Antithetic tuples]: the map theta -> pi - theta preserves U[0, pi) and flips the image's label, so
re-rendering image j of a tuple with pi - theta_j (same length and centre) gives another exact draw of X1.
For a k-tuple, the 2^k tuples obtained by flipping any subset of its images are equally distributed, so
the average g_bar(v) of the 2^k single-tuple gradients is an unbiased estimate of mu, and an estimate with
far less variance: whatever part of g does not depend on every image's orientation cancels. The signal is
then the U-statistic

    S_hat = (||sum_i g_bar_i||^2 - sum_i ||g_bar_i||^2) / (n (n - 1)),   E S_hat = ||mu||^2 exactly,

and the noise is E||g||^2 - ||mu||^2, estimated by the mean of ||g||^2 over all n 2^k single-tuple
gradients minus S_hat (unbiased). At k = 3 on the faithful CNN this resolves an SNR of about 1e-9 with
2,000 tuples, where the plain estimator (one gradient per tuple) resolves about 1e-3; `antithetic=False`
gives the plain estimator. For the synthetic proxy the same flip is y -> -y with the noise kept.

Note [Authors' SNR]: tuple_rect_SNR.py averages gradients over mini-batches of B = 100 tuples,
S0 = ||mean of the batch gradients||^2, S1 = B * mean ||batch gradient||^2, and reports S0 / (S1 - S0**2).
Since E S1 = B ||mu||^2 + E||g - mu||^2, the right noise is S1 - B*S0 (up to S0's own 1/n bias); `S0**2` is a
slip. It is harmless where SNR << 1/B, and S0 itself carries an upward bias of E||g - mu||^2 / n, an SNR
floor of about 1/n (2e-6 for their 500,000 tuples). `authors_snr` reproduces the computation so a test can
show the difference.

Intervals: the per-tuple sufficient statistics are pooled into `groups` equal groups and every statistic
gets a delete-one-group jackknife standard error with a Student-t quantile (G - 1 degrees of freedom).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from scipy import stats
from torch.func import functional_call, grad, vmap

from gradfail.data.lines import draw_line_params, line_labels, render_lines
from gradfail.models.mlp import mlp
from gradfail.models.tuple_net import LineScorer, TupleHead, TupleNetShape
from gradfail.seeding import make_generator
from gradfail.stats import Estimate
from gradfail.validation import check_choice, check_int, check_real

SNR_LOSSES = ("end_to_end", "decomposition", "decomposition_training")
FEATURES = ("cnn", "synthetic")
_FEATURE_CHUNK = 2000  # images per N1 forward pass


@dataclass(frozen=True)
class SyntheticImages:
    """The proxy's stand-in for X1: x = a y e_1 + z in R^d, y = +-1 fair, z ~ N(0, I_d).

    Its N1 is an MLP d -> widths -> 1 (ReLU), the last layer playing the score layer; `score_scale`
    multiplies that layer's initial weights. The default 0.4 matches the spread of the CNN's initial scores
    (std about 0.09, against about 0.25 for the unscaled MLP): with small scores N2 stays within its hinge
    margin (|N(v)| < 1) on every tuple, as on the CNN. Larger scores can push N2 past the margin on a few
    tuples for some initialisations, and the hinge's switching then adds a label-independent mean gradient
    that is no information about the parity. Flipping an image maps (y, z) to (-y, z).
    """

    d: int = 8
    separation: float = 1.0       # a
    widths: tuple[int, ...] = (32, 100)
    score_scale: float = 0.4

    def __post_init__(self) -> None:
        check_int("d", self.d, 1, 256)
        check_real("separation", self.separation, 0.0, 20.0)
        check_int("number of hidden layers", len(self.widths), 1, 4)
        for i, width in enumerate(self.widths):
            check_int(f"widths[{i}]", width, 1, 1024)
        check_real("score_scale", self.score_scale, 0.0, 100.0, lo_open=True)


@dataclass(frozen=True)
class Moments:
    """Sufficient statistics of one (k, loss) cell, pooled in G groups of tuples.

    count (G,), mean_sum (G, P): sums of the antithetic means g_bar, mean_sq (G,): sums of ||g_bar||^2,
    second (G,): sums over tuples of the average ||g||^2 of their single-tuple gradients. float64.
    """

    count: torch.Tensor
    mean_sum: torch.Tensor
    mean_sq: torch.Tensor
    second: torch.Tensor

    def _pooled(self, drop: int | None):
        keep = slice(None) if drop is None else torch.arange(len(self.count)) != drop
        return (float(self.count[keep].sum()), self.mean_sum[keep].sum(0), float(self.mean_sq[keep].sum()),
                float(self.second[keep].sum()))

    def signal(self, drop: int | None = None) -> float:
        """Unbiased ||mu||^2 (the U-statistic of Note [Antithetic tuples]); `drop` leaves one group out."""
        n, total, sq, _ = self._pooled(drop)
        return (float(total @ total) - sq) / (n * (n - 1))

    def noise(self, drop: int | None = None) -> float:
        """Unbiased E||g - mu||^2 = E||g||^2 - ||mu||^2."""
        n, _, _, second = self._pooled(drop)
        return second / n - self.signal(drop)

    def snr(self, drop: int | None = None) -> float:
        return self.signal(drop) / self.noise(drop)

    @property
    def groups(self) -> int:
        return len(self.count)


def jackknife(statistic: Callable[[int | None], float], groups: int, alpha: float,
              detail: dict | None = None) -> Estimate:
    """Delete-one-group jackknife: the full-sample value with a Student-t (1 - alpha) interval.

    statistic(None) is the full-sample value, statistic(g) the value without group g. A NaN anywhere (a
    logarithm of a negative estimate, say) gives a NaN estimate, which every bound judges as failing.
    """
    check_int("groups", groups, 2)
    value = statistic(None)
    leave_out = np.array([statistic(g) for g in range(groups)])
    if not np.isfinite(value) or not np.all(np.isfinite(leave_out)):
        return Estimate(math.nan, math.nan, math.nan, alpha=alpha, detail=detail or {})
    se = math.sqrt((groups - 1) / groups * float(((leave_out - leave_out.mean()) ** 2).sum()))
    half = float(stats.t.ppf(1 - alpha / 2, df=groups - 1)) * se
    return Estimate(value, value - half, value + half, alpha=alpha, detail=detail or {})


# --- per-tuple gradients of the score layer ---------------------------------------------------------------

def _loss_fn(loss: str, head: TupleHead, k: int, bias: torch.Tensor):
    """l(w; h, y): the loss of one tuple as a function of the score weights w (F2,), given N1's
    penultimate features h (k, F2) and the per-image labels y (k,)."""
    params = {name: p.detach() for name, p in head.named_parameters()}

    def end_to_end(w, h, y):
        scores = h @ w + bias
        tuple_score = functional_call(head, params, (scores.reshape(1, 1, k),)).reshape(())
        return torch.clamp(1 - y.prod() * tuple_score, min=0)

    def first_image(w, h, y):
        return torch.clamp(1 - y[0] * (h[0] @ w + bias), min=0)

    def training(w, h, y):
        return end_to_end(w, h, y) + torch.clamp(1 - y * (h @ w + bias), min=0).mean()

    return {"end_to_end": end_to_end, "decomposition": first_image, "decomposition_training": training}[loss]


def score_layer_gradients(features: torch.Tensor, labels: torch.Tensor, *, loss: str, weight: torch.Tensor,
                          bias: torch.Tensor, head: TupleHead) -> torch.Tensor:
    """Per-tuple gradients (n, F2) of `loss` w.r.t. the score weights, by torch.func vmap(grad).

    features (n, k, F2) and labels (n, k) of n tuples; weight (F2,), bias () of the score layer; `head` is N2
    with one model. Everything in the dtype of `features` (float64 for the claims).
    """
    check_choice("loss", loss, SNR_LOSSES)
    k = features.shape[1]
    fn = _loss_fn(loss, head, k, bias)
    return vmap(grad(fn), in_dims=(None, 0, 0))(weight, features, labels.to(features.dtype))


def _flip_combinations(k: int) -> torch.Tensor:
    """(2^k, k) 0/1 rows: which images of the tuple are replaced by their flipped twin."""
    return torch.tensor(list(itertools.product((0, 1), repeat=k)), dtype=torch.int64)


def cell_moments(features: torch.Tensor, labels: torch.Tensor, *, loss: str, weight: torch.Tensor,
                 bias: torch.Tensor, head: TupleHead, groups: int, antithetic: bool = True) -> Moments:
    """Moments of one (k, loss) cell from twin features (2, n, k, F2) and twin labels (2, n, k).

    Twin 0 is the drawn image, twin 1 its flip (Note [Antithetic tuples]); without `antithetic` only
    twin 0 is used and g_bar = g.
    """
    n, k = features.shape[1:3]
    check_int("groups", groups, 2, n)
    rows = _flip_combinations(k) if antithetic else torch.zeros(1, k, dtype=torch.int64)
    position = torch.arange(k)
    mean = torch.zeros(n, features.shape[-1], dtype=features.dtype, device=features.device)
    second = torch.zeros(n, dtype=features.dtype, device=features.device)
    for row in rows:
        g = score_layer_gradients(features[row, :, position].transpose(0, 1), labels[row, :, position].T,
                                  loss=loss, weight=weight, bias=bias, head=head)
        mean += g
        second += (g * g).sum(1)
    mean /= len(rows)
    second /= len(rows)
    group = torch.arange(n, device=features.device) * groups // n                    # equal, contiguous
    return Moments(count=torch.bincount(group, minlength=groups).to(torch.float64).cpu(),
                   mean_sum=torch.zeros(groups, mean.shape[1], dtype=torch.float64).index_add_(
                       0, group.cpu(), mean.cpu().to(torch.float64)),
                   mean_sq=torch.zeros(groups, dtype=torch.float64).index_add_(
                       0, group.cpu(), (mean * mean).sum(1).cpu().to(torch.float64)),
                   second=torch.zeros(groups, dtype=torch.float64).index_add_(
                       0, group.cpu(), second.cpu().to(torch.float64)))


# --- the two feature extractors: the faithful CNN and the synthetic proxy --------------------------------

class _CNNFeatures:
    """Twin images for the CNN: lines and their theta -> pi - theta flips, through N1 (one model)."""

    def __init__(self, shape: TupleNetShape, seed: int, device, trunk_dtype: torch.dtype, dtype: torch.dtype):
        # Drawn in float32 whatever the trunk's dtype, so `trunk_dtype` changes the arithmetic only, not the
        # network (a float64 draw from the same generator gives other weights).
        self.n1 = LineScorer(shape, [make_generator(seed, "snr", "n1")], dtype=torch.float32,
                             device=device).to(trunk_dtype)
        self.dtype, self.device, self.seed = dtype, device, seed
        self.weight = self.n1.score_w[0].detach().to(dtype)
        self.bias = self.n1.score_b[0].detach().to(dtype)

    def twins(self, n: int, k: int, used: int) -> tuple[torch.Tensor, torch.Tensor]:
        """features (2, n, k, F2) and labels (2, n, k); only the first `used` images of a tuple go through
        N1 (the others are zero: the first-image loss never reads them)."""
        params = draw_line_params(n * k, generator=make_generator(self.seed, "snr", "data", k))
        params = params.reshape(n, k, 4)[:, :used].reshape(-1, 4)
        flipped = params.clone()
        flipped[:, 0] = math.pi - params[:, 0]  # U[0, pi) -> (0, pi]; theta = 0 has probability zero
        features = torch.zeros(2, n, k, self.n1.shape.fc2, dtype=self.dtype, device=self.device)
        labels = torch.ones(2, n, k, dtype=torch.int64, device=self.device)
        for twin, p in enumerate((params, flipped)):
            chunks = []
            with torch.no_grad():
                for start in range(0, len(p), _FEATURE_CHUNK):
                    images = render_lines(p[start:start + _FEATURE_CHUNK]).to(self.device)
                    chunks.append(self.n1.features(images[None])[0])
            features[twin, :, :used] = torch.cat(chunks).reshape(n, used, -1).to(self.dtype)
            labels[twin, :, :used] = line_labels(p).reshape(n, used).to(self.device)
        return features, labels


class _SyntheticFeatures:
    """Twin features for the proxy (see `SyntheticImages`)."""

    def __init__(self, spec: SyntheticImages, seed: int, device, dtype: torch.dtype):
        net = mlp(spec.d, spec.widths, generator=make_generator(seed, "snr", "proxy_n1"), dtype=dtype,
                  device=device)
        self.trunk = net[:-1]
        self.weight = spec.score_scale * net[-1].weight[0].detach()
        self.bias = net[-1].bias[0].detach()
        self.spec, self.seed, self.dtype, self.device = spec, seed, dtype, device

    def twins(self, n: int, k: int, used: int) -> tuple[torch.Tensor, torch.Tensor]:
        generator = make_generator(self.seed, "snr", "proxy_data", k)
        y = (2 * torch.randint(0, 2, (n, k), generator=generator) - 1)
        z = torch.randn(n, k, self.spec.d, generator=generator, dtype=self.dtype)
        labels = torch.stack([y, -y]).to(self.device)
        shift = torch.zeros(self.spec.d, dtype=self.dtype)
        shift[0] = self.spec.separation
        with torch.no_grad():
            features = torch.stack([self.trunk((z + s * y[..., None].to(self.dtype) * shift).to(self.device))
                                    for s in (1, -1)])
        return features, labels


def snr_moments(*, k_values: Sequence[int], losses: Sequence[str], n_tuples: int, seed: int, groups: int = 20,
                features: str = "cnn", shape: TupleNetShape = TupleNetShape(),
                synthetic: SyntheticImages = SyntheticImages(), antithetic: bool = True,
                trunk_dtype: torch.dtype = torch.float32, dtype: torch.dtype = torch.float64,
                device: torch.device | str = "cpu") -> dict[tuple[int, str], Moments]:
    """Moments of every (k, loss) cell for one seed: N1 once, a fresh N2 per k, fresh tuples per k.

    Every k gets its own `n_tuples` tuples (and their flips); the losses of one k share them. For the CNN,
    N1's convolutional trunk runs in `trunk_dtype` (its output is a fixed function of the image either
    way), and everything after the penultimate layer, gradients and sums included, runs in `dtype`.
    """
    check_choice("features", features, FEATURES)
    for k in k_values:
        check_int("k", k, 1, 8)
    for loss in losses:
        check_choice("loss", loss, SNR_LOSSES)
    check_int("n_tuples", n_tuples, groups)
    source = (_CNNFeatures(shape, seed, device, trunk_dtype, dtype) if features == "cnn"
              else _SyntheticFeatures(synthetic, seed, device, dtype))
    out = {}
    for k in k_values:
        head = TupleHead(k, shape.head, [make_generator(seed, "snr", "n2", k)], dtype=dtype, device=device)
        used = 1 if set(losses) == {"decomposition"} else k
        twin_features, twin_labels = source.twins(n_tuples, k, used)
        for loss in losses:
            out[(k, loss)] = cell_moments(twin_features, twin_labels, loss=loss, weight=source.weight,
                                          bias=source.bias, head=head, groups=groups, antithetic=antithetic)
    return out


def authors_snr(gradients: torch.Tensor, *, batch: int = 100) -> dict[str, float]:
    """The SNR as tuple_rect_SNR.py computes it from single-tuple gradients (n, P) (Note [Authors' SNR]).

    Returns S0, S1, the authors' noise S1 - S0**2 and SNR S0 / (S1 - S0**2), and the corrected noise
    S1 - batch * S0 with its SNR.
    """
    check_int("batch", batch, 1)
    n = gradients.shape[0] // batch * batch
    check_int("number of whole batches", n // batch, 1)
    batches = gradients[:n].to(torch.float64).reshape(n // batch, batch, -1).mean(1)
    s0 = float(batches.mean(0).square().sum())
    s1 = batch * float(batches.square().sum(1).mean())
    return {"S0": s0, "S1": s1, "noise": s1 - s0**2, "snr": s0 / (s1 - s0**2),
            "corrected_noise": s1 - batch * s0, "corrected_snr": s0 / (s1 - batch * s0)}
