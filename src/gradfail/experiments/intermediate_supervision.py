"""A parity learnt through its chain of partial parities, or end to end (Wies, Levine & Shashua, ICLR 2023).

Task: x uniform on {+-1}^n, y = prod_{i in S} x_i for a hidden ordered subset S = (s_1, ..., s_k) drawn per seed
(the paper's bit-subset parity). Intermediate supervision writes the answer as the chain of partial parities
p_j = prod_{i <= j} x_{s_i} = p_{j-1} x_{s_j} (p_0 = 1), each step depending on one earlier output and one input
bit, and trains a sequence model on next-token prediction with teacher forcing.

Our sequence model is one MLP applied at every position: input (x, e_j, p_{j-1}) with e_j the one-hot position
(the role of a positional encoding), output p_j. It is trained on (x, j, p_{j-1}) with a uniformly random position
j and the true previous partial parity (teacher forcing); at test time it decodes autoregressively from p_0 = 1,
feeding back its own signs, and is scored on p_k = y. The end-to-end learner is the same MLP without the chain:
input x, target y. Both train with the batched engine (Note [Ensembles]), one model per seed, with the same
optimizer, batch and number of steps, on fresh samples every step.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial

import numpy as np
import torch

from gradfail.engine.ensemble import BatchedMLP, ChunkedStream, Trace, train_ensemble
from gradfail.seeding import make_generator
from gradfail.validation import check_choice, check_int, check_real

SUPERVISIONS = ("chain", "end_to_end")


def hidden_subset(n: int, k: int, seed: int) -> torch.Tensor:
    """The ordered subset S of seed `seed`: k distinct coordinates of n in a random order."""
    return torch.randperm(n, generator=make_generator(seed, "intermediate_supervision", n, k, "subset"))[:k]


def _cube(shape: tuple[int, ...], generator: torch.Generator) -> torch.Tensor:
    return 1 - 2 * torch.randint(0, 2, shape, generator=generator).to(torch.float32)


def chain_inputs(x: torch.Tensor, position: torch.Tensor, previous: torch.Tensor, k: int) -> torch.Tensor:
    """(x, one-hot position, previous partial parity) along the last axis."""
    onehot = torch.nn.functional.one_hot(position, k).to(x.dtype)
    return torch.cat([x, onehot, previous.unsqueeze(-1)], dim=-1)


def sample_chain_step(subset: torch.Tensor, n: int, generator: torch.Generator, n_batches: int, batch: int):
    """Teacher-forced training pairs: ((x, e_j, p_{j-1}), p_j) for uniformly random positions j."""
    k = len(subset)
    x = _cube((n_batches, batch, n), generator)
    partials = x[..., subset].cumprod(dim=-1)                                   # p_1 ... p_k
    position = torch.randint(0, k, (n_batches, batch), generator=generator)
    padded = torch.cat([torch.ones_like(partials[..., :1]), partials], dim=-1)  # p_0 ... p_k
    previous = padded.gather(-1, position.unsqueeze(-1)).squeeze(-1)
    target = partials.gather(-1, position.unsqueeze(-1)).squeeze(-1)
    return chain_inputs(x, position, previous, k), target


def sample_end_to_end(subset: torch.Tensor, n: int, generator: torch.Generator, n_batches: int, batch: int):
    """Pairs (x, y) of the parity itself."""
    x = _cube((n_batches, batch, n), generator)
    return x, x[..., subset].prod(dim=-1)


def decode_chain(model: BatchedMLP, x: torch.Tensor, k: int) -> torch.Tensor:
    """Autoregressive decoding: p_0 = 1, p_j = sign(model(x, e_j, p_{j-1})); returns p_k, shape (M, T)."""
    previous = torch.ones(x.shape[:-1], dtype=x.dtype, device=x.device)
    for j in range(k):
        position = torch.full(x.shape[:-1], j, dtype=torch.long, device=x.device)
        previous = torch.sign(model(chain_inputs(x, position, previous, k)))
    return previous


@dataclass(frozen=True)
class SupervisionRun:
    seeds: tuple[int, ...]
    correct: np.ndarray     # (M,) correct final answers on the fresh test set of each seed
    test_size: int
    trace: Trace            # accuracy on CURVE_SAMPLES fresh samples during training (if eval_every)

    @property
    def accuracy(self) -> np.ndarray:
        return self.correct / self.test_size


CURVE_SAMPLES = 1000


def train_parity_learner(*, supervision: str, n: int, k: int, seeds: Sequence[int], steps: int, width: int = 128,
                         lr: float = 0.01, batch: int = 64, test_size: int = 10_000, eval_every: int = 0,
                         device: torch.device | str = "cpu") -> SupervisionRun:
    """Train one learner per seed (Adam, hinge loss) and score its final answer on `test_size` fresh samples."""
    check_choice("supervision", supervision, SUPERVISIONS)
    check_int("n", n, 2, 1024)
    check_int("k", k, 1, n)
    check_int("steps", steps, 0, 10**6)
    check_int("width", width, 1, 65_536)
    check_real("lr", lr, 0.0, 1.0, lo_open=True)
    check_int("batch", batch, 1, 65_536)
    check_int("test_size", test_size, 1, 10**7)
    subsets = [hidden_subset(n, k, s) for s in seeds]
    chain = supervision == "chain"
    sampler = sample_chain_step if chain else sample_end_to_end
    inputs = n + k + 1 if chain else n
    init = [make_generator(s, "intermediate_supervision", supervision, "init") for s in seeds]
    model = BatchedMLP((inputs, width, 1), init, device=device)
    data = [make_generator(s, "intermediate_supervision", supervision, "data") for s in seeds]
    stream = ChunkedStream([partial(sampler, subset, n, g) for subset, g in zip(subsets, data)], batch=batch,
                           device=device)

    def fresh(label: str, size: int) -> tuple[torch.Tensor, torch.Tensor]:
        xs = [_cube((size, n), make_generator(s, "intermediate_supervision", label)) for s in seeds]
        x = torch.stack(xs)
        y = torch.stack([xi[:, subset].prod(dim=-1) for xi, subset in zip(xs, subsets)])
        return x.to(device), y.to(device)

    def answer(net: BatchedMLP, x: torch.Tensor) -> torch.Tensor:
        return decode_chain(net, x, k) if chain else torch.sign(net(x))

    curve_x, curve_y = fresh("curve", CURVE_SAMPLES) if eval_every else (None, None)
    trace = train_ensemble(model, stream, steps=steps, lr=lr, optimizer="adam", eval_every=eval_every,
                           evaluate=(lambda net: (answer(net, curve_x) == curve_y).float().mean(dim=1))
                           if eval_every else None)
    test_x, test_y = fresh("test", test_size)
    with torch.no_grad():
        correct = (answer(model, test_x) == test_y).sum(dim=1).cpu().numpy()
    return SupervisionRun(tuple(seeds), correct, test_size, trace)
