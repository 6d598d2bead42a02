"""Unit tests of argument checking: gradfail.validation, claim settings, mlp and device resolution."""

from __future__ import annotations

import pytest
import torch

from gradfail import devices
from gradfail.claims.parity import (
    ConstructionSetting,
    CubeSetting,
    DecaySetting,
    GradientVarianceSetting,
    ParitySGDSetting,
    PeriodicSetting,
    TrajectorySetting,
)
from gradfail.devices import DeviceUnavailable, resolve_device
from gradfail.models.mlp import mlp
from gradfail.validation import check_choice, check_int, check_real

# --- check_int ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("value", "lo", "hi"), [(0, 0, None), (5, 1, 5), (-3, -10, 10), (10**12, 1, None)])
def test_check_int_returns_valid_values_unchanged(value, lo, hi):
    """An int inside [lo, hi] is returned as is (hi=None: unbounded)."""
    result = check_int("n", value, lo, hi)
    assert result == value and type(result) is int


@pytest.mark.parametrize("value", (True, False, 1.0, "1", None, float("nan"), float("inf")))
def test_check_int_rejects_bools_and_non_integers(value):
    """bool, float (even integral, NaN or inf), str and None raise ValueError with the field name and range."""
    with pytest.raises(ValueError, match=r"^width must be an integer in \[0, 10\], got "):
        check_int("width", value, 0, 10)


@pytest.mark.parametrize(("value", "lo", "hi", "message"), [
    (0, 1, 4096, r"^width must be an integer in \[1, 4096\], got 0$"),
    (4097, 1, 4096, r"^width must be an integer in \[1, 4096\], got 4097$"),
    (-1, 0, None, r"^steps must be an integer in \[0, inf\), got -1$"),
])
def test_check_int_rejects_out_of_range_with_the_range_in_the_message(value, lo, hi, message):
    """Out-of-range ints raise ValueError 'NAME must be an integer in [lo, hi], got VALUE'."""
    name = message[1:].split(" ")[0]
    with pytest.raises(ValueError, match=message):
        check_int(name, value, lo, hi)


# --- check_real --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("value", "kwargs"), [
    (0.5, {"lo": 0.0, "hi": 1.0}),
    (0, {"lo": 0.0, "hi": 1.0}),
    (1.0, {"lo": 0.0, "hi": 1.0}),
    (3, {}),
    (-1e300, {}),
    (1e-300, {"lo": 0.0, "lo_open": True}),
])
def test_check_real_accepts_finite_numbers_in_range_and_returns_float(value, kwargs):
    """Finite ints and floats inside the interval (closed ends included) come back as float."""
    result = check_real("x", value, **kwargs)
    assert result == value and type(result) is float


@pytest.mark.parametrize("value", (True, "0.5", None, [0.5], float("nan"), float("inf"), -float("inf")))
def test_check_real_rejects_bools_non_numbers_nan_and_inf(value):
    """bool, non-numbers, NaN and +-inf raise ValueError naming the field and the interval."""
    with pytest.raises(ValueError, match=r"^lr must be a finite number in \(0, 10\], got "):
        check_real("lr", value, 0.0, 10.0, lo_open=True)


@pytest.mark.parametrize(("value", "kwargs", "message"), [
    (0.0, {"lo": 0.0, "lo_open": True}, r"^r must be a finite number in \(0, inf\], got 0$"),
    (1.0, {"lo": 0.0, "hi": 1.0, "hi_open": True}, r"^r must be a finite number in \[0, 1\), got 1$"),
    (1.5, {"lo": 0.0, "hi": 1.0}, r"^r must be a finite number in \[0, 1\], got 1.5$"),
    (-0.25, {"lo": 0.0, "hi": 1.0}, r"^r must be a finite number in \[0, 1\], got -0.25$"),
])
def test_check_real_rejects_out_of_range_and_open_ends(value, kwargs, message):
    """Values outside the interval, or on an open end, raise ValueError with the interval's brackets."""
    with pytest.raises(ValueError, match=message):
        check_real("r", value, **kwargs)


# --- check_choice ------------------------------------------------------------------------------------------


def test_check_choice_accepts_members_of_any_iterable():
    """A member is returned as is, whether the choices are a tuple, a dict's keys or a generator."""
    assert check_choice("loss", "hinge", ("square", "hinge")) == "hinge"
    assert check_choice("loss", "hinge", {"square": 1, "hinge": 2}) == "hinge"
    assert check_choice("loss", "hinge", (c for c in ("square", "hinge"))) == "hinge"


@pytest.mark.parametrize("value", ("mse", "Hinge", "", None, True, 1))
def test_check_choice_rejects_non_members_listing_the_choices(value):
    """A non-member raises ValueError 'NAME must be one of 'a', 'b'; got VALUE'."""
    with pytest.raises(ValueError, match=rf"^loss must be one of 'square', 'hinge'; got {value!r}$"):
        check_choice("loss", value, ("square", "hinge"))


# --- Settings ----------------------------------------------------------------------------------------------

INVALID_SETTINGS = [
    (lambda: GradientVarianceSetting(d=0), r"^d must be an integer in \[1, 20\], got 0"),
    (lambda: GradientVarianceSetting(d=21), r"^d must be an integer in \[1, 20\], got 21"),
    (lambda: GradientVarianceSetting(d=4, widths=(8, 0)), r"^widths\[1\] must be an integer in \[1, 256\], got 0"),
    (lambda: GradientVarianceSetting(d=4, widths=(1, 1, 1, 1, 1)), r"^number of hidden layers must be"),
    (lambda: GradientVarianceSetting(d=4, activation="swish"), r"^activation must be one of .*; got 'swish'"),
    (lambda: GradientVarianceSetting(d=4, loss="mse"),
     r"^loss must be one of 'square', 'hinge', 'logistic'; got 'mse'"),
    (lambda: GradientVarianceSetting(d=4, init_scale=float("nan")), r"^init_scale must be a finite number"),
    (lambda: GradientVarianceSetting(d=4, init_scale=0.0), r"^init_scale must be a finite number in \(0, 10\]"),
    (lambda: GradientVarianceSetting(d=4, perturbation=-0.1), r"^perturbation must be a finite number in \[0, 10\]"),
    (lambda: GradientVarianceSetting(d=4, coding="gray"), r"^coding must be one of 'pm1', 'zero_one'; got 'gray'"),
    (lambda: GradientVarianceSetting(d=4, train_steps=True), r"^train_steps must be an integer"),
    (lambda: ParitySGDSetting(d=5, steps=10, lr=0), r"^lr must be a finite number in \(0, 10\], got 0"),
    (lambda: ParitySGDSetting(d=5, steps=10, lr=-1), r"^lr must be a finite number in \(0, 10\], got -1"),
    (lambda: ParitySGDSetting(d=5, steps=-1), r"^steps must be an integer in \[0, 1000000\], got -1"),
    (lambda: ParitySGDSetting(d=5, steps=10, test_samples=99), r"^test_samples must be an integer in \[100, "),
    (lambda: PeriodicSetting(radii=(1.0, float("inf"))), r"^radii\[1\] must be a finite number in \(0, 10\], got inf"),
    (lambda: PeriodicSetting(radii=()), r"^number of radii must be an integer in \[1, 8\], got 0"),
    (lambda: PeriodicSetting(psi="tan"), r"^psi must be one of 'sin', 'cos', 'identity'; got 'tan'"),
    (lambda: PeriodicSetting(replicates=2), r"^replicates must be an integer in \[3, 100\], got 2"),
    (lambda: TrajectorySetting(target_class="foo"), r"^target_class must be one of 'parities', 'dictators', "
                                                    r"'correlated'; got 'foo'"),
    (lambda: TrajectorySetting(d_values=(6, 8)), r"^number of d values must be an integer in \[3, 12\], got 2"),
    (lambda: CubeSetting(d=3, bit_probability=1.5), r"^bit_probability must be a finite number in \[0, 1\], got 1.5"),
    (lambda: CubeSetting(d=13), r"^d must be an integer in \[1, 12\], got 13"),
    (lambda: DecaySetting(d_values=(6, 8, 14)), r"^d_values\[2\] must be an integer in \[2, 13\], got 14"),
    (lambda: ConstructionSetting(d=17), r"^d must be an integer in \[1, 16\], got 17"),
    (lambda: ConstructionSetting(d=4, supports=0), r"^supports must be an integer in \[1, 1024\], got 0"),
]


@pytest.mark.parametrize(("build", "match"), INVALID_SETTINGS,
                         ids=[m.split(" must")[0].lstrip("^").replace("\\", "") + f"-{i}"
                              for i, (_, m) in enumerate(INVALID_SETTINGS)])
def test_setting_construction_rejects_invalid_field_naming_it(build, match):
    """Building a claim Setting with an invalid field raises ValueError whose message names the field and range."""
    with pytest.raises(ValueError, match=match):
        build()


def test_settings_with_valid_fields_construct():
    """The defaults and boundary values of every Setting are accepted (the checks are not over-strict)."""
    GradientVarianceSetting(d=14, widths=(256, 1, 1, 1), init_scale=10.0, perturbation=0.0, train_steps=1000)
    ParitySGDSetting(d=200, steps=0, lr=10.0)
    PeriodicSetting(radii=(10.0,) * 8)
    TrajectorySetting()
    CubeSetting(d=1, bit_probability=0.0)
    DecaySetting()
    ConstructionSetting(d=16, supports=1024)


# --- mlp ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"widths": (0,)}, r"^widths\[0\] must be an integer in \[1, 4096\], got 0"),
    ({"widths": (4, 4097)}, r"^widths\[1\] must be an integer in \[1, 4096\], got 4097"),
    ({"widths": (4,), "activation": "swish"},
     r"^activation must be one of 'relu', 'tanh', 'sigmoid', 'gelu'; got 'swish'"),
    ({"widths": (4,), "init_scale": 0.0}, r"^init_scale must be a finite number in \(0, 100\]"),
    ({"d": 0, "widths": (4,)}, r"^d must be an integer in \[1, inf\), got 0"),
])
def test_mlp_rejects_invalid_architecture(kwargs, match):
    """mlp raises ValueError naming the offending width, activation, init_scale or d."""
    arguments = {"d": 3, **kwargs}
    with pytest.raises(ValueError, match=match):
        mlp(arguments.pop("d"), arguments.pop("widths"), generator=torch.Generator(), **arguments)


# --- devices -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ("tpu", "CPU", "gpu", ""))
def test_resolve_device_rejects_unknown_name_listing_choices(name):
    """An unknown device name raises ValueError listing auto, cpu and cuda."""
    with pytest.raises(ValueError, match=rf"^device must be one of auto, cpu, cuda; got {name!r}$"):
        resolve_device(name)


def test_resolve_device_cpu_and_auto():
    """'cpu' is the CPU; 'auto' is CUDA exactly when a GPU is usable."""
    assert resolve_device("cpu") == torch.device("cpu")
    assert resolve_device("auto").type == ("cuda" if torch.cuda.is_available() else "cpu")


@pytest.mark.skipif(torch.cuda.is_available(), reason="a CUDA GPU is present, so 'cuda' resolves")
def test_resolve_device_cuda_without_gpu_raises_device_unavailable():
    """On a machine without a usable GPU, 'cuda' raises DeviceUnavailable explaining how to choose another device."""
    with pytest.raises(DeviceUnavailable, match=r"device 'cuda' was requested but no CUDA GPU is usable here"):
        resolve_device("cuda")


def test_resolve_device_cuda_raises_when_cuda_reports_unavailable(monkeypatch):
    """With torch.cuda.is_available() forced False (any machine), 'cuda' raises DeviceUnavailable and 'auto' is cpu."""
    monkeypatch.setattr(devices.torch.cuda, "is_available", lambda: False)
    with pytest.raises(DeviceUnavailable, match=r"use --claims-device cpu or auto"):
        resolve_device("cuda")
    assert resolve_device("auto") == torch.device("cpu")
    assert issubclass(DeviceUnavailable, RuntimeError) and not issubclass(DeviceUnavailable, ValueError)
