"""Training on the staircase problem (Section 5, Figure 7; the authors' step_learn.py; digest §4.2-4.5).

Five learners, each a batched ensemble (one model per seed, each with its own problem instance v*, b*,
its own initialisation and its own data stream; see Note [Ensembles] in gradfail.engine.ensemble):

- "forward_only" (Figure 7e, Eq. 5): a linear unit r = w^T x + b whose output u(r) is exact in the forward
  pass, while the backward pass treats u as the identity: r + stop_gradient(u(r) - r), as in the code.
  The gradient step is then w -= lr E[(u(r) - y) x] (Isotron / GLM-tron; the paper prints "+").
- "gradient": the same unit with autograd through u itself (`staircase_autograd`): the gradient is 0.
- "smooth" (Figure 7a): the unit followed by the sigmoid-sum approximation u~ (`smooth_staircase`).
- "mlp" (Figure 7b): 100 -> 100 -> 100 -> 100 (ReLU) -> 1 fitted to y with the squared loss.
- "multiclass" (Figures 7c-d): 100 -> 100 -> 100 (ReLU) -> 100 logits, cross-entropy on the level index
  (the code has 100 logits; the paper says 55). Predictions take the argmax over the real levels.

All use Adam with the code's beta2 = 0.99 and eps = 1e-5, fresh batches of 256, squared loss unless stated.
Accuracy is "exact level": the level nearest to the model's output equals the true level, on fresh samples.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from gradfail.data.staircase import (StaircaseProblem, level_index, smooth_staircase, staircase,
                                     staircase_autograd)
from gradfail.engine.ensemble import BatchedMLP, ChunkedStream, Trace, train_ensemble
from gradfail.engine.guards import seed_names
from gradfail.models.mlp import truncated_normal_
from gradfail.seeding import make_generator
from gradfail.validation import check_choice, check_int

UNIT_RULES = ("forward_only", "gradient", "smooth")
METHODS = UNIT_RULES + ("mlp", "multiclass")
DEFAULT_LR = {"forward_only": 1e-3, "gradient": 1e-3, "smooth": 1e-2, "mlp": 1e-3, "multiclass": 1e-3}
ADAM_OPTIONS = dict(betas=(0.9, 0.99), eps=1e-5)   # step_learn.py
MULTICLASS_LOGITS = 100


class BatchedLinearUnit(nn.Module):
    """M linear units r = w^T x + b followed by u, with the backward rule named by `rule` (see module doc)."""

    def __init__(self, d: int, generators: Sequence[torch.Generator], levels: torch.Tensor, *, rule: str,
                 bias_init: torch.Tensor | None = None, sharpness: float = 10.0, dtype=torch.float32, device="cpu"):
        super().__init__()
        self.rule = check_choice("rule", rule, UNIT_RULES)
        self.sharpness = sharpness
        weight = torch.empty(len(generators), d, 1, dtype=dtype)
        for m, generator in enumerate(generators):   # the authors' init: truncated normal, std 1/sqrt(fan_in)
            truncated_normal_(weight[m], d**-0.5, generator=generator)
        bias = torch.zeros(len(generators), 1, dtype=dtype) if bias_init is None else bias_init.reshape(-1, 1).to(dtype)
        self.weight = nn.Parameter(weight.to(device))
        self.bias = nn.Parameter(bias.to(device))
        self.register_buffer("levels", levels.to(device, dtype))          # (M, m + 1)

    @property
    def n_models(self) -> int:
        return self.weight.shape[0]

    def pre_activation(self, x: torch.Tensor) -> torch.Tensor:
        return torch.baddbmm(self.bias.unsqueeze(-1), x, self.weight).squeeze(-1)      # (M, B)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        r = self.pre_activation(x)
        if self.rule == "forward_only":
            return r + (staircase(r, self.levels) - r).detach()     # identity message through u
        if self.rule == "gradient":
            return staircase_autograd(r, self.levels)
        return smooth_staircase(r, self.levels, sharpness=self.sharpness)


def squared_loss(prediction: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Per-model mean squared error, shape (M,)."""
    return ((prediction - y) ** 2).mean(dim=-1)


@dataclass(frozen=True)
class StaircaseRun:
    """Per-model results: accuracy and MSE on fresh samples, the accuracy trace, the model and problems."""

    seeds: tuple[int, ...]
    method: str
    correct: np.ndarray        # (M, test_size) bool: exact level on each fresh test sample
    squared_error: np.ndarray  # (M, test_size) float64: (output - y)^2 (the predicted level for "multiclass")
    trace: Trace
    model: nn.Module
    problems: tuple[StaircaseProblem, ...]

    @property
    def accuracy(self) -> np.ndarray:
        return self.correct.mean(axis=1)

    @property
    def mse(self) -> np.ndarray:
        return self.squared_error.mean(axis=1)

    def predict_levels(self, x: torch.Tensor) -> torch.Tensor:
        """Predicted level values for x (M, B, d)."""
        return predicted_levels(self.model, self.method, x)


def predicted_levels(model: nn.Module, method: str, x: torch.Tensor) -> torch.Tensor:
    """The level each model predicts: its output's nearest level (the argmax class for "multiclass")."""
    with torch.no_grad():
        levels = model.levels
        if method == "multiclass":
            index = model(x)[..., :levels.shape[-1]].argmax(dim=-1)
        else:
            index = level_index(model(x), levels.unsqueeze(-2))
        return levels.gather(-1, index)


def _build_model(method: str, d: int, seeds, levels, bias_init, dtype, device) -> nn.Module:
    inits = [make_generator(s, "staircase", "init", method) for s in seeds]
    if method in UNIT_RULES:
        return BatchedLinearUnit(d, inits, levels, rule=method, bias_init=bias_init, dtype=dtype, device=device)
    sizes = (d, 100, 100, 100, 1) if method == "mlp" else (d, 100, 100, MULTICLASS_LOGITS)
    model = BatchedMLP(sizes, inits, dtype=dtype, device=device)
    model.register_buffer("levels", levels.to(device, dtype))
    return model


def staircase_training(*, method: str, seeds: Sequence[int], steps: int, lr: float | None = None, batch: int = 256,
                       d: int = 100, bias_offset: float | None = None, test_size: int = 10_000, eval_every: int = 0,
                       dtype: torch.dtype = torch.float32, device: torch.device | str = "cpu",
                       progress: str | None = None) -> StaircaseRun:
    """Train `method` on every seed's problem at once (see module doc).

    bias_offset: initialise the unit's bias at b* + bias_offset (Figure 7a's sensitivity to the bias
    initialisation); None keeps the default zero bias.
    """
    check_choice("method", method, METHODS)
    check_int("number of seeds", len(seeds), 1)
    check_int("steps", steps, 0)
    check_int("test_size", test_size, 1)
    if bias_offset is not None and method not in UNIT_RULES:
        raise ValueError(f"bias_offset applies to the linear-unit methods {UNIT_RULES}; got method {method!r}")
    problems = tuple(StaircaseProblem.draw(d, generator=make_generator(s, "staircase", "problem")) for s in seeds)
    levels = torch.stack([p.levels for p in problems])
    bias_init = None if bias_offset is None else torch.tensor([p.b_star + bias_offset for p in problems])
    model = _build_model(method, d, seeds, levels, bias_init, dtype, device)

    def sampler(problem: StaircaseProblem, generator: torch.Generator):
        def draw(n_batches: int, size: int):
            x, y = problem.sample(n_batches * size, generator=generator)
            return x.reshape(n_batches, size, -1), y.reshape(n_batches, size)
        return draw

    stream = ChunkedStream([sampler(p, make_generator(s, "staircase", "data")) for p, s in zip(problems, seeds)],
                           batch=batch, dtype=dtype, device=device)
    tests = [p.sample(test_size, generator=make_generator(s, "staircase", "test")) for p, s in zip(problems, seeds)]
    x_test = torch.stack([x for x, _ in tests]).to(device, dtype)
    y_test = torch.stack([y for _, y in tests]).to(device, dtype)

    def correct(m: nn.Module) -> torch.Tensor:
        prediction = predicted_levels(m, method, x_test)
        return level_index(prediction, m.levels.unsqueeze(-2)) == level_index(y_test, m.levels.unsqueeze(-2))

    def accuracy(m: nn.Module) -> torch.Tensor:
        return correct(m).to(torch.float64).mean(dim=-1)

    if method == "multiclass":
        def loss(logits, y):
            target = level_index(y, model.levels.unsqueeze(-2))
            return nn.functional.cross_entropy(logits.flatten(0, 1), target.flatten(), reduction="none") \
                .reshape(target.shape).mean(dim=-1)
    else:
        loss = squared_loss
    trace = train_ensemble(model, stream, steps=steps, lr=DEFAULT_LR[method] if lr is None else lr, loss=loss,
                           optimizer="adam", optimizer_options=ADAM_OPTIONS, evaluate=accuracy,
                           eval_every=eval_every, progress=progress, model_names=seed_names(seeds))
    with torch.no_grad():
        output = predicted_levels(model, method, x_test) if method == "multiclass" else model(x_test)
        squared_error = ((output - y_test).double() ** 2).cpu().numpy()
        hits = correct(model).cpu().numpy()
    return StaircaseRun(tuple(seeds), method, hits, squared_error, trace, model, problems)
