"""The networks of Experiment I (paper Section 3.1): N1 scores one line image, N2 scores a k-tuple.

Architecture of the authors' tuple_rect.py (digest §2.1):

    N1 (shared by the k images):  conv 5x5 x C, SAME -> maxpool 2 -> conv 5x5 x C, SAME -> maxpool 2
                                  -> FC F1 + ReLU -> FC F2 + ReLU -> FC 1  (the "score" s(x))
    N2:                           sigmoid(s(x_1)), ..., sigmoid(s(x_k)) -> FC H + ReLU -> FC 1

with C = 16, F1 = 50, F2 = 100, H = 100 in the paper; `TupleNetShape` scales them down for CI. There is no
nonlinearity after the convolutions (the code's "LeNet-like" net has none, unlike LeNet). Weights are
drawn from a normal truncated at 2 std with std 1/sqrt(fan_in), biases are zero. For the convolutions the
code takes "fan_in" from the last dimension of the layer's input tensor (28 for the raw 28x28 image,
C after the first convolution), not 25 * in_channels; `conv_init="authors"` follows the code (the default,
DESIGN §7) and `conv_init="fan_in"` uses 25 * in_channels.

Note [Batched tuple nets]: like `gradfail.engine.ensemble.BatchedMLP`, these modules hold M independent
models, slice m of every weight belonging to model m and drawn from generators[m] alone. The convolutions
run as grouped convolutions (groups = M), the dense layers as batched matrix products, and the k images of
every tuple of every model go through N1 in one forward pass. With an element-wise optimizer (Adam) and a
loss that sums the models' mean losses, each model trains exactly as it would alone.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from gradfail.data.lines import IMAGE_SIZE
from gradfail.engine.ensemble import BatchedMLP
from gradfail.models.mlp import truncated_normal_
from gradfail.validation import check_choice, check_int

KERNEL = 5
CONV_INITS = ("authors", "fan_in")


@dataclass(frozen=True)
class TupleNetShape:
    """Layer sizes of N1 and N2; the defaults are the paper's."""

    channels: int = 16     # C, both convolutions
    fc1: int = 50          # F1
    fc2: int = 100         # F2: the width of N1's penultimate layer, the input of the score layer
    head: int = 100        # H: N2's hidden width
    conv_init: str = "authors"

    def __post_init__(self) -> None:
        check_int("channels", self.channels, 1, 256)
        check_int("fc1", self.fc1, 1, 4096)
        check_int("fc2", self.fc2, 1, 4096)
        check_int("head", self.head, 1, 4096)
        check_choice("conv_init", self.conv_init, CONV_INITS)

    @property
    def flat(self) -> int:
        """Size of N1's flattened feature map: C x 7 x 7 after two 2x2 poolings of 28x28."""
        return self.channels * (IMAGE_SIZE // 4) ** 2


def _pool2(x: torch.Tensor) -> torch.Tensor:
    """2x2 max-pooling, stride 2 (even sizes only, as here: 28 -> 14 -> 7)."""
    if torch.is_grad_enabled():
        return F.max_pool2d(x, 2)
    # Without autograd, the maximum of four strided views is about twice as fast on CPU as max_pool2d,
    # which also computes the argmax indices; with autograd, max_pool2d's backward is the faster one.
    return torch.maximum(torch.maximum(x[..., 0::2, 0::2], x[..., 1::2, 0::2]),
                         torch.maximum(x[..., 0::2, 1::2], x[..., 1::2, 1::2]))


def _stack(shape: tuple[int, ...], std: float, generators: Sequence[torch.Generator], dtype) -> torch.Tensor:
    out = torch.empty(len(generators), *shape, dtype=dtype)
    for m, generator in enumerate(generators):
        truncated_normal_(out[m], std, generator=generator)
    return out


class LineScorer(nn.Module):
    """N1 for M models: images (M, N, 28, 28) -> penultimate features (M, N, F2) -> scores (M, N)."""

    def __init__(self, shape: TupleNetShape, generators: Sequence[torch.Generator], *,
                 dtype: torch.dtype = torch.float32, device: torch.device | str = "cpu"):
        super().__init__()
        check_int("number of models", len(generators), 1)
        self.shape = shape
        c = shape.channels
        # Drawn in layer order, so a model's weights depend only on its own generator (Note [Batched tuple nets]).
        std1, std2 = ((IMAGE_SIZE ** -0.5, c ** -0.5) if shape.conv_init == "authors"
                      else ((KERNEL**2) ** -0.5, (KERNEL**2 * c) ** -0.5))
        conv1 = _stack((c, 1, KERNEL, KERNEL), std1, generators, dtype)
        conv2 = _stack((c, c, KERNEL, KERNEL), std2, generators, dtype)
        fc1 = _stack((shape.fc1, shape.flat), shape.flat ** -0.5, generators, dtype)
        fc2 = _stack((shape.fc2, shape.fc1), shape.fc1 ** -0.5, generators, dtype)
        score = _stack((1, shape.fc2), shape.fc2 ** -0.5, generators, dtype)
        m = len(generators)
        self.conv1_w = nn.Parameter(conv1.reshape(m * c, 1, KERNEL, KERNEL).to(device))
        self.conv1_b = nn.Parameter(torch.zeros(m * c, dtype=dtype, device=device))
        self.conv2_w = nn.Parameter(conv2.reshape(m * c, c, KERNEL, KERNEL).to(device))
        self.conv2_b = nn.Parameter(torch.zeros(m * c, dtype=dtype, device=device))
        self.fc1_w = nn.Parameter(fc1.transpose(1, 2).contiguous().to(device))          # (M, flat, F1)
        self.fc1_b = nn.Parameter(torch.zeros(m, 1, shape.fc1, dtype=dtype, device=device))
        self.fc2_w = nn.Parameter(fc2.transpose(1, 2).contiguous().to(device))          # (M, F1, F2)
        self.fc2_b = nn.Parameter(torch.zeros(m, 1, shape.fc2, dtype=dtype, device=device))
        self.score_w = nn.Parameter(score.reshape(m, shape.fc2).to(device))             # (M, F2)
        self.score_b = nn.Parameter(torch.zeros(m, dtype=dtype, device=device))

    @property
    def n_models(self) -> int:
        return self.score_w.shape[0]

    def features(self, images: torch.Tensor) -> torch.Tensor:
        """Penultimate activations h(x) (M, N, F2) of images (M, N, 28, 28); the score is w.h + b."""
        m, n = images.shape[:2]
        c = self.shape.channels
        x = images.to(self.conv1_w.dtype)
        if x.device.type == "cpu":
            # On CPU, M ordinary convolutions beat one grouped convolution (groups = M) by 1.3-1.7x
            # (oneDNN, forward + backward, M = 2..40, C = 4..16); on GPUs the grouped call is the fast one.
            maps = []
            for i in range(m):
                h = _pool2(F.conv2d(x[i, :, None], self.conv1_w[i * c:(i + 1) * c], self.conv1_b[i * c:(i + 1) * c],
                                    padding="same"))
                maps.append(_pool2(F.conv2d(h, self.conv2_w[i * c:(i + 1) * c], self.conv2_b[i * c:(i + 1) * c],
                                            padding="same")).reshape(n, -1))
            x = torch.stack(maps)                                                         # (M, N, flat)
        else:
            x = x.transpose(0, 1)                                                         # (N, M, 28, 28)
            x = _pool2(F.conv2d(x, self.conv1_w, self.conv1_b, padding="same", groups=m))
            x = _pool2(F.conv2d(x, self.conv2_w, self.conv2_b, padding="same", groups=m))
            x = x.reshape(n, m, c * (IMAGE_SIZE // 4) ** 2).transpose(0, 1)               # (M, N, flat)
        x = torch.relu(torch.baddbmm(self.fc1_b, x, self.fc1_w))
        return torch.relu(torch.baddbmm(self.fc2_b, x, self.fc2_w))

    def score_from(self, features: torch.Tensor) -> torch.Tensor:
        """s = w.h + b for features (M, N, F2) -> (M, N)."""
        return torch.einsum("mnf,mf->mn", features, self.score_w) + self.score_b[:, None]

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.score_from(self.features(images))


class TupleHead(nn.Module):
    """N2 for M models: scores (M, N, k) -> tuple scores (M, N), via sigmoid -> FC H + ReLU -> FC 1."""

    def __init__(self, k: int, head: int, generators: Sequence[torch.Generator], *,
                 dtype: torch.dtype = torch.float32, device: torch.device | str = "cpu"):
        super().__init__()
        check_int("k", k, 1, 64)
        self.k = k
        self.mlp = BatchedMLP((k, head, 1), generators, dtype=dtype, device=device)

    def forward(self, scores: torch.Tensor) -> torch.Tensor:
        return self.mlp(torch.sigmoid(scores))


class TupleNet(nn.Module):
    """N2(sigmoid(N1(x_1)), ..., sigmoid(N1(x_k))) for M models at once (Note [Batched tuple nets]).

    forward(images (M, B, k, 28, 28)) -> (tuple scores (M, B), image scores (M, B, k)); N1 sees the M*B*k
    images in one pass.
    """

    def __init__(self, k: int, shape: TupleNetShape, *, n1_generators: Sequence[torch.Generator],
                 n2_generators: Sequence[torch.Generator], dtype: torch.dtype = torch.float32,
                 device: torch.device | str = "cpu"):
        super().__init__()
        if len(n1_generators) != len(n2_generators):
            raise ValueError(f"need one N1 and one N2 generator per model, got {len(n1_generators)} "
                             f"and {len(n2_generators)}")
        self.k = k
        self.n1 = LineScorer(shape, n1_generators, dtype=dtype, device=device)
        self.n2 = TupleHead(k, shape.head, n2_generators, dtype=dtype, device=device)

    @property
    def n_models(self) -> int:
        return self.n1.n_models

    def forward(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        m, b, k = images.shape[:3]
        if k != self.k:
            raise ValueError(f"this network scores {self.k}-tuples, got tuples of {k}")
        scores = self.n1(images.reshape(m, b * k, IMAGE_SIZE, IMAGE_SIZE)).reshape(m, b, k)
        return self.n2(scores), scores
