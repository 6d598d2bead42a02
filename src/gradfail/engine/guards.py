"""Stop a training run the moment a loss or a weight is no longer a finite number.

Note [Finite guard]: a NaN or inf during training must end the claim's test with an error that says where,
never with a verdict. A verdict computed after a NaN can look plausible: sign(NaN) matches no label, so a
diverged model reads as "accuracy 0, SGD failed to learn", which is exactly what several claims assert.
`FiniteGuard` watches every step's per-model losses and, every `check_every` steps and at the end, every
parameter; it raises `NonFiniteTraining` naming the loop, the model (its seed when the caller names it),
the step and the tensor (the loss, or the parameter by name).

Cost: on the CPU the summed loss (the objective that is back-propagated anyway) is read as one float per
step, a few microseconds. On a GPU such a read would synchronise the device every step, so the guard
instead keeps, on the device, the first step at which each model's loss was not finite (a few element-wise
kernels on an (M,) tensor, queued asynchronously) and reads it every `check_every` steps and at the end:
the error still names the exact step, only later.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

import torch

from gradfail.validation import check_int


class NonFiniteTraining(FloatingPointError):
    """A loss or a parameter became NaN or inf during training (see Note [Finite guard]).

    Deliberately not an AssertionError: a claim marked as a known (xfail) failure must not absorb it.
    """


def seed_names(seeds: Sequence[int]) -> list[str]:
    """Names of the models of a one-model-per-seed ensemble, for messages: ["seed 0", "seed 1", ...]."""
    return [f"seed {s}" for s in seeds]


class FiniteGuard:
    """Checks one training loop of `n_models` models for `steps` steps (see Note [Finite guard]).

    Usage::

        guard = FiniteGuard("train_ensemble", model.named_parameters(), n_models=M, steps=steps)
        for _ in range(steps):
            optimizer.zero_grad()
            guard.loss(per_model_losses).backward()   # returns per_model_losses.sum()
            optimizer.step()
            guard.stepped()                           # every check_every steps and at the last: parameters

    A loop that never forms its loss (a hand-derived update) calls only `stepped()`: its parameters are then
    checked every `check_every` steps and after the last one. `model_names[m]` describes model m in messages
    (e.g. "seed 3"); a parameter whose first dimension is `n_models` is stacked per model (Note [Ensembles]),
    and the message names the models whose slice holds the non-finite values. `deferred` (default: True when
    the losses live on a GPU) selects the mode that never synchronises the device between checks.
    """

    def __init__(self, where: str, parameters: Iterable[tuple[str, torch.Tensor]], *, n_models: int, steps: int,
                 model_names: Sequence[str] | None = None, check_every: int = 100, deferred: bool | None = None):
        self.where = where
        self.parameters = list(parameters)
        self.n_models = check_int("n_models", n_models, 1)
        self.steps = check_int("steps", steps, 0)
        default = [f"model {m}" for m in range(n_models)] if n_models > 1 else ["the model"]
        self.names = list(model_names) if model_names is not None else default
        if len(self.names) != n_models:
            raise ValueError(f"model_names must give one name per model ({n_models}), got {len(self.names)}")
        self.check_every = check_int("check_every", check_every, 1)
        self.deferred = deferred
        self.step = 1                                  # the step in progress (1-based)
        self._checked = 0                              # parameters were last found finite after this step
        self._first_bad: torch.Tensor | None = None   # deferred mode: (M,) first non-finite step, -1 while finite

    def loss(self, losses: torch.Tensor) -> torch.Tensor:
        """Check the per-model losses (M,) of the step in progress; return their sum, the objective."""
        total = losses.sum()
        deferred = losses.device.type != "cpu" if self.deferred is None else self.deferred
        if not deferred:
            if not math.isfinite(total.item()):
                values = losses.detach().reshape(-1).cpu()
                shown = ", ".join(f"{self.names[m]}: {float(values[m])}" for m in range(values.numel())
                                  if not math.isfinite(float(values[m])))
                self._fail(f"the loss is not finite at step {self.step} of {self.steps} ({shown})")
        else:
            bad = ~torch.isfinite(losses.detach().reshape(-1))
            if self._first_bad is None:
                self._first_bad = torch.full(bad.shape, -1, dtype=torch.int64, device=bad.device)
            self._first_bad = torch.where(bad & (self._first_bad < 0), self.step, self._first_bad)
        return total

    def stepped(self) -> None:
        """Mark the step in progress as done; every `check_every` steps and after the last, check everything."""
        if self.step % self.check_every == 0 or self.step >= self.steps:
            self._check_losses()
            self._check_parameters()
            self._checked = self.step
        self.step += 1

    def _check_losses(self) -> None:
        if self._first_bad is None:
            return
        first = self._first_bad.cpu().tolist()
        bad = [m for m, s in enumerate(first) if s >= 0]
        if bad:
            shown = ", ".join(f"{self.names[m]} from step {first[m]}" for m in bad)
            self._fail(f"the loss is not finite at step {min(first[m] for m in bad)} of {self.steps} ({shown})")

    def _check_parameters(self) -> None:
        for name, tensor in self.parameters:
            # A sum is NaN or inf when any element is, and costs one pass: 0.7 ms for 2M floats on one core,
            # where isfinite().all() took 13 ms. The element-wise test only confirms (a float32 sum can overflow).
            if math.isfinite(float(tensor.detach().sum())):
                continue
            finite = torch.isfinite(tensor.detach())
            if bool(finite.all()):
                continue
            if self.n_models == 1:
                models = f" of {self.names[0]}"
            elif tensor.ndim > 0 and tensor.shape[0] == self.n_models:    # stacked per model
                models = " of " + ", ".join(self.names[m] for m in range(self.n_models) if not bool(finite[m].all()))
            else:
                models = ""
            since = f"finite when last checked, after step {self._checked}" if self._checked else "first check"
            self._fail(f"parameter {name!r}{models} holds NaN or inf after step {self.step} of {self.steps} "
                       f"({since})")

    def _fail(self, what: str) -> None:
        raise NonFiniteTraining(f"training diverged in {self.where}: {what}. Every value measured from here on "
                                "would be meaningless; lower the learning rate or check the inputs.")
