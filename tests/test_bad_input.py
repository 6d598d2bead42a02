"""Bad input gives a clear error naming the field and what is allowed (issue 7, part 4): one table of cases
across the public API, the pytest plugin's options and environment variables, and the `gradfail` command.

A case runs one invalid call and states the error it must raise and the phrases its message must contain:
the field's name and the allowed range or choices. Plugin and command-line cases turn a usage error into
`UsageStop(status, stderr)`, so every row is checked the same way.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import partial
from typing import Callable

import pytest
import torch

from gradfail import cli
from gradfail.claims import claims_of, get_claim
from gradfail.claims.conditioning import ConvSetting
from gradfail.claims.conditioning_training import AutoencoderSetting
from gradfail.claims.parity import CubeSetting, GradientVarianceSetting, ParitySGDSetting
from gradfail.claims.sparse_parity import SparseParityTrainingSetting
from gradfail.data.curves import sample_encodings
from gradfail.data.lines import sample_tuples
from gradfail.data.parity import MAX_EXACT_D, cube_bits
from gradfail.data.periodic import sample_directions
from gradfail.data.stocks import outcome_distribution
from gradfail.devices import DeviceUnavailable, resolve_device
from gradfail.engine.ensemble import BatchedMLP, ChunkedStream, train_ensemble
from gradfail.seeding import MAX_SEED, make_generator, parse_seeds
from gradfail.stats import Estimate, clopper_pearson, mean_interval, slope_interval
from gradfail.testing.tolerances import baseline_tolerance

NO_GPU = pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a CUDA GPU")


class UsageStop(Exception):
    """A command stopped with a usage error: its exit status and what it printed on stderr."""

    def __init__(self, status: int, stderr: str) -> None:
        super().__init__(f"exit status {status}: {stderr}")
        self.status = status


@dataclass(frozen=True)
class Case:
    run: Callable[[pytest.FixtureRequest], object]
    error: type[BaseException]
    says: tuple[str, ...]          # the field's name and what is allowed, verbatim in the message
    status: int | None = None      # for UsageStop: the exit status
    marks: tuple = field(default=())


def api(call: Callable[[], object], error: type[BaseException], *says: str, marks=()) -> Case:
    return Case(lambda request: call(), error, says, marks=marks)


def plugin(*args: str, env: dict[str, str] | None = None, says: tuple[str, ...], marks=()) -> Case:
    """pytest with these options / environment variables must stop with a usage error (exit 4)."""
    def run(request):
        monkeypatch = request.getfixturevalue("monkeypatch")
        for name, value in (env or {}).items():
            monkeypatch.setenv(name, value)
        result = request.getfixturevalue("pytester").runpytest_inprocess("-p", "no:cacheprovider", *args)
        if result.ret == pytest.ExitCode.USAGE_ERROR:
            raise UsageStop(int(result.ret), result.stderr.str())
        return result.ret
    return Case(run, UsageStop, says, status=int(pytest.ExitCode.USAGE_ERROR), marks=marks)


def command(*argv: str, env: dict[str, str] | None = None, says: tuple[str, ...], marks=()) -> Case:
    """`gradfail ARGV` must exit 2 (argparse's usage-error status) before doing any work."""
    def run(request):
        monkeypatch, capsys = request.getfixturevalue("monkeypatch"), request.getfixturevalue("capsys")
        for name, value in (env or {}).items():
            monkeypatch.setenv(name, value)
        try:
            status = cli.main(list(argv))
        except SystemExit as stop:
            status = stop.code
        if status:
            raise UsageStop(status, capsys.readouterr().err)
        return status
    return Case(run, UsageStop, says, status=2, marks=marks)


def _generator():
    return make_generator(0, "bad_input")


def _ensemble(**overrides):
    """train_ensemble on a valid tiny ensemble, with one argument replaced."""
    model = BatchedMLP((3, 4, 1), [make_generator(s, "init") for s in range(2)])
    stream = ChunkedStream([lambda n, b: (torch.zeros(n, b, 3), torch.ones(n, b))] * 2, batch=4)
    return train_ensemble(model, stream, **{"steps": 3, "lr": 0.1, **overrides})


CASES = {
    # --- claim settings: sizes out of range, wrong types, NaN / inf, unknown names -----------------------------
    "size_below_range": api(lambda: CubeSetting(d=0), ValueError, "d must be an integer in [1, 12], got 0"),
    "size_above_range": api(lambda: CubeSetting(d=13), ValueError, "d must be an integer in [1, 12], got 13"),
    "float_for_int": api(lambda: CubeSetting(d=4.0), ValueError, "d must be an integer in [1, 12], got 4.0"),
    "bool_for_int": api(lambda: CubeSetting(d=True), ValueError, "d must be an integer in [1, 12], got True"),
    "tensor_for_int": api(lambda: CubeSetting(d=torch.tensor(4)), ValueError, "d must be an integer in [1, 12]"),
    "nan_probability": api(lambda: CubeSetting(d=4, bit_probability=math.nan), ValueError,
                           "bit_probability must be a finite number in [0, 1], got nan"),
    "inf_scale": api(lambda: GradientVarianceSetting(d=4, init_scale=math.inf), ValueError,
                     "init_scale must be a finite number in (0, 10], got inf"),
    "string_for_real": api(lambda: ParitySGDSetting(d=10, steps=100, lr="0.1"), ValueError,
                           "lr must be a finite number in (0, 10], got '0.1'"),
    "negative_lr": api(lambda: ParitySGDSetting(d=10, steps=100, lr=-0.1), ValueError,
                       "lr must be a finite number in (0, 10], got -0.1"),
    "unknown_activation": api(lambda: GradientVarianceSetting(d=4, activation="swish"), ValueError,
                              "activation must be one of 'relu',", "got 'swish'"),
    "zero_width_layer": api(lambda: GradientVarianceSetting(d=4, widths=(8, 0)), ValueError,
                            "widths[1] must be an integer in [1, 256], got 0"),
    "string_for_bool": api(lambda: ConvSetting(whiten="yes"), ValueError, "whiten must be True or False, got 'yes'"),
    "int_for_bool": api(lambda: SparseParityTrainingSetting(random_labels=1), ValueError,
                        "random_labels must be True or False, got 1"),
    "radius_beyond_size": api(lambda: AutoencoderSetting(steps=1, n=100, kinks=3, radius=50.0), ValueError,
                              "radius must be a finite number in [0.5, 8.33333], got 50"),
    "unknown_profile": api(lambda: get_claim("parity.parities_orthonormal").reference_for("huge"), ValueError,
                           "profile must be one of smoke, ci, paper; got 'huge'"),
    "unknown_topic": api(lambda: claims_of("optics"), ValueError, "topic must be one of parity,", "got 'optics'"),
    "unknown_claim": api(lambda: get_claim("parity.gradient_variance_bnd"), KeyError,
                         "no claim 'parity.gradient_variance_bnd'", "did you mean parity.gradient_variance_bound"),
    # --- seeds ---------------------------------------------------------------------------------------------
    "negative_seed": api(lambda: parse_seeds("-1"), ValueError, "seeds must", "'0-19'"),
    "reversed_range": api(lambda: parse_seeds("3-1"), ValueError, "seed range must be low-high with low <= high",
                          "got '3-1'"),
    "not_a_seed": api(lambda: parse_seeds("x"), ValueError, "seeds must look like '0', '0-19', '1,4,9' or 'all'"),
    "empty_seeds": api(lambda: parse_seeds(""), ValueError, "seeds must look like '0', '0-19', '1,4,9' or 'all'"),
    "repeated_seed": api(lambda: parse_seeds("1,1"), ValueError, "seeds must not repeat; got '1,1'"),
    "seed_too_large": api(lambda: parse_seeds(str(MAX_SEED + 1)), ValueError,
                          f"seeds must be integers in [0, {MAX_SEED}]"),
    "negative_generator_seed": api(lambda: make_generator(-1, "x"), ValueError,
                                   f"seed must be an integer in [0, {MAX_SEED}], got -1"),
    # --- data generators (an index or count beyond its size is the "k > d" kind) -------------------------------
    "cube_too_large": api(lambda: cube_bits(MAX_EXACT_D + 1), ValueError,
                          f"d must be an integer in [1, {MAX_EXACT_D}], got {MAX_EXACT_D + 1}"),
    "best_stock_beyond_k": api(lambda: outcome_distribution(3, 3), ValueError,
                               "best must be an integer in [0, 2], got 3"),
    "more_kinks_than_points": api(lambda: sample_encodings(10, 5, kinks=11, generator=_generator()), ValueError,
                                  "kinks must be an integer in [1, 10], got 11"),
    "empty_tuple": api(lambda: sample_tuples(4, 0, generator=_generator()), ValueError,
                       "k must be an integer in [1, inf), got 0"),
    "nan_radius": api(lambda: sample_directions(4, 3, math.nan, generator=_generator()), ValueError,
                      "r must be a finite number in (0, inf], got nan"),
    "unknown_direction_law": api(lambda: sample_directions(4, 3, 1.0, directions="cube", generator=_generator()),
                                 ValueError, "directions must be one of 'sphere', 'axis'; got 'cube'"),
    # --- engine ---------------------------------------------------------------------------------------------
    "zero_width_model": api(lambda: BatchedMLP((4, 0, 1), [_generator()]), ValueError,
                            "sizes[1] must be an integer in [1, inf), got 0"),
    "zero_batch": api(lambda: ChunkedStream([], batch=0), ValueError, "batch must be an integer in [1, inf), got 0"),
    "negative_steps": api(partial(_ensemble, steps=-1), ValueError, "steps must be an integer in [0, inf), got -1"),
    "nan_lr": api(partial(_ensemble, lr=math.nan), ValueError, "lr must be a finite number in (0, inf], got nan"),
    "unknown_optimizer": api(partial(_ensemble, optimizer="rmsprop"), ValueError,
                             "optimizer must be one of 'sgd', 'adam'; got 'rmsprop'"),
    "eval_step_beyond_steps": api(partial(_ensemble, eval_steps=(5,)), ValueError,
                                  "eval_steps[0] must be an integer in [0, 3], got 5"),
    "names_for_wrong_count": api(partial(_ensemble, model_names=["seed 0"]), ValueError,
                                 "model_names must give one name per model (2), got 1"),
    # --- statistics -------------------------------------------------------------------------------------------
    "successes_beyond_trials": api(lambda: clopper_pearson(5, 3, 0.05), ValueError,
                                   "successes must be an integer in [0, 3], got 5"),
    "alpha_above_one": api(lambda: clopper_pearson(1, 3, 1.5), ValueError,
                           "alpha must be a finite number in (0, 1), got 1.5"),
    "one_sample": api(lambda: mean_interval([1.0], 0.05), ValueError,
                      "number of samples must be an integer in [2, inf), got 1"),
    "nan_sample": api(lambda: mean_interval([1.0, math.nan, 2.0], 0.05), ValueError,
                      "samples must be finite numbers; got nan at index 1"),
    "inf_slope_point": api(lambda: slope_interval([1, 2, 3], [1.0, math.inf, 3.0], 0.05), ValueError,
                           "ys must be finite numbers; got inf at index 1"),
    "unequal_lengths": api(lambda: slope_interval([1, 2, 3], [1, 2], 0.05), ValueError,
                           "xs and ys must be 1-d of equal length"),
    "interval_not_around_value": api(lambda: Estimate(1.0, 2.0, 3.0), ValueError,
                                     "Estimate needs lo <= value <= hi, got 2.0 <= 1.0 <= 3.0"),
    "dtype_without_tolerance": api(lambda: baseline_tolerance(torch.float16), ValueError,
                                   "no baseline tolerance for dtype torch.float16; known: [torch.float64, torch.float32]"),
    # --- devices --------------------------------------------------------------------------------------------
    "unknown_device": api(lambda: resolve_device("tpu"), ValueError,
                          "device must be one of auto, cpu, cuda; got 'tpu'"),
    "absent_gpu": api(lambda: resolve_device("cuda"), DeviceUnavailable, "device 'cuda' was requested",
                      "use --claims-device cpu or auto", marks=(NO_GPU,)),
    # --- the pytest plugin: options and environment variables --------------------------------------------------
    "plugin_bogus_profile": plugin("--claims-profile", "bogus", says=("--claims-profile", "invalid choice: 'bogus'",
                                                                      "smoke", "ci", "paper")),
    "plugin_reversed_seeds": plugin("--claims-seeds", "3-1", says=("--claims-seeds", "low <= high", "'3-1'")),
    "plugin_zero_threads": plugin("--claims-threads", "0", says=("--claims-threads", "integer in [1, 256]", "got 0")),
    "plugin_env_threads": plugin(env={"GRADFAIL_THREADS": "many"},
                                 says=("GRADFAIL_THREADS", "integer in [1, 256]", "'many'")),
    "plugin_cuda_without_gpu": plugin("--claims-device", "cuda", marks=(NO_GPU,),
                                      says=("--claims-device", "'cuda' was requested but no CUDA GPU is usable",
                                            "cpu or auto")),
    "plugin_env_profile": plugin(env={"GRADFAIL_PROFILE": "huge"},
                                 says=("GRADFAIL_PROFILE='huge' is not a valid choice", "smoke, ci, paper")),
    "plugin_env_seeds": plugin(env={"GRADFAIL_SEEDS": "x"},
                               says=("GRADFAIL_SEEDS='x'", "seeds must look like '0', '0-19', '1,4,9' or 'all'")),
    "plugin_env_device": plugin(env={"GRADFAIL_DEVICE": "tpu"},
                                says=("GRADFAIL_DEVICE='tpu' is not a valid choice", "auto, cpu, cuda")),
    # --- the gradfail command ---------------------------------------------------------------------------------
    "cli_unknown_figure": command("figures", "fig99", says=("unknown figure(s) fig99", "choose from fig1_parity")),
    "cli_bad_profile": command("report", "--profile", "huge", says=("--profile", "invalid choice: 'huge'", "smoke")),
    "cli_bad_seeds": command("report", "--seeds", "3-1", says=("--seeds", "low <= high", "'3-1'")),
    "cli_env_device": command("figures", env={"GRADFAIL_DEVICE": "tpu"},
                              says=("GRADFAIL_DEVICE='tpu' is not a valid choice", "auto, cpu, cuda")),
    "cli_cuda_without_gpu": command("figures", "fig1_parity", "--device", "cuda", marks=(NO_GPU,),
                                    says=("--device", "'cuda' was requested but no CUDA GPU is usable", "cpu or auto")),
    "cli_unknown_section": command("list", "--section", "9", says=("--section", "invalid choice: '9'", "'lit'")),
}


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch):
    """Cases set the GRADFAIL_* variables they test; none may leak in from the caller's shell."""
    for name in ("GRADFAIL_PROFILE", "GRADFAIL_SEEDS", "GRADFAIL_DEVICE", "CI"):
        monkeypatch.delenv(name, raising=False)


@pytest.mark.parametrize("name", [pytest.param(n, marks=c.marks) for n, c in CASES.items()])
def test_bad_input_is_rejected_naming_the_field_and_what_is_allowed(name, request):
    """Each invalid input raises the stated error, and its message names the field and the allowed values."""
    case = CASES[name]
    with pytest.raises(case.error) as raised:
        case.run(request)
    message = str(raised.value.args[0]) if isinstance(raised.value, KeyError) else str(raised.value)
    missing = [phrase for phrase in case.says if phrase not in message]
    assert not missing, f"{name}: the message lacks {missing}:\n{message}"
    if case.status is not None:
        assert raised.value.status == case.status


def test_the_table_covers_at_least_twenty_kinds_in_each_area():
    """Issue 7 asks for at least 20 kinds of invalid input, across the API, the plugin and the command."""
    plugin_cases = [n for n in CASES if n.startswith("plugin_")]
    cli_cases = [n for n in CASES if n.startswith("cli_")]
    assert len(CASES) - len(plugin_cases) - len(cli_cases) >= 20 and len(plugin_cases) >= 5 and len(cli_cases) >= 5
