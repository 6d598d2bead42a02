"""The chain-of-partial-parities task: teacher-forced samples, autoregressive decoding, settings."""

from __future__ import annotations

import pytest
import torch

from gradfail.claims.intermediate_supervision import SupervisionSetting
from gradfail.experiments.intermediate_supervision import (decode_chain, hidden_subset, sample_chain_step,
                                                           sample_end_to_end, train_parity_learner)
from gradfail.seeding import make_generator

N, K = 12, 5


def test_hidden_subset_is_a_seeded_ordered_subset():
    first, again, other = hidden_subset(N, K, 0), hidden_subset(N, K, 0), hidden_subset(N, K, 1)
    assert torch.equal(first, again) and not torch.equal(first, other)
    assert len(set(first.tolist())) == K and first.max() < N


def test_chain_samples_are_teacher_forced_partial_parities():
    """Target p_j = p_{j-1} x_{s_j}, with p_{j-1} the true previous partial parity and j one-hot in the input."""
    subset = hidden_subset(N, K, 2)
    inputs, target = sample_chain_step(subset, N, make_generator(0, "test"), 3, 50)
    x, onehot, previous = inputs[..., :N], inputs[..., N:N + K], inputs[..., -1]
    position = onehot.argmax(-1)
    assert torch.equal(onehot.sum(-1), torch.ones_like(previous))
    truth = torch.cat([torch.ones_like(x[..., :1]), x[..., subset].cumprod(-1)], dim=-1)
    assert torch.equal(previous, truth.gather(-1, position.unsqueeze(-1)).squeeze(-1))
    assert torch.equal(target, previous * x.gather(-1, subset[position].unsqueeze(-1)).squeeze(-1))


def test_decoding_with_a_perfect_step_model_returns_the_parity():
    """An exact next-step rule, fed its own outputs for K steps, answers prod_{i in S} x_i."""
    subset = hidden_subset(N, K, 3)
    x, y = sample_end_to_end(subset, N, make_generator(1, "test"), 2, 40)

    def perfect(inputs):
        bits, position, previous = inputs[..., :N], inputs[..., N:N + K].argmax(-1), inputs[..., -1]
        return previous * bits.gather(-1, subset[position].unsqueeze(-1)).squeeze(-1)

    assert torch.equal(decode_chain(perfect, x, K), y)


def test_training_returns_counts_on_the_fresh_test_set():
    run = train_parity_learner(supervision="end_to_end", n=N, k=K, seeds=(0, 1), steps=5, test_size=200)
    assert run.correct.shape == (2,) and ((0 <= run.correct) & (run.correct <= 200)).all()


@pytest.mark.parametrize(("change", "field"), [({"supervision": "cot"}, "supervision"), ({"k": 40}, "k"),
                                                ({"steps": -1}, "steps"), ({"test_size": 10}, "test_size")])
def test_bad_settings_name_the_field(change, field):
    with pytest.raises(ValueError, match=field):
        SupervisionSetting(**change)
