"""Per-example gradients with torch.func: the Jacobian of a scalar-output model over a batch."""

from __future__ import annotations

import torch
from torch import nn
from torch.func import functional_call, grad_and_value, vmap


def per_example_gradient_blocks(model: nn.Module, inputs: torch.Tensor, *,
                                chunk_size: int | None = 2048) -> tuple[torch.Tensor, list[torch.Tensor]]:
    """Predictions p (N,) and the per-example Jacobian as one (N, P_i) block per parameter tensor.

    Block i holds d p(x_n) / d w_i flattened, in `model.named_parameters()` order. One vmapped backward
    pass (`vmap(grad_and_value(...))`), computed `chunk_size` examples at a time to bound memory. Consumers that
    work column by column can use the blocks without concatenating them.
    """
    params = {name: p.detach() for name, p in model.named_parameters()}

    def output(p: dict[str, torch.Tensor], x: torch.Tensor) -> torch.Tensor:
        return functional_call(model, p, (x.unsqueeze(0),)).reshape(())

    # vmap's chunking allocates fresh buffers per chunk; with one chunk, skip it (same values, ~2x faster).
    if chunk_size is not None and inputs.shape[0] <= chunk_size:
        chunk_size = None
    # The predictions come out of the same vmapped pass (grad_and_value), not a second forward.
    per_param, predictions = vmap(grad_and_value(output), in_dims=(None, 0), chunk_size=chunk_size)(params, inputs)
    return predictions.detach(), [per_param[name].reshape(inputs.shape[0], -1) for name in params]


def per_example_gradients(model: nn.Module, inputs: torch.Tensor, *,
                          chunk_size: int | None = 2048) -> tuple[torch.Tensor, torch.Tensor]:
    """Predictions p (N,) and the per-example Jacobian g (N, P) with g[n] = d p(x_n) / d w."""
    predictions, blocks = per_example_gradient_blocks(model, inputs, chunk_size=chunk_size)
    return predictions, torch.cat(blocks, dim=1)
