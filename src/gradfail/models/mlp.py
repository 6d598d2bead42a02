"""Fully connected networks with the authors' initialisation.

The authors' TensorFlow code draws every weight from a normal truncated at two standard deviations with
std = 1/sqrt(fan_in), and sets biases to zero (see shared/research/original_code.md, "Shared helper
pattern"). `init_scale` multiplies that std.
"""

from __future__ import annotations

import torch
from torch import nn

from gradfail.validation import check_choice, check_int, check_real

ACTIVATIONS = {"relu": nn.ReLU, "tanh": nn.Tanh, "sigmoid": nn.Sigmoid, "gelu": nn.GELU}
MAX_WIDTH = 4096


def truncated_normal_(weight: torch.Tensor, std: float, *, generator: torch.Generator) -> torch.Tensor:
    """Fill `weight` in place from N(0, std^2) truncated to [-2 std, 2 std], drawn on the CPU."""
    sample = torch.empty(weight.shape, dtype=weight.dtype)
    nn.init.trunc_normal_(sample, mean=0.0, std=std, a=-2 * std, b=2 * std, generator=generator)
    with torch.no_grad():
        weight.copy_(sample)
    return weight


def mlp(d: int, widths: tuple[int, ...], activation: str = "relu", *, generator: torch.Generator,
        bias: bool = True, init_scale: float = 1.0, dtype: torch.dtype = torch.float32,
        device: torch.device | str = "cpu") -> nn.Sequential:
    """d -> widths[0] -> ... -> widths[-1] -> 1, with `activation` after each hidden layer.

    `widths=()` gives the linear predictor x -> w^T x (+ b). Output shape: (..., 1).
    """
    check_int("d", d, 1)
    for i, width in enumerate(widths):
        check_int(f"widths[{i}]", width, 1, MAX_WIDTH)
    check_choice("activation", activation, ACTIVATIONS)
    check_real("init_scale", init_scale, 0.0, 100.0, lo_open=True)
    sizes = (d, *widths, 1)
    layers: list[nn.Module] = []
    for i, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        linear = nn.Linear(fan_in, fan_out, bias=bias, dtype=dtype)
        truncated_normal_(linear.weight, init_scale / fan_in**0.5, generator=generator)
        if bias:
            nn.init.zeros_(linear.bias)
        layers.append(linear)
        if i < len(widths):
            layers.append(ACTIVATIONS[activation]())
    return nn.Sequential(*layers).to(device)
