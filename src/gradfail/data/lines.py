"""Images of one straight line and k-tuples of them (paper Section 3.1, Experiment I, Figures 2, 3, 5).

The single-image space X1 (digest §2.1; the authors' read_rect_data.py): a 28x28 binary image holding one
line segment. Draw

    theta ~ U[0, pi),   length ~ U[5, 23],   centre c ~ 28 U[0, 1)^2   (continuous),

and set the pixels trunc(c + s u l) for u = (cos theta, sin theta), s in {-1, +1} and
l = 0, 1, ..., floor(length / 2) - 1; points that fall outside the image are dropped. Coordinates are
truncated towards zero (the code's int cast), not rounded as the paper's text says, so a point in (-1, 0)
lands on row or column 0. The first coordinate indexes rows, the second columns. The label is
y = +1 if theta < pi/2, else -1, so P(y = +1) = 1/2 exactly.

The k-tuple problem: v = (x_1, ..., x_k) with x_j i.i.d. from X1 and label

    y~(v) = prod_j y(x_j)                   (the paper, Section 3.1: a parity of k bits).

The authors' code labels a tuple +1 iff the number of images with theta < pi/2 is odd. With c that number,
prod_j y_j = (-1)^(k - c), so the code's label (-1)^(c + 1) equals (-1)^(k + 1) prod_j y_j: the same parity
for odd k and its negation for even k (digest §5, item 2). Both are available through `convention`; the
library defaults to the paper's product. A learner cannot tell them apart, since negating the label is
negating the last layer.

Note [Vectorised lines]: a batch of n images is drawn as one (n, 4) uniform tensor from a torch.Generator
(theta, length, row and column of the centre), and rendered with one scatter of the at most 2 * 11 points
per image into a flat (n, 784) tensor. Nothing loops over images or pixels in Python, and nothing is
cached: every batch is drawn on the fly (the authors' 500,000 cached tuples take 1.57 GB per unit of k).
Coordinates are computed in float64 on the CPU, so truncation, and hence every image, is the same on every
device. `render_lines_reference` is the per-image, per-pixel loop of the authors' code, kept as the
baseline that tests and benchmarks compare against.
"""

from __future__ import annotations

import math

import torch

from gradfail.validation import check_choice, check_int

IMAGE_SIZE = 28
MIN_LENGTH, MAX_LENGTH = 5.0, 23.0      # length ~ U[5, 23] (the code's U(5, IMAGE_SIZE - 5))
MAX_HALF_STEPS = int(MAX_LENGTH // 2)   # l = 0..floor(length/2) - 1 never exceeds 10, so 11 offsets
CONVENTIONS = ("product", "odd_count")


def draw_line_params(n: int, *, generator: torch.Generator) -> torch.Tensor:
    """(n, 4) float64 rows (theta, length, centre_row, centre_col), drawn from `generator` on the CPU."""
    check_int("n", n, 0)
    u = torch.rand((n, 4), generator=generator, dtype=torch.float64)
    theta = math.pi * u[:, 0]
    length = MIN_LENGTH + (MAX_LENGTH - MIN_LENGTH) * u[:, 1]
    centre = IMAGE_SIZE * u[:, 2:]
    return torch.cat([theta[:, None], length[:, None], centre], dim=1)


def line_labels(params: torch.Tensor) -> torch.Tensor:
    """y = +1 if theta < pi/2 else -1, as int64 (n,)."""
    return torch.where(params[:, 0] < math.pi / 2, 1, -1)


def render_lines(params: torch.Tensor) -> torch.Tensor:
    """Binary (n, 28, 28) uint8 images of the lines in `params` (see Note [Vectorised lines])."""
    n = params.shape[0]
    theta, length, centre = params[:, 0], params[:, 1], params[:, 2:]
    steps = torch.arange(MAX_HALF_STEPS, dtype=torch.float64)                                 # l = 0..10
    signs = torch.tensor([-1.0, 1.0], dtype=torch.float64)
    offsets = (signs[:, None] * steps[None, :]).reshape(-1)                                  # (22,) s * l
    direction = torch.stack([torch.cos(theta), torch.sin(theta)], dim=1)                     # (n, 2)
    points = centre[:, None, :] + offsets[None, :, None] * direction[:, None, :]             # (n, 22, 2)
    # trunc, as the code's astype(int32): a point in (-1, 0) lands on pixel 0 rather than being dropped.
    pixels = torch.trunc(points).to(torch.int64)
    used = steps[None, :] < torch.floor(length / 2)[:, None]                                 # (n, 11)
    inside = ((pixels >= 0) & (pixels < IMAGE_SIZE)).all(dim=2) & used.repeat(1, 2)          # (n, 22)
    flat = torch.zeros(n * IMAGE_SIZE * IMAGE_SIZE, dtype=torch.uint8)
    index = (torch.arange(n)[:, None] * IMAGE_SIZE**2 + pixels[..., 0] * IMAGE_SIZE + pixels[..., 1])[inside]
    flat[index] = 1
    return flat.reshape(n, IMAGE_SIZE, IMAGE_SIZE)


def render_lines_reference(params: torch.Tensor) -> torch.Tensor:
    """The same images, one image and one pixel at a time in Python, as read_rect_data.py draws them.

    Slow on purpose: the baseline of the vectorisation tests and of regressions/test_perf_lines.py.
    """
    images = torch.zeros(params.shape[0], IMAGE_SIZE, IMAGE_SIZE, dtype=torch.uint8)
    for i, (theta, length, row, col) in enumerate(params.tolist()):
        u_row, u_col = math.cos(theta), math.sin(theta)
        for l in range(int(length // 2)):
            for s in (-1, 1):
                r, c = math.trunc(row + s * u_row * l), math.trunc(col + s * u_col * l)
                if 0 <= r < IMAGE_SIZE and 0 <= c < IMAGE_SIZE:
                    images[i, r, c] = 1
    return images


def sample_lines(n: int, *, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """n i.i.d. images of X1: (images (n, 28, 28) uint8 in {0, 1}, labels (n,) int64 in {-1, +1})."""
    params = draw_line_params(n, generator=generator)
    return render_lines(params), line_labels(params)


def tuple_labels(labels: torch.Tensor, *, convention: str = "product") -> torch.Tensor:
    """Tuple labels from per-image labels (..., k) in {-1, +1}: the paper's product or the code's odd count."""
    check_choice("convention", convention, CONVENTIONS)
    if convention == "product":
        return labels.prod(dim=-1)
    odd = (labels == 1).sum(dim=-1) % 2
    return 2 * odd - 1


def sample_tuples(n: int, k: int, *, generator: torch.Generator, convention: str = "product",
                  ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """n k-tuples: images (n, k, 28, 28) uint8, per-image labels (n, k), tuple labels (n,), all int64 labels.

    The n*k images are i.i.d. draws of X1, rendered in one vectorised call.
    """
    check_int("n", n, 0)
    check_int("k", k, 1)
    images, labels = sample_lines(n * k, generator=generator)
    labels = labels.reshape(n, k)
    return images.reshape(n, k, IMAGE_SIZE, IMAGE_SIZE), labels, tuple_labels(labels, convention=convention)
