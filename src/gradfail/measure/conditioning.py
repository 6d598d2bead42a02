"""Spectral quantities of Section 4 (paper Lemma 2, Theorem 3, Appendix A.4-A.6; digest §3.3-3.7), float64.

- Condition numbers: kappa(W) = S_11^2 / S_nn^2 of the encoding matrix (Theorem 3), and kappa(C) of the
  3x3 uncentred second moment C of the convolution's rows [f_{t-1}, f_t, f_{t+1}] (A.5/A.6).
- Whitening: rows r -> r C^{-1/2} (Section 4.1.3), C^{-1/2} = V diag(lambda^{-1/2}) V^T from eigh.
- Expected SGD on min_U E 1/2 ||p - U f||^2 with f = W p and E[p p^T] = Sigma (Lemma 2):
      E U_{t+1} = E U_t + eta (Sigma W^T - E U_t W Sigma W^T),    U_0 = 0,
  and for Sigma = lambda I the closed form  E U_t = eta lambda W^T sum_{i<t} (I - eta lambda W W^T)^i.
  With W = Q S V^T this is V diag((1 - r_j^t) / S_j) Q^T, r_j = 1 - eta lambda S_j^2, so
      ||E U_t - U||_2 = max_j |r_j|^t / S_j                                   (A.4).
  The series converges iff 0 < eta lambda S_j^2 < 2 for every j; the paper's "diverges if
  eta lambda S_11^2 >= 1" should read ">= 2" (digest §3.4 (a), §5 item 10).
- Gradient descent on a quadratic with Hessian A from w_0 = 0 towards w*: w_t - w* = (I - eta A)^t (-w*).
  Steps to a target error are found exactly, either spectrally or with matrix powers (repeated squaring),
  so iteration counts of 10^9 cost microseconds (A.5: about kappa log(||w*|| / eps) steps with eta = 1/lambda_1).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch

from gradfail.validation import check_int, check_real

MAX_STEPS = 2**62


def singular_values(matrix: torch.Tensor) -> torch.Tensor:
    """Singular values, descending (float64)."""
    return torch.linalg.svdvals(matrix.to(torch.float64))


def encoding_condition_number(singular: torch.Tensor) -> float:
    """S_11^2 / S_nn^2: the condition number of W W^T (Theorem 3)."""
    return float((singular[0] / singular[-1]) ** 2)


def conv_rows(f: torch.Tensor, taps: int = 3) -> torch.Tensor:
    """Rows [f_{t-1}, f_t, f_{t+1}] of every curve, stacked: (count, n) -> (count * (n - taps + 1), taps)."""
    check_int("taps", taps, 1, f.shape[1])
    return f.unfold(1, taps, 1).reshape(-1, taps)


def second_moment(rows: torch.Tensor) -> torch.Tensor:
    """Uncentred second moment rows^T rows / len(rows), as in the authors' whitening (digest §3.7)."""
    return rows.T @ rows / rows.shape[0]


def symmetric_condition_number(matrix: torch.Tensor) -> float:
    """lambda_max / lambda_min of a symmetric positive definite matrix (inf if it is singular)."""
    eigenvalues = torch.linalg.eigvalsh(matrix.to(torch.float64))
    return float(eigenvalues[-1] / eigenvalues[0]) if eigenvalues[0] > 0 else math.inf


def inverse_sqrt(matrix: torch.Tensor) -> torch.Tensor:
    """C^{-1/2} = V diag(lambda^{-1/2}) V^T for a symmetric positive definite C."""
    eigenvalues, vectors = torch.linalg.eigh(matrix.to(torch.float64))
    if eigenvalues[0] <= 0:
        raise ValueError(f"the second moment must be positive definite; smallest eigenvalue {float(eigenvalues[0]):g}")
    return vectors @ torch.diag(eigenvalues.rsqrt()) @ vectors.T


def expected_sgd_recursion(w: torch.Tensor, sigma: torch.Tensor, eta: float, steps: int) -> torch.Tensor:
    """E U_t by iterating E U <- E U + eta (Sigma W^T - E U W Sigma W^T) from 0 (Lemma 2's recursion)."""
    check_int("steps", steps, 0)
    target = sigma @ w.T
    hessian = w @ sigma @ w.T
    u = torch.zeros_like(w.T)
    for _ in range(steps):
        u = u + eta * (target - u @ hessian)
    return u


def expected_sgd_closed_form(w: torch.Tensor, eta_lambda: float, steps: int) -> torch.Tensor:
    """eta lambda W^T sum_{i<t} (I - eta lambda W W^T)^i, summed spectrally (Lemma 2's closed form)."""
    check_int("steps", steps, 0)
    s2, q = torch.linalg.eigh(w @ w.T)
    r = 1 - eta_lambda * s2
    geometric = torch.where(r == 1, torch.full_like(r, float(steps)), (1 - r**steps) / (1 - r))
    return eta_lambda * w.T @ q @ torch.diag(geometric) @ q.T


def expected_error_norm(singular: torch.Tensor, eta_lambda: float, steps: float) -> float:
    """||E U_t - U||_2 = max_j |1 - eta lambda S_j^2|^t / S_j, evaluated in log space (t may be 1e12)."""
    r = (1 - eta_lambda * singular**2).abs()
    log_terms = steps * torch.log(r) - torch.log(singular)
    return float(torch.exp(log_terms.max()))


def _first_step_below(error: Callable[[int], float], eps: float) -> int:
    """The smallest t >= 0 with error(t) <= eps, for an error non-increasing in t (exponential + binary search)."""
    if error(0) <= eps:
        return 0
    hi = 1
    while error(hi) > eps:
        hi *= 2
        if hi > MAX_STEPS:
            raise ValueError(f"the error does not reach {eps:g} within {MAX_STEPS} steps")
    lo = hi // 2  # error(lo) > eps
    while hi - lo > 1:
        mid = (lo + hi) // 2
        lo, hi = (lo, mid) if error(mid) <= eps else (mid, hi)
    return hi


def gd_steps_spectral(eigenvalues: torch.Tensor, coefficients: torch.Tensor, eta: float, eps: float) -> int:
    """Smallest t with ||w_t - w*|| = sqrt(sum_j (1 - eta lambda_j)^(2t) c_j^2) <= eps (c = w* in the eigenbasis)."""
    check_real("eps", eps, 0.0, lo_open=True)
    r = (1 - eta * eigenvalues).abs()
    moving = coefficients != 0
    if bool((r[moving] >= 1).any()):
        raise ValueError("gradient descent does not converge: need 0 < eta lambda_j < 2 wherever w* has weight")
    log_r, log_c = torch.log(r[moving]), torch.log(coefficients[moving].abs())

    def error(t: int) -> float:
        if t == 0:
            return float(coefficients.norm())
        return float(torch.exp(0.5 * torch.logsumexp(2 * (t * log_r + log_c), dim=0)))

    return _first_step_below(error, eps)


def gd_steps_matrix_power(hessian: torch.Tensor, w_star: torch.Tensor, eta: float,
                          error: Callable[[torch.Tensor], float], eps: float) -> int:
    """Smallest t with error(w_t - w*) <= eps, w_t - w* = (I - eta A)^t (-w*), via torch.linalg.matrix_power."""
    check_real("eps", eps, 0.0, lo_open=True)
    step = torch.eye(hessian.shape[0], dtype=torch.float64) - eta * hessian.to(torch.float64)

    def error_at(t: int) -> float:
        return error(torch.linalg.matrix_power(step, t) @ (-w_star.to(torch.float64)))

    return _first_step_below(error_at, eps)
