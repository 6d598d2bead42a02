"""Exact population gradient of one ReLU neuron on a sparse parity (the "Fourier gap" at initialisation).

Barak, Edelman, Goel, Kakade, Malach & Zhang (NeurIPS 2022), "Hidden Progress in Deep Learning": at
initialisation the population gradient of a neuron relu(w.x + b) on y = chi_S(x) = prod_{i in S} x_i is

    g_i = E_x[chi_S(x) 1[w.x + b > 0] x_i]      (x uniform on {+-1}^n),

the correlation (and, while every margin is below 1, the hinge) gradient up to sign. For i in S, g_i is the
Fourier coefficient of the threshold 1[w.x + b > 0] at the degree-(k-1) set S \\ {i}; for i not in S it is
the coefficient at the degree-(k+1) set S + {i}. Low-degree coefficients of a halfspace are larger, so the
gradient puts more mass on S, and the gap widens with n (each extra degree costs about a factor 1/sqrt(n)).

With zero bias the threshold is (1 + sign(w.x)) / 2 and sign is odd, so every even-degree coefficient but
the constant vanishes: for odd k both S \\ {i} and S + {i} have even degree and the whole gradient is exactly
zero. The paper's networks (PyTorch's default init) have random biases.
"""

from __future__ import annotations

import torch

from gradfail.data.parity import MAX_EXACT_D, cube_bits, encode
from gradfail.validation import check_int

INIT_CHUNK = 64   # inits per (2^n, chunk) indicator matrix: 2^16 x 64 float64 is 32 MB


def neuron_population_gradients(weights: torch.Tensor, biases: torch.Tensor, support: torch.Tensor) -> torch.Tensor:
    """g (I, n) with g[m, i] = E_x[chi_S(x) 1[w_m.x + b_m > 0] x_i], exactly over all 2^n inputs (float64).

    weights (I, n), biases (I,), support a 0/1 vector (n,) marking S.
    """
    inits, n = weights.shape
    check_int("n", n, 1, MAX_EXACT_D)
    if biases.shape != (inits,) or support.shape != (n,):
        raise ValueError(f"biases must have shape ({inits},) and support ({n},); got {tuple(biases.shape)} and "
                         f"{tuple(support.shape)}")
    x = encode(cube_bits(n), "pm1", dtype=torch.float64).to(weights.device)             # (2^n, n)
    chi = torch.prod(torch.where(support.to(weights.device).bool(), x, torch.ones_like(x)), dim=1)
    signed = chi.unsqueeze(1) * x                                                          # chi_S(x) x_i
    out = []
    for start in range(0, inits, INIT_CHUNK):
        w, b = weights[start:start + INIT_CHUNK].double(), biases[start:start + INIT_CHUNK].double()
        active = (x @ w.T + b > 0).double()                                                # (2^n, chunk)
        out.append(active.T @ signed / 2**n)
    return torch.cat(out)
