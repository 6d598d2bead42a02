"""Online spherical SGD for a single-index model with a Hermite link (Ben Arous, Gheissari & Jagannath 2021).

Model. x ~ N(0, I_d), y = h_k(<w*, x>) with the normalised Hermite polynomial h_k = He_k / sqrt(k!) (information
exponent k: the first non-zero Hermite coefficient of the link). One neuron with the true link, w on the unit
sphere, loss 1/2 (y - h_k(<w, x>))^2, so the population loss is 1 - m^k with the overlap m = <w, w*>.
Online SGD: every step draws a fresh minibatch of B samples, w <- (w - eta g_sph) / |w - eta g_sph| with the
spherical gradient g_sph = (I - w w^T) g and eta = B delta / d.

Note [Step size]. Per sample the overlap drifts by (delta/d) [k m^(k-1) - delta E[c^2] m / 2] to leading order,
where c = (h_k(b) - h_k(a)) h_k'(a) is the gradient's scalar factor (g = c x) and E[c^2] = E[h_k'^2] + E[h_k^2 h_k'^2]
= 2, 12, 96 for k = 1, 2, 3 at m = 0: the signal k m^(k-1) against the retraction of the normalisation. Growth
from m0 to the threshold therefore needs delta < delta_c = 2 k min(m^(k-2)) / E[c^2] over m in [m0, threshold];
we take delta = beta delta_c: for beta = 1/4, delta = 1/2 (k = 1), 1/12 (k = 2), m0/64 (k = 3). This is the
theory's prescription (a fixed fraction of the largest step whose drift beats the retraction at the start); with
m0 ~ d^(-1/2), the random-start scale of BGJ's theorems, it gives samples ~ d (k = 1), d log d (k = 2) and
d^(k-1) (k >= 3). A smaller beta makes the escape less noisy and costs proportionally more samples.
Minibatches of B samples with eta = B delta / d leave the per-sample drift and variance unchanged (they only
change the time discretisation); B is capped so that eta <= MAX_ETA.

Note [Exact reduction]. By rotational invariance the overlap m is a Markov chain on its own: write
x = b w* + z r + x_perp with r the unit vector of w - m w* and x_perp ~ N(0, I_(d-2)) in the complement; then
a = <w, x> = m b + sqrt(1 - m^2) z, and the minibatch gradient's complement part sum_i c_i x_perp_i / B is
N(0, sum_i c_i^2 / B^2 I_(d-2)) given the c_i, so its squared norm is (sum c_i^2 / B^2) chi^2_(d-2). One step
of SGD in R^d therefore maps m to m' exactly in distribution using 2B normals and one chi-square per run,
independent of d. `overlap_chain` runs that chain; `sphere_sgd` runs the same SGD on explicit vectors in R^d
and is the reference the tests compare it with.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from gradfail.seeding import make_generator
from gradfail.validation import check_int, check_real

LINKS = (1, 2, 3)
GRADIENT_SECOND_MOMENT = {1: 2.0, 2: 12.0, 3: 96.0}   # E[c^2] at m = 0 (Note [Step size])
MAX_ETA = 1 / 32


def hermite(k: int, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """h_k(z) = He_k(z) / sqrt(k!) and its derivative, for k in LINKS."""
    if k == 1:
        return z, torch.ones_like(z)
    if k == 2:
        return (z * z - 1) / math.sqrt(2), math.sqrt(2) * z
    if k == 3:
        return (z**3 - 3 * z) / math.sqrt(6), (3 * z * z - 3) / math.sqrt(6)
    raise ValueError(f"link must be one of {LINKS}; got {k!r}")


def step_size(k: int, m0: float, threshold: float, beta: float = 0.25) -> float:
    """delta = beta * 2 k min_{m in [m0, threshold]} m^(k-2) / E[c^2] (Note [Step size])."""
    smallest = min(m0 ** (k - 2), threshold ** (k - 2))
    return beta * 2 * k * smallest / GRADIENT_SECOND_MOMENT[k]


def batch_size(delta: float, d: int, max_batch: int) -> int:
    """The largest B <= max_batch with eta = B delta / d <= MAX_ETA (at least 1)."""
    return max(1, min(max_batch, int(MAX_ETA * d / delta)))


@dataclass(frozen=True)
class HittingTimes:
    """Samples until the overlap first reaches the threshold, per run (censored runs hold the cap)."""

    links: np.ndarray      # (n,) k of each run
    dims: np.ndarray       # (n,) d of each run
    samples: np.ndarray    # (n,) samples used (steps x batch) until the threshold, or the cap
    censored: np.ndarray   # (n,) bool: did not reach the threshold within the step cap
    batches: np.ndarray    # (n,) minibatch size of each run


def _recovered(m: torch.Tensor, links: torch.Tensor, threshold: float) -> torch.Tensor:
    # Even links cannot tell w* from -w*: recovery is up to that symmetry.
    return torch.where(links % 2 == 0, m.abs(), m) >= threshold


def overlap_chain(*, links: Sequence[int], dims: Sequence[int], runs: int, seed: int, threshold: float = 0.5,
                  initial_overlap: float | None = None, overlap_scale: float = 0.5, beta: float = 0.25,
                  max_batch: int = 64, max_steps: int = 20_000) -> HittingTimes:
    """Hitting times of the exact overlap chain (Note [Exact reduction]) for every (link, d) and `runs` runs.

    All runs of all links and dimensions advance together as one float64 tensor; each has its own step size
    and batch size (Note [Step size]). initial_overlap None starts at m0 = overlap_scale d^(-1/2)
    (the random-start scale); a number starts every d there (a warm start).
    """
    for i, k in enumerate(links):
        check_int(f"links[{i}]", k, 1, 3)
    for i, d in enumerate(dims):
        check_int(f"dims[{i}]", d, 4, 4096)
    check_int("runs", runs, 2, 10_000)
    check_real("threshold", threshold, 0.0, 1.0, lo_open=True, hi_open=True)
    check_real("beta", beta, 0.0, 1.0, lo_open=True, hi_open=True)
    check_int("max_batch", max_batch, 1, 4096)
    check_int("max_steps", max_steps, 1, 10**7)
    if initial_overlap is not None:
        check_real("initial_overlap", initial_overlap, 0.0, threshold, lo_open=True, hi_open=True)

    grid = [(k, d) for k in links for d in dims for _ in range(runs)]
    k_of = torch.tensor([k for k, _ in grid])
    d_of = torch.tensor([d for _, d in grid], dtype=torch.float64)
    check_real("overlap_scale", overlap_scale, 0.0, 1.0, lo_open=True)
    m0 = [overlap_scale * d ** -0.5 if initial_overlap is None else initial_overlap for _, d in grid]
    delta = [step_size(k, m, threshold, beta) for (k, _), m in zip(grid, m0)]
    batch = torch.tensor([batch_size(s, d, max_batch) for s, (_, d) in zip(delta, grid)])
    eta = batch * torch.tensor(delta, dtype=torch.float64) / d_of
    width = int(batch.max())
    in_batch = (torch.arange(width)[None, :] < batch[:, None]).to(torch.float64)        # (n, B_max)
    d_max = int(d_of.max())
    in_complement = (torch.arange(d_max - 2)[None, :] < (d_of[:, None] - 2)).to(torch.float64)
    link_masks = [(k, (k_of == k)[:, None]) for k in sorted(set(links))]

    generator = make_generator(seed, "single_index")
    m = torch.tensor(m0, dtype=torch.float64)
    hit = torch.full((len(grid),), -1, dtype=torch.long)
    active = torch.arange(len(grid))        # runs still below the threshold: only they advance (the tail is small)
    for step in range(1, max_steps + 1):
        n = len(active)
        b = torch.randn(n, width, generator=generator, dtype=torch.float64)
        z = torch.randn(n, width, generator=generator, dtype=torch.float64)
        chi2 = (torch.randn(n, d_max - 2, generator=generator, dtype=torch.float64) ** 2 * in_complement[active]).sum(1)
        m_now, eta_now, batch_now = m[active], eta[active], batch[active]
        s = (1 - m_now * m_now).clamp(min=0).sqrt()
        a = m_now[:, None] * b + s[:, None] * z
        c = torch.zeros_like(a)
        for k, mask in link_masks:
            target, _ = hermite(k, b)
            output, slope = hermite(k, a)
            c = torch.where(mask[active], (output - target) * slope, c)   # dLoss/da for 1/2 (y - h(a))^2
        c = c * in_batch[active]
        g_star = (c * b).sum(1) / batch_now                            # components of the minibatch gradient
        g_r = (c * z).sum(1) / batch_now
        g_perp2 = (c * c).sum(1) / batch_now**2 * chi2
        radial = m_now * g_star + s * g_r                              # <g, w>: removed by the spherical projection
        along_star = m_now - eta_now * (g_star - radial * m_now)
        along_r = s - eta_now * (g_r - radial * s)
        m[active] = along_star / (along_star**2 + along_r**2 + eta_now**2 * g_perp2).sqrt()
        done = _recovered(m[active], k_of[active], threshold)
        hit[active[done]] = step
        active = active[~done]
        if len(active) == 0:
            break
    censored = hit < 0
    steps = torch.where(censored, max_steps, hit)
    return HittingTimes(links=k_of.numpy(), dims=d_of.numpy().astype(int), samples=(steps * batch).numpy(),
                        censored=censored.numpy(), batches=batch.numpy())


def sphere_sgd(*, link: int, d: int, runs: int, steps: int, seed: int, batch: int, delta: float,
               initial_overlap: float, threshold: float = 0.5) -> np.ndarray:
    """The same online SGD on explicit unit vectors w in R^d (w* = e_1): the step at which each run first
    reaches the threshold (-1: not within `steps`).

    The reference implementation for `overlap_chain` (Note [Exact reduction]): x ~ N(0, I_d) drawn in full.
    """
    check_int("d", d, 4, 4096)
    check_int("runs", runs, 1, 100_000)
    check_int("steps", steps, 0, 10**6)
    check_int("batch", batch, 1, 4096)
    generator = make_generator(seed, "single_index", "sphere")
    rest = torch.randn(runs, d, generator=generator, dtype=torch.float64)
    rest[:, 0] = 0
    w = rest / rest.norm(dim=1, keepdim=True) * math.sqrt(1 - initial_overlap**2)
    w[:, 0] = initial_overlap
    eta = batch * delta / d
    links = torch.full((runs,), link)
    hit = torch.full((runs,), -1, dtype=torch.long)
    for step in range(1, steps + 1):
        x = torch.randn(runs, batch, d, generator=generator, dtype=torch.float64)
        target, _ = hermite(link, x[..., 0])
        output, slope = hermite(link, torch.einsum("rbd,rd->rb", x, w))
        g = torch.einsum("rb,rbd->rd", (output - target) * slope, x) / batch
        g = g - (g * w).sum(1, keepdim=True) * w
        w = w - eta * g
        w = w / w.norm(dim=1, keepdim=True)
        hit = torch.where((hit < 0) & _recovered(w[:, 0], links, threshold), step, hit)
        if bool((hit >= 0).all()):
            break
    return hit.numpy()
