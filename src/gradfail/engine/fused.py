"""A hand-derived SGD step for the Figure 1 network: one hidden ReLU layer, mean hinge loss, plain SGD.

Note [Fused step]: for this one network the whole step is five batched matrix products and a few element-wise
passes, with no autograd graph. For model m with batch (x_i, y_i), i = 1..B (paper Section 2.1, the authors'
parity.py):

    h = x W1 + b1,   a = relu(h),   s = a w2 + b2,   L = (1/B) sum_i max(0, 1 - y_i s_i)
    delta_i = dL/ds_i = -(y_i / B) 1[y_i s_i <= 1]       (autograd's clamp passes the gradient at the kink)
    dL/dw2 = a^T delta,   dL/db2 = sum_i delta_i
    dL/dW1[j, u] = sum_i x_ij delta_i 1[a_iu > 0] w2_u  = ((x * delta)^T 1[a > 0])[j, u] w2_u
    dL/db1[u]    = (delta^T 1[a > 0])[u] w2_u

so the first layer's gradient never forms the (B, width) back-propagated matrix delta w2^T * 1[a > 0]: the
ones column appended to x * delta gives dL/dW1 and dL/db1 from one product with the 0/1 mask, scaled by w2
afterwards. Autograd needs about ten passes over (M, B, width) activations per step; this needs four (the
first layer's output, ReLU, the mask, the mask product) over one buffer that stays in cache, which is what makes the ensemble of
gradfail.engine.ensemble fast when those activations no longer fit in cache (issue 6, target 1).

Every model's update is exactly the SGD update of its own loss, up to float rounding (summation order):
tests/test_ensemble.py checks it against autograd in float64.
"""

from __future__ import annotations

import torch
from torch import nn


def fused_hinge_sgd_applies(model: nn.Module, loss, optimizer: str, options: dict) -> bool:
    """True when `train_ensemble`'s step is the one derived above: a BatchedMLP d -> width -> 1 with ReLU,
    `hinge_loss`, and plain SGD without momentum, weight decay or other options."""
    from gradfail.engine.ensemble import BatchedMLP, hinge_loss

    return (type(model) is BatchedMLP and len(model.weights) == 2 and model.weights[1].shape[-1] == 1
            and isinstance(model.activation, nn.ReLU) and loss is hinge_loss and optimizer == "sgd"
            and not options)


class FusedHingeSGD:
    """Apply Note [Fused step] in place to a one-hidden-layer ReLU BatchedMLP; buffers are reused across steps.

    The first layer's weight (M, d, width) and bias (M, 1, width) are re-homed as two views of one
    (M, d + 1, width) tensor [W1; b1]: a ones column appended to x then folds the bias into the first product
    (a broadcast bias add costs as much as half that product) and one update moves both. The model's
    parameters stay the same objects, holding the same values; only their storage is shared.
    """

    def __init__(self, model: nn.Module, lr: float):
        w1, b1 = model.weights[0], model.biases[0]
        d = w1.shape[1]
        self.first = torch.cat([w1.detach(), b1.detach()], dim=1)       # [W1; b1], (M, d + 1, width)
        w1.data, b1.data = self.first[:, :d], self.first[:, d:]
        self.w2, self.b2 = model.weights[1], model.biases[1]             # (M, width, 1), (M, 1, 1)
        self.lr = lr
        self._buffers: dict[tuple[int, ...], tuple[torch.Tensor, ...]] = {}

    def _scratch(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        n_models, batch, d = x.shape
        key = (batch, d)
        if key not in self._buffers:
            width = self.first.shape[-1]
            new = dict(dtype=x.dtype, device=x.device)
            self._buffers[key] = (torch.ones(n_models, batch, d + 1, **new),      # [x, 1]
                                  torch.empty(n_models, batch, width, **new),     # a = relu(h), then 1[a > 0]
                                  torch.empty(n_models, batch, 1, **new),         # s
                                  torch.empty(n_models, batch, d + 1, **new))     # [x, 1] * (-B delta)
        return self._buffers[key]

    @torch.no_grad()
    def step(self, x: torch.Tensor, y: torch.Tensor) -> None:
        """One SGD step of every model on its batch: x (M, B, d), y (M, B) in {-1, +1}."""
        x_one, a, s, x_delta = self._scratch(x)
        batch, d = x.shape[1], x.shape[2]
        x_one[..., :d] = x
        torch.bmm(x_one, self.first, out=a)                                       # h = x W1 + b1
        torch.relu_(a)
        torch.baddbmm(self.b2, a, self.w2, out=s)
        y = y.unsqueeze(-1)
        # minus_delta = -B delta = y 1[y s <= 1]; the factor -1/B goes into the step size below.
        minus_delta = torch.where(s * y <= 1, y, 0.0)                             # (M, B, 1)
        torch.mul(x_one, minus_delta, out=x_delta)
        # As a row, delta^T a: MKL's batched product is several times faster in this orientation.
        grad_w2 = torch.bmm(minus_delta.transpose(1, 2), a).transpose(1, 2)       # (M, width, 1)
        # One (M, B, width) buffer, not two, so that it stays in cache: a becomes the mask in place.
        mask = a.sign_()                                                          # a >= 0: sign is 1[a > 0]
        grad_first = torch.bmm(x_delta.transpose(1, 2), mask)                     # (M, d + 1, width), before x w2
        step = self.lr / batch
        self.first.addcmul_(grad_first, self.w2.transpose(1, 2), value=step)     # w2 is read before it moves
        self.b2.add_(minus_delta.sum(dim=1, keepdim=True), alpha=step)
        self.w2.add_(grad_w2, alpha=step)
