"""Per-example gradients with torch.func: the Jacobian of a scalar-output model over a batch."""

from __future__ import annotations

import torch
from torch import nn
from torch.func import functional_call, grad, vmap


def per_example_gradients(model: nn.Module, inputs: torch.Tensor, *,
                          chunk_size: int | None = 4096) -> tuple[torch.Tensor, torch.Tensor]:
    """Predictions p (N,) and the per-example Jacobian g (N, P) with g[n] = d p(x_n) / d w.

    Parameters are flattened in `model.named_parameters()` order. One vmapped backward pass
    (`vmap(grad(...))`), computed `chunk_size` examples at a time to bound memory.
    """
    params = {name: p.detach() for name, p in model.named_parameters()}

    def output(p: dict[str, torch.Tensor], x: torch.Tensor) -> torch.Tensor:
        return functional_call(model, p, (x.unsqueeze(0),)).reshape(())

    per_param = vmap(grad(output), in_dims=(None, 0), chunk_size=chunk_size)(params, inputs)
    jacobian = torch.cat([per_param[name].reshape(inputs.shape[0], -1) for name in params], dim=1)
    with torch.no_grad():
        predictions = model(inputs).reshape(-1)
    return predictions, jacobian
