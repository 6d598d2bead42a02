"""The `gradfail` command line: listing, usage errors."""

from __future__ import annotations

import pytest

from gradfail.claims import all_claims
from gradfail.cli import main


def test_list_names_every_registered_claim(capsys):
    """`gradfail list` prints one line per registered claim."""
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    assert all(claim_id in out for claim_id in all_claims())


def test_unknown_figure_is_an_error_listing_the_choices(capsys):
    """`gradfail figures NAME` with an unknown NAME exits 2 and lists the figures."""
    assert main(["figures", "fig99"]) == 2
    assert "fig1_parity" in capsys.readouterr().err


@pytest.mark.parametrize("env, value", [("GRADFAIL_PROFILE", "huge"), ("GRADFAIL_DEVICE", "tpu")])
def test_bad_environment_values_are_usage_errors(monkeypatch, capsys, env, value):
    """Invalid GRADFAIL_* values stop the command with exit 2 and the list of choices."""
    monkeypatch.setenv(env, value)
    with pytest.raises(SystemExit) as stop:
        main(["figures", "fig1_parity"])
    assert stop.value.code == 2
    assert f"{env}={value!r}" in capsys.readouterr().err


def test_bad_profile_option_is_a_usage_error(capsys):
    """--profile accepts only smoke, ci, paper."""
    with pytest.raises(SystemExit) as stop:
        main(["report", "--profile", "huge"])
    assert stop.value.code == 2
    assert "invalid choice" in capsys.readouterr().err
