"""The forward-only update (Isotron / GLM-tron; paper Section 5.5, Eq. 5, Appendix A.7; digest §4.5-4.6).

For y = u(v*^T x) with u monotone, the true gradient of F(w) = E[(u(w^T x) - y)^2] is
E[(u(w^T x) - y) u'(w^T x) x], which vanishes when u is flat. The forward-only direction drops u':

    g(w) = E[(u(w^T x) - y) x],        w <- w - eta g(w)          (the paper prints "+"; it must be "-").

Appendix A.7: if u is monotone and L-Lipschitz with |u| <= c, ||x|| <= 1 and ||v*|| <= B, then with
T = c^4 B^4 L^2 / eps^2 steps and eta = 1 / (c sqrt(T)) from w = 0,

    min_{t <= T+1} E[(u(w_t^T x) - y)^2] <= eta B^2 c^2 L = eps / c.

The proof bounds the best iterate, not the last one (digest §4.6), and that is what `glmtron_errors` lets a
claim check. Expectations are exact over a finite distribution: the uniform law on given points x_i.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from gradfail.validation import check_int, check_real


def glmtron_errors(x: torch.Tensor, y: torch.Tensor, u: Callable[[torch.Tensor], torch.Tensor], *, eta: float,
                   steps: int) -> torch.Tensor:
    """e_t = mean_i (u(w_t^T x_i) - y_i)^2 for t = 0..steps, w_0 = 0, w_{t+1} = w_t - eta g(w_t) (exact means)."""
    check_real("eta", eta, 0.0, lo_open=True)
    check_int("steps", steps, 0)
    w = torch.zeros(x.shape[1], dtype=x.dtype, device=x.device)
    errors = torch.empty(steps + 1, dtype=x.dtype)
    for t in range(steps + 1):
        residual = u(x @ w) - y
        errors[t] = (residual**2).mean()
        w = w - eta * (residual @ x) / x.shape[0]
    return errors
