"""Section 2 of Shalev-Shwartz, Shamir & Shammah (ICML 2017): parities and linear-periodic functions.

"Failure due to non-informative gradients": for a class of orthogonal targets the gradient barely depends
on which target is being learnt (Theorem 1: Var <= G^2/|H|), so for the 2^d parities it carries
exponentially little information, and SGD fails around d = 30 (Figure 1). Theorem 2 says the same for
linear-periodic targets psi(v^T x). Claim ids follow the digest's T1-T9 (shared/research/paper_digest.md §6).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from hypothesis import strategies as st

from gradfail.claims._core import Bound, Claim, Setting
from gradfail.data.parity import (CODINGS, MAX_EXACT_D, TARGET_CLASSES, cube_bits, encode, parity_matrix,
                                  target_matrix)
from gradfail.data.periodic import DIRECTIONS, PSI
from gradfail.engine.guards import FiniteGuard
from gradfail.experiments.parity_sgd import parity_sgd
from gradfail.experiments.periodic import periodic_variance
from gradfail.experiments.trajectories import divergence_ratios
from gradfail.measure.jacobian import per_example_gradient_blocks
from gradfail.measure.losses import LOSSES, get_loss
from gradfail.measure.target_variance import (parity_class_variance_by_parseval, parity_variance_identity,
                                               variance_over_targets)
from gradfail.models.mlp import ACTIVATIONS, mlp
from gradfail.models.relu_parity import relu_parity_network, relu_parity_predict
from gradfail.seeding import make_generator
from gradfail.stats import Estimate, clopper_pearson, mean_interval, slope_interval
from gradfail.validation import check_bool, check_choice, check_int, check_real

PAPER = "Shalev-Shwartz, Shamir & Shammah, Failures of Gradient-Based Deep Learning, ICML 2017"
ALPHA = 1e-3  # false-failure probability of each Monte Carlo or training check (Note [Benefit of the doubt])
# Checks run at many Hypothesis-drawn settings per run get a smaller alpha, so a run of 10 examples still
# has a false-failure budget of 1e-3.
ALPHA_DRAWN = 1e-4


# --- T1: parities are orthonormal ------------------------------------------------------------------------

@dataclass(frozen=True)
class CubeSetting(Setting):
    d: int                       # number of bits
    bit_probability: float = 0.5  # P(b_i = 1); Theorem 1's corollary needs the uniform cube (1/2)

    def validate(self) -> None:
        check_int("d", self.d, 1, 12)
        check_real("bit_probability", self.bit_probability, 0.0, 1.0)


def gram_deviation(setting: CubeSetting, *, seeds, device) -> Estimate:
    """max |E_b[chi_v(b) chi_v'(b)] - 1[v = v']| over all pairs, exactly (float64)."""
    bits = cube_bits(setting.d).to(torch.float64)
    p = setting.bit_probability
    weights = torch.prod(torch.where(bits == 1, p, 1 - p), dim=1)                    # P(b), (2^d,)
    m = parity_matrix(setting.d).to(device)
    gram = (m * weights.to(device)) @ m.T
    return Estimate(float((gram - torch.eye(len(weights), dtype=gram.dtype, device=device)).abs().max()))


# --- T2-T5: Var(H, F, w) computed exactly over the whole cube --------------------------------------------

@dataclass(frozen=True)
class GradientVarianceSetting(Setting):
    d: int                             # bits; all 2^d inputs and all targets are enumerated
    widths: tuple[int, ...] = ()       # hidden layer widths; () is the linear predictor
    activation: str = "relu"
    loss: str = "square"
    bias: bool = True
    init_scale: float = 1.0            # multiplies the authors' std 1/sqrt(fan_in)
    train_steps: int = 0               # full-batch GD steps towards a random parity before measuring
    perturbation: float = 0.0          # std of Gaussian noise added to every weight afterwards
    target_class: str = "parities"
    coding: str = "pm1"

    def validate(self) -> None:
        check_int("d", self.d, 1, MAX_EXACT_D)
        check_int("number of hidden layers", len(self.widths), 0, 4)
        for i, width in enumerate(self.widths):
            check_int(f"widths[{i}]", width, 1, 256)
        check_bool("bias", self.bias)
        check_choice("activation", self.activation, ACTIVATIONS)
        check_choice("loss", self.loss, LOSSES)
        check_real("init_scale", self.init_scale, 0.0, 10.0, lo_open=True)
        check_int("train_steps", self.train_steps, 0, 1000)
        check_real("perturbation", self.perturbation, 0.0, 10.0)
        check_choice("target_class", self.target_class, TARGET_CLASSES)
        check_choice("coding", self.coding, CODINGS)


def _model_at(setting: GradientVarianceSetting, seed: int, device) -> tuple[torch.nn.Module, torch.Tensor]:
    """The network at the point w where Theorem 1 is checked: init, optional training, optional noise."""
    dtype = torch.float64
    x = encode(cube_bits(setting.d), setting.coding, dtype=dtype).to(device)
    net = mlp(setting.d, setting.widths, setting.activation, bias=setting.bias, init_scale=setting.init_scale,
              generator=make_generator(seed, "variance", "init"), dtype=dtype, device=device)
    if setting.train_steps:
        pick = make_generator(seed, "variance", "train_target")
        target = target_matrix("parities", setting.d, generator=pick,
                               rows=torch.randint(0, 2**setting.d, (1,), generator=pick))[0].to(device)
        optimizer = torch.optim.SGD(net.parameters(), lr=0.1)
        guard = FiniteGuard("the gradient-variance pre-training", net.named_parameters(), n_models=1,
                            steps=setting.train_steps, model_names=[f"seed {seed}"])
        for _ in range(setting.train_steps):
            optimizer.zero_grad(set_to_none=True)
            guard.loss(get_loss(setting.loss).value(net(x).reshape(-1), target).mean()).backward()
            # Clipped steps keep large-init deep nets finite: w must be a point, not an overflow.
            torch.nn.utils.clip_grad_norm_(net.parameters(), 1.0)
            optimizer.step()
            guard.stepped()
    if setting.perturbation:
        noise = make_generator(seed, "variance", "perturbation")
        with torch.no_grad():
            for p in net.parameters():
                p.add_(setting.perturbation * torch.randn(p.shape, generator=noise, dtype=dtype).to(device))
    return net, x


def _exact_variance(setting: GradientVarianceSetting, seed: int, device, model=None):
    """(Var, predictions, Jacobian blocks) over the whole cube; `model` is `_model_at`'s pair when already built."""
    net, x = model or _model_at(setting, seed, device)
    predictions, jacobian = per_example_gradient_blocks(net, x)
    targets = None if setting.target_class == "parities" else target_matrix(
        setting.target_class, setting.d, generator=make_generator(seed, "variance", "class")).to(device)
    return variance_over_targets(predictions, jacobian, get_loss(setting.loss), targets), predictions, jacobian


# Above this many Jacobian entries (2^d x P; 128 MiB in float64) the parity class's variance streams over the
# cube by Parseval instead of holding the Jacobian (issue 6: d = 16 in < 2 GB, d = 20 at the paper profile).
JACOBIAN_ENTRIES_HELD = 2**24


def variance_ratio(setting: GradientVarianceSetting, *, seeds, device) -> Estimate:
    """rho = Var(H, F, w) |H| / G(w)^2, exact over all 2^d inputs and every target of the class."""
    model = _model_at(setting, seeds[0], device)
    net = model[0]
    if (setting.target_class == "parities"
            and 2**setting.d * sum(p.numel() for p in net.parameters()) > JACOBIAN_ENTRIES_HELD):
        result = parity_class_variance_by_parseval(net, setting.d, get_loss(setting.loss), coding=setting.coding)
        return Estimate(result.ratio, detail={"variance": result.variance, "G2": result.g_squared,
                                              "n_targets": result.n_targets, "path": "streamed (Parseval)"})
    result, _, _ = _exact_variance(setting, seeds[0], device, model)
    return Estimate(result.ratio, detail={"variance": result.variance, "G2": result.g_squared,
                                          "n_targets": result.n_targets})


def identity_error(setting: GradientVarianceSetting, *, seeds, device) -> Estimate:
    """|Var - (E||g||^2/2^d - ||g(x0)||^2/4^d)| / Var: exact variance against the square-loss identity."""
    result, predictions, jacobian = _exact_variance(setting, seeds[0], device)
    identity = parity_variance_identity(predictions, jacobian, get_loss("square"))
    return Estimate(abs(result.variance - identity) / result.variance,
                    detail={"variance": result.variance, "identity": identity})


def exact_variance(setting: GradientVarianceSetting, *, seeds, device) -> Estimate:
    """Var(H, F, w) itself, exact."""
    result, _, _ = _exact_variance(setting, seeds[0], device)
    return Estimate(result.variance, detail={"G2": result.g_squared})


def linear_closed_form(setting: GradientVarianceSetting) -> float:
    """d/2^d - d/4^d: Var of x -> w^T x on x in {+-1}^d under the square loss (digest §1.3)."""
    return setting.d / 2**setting.d - setting.d / 4**setting.d


@dataclass(frozen=True)
class DecaySetting(Setting):
    d_values: tuple[int, ...] = (6, 8, 10, 12)
    width_factor: int = 10          # hidden width = width_factor * d, as in Figure 1
    loss: str = "square"
    target_class: str = "parities"

    def validate(self) -> None:
        check_int("number of d values", len(self.d_values), 3, 12)
        for i, d in enumerate(self.d_values):
            check_int(f"d_values[{i}]", d, 2, 13)
        check_int("width_factor", self.width_factor, 1, 20)
        check_choice("loss", self.loss, LOSSES)
        check_choice("target_class", self.target_class, TARGET_CLASSES)


def log2_variance_slope(setting: DecaySetting, *, seeds, device) -> Estimate:
    """Least-squares slope of log2(Var/G^2) against d for ReLU nets of width 10d at initialisation (exact)."""
    logs = []
    for d in setting.d_values:
        point = GradientVarianceSetting(d=d, widths=(setting.width_factor * d,), loss=setting.loss,
                                        target_class=setting.target_class)
        result, _, _ = _exact_variance(point, seeds[0], device)
        logs.append(math.log2(result.variance / result.g_squared))
    fit = np.polyfit(setting.d_values, logs, 1)
    excess = max(v + d for v, d in zip(logs, setting.d_values))
    return Estimate(float(fit[0]), detail={"log2_var_over_G2": logs, "max_log2_excess_over_minus_d": excess})


# --- T6: linear-periodic targets (Theorem 2) ---------------------------------------------------------------

@dataclass(frozen=True)
class PeriodicSetting(Setting):
    d_values: tuple[int, ...] = (10,)     # input dimensions swept (or the one used)
    radii: tuple[float, ...] = (1.0,)     # ||v|| values swept (or the one used)
    psi: str = "sin"
    model: str = "linear"                 # 'linear' x -> w^T x, or 'relu' (one hidden layer)
    width: int = 32
    input_scale: float = 1.0              # x ~ N(0, input_scale^2 I)
    directions: str = "sphere"
    n_inputs: int = 25_000                # x samples per replicate
    n_directions: int = 100               # v samples per replicate
    replicates: int = 8                   # i.i.d. replicates behind each Student-t interval

    def validate(self) -> None:
        check_int("number of d values", len(self.d_values), 1, 8)
        for i, d in enumerate(self.d_values):
            check_int(f"d_values[{i}]", d, 1, 64)
        check_int("number of radii", len(self.radii), 1, 8)
        for i, r in enumerate(self.radii):
            check_real(f"radii[{i}]", r, 0.0, 10.0, lo_open=True)
        check_choice("psi", self.psi, PSI)
        check_choice("model", self.model, ("linear", "relu"))
        check_int("width", self.width, 1, 256)
        check_real("input_scale", self.input_scale, 0.0, 10.0, lo_open=True)
        check_choice("directions", self.directions, DIRECTIONS)
        check_int("n_inputs", self.n_inputs, 100, 10**6)
        check_int("n_directions", self.n_directions, 2, 10**4)
        check_int("replicates", self.replicates, 3, 100)


def _periodic(setting: PeriodicSetting, d: int, seed: int, device):
    return periodic_variance(d=d, radii=setting.radii, psi=setting.psi, model=setting.model, width=setting.width,
                             input_scale=setting.input_scale, directions=setting.directions,
                             n_inputs=setting.n_inputs, n_directions=setting.n_directions,
                             replicates=setting.replicates, seed=seed, device=device)


def periodic_variance_interval(setting: PeriodicSetting, *, seeds, device) -> Estimate:
    """Var over {x -> psi(v^T x): ||v|| = r} at the first d and r, with a (1 - ALPHA_DRAWN) interval."""
    return _periodic(setting, setting.d_values[0], seeds[0], device)[setting.radii[0]].interval(ALPHA_DRAWN)


def sine_closed_form(setting: PeriodicSetting) -> float:
    """r^2 exp(-r^2): Var for psi = sin, x ~ N(0, I), a linear predictor and the square loss (digest §1.4)."""
    r = setting.radii[0]
    return r**2 * math.exp(-(r**2))


def _replicate_slopes(xs, samples) -> Estimate:
    """Slope of ln(sample) against xs, fitted per replicate, with a t-interval over replicates."""
    logs = np.log(np.stack(samples, axis=1))                                       # (replicates, len(xs))
    slopes = [np.polyfit(xs, row, 1)[0] for row in logs]
    return mean_interval(slopes, ALPHA)


def periodic_radius_slope(setting: PeriodicSetting, *, seeds, device) -> Estimate:
    """d ln Var / d r over `radii` at d_values[0] (interval over replicates)."""
    by_radius = _periodic(setting, setting.d_values[0], seeds[0], device)
    samples = [by_radius[r].variances for r in setting.radii]
    return _replicate_slopes(setting.radii, samples)


def periodic_dimension_slope(setting: PeriodicSetting, *, seeds, device) -> Estimate:
    """d ln Var / d ln d over `d_values` at radii[0] (interval over replicates)."""
    samples = [_periodic(setting, d, seeds[0], device)[setting.radii[0]].variances for d in setting.d_values]
    return _replicate_slopes(np.log(setting.d_values), samples)


# --- T7: gradient descent trajectories do not depend on the target ---------------------------------------

@dataclass(frozen=True)
class TrajectorySetting(Setting):
    d_values: tuple[int, ...] = (6, 8, 10, 12, 14)
    width: int = 20
    steps: int = 20
    lr: float = 0.1
    loss: str = "square"
    target_class: str = "parities"
    pairs: int = 4                      # independent (init, h, h') triples per d

    def validate(self) -> None:
        check_int("number of d values", len(self.d_values), 3, 12)
        for i, d in enumerate(self.d_values):
            check_int(f"d_values[{i}]", d, 2, 16)
        check_int("width", self.width, 1, 256)
        check_int("steps", self.steps, 1, 10_000)
        check_real("lr", self.lr, 0.0, 10.0, lo_open=True)
        check_choice("loss", self.loss, LOSSES)
        check_choice("target_class", self.target_class, TARGET_CLASSES)
        check_int("pairs", self.pairs, 1, 64)


def divergence_slope(setting: TrajectorySetting, *, seeds, device) -> Estimate:
    """Slope of log2(rho) against d over all pairs, with its (1 - ALPHA) Student-t interval."""
    xs, ys = [], []
    for d in setting.d_values:
        ratios = divergence_ratios(d=d, width=setting.width, steps=setting.steps, lr=setting.lr, loss=setting.loss,
                                   target_class=setting.target_class, pairs=setting.pairs, seed=seeds[0],
                                   device=device)
        xs += [d] * len(ratios)
        ys += list(np.log2(ratios))
    return slope_interval(xs, ys, ALPHA)


# --- T8: Figure 1, SGD on random parities -----------------------------------------------------------------

@dataclass(frozen=True)
class ParitySGDSetting(Setting):
    d: int
    steps: int
    width_factor: int = 10
    lr: float = 0.01
    batch: int = 128
    test_samples: int = 10_000

    def validate(self) -> None:
        check_int("d", self.d, 1, 200)
        check_int("steps", self.steps, 0, 10**6)
        check_int("width_factor", self.width_factor, 1, 100)
        check_real("lr", self.lr, 0.0, 10.0, lo_open=True)
        check_int("batch", self.batch, 1, 10**5)
        check_int("test_samples", self.test_samples, 100, 10**7)


def _trained_accuracy_intervals(setting: ParitySGDSetting, seeds, device):
    """Per-seed accuracy with Clopper-Pearson intervals at ALPHA / len(seeds) (Bonferroni over seeds)."""
    _, correct = parity_sgd(d=setting.d, seeds=seeds, steps=setting.steps, width_factor=setting.width_factor,
                            lr=setting.lr, batch=setting.batch, test_samples=setting.test_samples, device=device)
    n = setting.test_samples
    intervals = [clopper_pearson(int(c), n, ALPHA / len(seeds)) for c in correct]
    return correct / n, intervals


def worst_seed_accuracy(setting: ParitySGDSetting, *, seeds, device) -> Estimate:
    """The lowest test accuracy over the seeds; the interval is that of the worst model (Bonferroni)."""
    accuracy, intervals = _trained_accuracy_intervals(setting, seeds, device)
    worst = int(np.argmin([hi for _, hi in intervals]))
    return Estimate(float(accuracy[worst]), *intervals[worst], alpha=ALPHA,
                    detail={"accuracy_by_seed": dict(zip(map(str, seeds), accuracy.round(4).tolist()))})


def worst_seed_distance_from_chance(setting: ParitySGDSetting, *, seeds, device) -> Estimate:
    """max over seeds of |accuracy - 1/2|; lo is the largest distance every seed's interval allows."""
    accuracy, intervals = _trained_accuracy_intervals(setting, seeds, device)
    least = [0.0 if lo <= 0.5 <= hi else min(abs(lo - 0.5), abs(hi - 0.5)) for lo, hi in intervals]
    most = [max(abs(lo - 0.5), abs(hi - 0.5)) for lo, hi in intervals]
    value = float(np.max(np.abs(accuracy - 0.5)))
    return Estimate(value, max(least), max(max(most), value), alpha=ALPHA,
                    detail={"accuracy_by_seed": dict(zip(map(str, seeds), accuracy.round(4).tolist()))})


# --- T9: Lemma 3, a ReLU network that computes any parity ------------------------------------------------

@dataclass(frozen=True)
class ConstructionSetting(Setting):
    d: int
    supports: int = 8                 # random parities checked per run
    include_zero_triad: bool = True   # the fix of the printed construction (digest §1.6)

    def validate(self) -> None:
        check_int("d", self.d, 1, 16)
        check_int("supports", self.supports, 1, 1024)
        check_bool("include_zero_triad", self.include_zero_triad)


def construction_error(setting: ConstructionSetting, *, seeds, device) -> Estimate:
    """Worst fraction of the 2^d inputs (0/1 coding) where sign(network) != chi_v, over random supports v."""
    bits = cube_bits(setting.d).to(device)
    pick = make_generator(seeds[0], "lemma3")
    worst = 0.0
    for _ in range(setting.supports):
        v = torch.randint(0, 2, (setting.d,), generator=pick).to(device)
        params = relu_parity_network(v, include_zero_triad=setting.include_zero_triad)
        output = relu_parity_predict(tuple(p.to(device) for p in params), bits)
        parity = 1 - 2 * ((bits * v).sum(1) % 2)
        worst = max(worst, float((torch.sign(output) != parity).double().mean()))
    return Estimate(worst)


# --- The records ---------------------------------------------------------------------------------------

_variance_settings = st.builds(
    GradientVarianceSetting,
    d=st.integers(2, 12),
    widths=st.lists(st.sampled_from([2, 4, 8, 16, 32]), min_size=1, max_size=3).map(tuple),
    activation=st.sampled_from(sorted(ACTIVATIONS)),
    loss=st.sampled_from(sorted(LOSSES)),
    init_scale=st.sampled_from([0.1, 1.0, 3.0]),
    train_steps=st.sampled_from([0, 0, 10, 50]),
    perturbation=st.sampled_from([0.0, 0.0, 0.1, 1.0]),
)

# Shared by the Figure 1 training claims: all selected seeds train as one batched float32 model.
_FIGURE1 = dict(batch_seeds=True, dtype=torch.float32, error_budget=ALPHA)

CLAIMS = (
    Claim(
        id="parity.parities_orthonormal",
        statement="The 2^d parities are orthonormal under uniform bits: their Gram matrix is the identity.",
        source=f"{PAPER}, Section 2.1 (corollary of Theorem 1; the printed product formula is corrected, digest §5.9)",
        section="2",
        quantity="max |Gram - I|",
        measure=gram_deviation,
        bound=Bound(relation="le", rhs=lambda s: 0.0, atol=1e-12, why="exact sums of +-1 terms; float64 rounding only"),
        settings=st.builds(CubeSetting, d=st.integers(1, 10)),
        reference=CubeSetting(d=10),
        violation=CubeSetting(d=6, bit_probability=0.3),
    ),
    Claim(
        id="parity.gradient_variance_bound",
        statement="For any differentiable model and the square, hinge or logistic loss, the gradient's variance "
                  "over the 2^d parity targets is at most G(w)^2 / 2^d.",
        source=f"{PAPER}, Theorem 1 and its parity corollary (Section 2.1)",
        section="2",
        quantity="Var * |H| / G^2",
        measure=variance_ratio,
        bound=Bound(relation="le", rhs=lambda s: 1.0, rtol=1e-9, why="Theorem 1 has no hidden constants; "
                    "1e-9 covers float64 rounding of the exact sums"),
        settings=_variance_settings,
        reference=GradientVarianceSetting(d=10, widths=(100,), loss="hinge"),
        # The paper profile enumerates 2^20 inputs for a width-200 network, streamed (JACOBIAN_ENTRIES_HELD).
        scale={"paper": {"d": 20, "widths": (200,)}},
        violation=GradientVarianceSetting(d=8, widths=(16,), target_class="correlated"),
    ),
    Claim(
        id="parity.square_loss_variance_identity",
        statement="Under the square loss, Var over the parities equals E||g||^2/2^d - ||g(x0)||^2/4^d exactly.",
        source=f"{PAPER}, Section 2.1 (identity derived in the digest §1.3 from the proof of Theorem 1, A.1)",
        section="2",
        quantity="relative error of the identity",
        measure=identity_error,
        bound=Bound(relation="le", rhs=lambda s: 0.0, atol=1e-10, why="an algebraic identity; float64 rounding only"),
        settings=_variance_settings.map(lambda s: GradientVarianceSetting(**{**s.as_dict(), "loss": "square"})),
        reference=GradientVarianceSetting(d=10, widths=(100,)),
        violation=GradientVarianceSetting(d=8, widths=(16,), loss="logistic"),
    ),
    Claim(
        id="parity.variance_decays_exponentially",
        statement="For ReLU networks of width 10d at initialisation, log2(Var/G^2) falls by one per added bit "
                  "(fitted slope -1 +- 0.05 over d = 6..12).",
        source=f"{PAPER}, Section 2.1 (Var <= G^2/2^d; near-tightness measured in the digest §1.3)",
        section="2",
        quantity="slope of log2(Var/G^2) against d",
        measure=log2_variance_slope,
        bound=Bound(relation="within", rhs=lambda s: (-1.0, -1.0), atol=0.05,
                    why="log2(Var/G^2) = -d + log2(rho_d) with rho_d = 1 - ||g(x0)||^2/(2^d E||g||^2) in "
                        "[0.97, 1] at these d, so the slope of log2(rho_d) is below 0.05 in size"),
        reference=DecaySetting(),
        violation=DecaySetting(target_class="dictators"),
    ),
    Claim(
        id="parity.linear_model_variance_closed_form",
        statement="For the linear model w^T x on x in {+-1}^d with the square loss, Var over the parities "
                  "is exactly d/2^d - d/4^d.",
        source=f"{PAPER}, Section 2.1 (closed form derived in the digest §1.3)",
        section="2",
        quantity="Var(H, F, w)",
        measure=exact_variance,
        bound=Bound(relation="eq", rhs=linear_closed_form, rtol=1e-10, why="exact; float64 rounding only"),
        settings=st.builds(GradientVarianceSetting, d=st.integers(1, 14), bias=st.just(False),
                           init_scale=st.sampled_from([0.1, 1.0, 5.0])),
        reference=GradientVarianceSetting(d=12, bias=False),
        violation=GradientVarianceSetting(d=8, bias=False, coding="zero_one"),
    ),
    Claim(
        id="parity.periodic_variance_closed_form",
        statement="For sin(v^T x) targets with ||v|| = r, x ~ N(0, I) and a linear predictor, Var is r^2 exp(-r^2).",
        source=f"{PAPER}, Theorem 2 (Section 2.2; closed-form case derived in the digest §1.4)",
        section="2",
        quantity="Var(H, F, w), Monte Carlo",
        measure=periodic_variance_interval,
        bound=Bound(relation="eq", rhs=sine_closed_form,
                    why="the interval is a Student-t interval over replicates widened by the x-sampling bias"),
        settings=st.builds(PeriodicSetting, d_values=st.sampled_from([(2,), (5,), (10,), (20,)]),
                           radii=st.sampled_from([(0.5,), (1.0,), (1.5,), (2.0,), (3.0,)]),
                           n_inputs=st.just(10_000)),
        reference=PeriodicSetting(d_values=(10,), radii=(1.0,)),
        violation=PeriodicSetting(d_values=(10,), radii=(1.0,), input_scale=2.0),
        error_budget=ALPHA_DRAWN,
    ),
    Claim(
        id="parity.periodic_variance_decays_with_radius",
        statement="For a one-hidden-layer ReLU network, Var over sin(v^T x) targets decays at least like "
                  "exp(-r) beyond its peak (slope of ln Var against r <= -1 for r in 1.5..3).",
        source=f"{PAPER}, Theorem 2 (Section 2.2): Var <= O(exp(-Omega(d)) + exp(-Omega(r)))",
        section="2",
        quantity="d ln Var / d r",
        measure=periodic_radius_slope,
        bound=Bound(relation="le", rhs=lambda s: -1.0,
                    why="exp(-Omega(r)) with unit rate; the sampling bias only raises small variances, "
                        "so it can only make the measured slope less steep"),
        reference=PeriodicSetting(d_values=(10,), radii=(1.5, 2.0, 2.5, 3.0), model="relu"),
        violation=PeriodicSetting(d_values=(10,), radii=(1.5, 2.0, 2.5, 3.0), model="relu", psi="identity"),
        error_budget=ALPHA,
    ),
    Claim(
        id="parity.periodic_variance_decays_with_dimension",
        statement="For a one-hidden-layer ReLU network at initialisation, Var over sin(v^T x) targets with "
                  "||v|| = 2 shrinks as d grows (log-log slope <= -0.25 for d in 5..40).",
        source=f"{PAPER}, Theorem 2 (Section 2.2): Var <= O(exp(-Omega(d)) + exp(-Omega(r)))",
        section="2",
        quantity="d ln Var / d ln d",
        measure=periodic_dimension_slope,
        bound=Bound(relation="le", rhs=lambda s: -0.25,
                    why="measured slope is about -0.6 for the network; at fixed r Theorem 2 itself allows no "
                        "decay in d (the linear predictor keeps r^2 exp(-r^2) for every d, the violation case), "
                        "and the sampling bias can only flatten the slope"),
        reference=PeriodicSetting(d_values=(5, 10, 20, 40), radii=(2.0,), model="relu", n_inputs=10_000),
        violation=PeriodicSetting(d_values=(5, 10, 20, 40), radii=(2.0,), model="linear", n_inputs=10_000),
        error_budget=ALPHA,
    ),
    Claim(
        id="parity.gd_trajectory_target_independent",
        statement="Exact gradient descent towards two random parities from one initialisation diverges less, "
                  "relative to its own movement, as d grows (log2 ratio falls >= 0.25 per bit, d = 6..14).",
        source=f"{PAPER}, Section 2.1, the consequence of Theorem 1 (digest §1.5, claim T7)",
        section="2",
        quantity="slope of log2(max_t ||w_t - w'_t|| / ||w_t - w_0||) against d",
        measure=divergence_slope,
        bound=Bound(relation="le", rhs=lambda s: -0.25,
                    why="Var <= G^2 2^-d predicts a slope near -1/2; -0.25 keeps a wide margin for the "
                        "nonlinear dynamics"),
        reference=TrajectorySetting(),
        violation=TrajectorySetting(target_class="dictators"),
        error_budget=ALPHA,
    ),
    Claim(
        id="parity.sgd_learns_small_d",
        statement="SGD (Figure 1 set-up) learns a random parity on d = 5 bits: test accuracy >= 0.95 "
                  "after 5,000 steps on every seed.",
        source=f"{PAPER}, Figure 1 and Section 2.1; hyper-parameters of the authors' parity.py",
        section="2",
        quantity="lowest test accuracy over seeds",
        measure=worst_seed_accuracy,
        bound=Bound(relation="ge", rhs=lambda s: 0.95,
                    why="paper: accuracy 1.0 by about 2,000 steps; Clopper-Pearson over 10,000 fresh samples"),
        reference=ParitySGDSetting(d=5, steps=5_000),
        violation=ParitySGDSetting(d=30, steps=5_000),
        **_FIGURE1,
    ),
    Claim(
        id="parity.sgd_fails_large_d",
        statement="SGD (Figure 1 set-up) does not learn a random parity on d = 30 bits: test accuracy stays "
                  "within 0.5 +- 0.05 on every seed.",
        source=f"{PAPER}, Figure 1 and Section 2.1 ('no advance beyond random performance'); authors' parity.py",
        section="2",
        quantity="largest |accuracy - 1/2| over seeds",
        measure=worst_seed_distance_from_chance,
        bound=Bound(relation="le", rhs=lambda s: 0.05,
                    why="chance is 0.5; Clopper-Pearson over 10,000 fresh samples, Bonferroni over seeds"),
        reference=ParitySGDSetting(d=30, steps=5_000),
        scale={"smoke": {"steps": 1_000}, "paper": {"steps": 50_000}},
        violation=ParitySGDSetting(d=5, steps=5_000),
        **_FIGURE1,
    ),
    Claim(
        id="parity.sgd_learns_d10_slowly",
        statement="SGD (Figure 1 set-up) learns a random parity on d = 10 bits after a long plateau: test "
                  "accuracy >= 0.95 after 40,000 steps on every seed.",
        source=f"{PAPER}, Figure 1 (d = 10 leaves chance near 6,000 steps, stable at 1.0 from about 20,000)",
        section="2",
        quantity="lowest test accuracy over seeds",
        measure=worst_seed_accuracy,
        bound=Bound(relation="ge", rhs=lambda s: 0.95,
                    why="over 40 seeds the slowest reached 0.95 at 29,000 steps (2 of 40 were still below "
                        "0.95 at 20,000); Clopper-Pearson over 10,000 fresh samples, Bonferroni over seeds"),
        reference=ParitySGDSetting(d=10, steps=40_000),
        # d = 30 cannot be learnt (every seed stays at chance); d = 10 cut short at 2,000 steps is no
        # violation on every seed, since about 1 seed in 10 has a low-degree parity learnt that early.
        violation=ParitySGDSetting(d=30, steps=2_000),
        tier="slow",
        **_FIGURE1,
    ),
    Claim(
        id="parity.relu_construction_realises_parity",
        statement="One hidden ReLU layer of width 3(floor(d/2)+1) computes every parity on d bits exactly "
                  "once the i = 0 triad is added to Lemma 3's construction.",
        source=f"{PAPER}, Lemma 3 (Appendix B); the i = 0 triad fixes the printed range i = 1..d/2 (digest §1.6)",
        section="2",
        quantity="worst error rate over random parities",
        measure=construction_error,
        bound=Bound(relation="le", rhs=lambda s: 0.0, why="exact enumeration of all 2^d inputs"),
        settings=st.builds(ConstructionSetting, d=st.integers(1, 14)),
        reference=ConstructionSetting(d=14),
        violation=ConstructionSetting(d=6, include_zero_triad=False),
    ),
)
