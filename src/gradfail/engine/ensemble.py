"""Train M independent MLPs as one batched model.

Note [Ensembles]: model m of an ensemble owns slice m of every weight tensor, its own initialisation
generator and its own data generator. The training loss is the sum over models of each model's mean loss,
so autograd gives every slice exactly the gradient its model would get alone, and element-wise
optimizers (SGD, Adam) keep independent per-model state. One batched matmul per layer replaces M small
ones and M Python loops: this is what makes all seeds of Figure 1 affordable.

`train_ensemble` accepts any such batched module, not only `BatchedMLP`: a module whose parameters are
stacked per model along their first dimension, whose forward maps (M, B, ...) inputs to (M, B, ...)
outputs, and which exposes `n_models` (for example the curve encoders of
gradfail.experiments.curves_training).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

from gradfail.engine.fused import FusedHingeSGD, fused_hinge_sgd_applies
from gradfail.engine.guards import FiniteGuard
from gradfail.models.mlp import ACTIVATIONS, truncated_normal_
from gradfail.validation import check_choice, check_int, check_real

# sampler(n_batches, batch) -> (x (n_batches, batch, d), y (n_batches, batch, ...)), drawing from one model's
# generator; y may carry trailing dimensions (vector targets).
Sampler = Callable[[int, int], tuple[torch.Tensor, torch.Tensor]]


class BatchStream(Protocol):
    """What train_ensemble reads: next() -> (x, y), every model's batch stacked along the first dimension."""

    def next(self) -> tuple[torch.Tensor, torch.Tensor]: ...


class BatchedMLP(nn.Module):
    """M MLPs of identical shape; forward maps x (M, B, d) to scores (M, B).

    Model m is initialised exactly as `gradfail.models.mlp.mlp` would initialise it from generators[m]
    (weights drawn layer by layer in (out, in) order, truncated normal std init_scale/sqrt(fan_in), zero
    biases), so a model trained inside the ensemble equals the same model trained alone.
    """

    def __init__(self, sizes: Sequence[int], generators: Sequence[torch.Generator], *, activation: str = "relu",
                 init_scale: float = 1.0, dtype: torch.dtype = torch.float32, device: torch.device | str = "cpu"):
        super().__init__()
        check_int("number of models", len(generators), 1)
        for i, size in enumerate(sizes):
            check_int(f"sizes[{i}]", size, 1)
        check_choice("activation", activation, ACTIVATIONS)
        self.activation = ACTIVATIONS[activation]()
        self.weights = nn.ParameterList()
        self.biases = nn.ParameterList()
        for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
            stacked = torch.empty(len(generators), fan_in, fan_out, dtype=dtype)
            for m, generator in enumerate(generators):
                drawn = torch.empty(fan_out, fan_in, dtype=dtype)
                truncated_normal_(drawn, init_scale / fan_in**0.5, generator=generator)
                stacked[m] = drawn.T
            self.weights.append(nn.Parameter(stacked.to(device)))
            self.biases.append(nn.Parameter(torch.zeros(len(generators), 1, fan_out, dtype=dtype, device=device)))

    @property
    def n_models(self) -> int:
        return self.weights[0].shape[0]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = x
        last = len(self.weights) - 1
        for i, (w, b) in enumerate(zip(self.weights, self.biases)):
            h = torch.baddbmm(b, h, w)                                   # (M, B, fan_out)
            if i < last:
                h = self.activation(h)
        return h.squeeze(-1)


class ChunkedStream:
    """Fresh training batches for every model, drawn `chunk` steps at a time by per-model samplers.

    Each sampler draws from its own model's generator only, so a model's stream is the same inside or
    outside an ensemble.
    """

    def __init__(self, samplers: Sequence[Sampler], *, batch: int, chunk: int = 100,
                 dtype: torch.dtype = torch.float32, device: torch.device | str = "cpu"):
        self.samplers = list(samplers)
        self.batch, self.chunk = check_int("batch", batch, 1), check_int("chunk", chunk, 1)
        self.dtype, self.device = dtype, device
        self._buffer: tuple[torch.Tensor, torch.Tensor] | None = None
        self._next = 0

    def _cast(self, drawn: torch.Tensor) -> torch.Tensor:
        """To the stream's device; floating-point data to its dtype. Integer data (indices, such as the stocks
        toy's inputs) keeps its integer dtype."""
        return drawn.to(self.device, self.dtype if drawn.is_floating_point() else drawn.dtype)

    def next(self) -> tuple[torch.Tensor, torch.Tensor]:
        """The next batch of every model: x (M, batch, d), y (M, batch, ...)."""
        if self._buffer is None or self._next == self.chunk:
            # Ordinary tensors even when the fused step's loop runs under inference mode: the rest of a chunk
            # may feed a later autograd run, which cannot save inference tensors for backward.
            with torch.inference_mode(False):
                xs, ys = zip(*(sample(self.chunk, self.batch) for sample in self.samplers))
                self._buffer = (self._cast(torch.stack(xs, 1)), self._cast(torch.stack(ys, 1)))
            self._next = 0
        x, y = self._buffer[0][self._next], self._buffer[1][self._next]
        self._next += 1
        return x, y


def hinge_loss(scores: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Per-model mean hinge loss max(0, 1 - y s), shape (M,)."""
    return torch.clamp(1 - y * scores, min=0).mean(dim=-1)


@dataclass(frozen=True)
class Trace:
    """Metrics recorded during training: steps (E,) and values (E, M), one column per model."""

    steps: np.ndarray
    values: np.ndarray


def train_ensemble(model: nn.Module, stream: BatchStream, *, steps: int, lr: float,
                   loss: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] = hinge_loss,
                   optimizer: str = "sgd", evaluate: Callable[[nn.Module], torch.Tensor] | None = None,
                   eval_every: int = 0, eval_steps: Sequence[int] = (), progress: str | None = None,
                   optimizer_options: dict | None = None, fused: bool | None = None,
                   model_names: Sequence[str] | None = None) -> Trace:
    """Run `steps` optimizer steps on every model at once; return `evaluate(model)` every `eval_every` steps.

    `model` is a batched module exposing `n_models` (see the module note), such as `BatchedMLP`; its output
    may be anything `loss(output, y)` turns into per-model losses (M,). `stream` is a `ChunkedStream` or any
    object whose `next()` gives every model's next batch.
    evaluate(model) -> (M,) metric, recorded at step 0, every `eval_every` steps, at each of `eval_steps`
    and at the end. `progress` (a description) shows a tqdm bar. `optimizer_options` go to the torch
    optimizer (e.g. Adam's betas and eps, where a paper's code departs from the defaults). A NaN or inf in a
    loss or a weight raises NonFiniteTraining naming model_names[m] (e.g. "seed 3"; Note [Finite guard]).

    `fused` chooses the step for the Figure 1 network (one hidden ReLU layer, hinge loss, plain SGD):
    None (default) uses the hand-derived step of gradfail.engine.fused whenever it applies, True requires
    it (ValueError otherwise), False always uses autograd and a torch optimizer.
    """
    check_int("steps", steps, 0)
    check_real("lr", lr, 0.0, lo_open=True)
    check_choice("optimizer", optimizer, ("sgd", "adam"))
    check_int("eval_every", eval_every, 0)
    for i, step in enumerate(eval_steps):
        check_int(f"eval_steps[{i}]", step, 0, steps)
    extra_steps = set(eval_steps)
    options = dict(optimizer_options or {})
    applies = fused_hinge_sgd_applies(model, loss, optimizer, options)
    if fused and not applies:
        raise ValueError("fused=True needs a one-hidden-layer ReLU BatchedMLP with hinge_loss and plain SGD "
                         "(no optimizer_options); use fused=None to fall back to autograd")
    use_fused = applies and fused is not False
    if use_fused:
        take_step = FusedHingeSGD(model, lr).step
    else:
        params = list(model.parameters())
        opt = (torch.optim.SGD(params, lr=lr, **options) if optimizer == "sgd"
               else torch.optim.Adam(params, lr=lr, **options))

        def take_step(x: torch.Tensor, y: torch.Tensor) -> None:
            opt.zero_grad(set_to_none=True)
            guard.loss(loss(model(x), y)).backward()   # the sum over models: see Note [Ensembles]
            opt.step()
    recorded_steps, recorded = [], []

    def record(step: int) -> None:
        if evaluate is not None:
            with torch.no_grad():
                recorded.append(evaluate(model).detach().cpu().numpy())
            recorded_steps.append(step)

    guard = FiniteGuard("train_ensemble", model.named_parameters(), n_models=model.n_models, steps=steps,
                        model_names=model_names)
    record(0)
    # The fused step needs no autograd, and inference mode skips the bookkeeping every operation pays even
    # under no_grad. It is entered once for the whole run: entering it per step cost 5% of a d = 10 step.
    with torch.inference_mode() if use_fused else contextlib.nullcontext():
        for step in tqdm(range(1, steps + 1), desc=progress, disable=progress is None, leave=False,
                         mininterval=1.0):
            take_step(*stream.next())
            guard.stepped()
            if ((eval_every and step % eval_every == 0) or step in extra_steps) and step != steps:
                record(step)
        if steps:
            record(steps)
    n_models = model.n_models
    return Trace(np.array(recorded_steps), np.array(recorded).reshape(len(recorded_steps), n_models))
