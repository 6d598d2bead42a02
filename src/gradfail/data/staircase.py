"""The staircase problem of Section 5 (flat activations; digest §4.1) and Lipschitz activations for A.7.

Target y(x) = u(v*^T x + b*), with u rounding down to known levels z_0 < z_1 < ... < z_m:

    u(r) = z_0 + sum_{i>=1} 1[r > z_i] (z_i - z_{i-1})      (= z_j, j = #{i >= 1 : z_i < r}).

The authors' step_learn.py: d = 100, x = randn(d) / d (so x ~ N(0, I/d^2)), v* ~ N(0, I_d), b* ~ N(0, 1),
and levels b* + OFFSETS where OFFSETS joins {-100, -95, ..., 95} with 15 hand-placed values: 55 entries of
which 52 are distinct (the paper says 55; digest §5 item 7). r = v*^T x + b* is about N(b*, 0.01), so only
the levels at b* - 0.2, b*, b* + 0.1, b* + 0.15, b* + 0.175 (rarely b* +- 1) fall in the bulk.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from gradfail.validation import check_choice, check_int, check_real

_COARSE = tuple(float(v) for v in range(-100, 100, 5))
_FINE = (-5.0, -4.0, -3.0, -2.0, -1.0, -0.2, 0.0, 0.1, 0.15, 0.175, 1.0, 2.0, 3.0, 4.0, 5.0)
CODE_OFFSETS_WITH_REPEATS = _COARSE + _FINE                      # 55 entries, as in step_learn.py
CODE_OFFSETS = tuple(sorted(set(CODE_OFFSETS_WITH_REPEATS)))     # 52 distinct levels


def staircase(r: torch.Tensor, levels: torch.Tensor) -> torch.Tensor:
    """u(r): the largest level z_i (i >= 1) strictly below r, or z_0 if there is none. Flat almost everywhere.

    `levels` (m + 1,) with r of any shape, or batched (M, m + 1) with r (M, B).
    """
    index = torch.searchsorted(levels[..., 1:].contiguous(), r.contiguous(), side="left")   # #{i >= 1: z_i < r}
    return levels.gather(-1, index) if levels.dim() > 1 else levels[index]


def staircase_autograd(r: torch.Tensor, levels: torch.Tensor) -> torch.Tensor:
    """u(r) written with autograd primitives: z_0 + sum_i (z_i - z_{i-1}) clamp(ceil(r - z_i), 0, 1).

    The same values as `staircase`, but differentiable in autograd's sense: ceil has derivative 0, so
    backpropagation through it yields exactly the (zero) gradient Section 5 says is useless. `levels` may be
    batched, (M, m + 1) with r (M, B).
    """
    jumps = (levels[..., 1:] - levels[..., :-1]).unsqueeze(-2)         # (..., 1, m)
    steps = torch.clamp(torch.ceil(r.unsqueeze(-1) - levels[..., 1:].unsqueeze(-2)), 0, 1)
    return levels[..., :1] + (jumps * steps).sum(-1)


def smooth_staircase(r: torch.Tensor, levels: torch.Tensor, *, sharpness: float = 10.0) -> torch.Tensor:
    """The non-flat approximation of Figure 7a (step_learn.py): a sigmoid per jump.

    u~(r) = z_0 + sum_i D_i sigmoid(c_i (r - z_{i+1} + D_i / (2L))),  D_i = z_{i+1} - z_i,  c_i = 5 L / D_i,
    with L = `sharpness` (the authors' 10): each sigmoid rises within about D_i / L before its jump.
    """
    jumps = (levels[..., 1:] - levels[..., :-1]).unsqueeze(-2)
    centres = levels[..., 1:].unsqueeze(-2) - jumps / (2 * sharpness)
    return levels[..., :1] + (jumps * torch.sigmoid(5 * sharpness / jumps * (r.unsqueeze(-1) - centres))).sum(-1)


def level_index(values: torch.Tensor, levels: torch.Tensor) -> torch.Tensor:
    """The index j of the level each value equals (the nearest level: predictions of u are exact levels)."""
    return (values[..., None] - levels).abs().argmin(dim=-1)


@dataclass(frozen=True)
class StaircaseProblem:
    """One instance (v*, b*, levels) of the authors' problem, drawn from a generator."""

    v_star: torch.Tensor    # (d,)
    b_star: float
    levels: torch.Tensor    # (m + 1,) increasing, b* + offsets

    @classmethod
    def draw(cls, d: int, *, generator: torch.Generator, offsets: tuple[float, ...] = CODE_OFFSETS,
             dtype: torch.dtype = torch.float32) -> StaircaseProblem:
        check_int("d", d, 1, 100_000)
        if list(offsets) != sorted(set(offsets)) or len(offsets) < 2:
            raise ValueError(f"offsets must be at least 2 strictly increasing values; got {offsets!r}")
        v_star = torch.randn(d, generator=generator, dtype=torch.float64)
        b_star = float(torch.randn((), generator=generator, dtype=torch.float64))
        levels = b_star + torch.tensor(offsets, dtype=torch.float64)
        return cls(v_star.to(dtype), b_star, levels.to(dtype))

    @property
    def d(self) -> int:
        return self.v_star.shape[0]

    def sample(self, count: int, *, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        """x (count, d) ~ N(0, I/d^2) and y = u(v*^T x + b*) (count,), in the problem's dtype."""
        check_int("count", count, 1)
        # Drawn directly in the problem's dtype: float64 draws cast to float32 cost 5x more, and at 20 models x
        # 10,000 steps x 256 x 100 numbers the data, not the model, is the training loop's main cost.
        x = torch.randn(count, self.d, generator=generator, dtype=self.v_star.dtype) / self.d
        return x, staircase(x @ self.v_star + self.b_star, self.levels)


# --- Lipschitz, monotone, bounded activations (Appendix A.7) ------------------------------------------------

LIPSCHITZ_ACTIVATIONS = ("clipped_linear", "scaled_tanh")


def lipschitz_activation(name: str, *, lipschitz: float, bound: float):
    """u with |u| <= bound, L-Lipschitz and monotone: clip(L r, -c, c) or c tanh(L r / c)."""
    check_choice("activation", name, LIPSCHITZ_ACTIVATIONS + ("sine",))
    check_real("lipschitz", lipschitz, 0.0, lo_open=True)
    check_real("bound", bound, 0.0, lo_open=True)
    if name == "clipped_linear":
        return lambda r: (lipschitz * r).clamp(-bound, bound)
    if name == "scaled_tanh":
        return lambda r: bound * torch.tanh(lipschitz * r / bound)
    # Not monotone (the violation of A.7's assumption): bounded and L-Lipschitz, but it folds back.
    return lambda r: bound * torch.sin(lipschitz * r / bound)
