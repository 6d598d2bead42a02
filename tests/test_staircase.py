"""Section 5 library: the staircase, its smooth approximation, the forward-only rule and the batched learners."""

from __future__ import annotations

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from gradfail.data.staircase import (CODE_OFFSETS, CODE_OFFSETS_WITH_REPEATS, StaircaseProblem, level_index,
                                     lipschitz_activation, smooth_staircase, staircase, staircase_autograd)
from gradfail.experiments.staircase import BatchedLinearUnit, staircase_training
from gradfail.measure.forward_only import glmtron_errors
from gradfail.seeding import make_generator

F64 = torch.float64


def _gen(seed: int = 0) -> torch.Generator:
    return make_generator(seed, "test_staircase")


def test_the_authors_level_set_has_55_entries_and_52_distinct():
    assert len(CODE_OFFSETS_WITH_REPEATS) == 55 and len(CODE_OFFSETS) == 52     # digest §5 item 7


def test_staircase_rounds_down_with_a_strict_inequality():
    z = torch.tensor([0.0, 1.0, 2.0, 3.0])
    r = torch.tensor([-1.0, 0.5, 1.0, 1.01, 2.5, 3.0, 9.0])
    assert staircase(r, z).tolist() == [0.0, 0.0, 0.0, 1.0, 2.0, 2.0, 3.0]


@settings(max_examples=20)
@given(seed=st.integers(0, 10**6), count=st.integers(2, 60))
def test_autograd_staircase_has_the_same_levels_and_zero_gradient(seed, count):
    g = _gen(seed)
    levels = torch.sort(torch.randn(count, generator=g, dtype=F64)).values
    r = (2 * torch.randn(500, generator=g, dtype=F64)).requires_grad_(True)
    values = staircase_autograd(r, levels)
    torch.testing.assert_close(values.detach(), staircase(r.detach(), levels), rtol=0, atol=1e-12)
    (grad,) = torch.autograd.grad(values.sum(), r)
    assert bool((grad == 0).all())


def test_batched_levels_give_each_model_its_own_staircase():
    levels = torch.stack([torch.tensor([0.0, 1.0, 2.0]), torch.tensor([10.0, 11.0, 12.0])])
    r = torch.tensor([[0.5, 1.5], [10.5, 11.5]])
    assert staircase(r, levels).tolist() == [[0.0, 1.0], [10.0, 11.0]]
    torch.testing.assert_close(staircase_autograd(r, levels), staircase(r, levels))


def test_smooth_staircase_matches_the_staircase_away_from_the_jumps():
    levels = torch.tensor([0.0, 1.0, 3.0, 4.0], dtype=F64)
    r = torch.tensor([0.5, 1.5, 2.5, 3.5, 5.0], dtype=F64)   # mid-steps, at least 0.5 from the next jump
    torch.testing.assert_close(smooth_staircase(r, levels, sharpness=10.0), staircase(r, levels), rtol=0, atol=1e-3)


def test_problem_follows_the_authors_scales():
    problem = StaircaseProblem.draw(100, generator=_gen())
    x, y = problem.sample(20_000, generator=_gen(1))
    assert float(x.std()) == pytest.approx(0.01, rel=0.02)                      # x = randn(d) / d
    r = x @ problem.v_star + problem.b_star
    assert float(r.std()) == pytest.approx(float(problem.v_star.norm()) / 100, rel=0.05)
    assert torch.equal(y, staircase(r, problem.levels))
    assert level_index(y, problem.levels).unique().numel() >= 4                 # the fine steps near b*


def test_forward_only_gradient_is_the_glmtron_direction():
    """Backprop through r + stop_gradient(u(r) - r) gives 2 E[(u(r) - y) x]: u' replaced by 1 (Eq. 5)."""
    problem = StaircaseProblem.draw(10, generator=_gen(), dtype=F64)
    x, y = problem.sample(256, generator=_gen(1))
    unit = BatchedLinearUnit(10, [_gen(2)], problem.levels[None], rule="forward_only", dtype=F64)
    loss = ((unit(x[None]) - y[None]) ** 2).mean()
    loss.backward()
    residual = staircase(x @ unit.weight[0, :, 0].detach() + unit.bias.detach()[0], problem.levels) - y
    torch.testing.assert_close(unit.weight.grad[0, :, 0], 2 * (residual[:, None] * x).mean(0))
    torch.testing.assert_close(unit.bias.grad[0, 0], 2 * residual.mean())


def test_the_true_gradient_rule_gets_exactly_zero():
    problem = StaircaseProblem.draw(10, generator=_gen())
    x, y = problem.sample(256, generator=_gen(1))
    unit = BatchedLinearUnit(10, [_gen(2)], problem.levels[None], rule="gradient")
    ((unit(x[None]) - y[None]) ** 2).mean().backward()
    assert float(unit.weight.grad.abs().max()) == 0.0 and float(unit.bias.grad.abs().max()) == 0.0


def test_glmtron_with_the_papers_plus_sign_moves_away():
    """Erratum (digest §4.6): A.7 prints w <- w + eta g; with "+" the error grows, with "-" it falls."""
    g = _gen()
    x = torch.randn(500, 5, generator=g, dtype=F64) / math.sqrt(5)
    x = x / x.norm(dim=1, keepdim=True).clamp(min=1.0)
    v = torch.randn(5, generator=g, dtype=F64)
    u = lipschitz_activation("clipped_linear", lipschitz=1.0, bound=1.0)
    y = u(x @ v)
    minus = glmtron_errors(x, y, u, eta=0.5, steps=200)
    w = torch.zeros(5, dtype=F64)
    for _ in range(200):                                   # the printed update
        w = w + 0.5 * ((u(x @ w) - y) @ x) / len(x)
    assert float(((u(x @ w) - y) ** 2).mean()) > float(minus[0]) > float(minus[-1])
    with pytest.raises(ValueError, match="eta must be a finite number"):
        glmtron_errors(x, y, u, eta=-0.5, steps=200)


def test_a_model_trained_in_the_batch_equals_the_model_trained_alone():
    both = staircase_training(method="forward_only", seeds=(3, 5), steps=50, test_size=500)
    alone = staircase_training(method="forward_only", seeds=(5,), steps=50, test_size=500)
    torch.testing.assert_close(both.model.weight[1], alone.model.weight[0])
    assert (both.correct[1] == alone.correct[0]).all()


@pytest.mark.parametrize("call, message", [
    (lambda: staircase_training(method="perceptron", seeds=(0,), steps=1), "method must be one of"),
    (lambda: staircase_training(method="mlp", seeds=(0,), steps=1, bias_offset=1.0), "bias_offset applies"),
    (lambda: staircase_training(method="smooth", seeds=(), steps=1), "number of seeds"),
    (lambda: StaircaseProblem.draw(10, generator=_gen(), offsets=(1.0, 0.0)), "strictly increasing"),
    (lambda: lipschitz_activation("relu", lipschitz=1.0, bound=1.0), "activation must be one of"),
    (lambda: lipschitz_activation("scaled_tanh", lipschitz=0.0, bound=1.0), "lipschitz"),
])
def test_bad_arguments_name_the_field(call, message):
    with pytest.raises(ValueError, match=message):
        call()
