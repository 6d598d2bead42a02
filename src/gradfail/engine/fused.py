"""A hand-derived SGD step for the Figure 1 network: one hidden ReLU layer, mean hinge loss, plain SGD.

Note [Fused step]: for this one network the whole step is three batched matrix products and a few element-wise
passes, with no autograd graph. For model m with batch (x_i, y_i), i = 1..B (paper Section 2.1, the authors'
parity.py):

    h = x W1 + b1,   a = relu(h),   s = a w2 + b2,   L = (1/B) sum_i max(0, 1 - y_i s_i)
    delta_i = dL/ds_i = -(y_i / B) 1[y_i s_i <= 1]       (autograd's clamp passes the gradient at the kink)
    dL/dw2 = a^T delta,   dL/db2 = sum_i delta_i
    dL/dW1[j, u] = sum_i x_ij delta_i 1[a_iu > 0] w2_u  = ((x * delta)^T 1[a > 0])[j, u] w2_u
    dL/db1[u]    = (delta^T 1[a > 0])[u] w2_u

Three rewrites make this fast:

1. Biases as weights. With a ones column on x, [W1; b1] is one matrix F and h = [x, 1] F. A constant hidden
   unit (first-layer column (0, ..., 0, 1), so its h is exactly 1) carries b2 as its output weight, so
   s = a_ext [w2; b2] needs no broadcast bias add either (on the first layer, such an add cost half a product).
2. dL/dw2 without a matrix-vector product. Since a_iu = 1[h_iu > 0] h_iu and h_iu = sum_j [x, 1]_ij F_ju,

       (a^T delta)[u] = sum_j F_ju G_ju,   G = ([x, 1] * delta)^T 1[a > 0]

   where G is the product the first layer needs anyway (dL/dW1 = G w2, column-scaled). The unit-by-unit dot
   of F and G (an (M, width, d + 1) pass) replaces a batched matrix-vector product, which costs MKL ~4 us per
   batch element. The constant unit's row of G is sum_i delta_i: dL/db2 comes out of the same dot.
3. Hidden units as rows. The activations live as a_ext^T, (M, width + 1, B): then s^T = [w2; b2]^T a_ext^T is a
   row vector times a matrix, the orientation MKL's batched product handles several times faster than a
   matrix times a column. F is stored transposed to match, (M, width + 1, d + 1).

Why the count of operations matters as much as the passes: the (M, width + 1, B) activations (1.6 MB at
M = 32, width 100, B = 128) fill most of a core's L2 cache, and every element-wise or matrix pass over them
evicts what the next small operation needs (PyTorch's dispatcher state, the small tensors). Measured on one
core: each small operation that follows such a pass costs ~20 us instead of 2-10 us. So the step keeps the
big passes to five (the first product, ReLU, s, the mask, the mask product) and the small operations to a
handful. `train_ensemble` runs the steps under inference mode, which skips the autograd bookkeeping each
operation pays under no_grad; it enters the mode once per run, as entering it per step cost 5% of the step.

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

    The model's four parameters are re-homed as views of two tensors: `first` = F^T, (M, width + 1, d + 1),
    whose last row is the constant unit, and `second` = [w2; b2], (M, width + 1, 1). The parameters stay the
    same objects, holding the same values, with the same shapes; only their storage (and strides) change.
    """

    def __init__(self, model: nn.Module, lr: float):
        w1, b1, w2, b2 = model.weights[0], model.biases[0], model.weights[1], model.biases[1]
        n_models, d, width = w1.shape
        like = dict(dtype=w1.dtype, device=w1.device)
        self.first = torch.zeros(n_models, width + 1, d + 1, **like)
        self.first[:, :width, :d] = w1.detach().transpose(1, 2)
        self.first[:, :width, d] = b1.detach().reshape(n_models, width)
        self.first[:, width, d] = 1.0                                   # the constant unit: h = 1
        self.second = torch.cat([w2.detach(), b2.detach()], dim=1)     # [w2; b2], (M, width + 1, 1)
        w1.data, b1.data = self.first[:, :width, :d].transpose(1, 2), self.first[:, :width, d:].transpose(1, 2)
        w2.data, b2.data = self.second[:, :width], self.second[:, width:]
        # Views made once: a view costs a dispatcher call per step.
        self.hidden_first = self.first[:, :width]                      # the rows SGD moves
        self.hidden_second = self.second[:, :width]
        self.second_row = self.second.transpose(1, 2)                  # (M, 1, width + 1)
        self.second_flat = self.second.view(n_models, width + 1)
        self.lr = lr
        self._shape: torch.Size | None = None

    @torch.inference_mode(False)        # ordinary buffers, which the step may update in or out of inference mode
    def _allocate(self, x: torch.Tensor) -> None:
        n_models, batch, d = x.shape
        units = self.first.shape[1]
        like = dict(dtype=x.dtype, device=x.device)
        self.x_one = torch.ones(n_models, d + 1, batch, **like)         # [x, 1]^T
        self.x_data = self.x_one[:, :d]
        self.x_delta = torch.empty(n_models, d + 1, batch, **like)     # ([x, 1] * (-B delta))^T
        self.x_delta_rows = self.x_delta.transpose(1, 2)
        self.activations = torch.empty(n_models, units, batch, **like)  # a_ext^T, then 1[a_ext > 0]^T
        self.scores = torch.empty(n_models, 1, batch, **like)          # s^T
        self.mask_product = torch.empty(n_models, units, d + 1, **like)  # G^T
        self.hidden_mask_product = self.mask_product[:, :units - 1]
        self.zero = torch.zeros((), **like)
        self._shape = x.shape

    def step(self, x: torch.Tensor, y: torch.Tensor) -> None:
        """One SGD step of every model on its batch: x (M, B, d), y (M, B) in {-1, +1}.

        Correct in any grad mode (every tensor it touches is free of autograd history); fastest under
        `torch.inference_mode()`, which the caller enters (see the module note).
        """
        if self._shape != x.shape:
            self._allocate(x)
        self.x_data.copy_(x.transpose(1, 2))
        a = torch.bmm(self.first, self.x_one, out=self.activations)   # h^T = F^T [x, 1]^T
        torch.relu_(a)
        s = torch.bmm(self.second_row, a, out=self.scores)             # s^T = [w2; b2]^T a_ext^T
        y = y.unsqueeze(1)
        # minus_delta = -B delta = y 1[y s <= 1]; the factor -1/B goes into the step size below.
        minus_delta = torch.where(s * y <= 1, y, self.zero)            # (M, 1, B)
        torch.mul(self.x_one, minus_delta, out=self.x_delta)
        mask = a.gt_(0)                                                # 1[a > 0] in place (a sign_ pass was slower)
        grad = torch.bmm(mask, self.x_delta_rows, out=self.mask_product)   # G^T, (M, width + 1, d + 1)
        grad_second = torch.linalg.vecdot(self.first, grad)            # rewrite 2: -B [dL/dw2; dL/db2], before F moves
        step = self.lr / x.shape[1]
        self.hidden_first.addcmul_(self.hidden_mask_product, self.hidden_second, value=step)  # w2 before it moves
        self.second_flat.add_(grad_second, alpha=step)
