"""The linear-periodic variance estimator (gradfail.experiments.periodic) streams its inputs through the
per-example gradients in chunks; the chunking must not change any number it returns."""

from __future__ import annotations

import pytest
import torch

from gradfail.experiments import periodic
from gradfail.experiments.periodic import periodic_variance

SETTING = dict(d=4, radii=(0.5, 2.0), psi="sin", model="relu", width=6, input_scale=1.0, directions="sphere",
               n_inputs=50, n_directions=5, replicates=3, seed=11, device=torch.device("cpu"))


@pytest.mark.parametrize("input_chunk", (1, 7, 50))
def test_streamed_inputs_give_the_whole_batch_estimates(monkeypatch, input_chunk):
    """Chunks of 1, 7 (not dividing the 50 inputs) and 50 give the variances, bias bounds and G^2 of one pass
    over all inputs, at every radius."""
    monkeypatch.setattr(periodic, "INPUT_CHUNK", 10**9)
    whole = periodic_variance(**SETTING)
    monkeypatch.setattr(periodic, "INPUT_CHUNK", input_chunk)
    streamed = periodic_variance(**SETTING)
    assert streamed.keys() == whole.keys()
    for r in SETTING["radii"]:
        assert whole[r].variances.min() > 0
        assert streamed[r].variances == pytest.approx(whole[r].variances, rel=1e-12)
        assert streamed[r].bias_bound == pytest.approx(whole[r].bias_bound, rel=1e-12)
        assert streamed[r].g_squared == pytest.approx(whole[r].g_squared, rel=1e-12)
