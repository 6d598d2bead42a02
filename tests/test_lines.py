"""Unit tests of the line images, the tuple networks and the SNR estimators (paper Section 3.1)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from gradfail.data.lines import (
    IMAGE_SIZE,
    draw_line_params,
    line_labels,
    render_lines,
    render_lines_reference,
    sample_lines,
    sample_tuples,
    tuple_labels,
)
from gradfail.experiments.snr import Moments, authors_snr, jackknife, score_layer_gradients, snr_moments
from gradfail.experiments.tuples import train_tuples
from gradfail.models.tuple_net import LineScorer, TupleHead, TupleNet, TupleNetShape
from gradfail.seeding import make_generator
from gradfail.stats import clopper_pearson


def _gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


# --- the images ------------------------------------------------------------------------------------------

@settings(max_examples=5, deadline=None)
@given(seed=st.integers(0, 2**31 - 1))
def test_vectorised_rendering_equals_the_per_pixel_loop(seed):
    """render_lines draws exactly the pixels of the authors' per-image, per-pixel loop."""
    params = draw_line_params(300, generator=_gen(seed))
    assert torch.equal(render_lines(params), render_lines_reference(params))


def test_images_are_binary_28x28_and_labels_pm1():
    images, labels = sample_lines(500, generator=_gen(0))
    assert images.shape == (500, IMAGE_SIZE, IMAGE_SIZE) and images.dtype == torch.uint8
    assert set(images.unique().tolist()) == {0, 1}
    assert set(labels.unique().tolist()) == {-1, 1}


def test_pixel_count_follows_the_length():
    """m = floor(length/2) steps each side give at most 2m - 1 pixels, at least 1 (the centre is inside);
    a line entirely inside the image covers at least floor(2 (m-1) a) + 1 pixels, a = max(|cos|, |sin|)."""
    params = draw_line_params(4000, generator=_gen(1))
    counts = render_lines(params).sum(dim=(1, 2))
    theta, length, centre = params[:, 0], params[:, 1], params[:, 2:]
    m = torch.floor(length / 2)
    assert bool((counts >= 1).all()) and bool((counts <= 2 * m - 1).all())
    reach = (m - 1)[:, None] * torch.stack([torch.cos(theta).abs(), torch.sin(theta).abs()], 1)
    inside = ((centre - reach >= 0) & (centre + reach < IMAGE_SIZE)).all(1)
    a = torch.maximum(torch.cos(theta).abs(), torch.sin(theta).abs())
    assert inside.sum() > 1000
    assert bool((counts[inside] >= torch.floor(2 * (m[inside] - 1) * a[inside]) + 1).all())


def test_labels_are_balanced():
    """P(y = +1) = P(theta < pi/2) = 1/2: the Clopper-Pearson interval (alpha 1e-6) over 100,000 draws covers it."""
    labels = line_labels(draw_line_params(100_000, generator=_gen(2)))
    lo, hi = clopper_pearson(int((labels == 1).sum()), len(labels), 1e-6)
    assert lo <= 0.5 <= hi


def test_label_is_the_sign_of_the_row_column_correlation():
    """theta < pi/2 means rows and columns grow together: for long diagonal lines the sign of the pixels'
    row-column covariance is the label."""
    params = draw_line_params(3000, generator=_gen(3))
    theta = params[:, 0]
    diagonal = ((theta - math.pi / 4).abs() < math.pi / 8) | ((theta - 3 * math.pi / 4).abs() < math.pi / 8)
    keep = diagonal & (params[:, 1] > 12)
    images, labels = render_lines(params[keep]), line_labels(params[keep])
    for image, label in zip(images, labels):
        rows, cols = torch.nonzero(image, as_tuple=True)
        if len(rows) >= 4:
            covariance = ((rows - rows.float().mean()) * (cols - cols.float().mean())).mean()
            assert torch.sign(covariance) == label


def test_flipping_theta_flips_the_label():
    """theta -> pi - theta (the antithetic twin of Note [Antithetic tuples]) maps U[0, pi) onto itself and
    negates every label."""
    params = draw_line_params(1000, generator=_gen(4))
    flipped = params.clone()
    flipped[:, 0] = math.pi - params[:, 0]
    assert torch.equal(line_labels(flipped), -line_labels(params))


@pytest.mark.parametrize("k", (1, 2, 3, 4))
def test_tuple_label_is_the_product_and_the_code_label_differs_by_minus_one_to_the_k_plus_one(k):
    images, labels, tuple_label = sample_tuples(400, k, generator=_gen(k))
    assert images.shape == (400, k, IMAGE_SIZE, IMAGE_SIZE)
    assert torch.equal(tuple_label, labels.prod(dim=1))
    odd = tuple_labels(labels, convention="odd_count")
    assert torch.equal(odd, (-1) ** (k + 1) * tuple_label)
    assert torch.equal(odd == 1, (labels == 1).sum(1) % 2 == 1)


def test_tuples_are_deterministic_per_generator():
    a = sample_tuples(50, 3, generator=_gen(7))
    b = sample_tuples(50, 3, generator=_gen(7))
    c = sample_tuples(50, 3, generator=_gen(8))
    assert all(torch.equal(x, y) for x, y in zip(a, b))
    assert not torch.equal(a[0], c[0])


def test_bad_convention_is_rejected():
    with pytest.raises(ValueError, match="convention must be one of"):
        tuple_labels(torch.ones(3, 2, dtype=torch.int64), convention="sum")


# --- the networks ---------------------------------------------------------------------------------------

def test_model_of_an_ensemble_equals_the_same_model_alone():
    """Slice m of a batched TupleNet is the network generators[m] draw alone (Note [Batched tuple nets])."""
    shape = TupleNetShape(channels=3, fc1=7, fc2=5, head=6)
    images = sample_tuples(6, 2, generator=_gen(0))[0].to(torch.float64)
    both = TupleNet(2, shape, n1_generators=[make_generator(s, "n1") for s in (0, 1)],
                    n2_generators=[make_generator(s, "n2") for s in (0, 1)], dtype=torch.float64)
    alone = TupleNet(2, shape, n1_generators=[make_generator(1, "n1")], n2_generators=[make_generator(1, "n2")],
                     dtype=torch.float64)
    tuple_scores, scores = both(torch.stack([images, images]))
    tuple_alone, scores_alone = alone(images[None])
    torch.testing.assert_close(tuple_scores[1], tuple_alone[0], rtol=0, atol=1e-12)
    torch.testing.assert_close(scores[1], scores_alone[0], rtol=0, atol=1e-12)
    assert scores.shape == (2, 6, 2) and tuple_scores.shape == (2, 6)


def test_initialisation_follows_the_authors_fan_in():
    """conv1 std 1/sqrt(28) and conv2 std 1/sqrt(C) ("authors"), or 1/sqrt(25 C_in) ("fan_in"); zero biases."""
    authors = LineScorer(TupleNetShape(channels=16), [_gen(0)])
    fan_in = LineScorer(TupleNetShape(channels=16, conv_init="fan_in"), [_gen(0)])
    # A normal truncated at 2 std has std 0.8796 sigma.
    torch.testing.assert_close(authors.conv2_w.std().item(), 0.8796 / 4, rtol=0.03, atol=0)
    torch.testing.assert_close(fan_in.conv2_w.std().item(), 0.8796 / 20, rtol=0.03, atol=0)
    assert authors.conv1_w.abs().max() <= 2 / math.sqrt(28)
    assert float(authors.conv1_b.detach().abs().sum() + authors.score_b.detach().abs().sum()) == 0.0


def test_wrong_tuple_length_is_rejected():
    net = TupleNet(3, TupleNetShape(channels=2), n1_generators=[_gen(0)], n2_generators=[_gen(1)])
    with pytest.raises(ValueError, match="scores 3-tuples, got tuples of 2"):
        net(torch.zeros(1, 4, 2, IMAGE_SIZE, IMAGE_SIZE))


def test_ensemble_training_equals_training_alone():
    """A seed trained next to another seed ends with the same test answers as trained alone."""
    kwargs = dict(k=2, steps=2, shape=TupleNetShape(channels=2, fc1=8, fc2=8, head=8), batch=8, test_tuples=32)
    both = train_tuples(seeds=(0, 1), **kwargs)
    alone = train_tuples(seeds=(1,), **kwargs)
    assert np.array_equal(both.correct[:, 1], alone.correct[:, 0])


# --- the SNR estimators -----------------------------------------------------------------------------------

def _moments_of(gradients: torch.Tensor, groups: int) -> Moments:
    """Moments of plain gradients (g_bar = g) in contiguous groups."""
    n = len(gradients)
    group = torch.arange(n) * groups // n
    norms = (gradients * gradients).sum(1)
    return Moments(count=torch.bincount(group).double(),
                   mean_sum=torch.zeros(groups, gradients.shape[1], dtype=torch.float64).index_add_(0, group,
                                                                                                    gradients),
                   mean_sq=torch.zeros(groups, dtype=torch.float64).index_add_(0, group, norms),
                   second=torch.zeros(groups, dtype=torch.float64).index_add_(0, group, norms))


def test_signal_is_the_u_statistic_and_noise_the_sample_variance():
    """signal = mean over pairs i != j of g_i . g_j (unbiased for ||mu||^2); noise = the unbiased trace of the
    sample covariance, so noise + signal = mean ||g||^2."""
    g = torch.randn(30, 4, generator=_gen(0), dtype=torch.float64) + 0.3
    m = _moments_of(g, groups=5)
    gram = g @ g.T
    pairs = (gram.sum() - gram.diagonal().sum()) / (30 * 29)
    torch.testing.assert_close(m.signal(), float(pairs), rtol=1e-12, atol=0)
    torch.testing.assert_close(m.noise(), float(torch.var(g, dim=0, unbiased=True).sum()), rtol=1e-12, atol=0)


def test_jackknife_of_a_mean_is_the_student_t_interval():
    """With one observation per group, the jackknife standard error of a mean is s / sqrt(n)."""
    x = np.random.default_rng(0).normal(size=25)
    estimate = jackknife(lambda drop: float(np.delete(x, drop).mean()) if drop is not None else float(x.mean()),
                         25, 0.01)
    half = stats.t.ppf(0.995, df=24) * x.std(ddof=1) / 5
    assert estimate.value == pytest.approx(x.mean())
    assert estimate.hi - estimate.value == pytest.approx(half, rel=1e-10)


def test_score_layer_gradients_match_autograd_one_tuple_at_a_time():
    """vmap(grad) per-tuple gradients equal a loop of ordinary backward passes, for both losses."""
    features = torch.rand(5, 3, 6, generator=_gen(0), dtype=torch.float64)
    labels = torch.tensor([[1, -1, 1], [-1, -1, 1], [1, 1, 1], [-1, 1, -1], [1, -1, -1]])
    weight = torch.randn(6, generator=_gen(1), dtype=torch.float64)
    bias = torch.tensor(0.1, dtype=torch.float64)
    head = TupleHead(3, 4, [_gen(2)], dtype=torch.float64)
    for loss in ("end_to_end", "decomposition", "decomposition_training"):
        batched = score_layer_gradients(features, labels, loss=loss, weight=weight, bias=bias, head=head)
        for i in range(5):
            w = weight.clone().requires_grad_()
            scores = features[i] @ w + bias
            y = labels[i].double()
            e2e = torch.clamp(1 - y.prod() * head(scores.reshape(1, 1, 3)).reshape(()), min=0)
            first = torch.clamp(1 - y[0] * scores[0], min=0)
            value = {"end_to_end": e2e, "decomposition": first,
                     "decomposition_training": e2e + torch.clamp(1 - y * scores, min=0).mean()}[loss]
            value.backward()
            torch.testing.assert_close(batched[i], w.grad, rtol=1e-12, atol=1e-14)


def test_antithetic_estimate_agrees_with_the_plain_one_and_is_tighter():
    """Both estimators target the same SNR; at k = 2 the antithetic interval is over 10 times narrower
    (measured: about 50 times), since the part of the gradient that ignores an image's label cancels."""
    common = dict(k_values=(2,), losses=("end_to_end",), n_tuples=4000, seed=0, features="synthetic")
    plain = snr_moments(antithetic=False, **common)[(2, "end_to_end")]
    twin = snr_moments(antithetic=True, **common)[(2, "end_to_end")]
    a = jackknife(plain.snr, plain.groups, 1e-3)
    b = jackknife(twin.snr, twin.groups, 1e-3)
    assert a.lo <= b.hi and b.lo <= a.hi
    assert (b.hi - b.lo) * 10 < (a.hi - a.lo)


def test_authors_noise_term_subtracts_the_wrong_power():
    """tuple_rect_SNR.py's noise S1 - S0**2 overestimates the variance by about B S0 (batch B = 100): harmless
    at SNR 1e-4, a factor 1 + B SNR at larger SNR. The corrected noise S1 - B S0 is right in both cases."""
    rng = _gen(0)
    for snr, factor in ((1e-4, 1.01), (0.1, 11.0)):
        mu = torch.zeros(10, dtype=torch.float64)
        mu[0] = math.sqrt(snr * 10)                       # ||mu||^2 = snr * trace(I_10)
        g = mu + torch.randn(200_000, 10, generator=rng, dtype=torch.float64)
        out = authors_snr(g, batch=100)
        assert out["corrected_noise"] == pytest.approx(10.0, rel=0.03)
        assert out["noise"] / out["corrected_noise"] == pytest.approx(factor, rel=0.05)


def test_float32_trunk_leaves_the_snr_unchanged():
    """The claims run N1's convolutions in float32 and everything after them in float64; against a float64
    trunk the SNR moves by rounding only (measured ~1e-7 relative at k = 2)."""
    common = dict(k_values=(2,), losses=("end_to_end", "decomposition"), n_tuples=80, seed=0, groups=4,
                  shape=TupleNetShape(channels=4))
    single = snr_moments(trunk_dtype=torch.float32, **common)
    double = snr_moments(trunk_dtype=torch.float64, **common)
    for key in single:
        assert single[key].snr() == pytest.approx(double[key].snr(), rel=1e-4, abs=1e-12)
