"""The "stocks" toy of Section 3.2 (Experiment II, Figure 4): decomposition vs end-to-end.

Story (paper Section 3.2): given a media reference x, allocate money over k stocks. Formally
min_w L(w) = E_{x,z}[-z^T N_w(x)] with N_w(x) on the probability simplex; given x, the outcome vector z has
z_{y(x)} = 1 for the hidden best stock y(x) and the other coordinates i.i.d. uniform on {+-1}.

As in the authors' dec_vs_e2e_stocks.py (digest §2.3): the inputs are the d one-hot vectors e_1..e_d, drawn
uniformly, and each input has a best class y(x) uniform in [k], drawn once per problem instance. An input
e_j is represented here by its index j (0-based), so a batch of inputs is an int64 tensor; models that need
the dense vector use `one_hot`.

Two generalisations of the outcome law exist only so that violation settings can break the paper's
assumptions; both default to the paper's law:
- `plus_probability` p: P(z_i = +1) for i != y(x) (the paper: 1/2, so E[z_i | x] = 0);
- `common_sign` c: with probability c every non-best coordinate takes one shared sign (itself +1 with
  probability p) instead of independent signs. The mean E[z_i] = 2p - 1 is unchanged, but for non-best
  i != j, E[z_i z_j] = (1 - c)(2p - 1)^2 + c, so the coordinates are correlated whenever c > 0.

All draws come from caller-supplied CPU generators (Note [Seeding] in gradfail.seeding).
"""

from __future__ import annotations

import torch

from gradfail.validation import check_int, check_real

MAX_EXACT_K = 16  # 2^(k-1) outcome vectors: the largest k `outcome_distribution` enumerates


def check_outcome_law(plus_probability: float, common_sign: float) -> None:
    """Validate the two parameters of the outcome law (see the module docstring)."""
    check_real("plus_probability", plus_probability, 0.0, 1.0)
    check_real("common_sign", common_sign, 0.0, 1.0)


def best_classes(d: int, k: int, *, generator: torch.Generator) -> torch.Tensor:
    """y(e_j) for j = 0..d-1: i.i.d. uniform in {0..k-1}, an int64 tensor (d,) fixed per problem instance."""
    check_int("d", d, 1)
    check_int("k", k, 2)
    return torch.randint(0, k, (d,), generator=generator)


def sample_inputs(shape: tuple[int, ...], d: int, *, generator: torch.Generator) -> torch.Tensor:
    """Indices j of uniformly drawn one-hot inputs e_j, an int64 tensor of `shape`."""
    check_int("d", d, 1)
    return torch.randint(0, d, shape, generator=generator)


def sample_outcomes(best: torch.Tensor, k: int, *, generator: torch.Generator, plus_probability: float = 0.5,
                    common_sign: float = 0.0, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """Outcome vectors z (..., k) for inputs whose best classes are `best` (...): z_best = 1, others +-1.

    Non-best coordinates are i.i.d. with P(+1) = plus_probability, except that with probability
    `common_sign` a sample uses one shared sign for all of them (module docstring).
    """
    check_int("k", k, 2)
    check_outcome_law(plus_probability, common_sign)
    if best.numel() and (int(best.min()) < 0 or int(best.max()) >= k):
        raise ValueError(f"best classes must be in [0, {k - 1}]")
    shape = (*best.shape, k)
    plus = torch.rand(shape, generator=generator) < plus_probability
    if common_sign > 0:
        shared = torch.rand((*best.shape, 1), generator=generator) < plus_probability
        use_shared = torch.rand((*best.shape, 1), generator=generator) < common_sign
        plus = torch.where(use_shared, shared, plus)
    z = plus.to(dtype) * 2 - 1
    return z.scatter_(-1, best.unsqueeze(-1), 1.0)


def outcome_distribution(k: int, best: int, *, plus_probability: float = 0.5, common_sign: float = 0.0,
                         dtype: torch.dtype = torch.float64) -> tuple[torch.Tensor, torch.Tensor]:
    """Every outcome vector z with z_best = 1 and its probability: z (2^(k-1), k) and P(z) (2^(k-1),).

    The exact law that `sample_outcomes` draws from, for enumerating E_z[.] (claims T10, T11):
    P(z) = (1 - c) p^{#+} (1 - p)^{#-} + c [p 1(all +1) + (1 - p) 1(all -1)], counting non-best coordinates.
    """
    check_int("k", k, 2, MAX_EXACT_K)
    check_int("best", best, 0, k - 1)
    check_outcome_law(plus_probability, common_sign)
    index = torch.arange(2 ** (k - 1))
    bits = (index.unsqueeze(1) >> torch.arange(k - 1)) & 1                          # 1 means z_i = +1
    others = bits.to(dtype) * 2 - 1                                                 # (2^(k-1), k-1)
    z = torch.cat([others[:, :best], torch.ones(len(index), 1, dtype=dtype), others[:, best:]], dim=1)
    p, c = plus_probability, common_sign
    n_plus = bits.sum(1).to(dtype)
    independent = p**n_plus * (1 - p) ** (k - 1 - n_plus)
    all_plus = (n_plus == k - 1).to(dtype)
    all_minus = (n_plus == 0).to(dtype)
    probabilities = (1 - c) * independent + c * (p * all_plus + (1 - p) * all_minus)
    return z, probabilities


def one_hot(index: torch.Tensor, d: int, *, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """The dense inputs e_j (..., d) for indices j (...), as the authors fed them to a linear layer."""
    check_int("d", d, 1)
    return torch.nn.functional.one_hot(index, d).to(dtype)
