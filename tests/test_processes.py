"""Worker processes for independent training jobs (gradfail.engine.processes) and Figure 1's job split."""

from __future__ import annotations

import numpy as np
import pytest

from gradfail.engine.processes import default_workers, map_in_processes
from gradfail.figures.fig1_parity import _accuracy_curves, training_jobs


@pytest.mark.slow   # spawning two interpreters that import torch costs 5-20 s
def test_jobs_in_two_processes_equal_jobs_in_this_process():
    """Two spawned one-thread workers return the same traces, in job order, as running the jobs here."""
    jobs = [{"d": 6, "seeds": [0, 1], "steps": 60, "device": "cpu"}, {"d": 4, "seeds": [2], "steps": 40, "device": "cpu"}]
    here = map_in_processes(_accuracy_curves, jobs, workers=1)
    there = map_in_processes(_accuracy_curves, jobs, workers=2)
    for a, b in zip(here, there, strict=True):
        np.testing.assert_array_equal(a.steps, b.steps)
        np.testing.assert_array_equal(a.values, b.values)
    assert here[0].values.shape[1] == 2 and here[1].values.shape[1] == 1


def test_a_seed_trained_in_a_split_job_equals_it_trained_with_all_seeds():
    """Splitting d = 30's seeds over two jobs (Note [Ensembles]) leaves every seed's curve unchanged."""
    together = _accuracy_curves(d=8, seeds=[0, 1, 2], steps=50, device="cpu")
    parts = [_accuracy_curves(d=8, seeds=group, steps=50, device="cpu") for group in ([0, 1], [2])]
    np.testing.assert_allclose(np.concatenate([p.values for p in parts], axis=1), together.values, atol=1e-6)


def test_training_jobs_split_the_widest_d_only_when_there_are_several_workers():
    """With several workers d = 30's seeds become two jobs; with one, each d is one job; no job is empty."""
    steps = {5: 100, 10: 200, 30: 300}
    assert training_jobs(5, steps, workers=1) == [
        {"d": 30, "seeds": [0, 1, 2, 3, 4], "steps": 300}, {"d": 10, "seeds": [0, 1, 2, 3, 4], "steps": 200},
        {"d": 5, "seeds": [0, 1, 2, 3, 4], "steps": 100}]
    split = training_jobs(5, steps, workers=2)
    assert [job["seeds"] for job in split if job["d"] == 30] == [[0, 1, 2], [3, 4]]
    assert sorted(s for job in split for s in job["seeds"] if job["d"] == 30) == [0, 1, 2, 3, 4]
    assert training_jobs(1, steps, workers=2)[0] == {"d": 30, "seeds": [0], "steps": 300}   # no empty job


def test_map_in_processes_rejects_zero_workers_and_counts_cores():
    """workers = 0 is an error naming the field and its range; the default is at least one core."""
    with pytest.raises(ValueError, match=r"workers must be an integer in \[1, 256\]"):
        map_in_processes(_accuracy_curves, [], workers=0)
    assert default_workers() >= 1
