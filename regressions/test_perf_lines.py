"""Speed of the line-image generator: one vectorised scatter vs the authors' per-image, per-pixel loop.

Run with `pytest -m perf regressions --benchmark-enable`. The assertion is a ratio of two timings taken
side by side in the same process, never a wall-clock limit.
"""

from __future__ import annotations

import pytest

from gradfail.data.lines import draw_line_params, render_lines, render_lines_reference, sample_tuples
from gradfail.seeding import make_generator
from gradfail.testing.timing import side_by_side

TUPLES, K = 2_000, 3            # one batch of 3-tuples: 6,000 images
LOOP_IMAGES = 600               # the loop is timed on this many images and scaled to the batch
# Measured here (one thread): about 40x, vectorised ~1.1 million images/s against ~26,000 for the loop.
REQUIRED_SPEEDUP = 10.0


@pytest.mark.perf
@pytest.mark.claim("end_to_end.decomposition_beats_end_to_end")
def test_vectorised_tuple_batch_beats_per_image_loop(benchmark, one_thread):
    """sample_tuples renders a batch of 3-tuples >= 10x faster than the per-image, per-pixel loop."""
    generator = make_generator(0, "perf", "lines")
    loop_params = draw_line_params(LOOP_IMAGES, generator=generator)

    def vectorised():
        sample_tuples(TUPLES, K, generator=generator)

    def loop():
        params = draw_line_params(LOOP_IMAGES, generator=generator)
        render_lines_reference(params)

    # The two paths must agree before their speeds are compared (this also warms up torch's kernels).
    assert (render_lines(loop_params) == render_lines_reference(loop_params)).all()
    vectorised()
    timing = side_by_side(vectorised, loop, rounds=5, naive_scale=TUPLES * K / LOOP_IMAGES)
    fast, slow = timing.fast_s, timing.naive_s
    benchmark.pedantic(vectorised, rounds=3, iterations=1)
    speedup = timing.ratio
    benchmark.extra_info.update(tuples=TUPLES, k=K, images=TUPLES * K, vectorised_s=fast, loop_s_scaled=slow,
                                vectorised_images_per_s=TUPLES * K / fast, loop_images_per_s=TUPLES * K / slow,
                                speedup=speedup, ratio=speedup, target=REQUIRED_SPEEDUP,
                                loop_note=f"per-image loop timed on {LOOP_IMAGES} images, scaled to {TUPLES * K}")
    assert speedup >= REQUIRED_SPEEDUP, (
        f"vectorised {fast * 1e3:.1f} ms vs per-image loop {slow * 1e3:.0f} ms (scaled) for {TUPLES * K} images: "
        f"speedup {speedup:.1f}x < {REQUIRED_SPEEDUP:.0f}x")
