"""The gradfail pytest plugin (registered through the `pytest11` entry point).

- Options (env var in brackets): --claims-profile {smoke,ci,paper} [GRADFAIL_PROFILE], --claims-seeds
  [GRADFAIL_SEEDS], --claims-device {auto,cpu,cuda} [GRADFAIL_DEVICE], --claims-threads N [GRADFAIL_THREADS],
  --claims-json PATH.
- Markers slow, paper, gpu, perf, claim(id); Hypothesis profiles dev, ci, thorough, smoke.
- Parametrizes the templates of gradfail.testing.templates over the registry, collects their verdicts
  through `user_properties` (so results survive pytest-xdist), prints the claims table and writes the report.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch
from hypothesis import HealthCheck, settings

from gradfail.claims import PROFILES, Claim, claims_of
from gradfail.devices import (DEVICE_CHOICES, DeviceUnavailable, describe_device, make_deterministic, resolve_device,
                              worker_cuda_index)
from gradfail.reporting import ClaimsCollector, render_table, test_outcome, write_json
from gradfail.seeding import format_seeds, parse_seeds
from gradfail.testing import recorder
from gradfail.validation import check_int

MARKERS = {
    "slow": "takes more than 5 s on 2 CPU cores; excluded by default (select with -m slow)",
    "paper": "the paper's full-scale runs; excluded by default (select with -m paper)",
    "gpu": "needs a CUDA GPU; skipped with a reason when none is present",
    "perf": "pytest-benchmark timing of a fast path against its naive baseline (run with -m perf)",
    "claim(id)": "the test exercises the registered claim `id` and is listed under it in the claims report",
}

_HYPOTHESIS_COMMON = dict(deadline=None, print_blob=True, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("dev", max_examples=10, **_HYPOTHESIS_COMMON)
settings.register_profile("ci", max_examples=10, derandomize=True, database=None, **_HYPOTHESIS_COMMON)
settings.register_profile("thorough", max_examples=100, **_HYPOTHESIS_COMMON)
settings.register_profile("smoke", max_examples=3, derandomize=True, database=None, **_HYPOTHESIS_COMMON)

_RUN = pytest.StashKey[dict]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("gradfail", "gradfail: claims of 'Failures of Gradient-Based Deep Learning'")
    group.addoption("--claims-profile", choices=PROFILES, default=None,
                    help="scale of the claims: smoke, ci (default) or paper [env GRADFAIL_PROFILE]")
    group.addoption("--claims-seeds", default=None,
                    help="seeds to check: '0' (default), '0-19', '1,4,9' or 'all' (0-19) [env GRADFAIL_SEEDS]")
    group.addoption("--claims-device", choices=DEVICE_CHOICES, default=None,
                    help="where to train: auto (cuda if available, default), cpu or cuda [env GRADFAIL_DEVICE]")
    group.addoption("--claims-threads", default=None, metavar="N",
                    help="torch threads per test process (default 1; see Note [One thread]) [env GRADFAIL_THREADS]")
    group.addoption("--claims-json", default=None, metavar="PATH",
                    help="write the claims report (schema gradfail-report/1) to PATH")


def _setting(config: pytest.Config, option: str, env: str, default: str, choices=None) -> str:
    value = config.getoption(option) or os.environ.get(env) or default
    if choices is not None and value not in choices:
        raise pytest.UsageError(f"{env}={value!r} is not a valid choice; choose from {', '.join(choices)}")
    return value


# Note [One thread]: a float32 training outcome depends on the BLAS thread count (the blocking, hence the summation
# order, changes with it, and training amplifies the last-bit differences: an accuracy or ratio can move by a few
# percent). Claims therefore run on one torch thread unless --claims-threads says otherwise, so that a value is
# the same serially, under pytest-xdist and on machines with any number of cores, and the stored baselines
# (recorded on one thread) hold everywhere. Parallelism comes from xdist workers (-n), one thread each; on
# 2 cores the small models of this suite also run faster on one thread than on two.
def pytest_configure(config: pytest.Config) -> None:
    for name, help_text in MARKERS.items():
        config.addinivalue_line("markers", f"{name}: {help_text}")
    profile = _setting(config, "claims_profile", "GRADFAIL_PROFILE", "ci", PROFILES)
    try:
        seeds = parse_seeds(_setting(config, "claims_seeds", "GRADFAIL_SEEDS", "0"))
    except ValueError as error:
        given = config.getoption("claims_seeds")
        source = "--claims-seeds" if given else f"GRADFAIL_SEEDS={os.environ['GRADFAIL_SEEDS']!r}"
        raise pytest.UsageError(f"{source}: {error}") from None
    try:
        device = resolve_device(_setting(config, "claims_device", "GRADFAIL_DEVICE", "auto", DEVICE_CHOICES))
    except DeviceUnavailable as error:
        raise pytest.UsageError(str(error)) from None
    config.stash[_RUN] = {"profile": profile, "seeds": seeds, "device": device}
    config.pluginmanager.register(ClaimsSession(config), "gradfail-claims-session")
    if not config.getoption("hypothesis_profile", default=None):
        chosen = {"smoke": "smoke", "paper": "thorough"}.get(profile, "ci" if os.environ.get("CI") else "dev")
        settings.load_profile(chosen)
    make_deterministic(device)   # no TF32; deterministic kernels on a GPU
    threads = _setting(config, "claims_threads", "GRADFAIL_THREADS", "1")
    try:
        field = "--claims-threads" if config.getoption("claims_threads") else "GRADFAIL_THREADS"
        torch.set_num_threads(check_int(field, int(threads) if threads.isdigit() else threads, 1, 256))
    except ValueError as error:
        raise pytest.UsageError(str(error)) from None
    worker = getattr(config, "workerinput", None)
    if worker is not None:  # pytest-xdist: with several GPUs, each worker takes its own
        gpu = worker_cuda_index(worker.get("workerid", ""), torch.cuda.device_count() if device.type == "cuda" else 0)
        if gpu is not None:  # with several GPUs, each worker takes its own
            torch.cuda.set_device(gpu)


def pytest_report_header(config: pytest.Config) -> str:
    run = config.stash[_RUN]
    return (f"gradfail: profile={run['profile']} seeds={format_seeds(run['seeds'])} "
            f"device={describe_device(run['device'])} torch={torch.__version__} threads={torch.get_num_threads()}")


@pytest.fixture(scope="session")
def device(pytestconfig: pytest.Config) -> torch.device:
    """The device resolved once from --claims-device."""
    return pytestconfig.stash[_RUN]["device"]


@pytest.fixture(scope="session")
def claims_profile(pytestconfig: pytest.Config) -> str:
    """The claims profile: smoke, ci or paper."""
    return pytestconfig.stash[_RUN]["profile"]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Parametrize templates over the claims of the module's TOPIC and over the selected seeds."""
    applies = getattr(metafunc.function, "gradfail_applies_to", None)
    if applies is None:
        return
    topic = getattr(metafunc.module, "TOPIC", None)
    if topic is None:
        raise pytest.UsageError(f"{metafunc.definition.nodeid}: a module using gradfail's claim templates must "
                                "name its topic, e.g. TOPIC = \"parity\"")
    suite = Path(metafunc.definition.path).parent.name
    seeds = metafunc.config.stash[_RUN]["seeds"]
    params = []
    for claim in claims_of(topic):
        if not applies(claim, suite):
            continue
        marks = [pytest.mark.claim(claim.id)]
        if claim.tier != "fast":
            marks.append(getattr(pytest.mark, claim.tier))
        reason = claim.known_failures.get(metafunc.function.__name__)
        if reason:
            # Only the check's own failure (an AssertionError) is the known failure: a crash or a NaN during
            # training (NonFiniteTraining) must still fail the test, not be counted as the expected xfail.
            marks.append(pytest.mark.xfail(strict=True, reason=reason, raises=AssertionError))
        groups = [seeds] if claim.batch_seeds else [(s,) for s in seeds]
        params += [pytest.param(claim, group, marks=marks, id=f"{claim.id}-seed{format_seeds(group)}")
                   for group in groups]
    metafunc.parametrize(("claim", "seeds"), params)


def _template_without_claim(item: pytest.Item) -> bool:
    """A template that applies to none of its topic's claims (e.g. test_claim_holds in a topic whose claims have
    no Hypothesis strategy): pytest would report it as a skip that tests nothing; it is deselected instead."""
    function = getattr(item, "function", None)
    if getattr(function, "gradfail_applies_to", None) is None:
        return False
    callspec = getattr(item, "callspec", None)
    return callspec is None or not isinstance(callspec.params.get("claim"), Claim)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    empty = [item for item in items if _template_without_claim(item)]
    if empty:
        config.hook.pytest_deselected(items=empty)
        dropped = set(map(id, empty))
        items[:] = [item for item in items if id(item) not in dropped]
    gpu = torch.cuda.is_available()
    for item in items:
        marker = item.get_closest_marker("claim")
        if marker is not None:
            item.user_properties.append((recorder.CLAIM_PROPERTY, marker.args[0]))
        if not gpu and item.get_closest_marker("gpu"):
            item.add_marker(pytest.mark.skip(reason="needs a CUDA GPU; none is available on this machine"))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item):
    recorder.take()  # drop anything a previous test left behind
    try:
        return (yield)
    finally:
        item.user_properties.extend((recorder.PROPERTY, r) for r in recorder.take())


class ClaimsSession:
    """Per-run state, registered as a plugin object so nested runs (pytester) keep their own."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.collector = ClaimsCollector()

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if hasattr(self.config, "workerinput"):  # xdist workers ship reports; the controller collects
            return
        claim_id = dict(p for p in report.user_properties if p[0] == recorder.CLAIM_PROPERTY).get(recorder.CLAIM_PROPERTY)
        if claim_id is None:
            return
        records = [v for k, v in report.user_properties if k == recorder.PROPERTY] if report.when == "call" else []
        self.collector.add(claim_id, report.nodeid, test_outcome(report), report.duration, records)

    def report(self) -> dict:
        run = self.config.stash[_RUN]
        return self.collector.build(profile=run["profile"], device=describe_device(run["device"]), seeds=run["seeds"])

    def pytest_terminal_summary(self, terminalreporter) -> None:
        if hasattr(self.config, "workerinput"):
            return
        report = self.report()
        if not report["claims"]:
            return
        terminalreporter.section("gradfail claims")
        for line in render_table(report, width=terminalreporter._tw.fullwidth):
            terminalreporter.write_line(line)
        path = self.config.getoption("claims_json")
        if path:
            terminalreporter.write_line(f"claims report written to {write_json(report, path)}")
