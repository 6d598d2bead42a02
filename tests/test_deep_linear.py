"""GD on one-dimensional deep linear networks: exact gradients, masked padding and the claim's settings."""

from __future__ import annotations

import pytest
import torch

from gradfail.claims.deep_linear import DeepLinearSetting
from gradfail.experiments.deep_linear import deep_linear_gd, exclusive_products
from gradfail.seeding import make_generator


def test_exclusive_products_match_brute_force_with_zeros():
    """prod_{j != i} w_j without division, exact in float64, also when some w_j = 0."""
    w = torch.tensor([[2.0, -3.0, 0.5, 7.0], [0.0, 4.0, -1.5, 2.0]], dtype=torch.float64)
    expected = torch.stack([torch.stack([torch.cat([row[:i], row[i + 1:]]).prod() for i in range(4)]) for row in w])
    torch.testing.assert_close(exclusive_products(w), expected, rtol=0, atol=0)


def test_exclusive_products_are_the_gradient_of_the_product():
    """autograd of 1/2 (prod w - 1)^2 equals (prod w - 1) prod_{j != i} w_j."""
    w = torch.randn(3, 5, dtype=torch.float64, generator=torch.Generator().manual_seed(0)).requires_grad_(True)
    loss = (0.5 * (w.prod(-1) - 1) ** 2).sum()
    (grad,) = torch.autograd.grad(loss, w)
    torch.testing.assert_close(grad, (w.prod(-1) - 1).unsqueeze(-1) * exclusive_products(w.detach()))


def test_padding_does_not_change_a_shallow_network():
    """A depth-2 network trained next to a depth-6 one (padded with fixed ones) converges when it would alone."""
    together = deep_linear_gd(depths=(2, 6), runs=16, steps=3000, seed=4)
    alone = deep_linear_gd(depths=(2,), runs=16, steps=3000, seed=4)
    # the draws differ in shape, so compare what does not depend on them: every depth-2 run converges in both
    assert (together.converged_at[0] >= 0).all() and (alone.converged_at[0] >= 0).all()


def test_a_start_at_the_solution_converges_at_step_zero():
    """w_i = 1 exactly (init_std tiny) has loss 0 < tol before any step."""
    runs = deep_linear_gd(depths=(1, 3, 8), runs=4, steps=10, seed=0, init_center=1.0, init_std=1e-12)
    assert (runs.converged_at == 0).all() and (runs.failed == 0).all()


def test_one_gd_step_by_hand():
    """Depth 1: w <- w - lr (w - 1); from w0 the loss after t steps is 1/2 (w0 - 1)^2 (1 - lr)^(2t)."""
    runs = deep_linear_gd(depths=(1, 2, 3), runs=1, steps=10_000, seed=1, lr=0.5, tol=1e-6)
    # the experiment's first draw: depth 1's only weight
    w0 = float(torch.randn(3, 1, 3, generator=make_generator(1, "deep_linear", "init"), dtype=torch.float64)[0, 0, 0])
    t = 0
    while 0.5 * ((w0 - 1) * 0.5**t) ** 2 >= 1e-6:
        t += 1
    assert runs.converged_at[0, 0] == t


@pytest.mark.parametrize(("change", "field"), [({"depths": (4, 2, 8)}, "depths"),
                                                ({"depths": (2, 4)}, "number of depths"), ({"runs": 0}, "runs"),
                                                ({"lr": 0.0}, "lr"), ({"init_std": -1.0}, "init_std")])
def test_bad_settings_name_the_field(change, field):
    with pytest.raises(ValueError, match=field):
        DeepLinearSetting(**change)


def test_bad_experiment_input_names_the_field():
    with pytest.raises(ValueError, match="runs"):
        deep_linear_gd(depths=(2,), runs=0, steps=1, seed=0)


def test_figure_is_drawn(tmp_path):
    """`gradfail figures lit_deep_linear` writes its PNG (smoke profile: 48 runs per depth)."""
    from gradfail.figures.lit_deep_linear import draw_lit_deep_linear

    path = draw_lit_deep_linear(tmp_path, profile="smoke", progress=False)
    assert path == tmp_path / "lit_deep_linear.png" and path.stat().st_size > 10_000
