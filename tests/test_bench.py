"""Unit tests of the perf summary writer (gradfail.bench): pytest-benchmark JSON in, reports/bench.json out."""

from __future__ import annotations

import json

import pytest

from gradfail.bench import BenchSummaryError, main, summarise


def _bench(name: str, **extra) -> dict:
    """One entry as pytest-benchmark writes it (the fields the summary reads, plus stats it ignores)."""
    return {"name": name.split("::")[-1], "fullname": name, "stats": {"median": 0.1}, "extra_info": extra}


def _write(tmp_path, benchmarks) -> str:
    path = tmp_path / "bench_raw.json"
    path.write_text(json.dumps({"machine_info": {}, "benchmarks": benchmarks}))
    return str(path)


def test_summarise_marks_each_benchmark_met_or_unmet():
    """met is ratio >= target, the boundary included; other extra_info fields are ignored."""
    rows = summarise({"benchmarks": [_bench("r/a.py::fast", ratio=12.5, target=12.0, speedup=12.5),
                                     _bench("r/b.py::slow", ratio=3.0, target=4),
                                     _bench("r/c.py::edge", ratio=20, target=20.0)]})
    assert rows == [{"name": "r/a.py::fast", "ratio": 12.5, "target": 12.0, "met": True},
                    {"name": "r/b.py::slow", "ratio": 3.0, "target": 4.0, "met": False},
                    {"name": "r/c.py::edge", "ratio": 20.0, "target": 20.0, "met": True}]


def test_summarise_falls_back_to_name_without_fullname():
    bench = _bench("x", ratio=2.0, target=1.0)
    del bench["fullname"]
    assert summarise({"benchmarks": [bench]})[0]["name"] == "x"


@pytest.mark.parametrize(("extra", "match"), [
    ({"target": 4.0}, r"benchmark r/p\.py::t: extra_info has no 'ratio'"),
    ({"ratio": 4.0}, r"benchmark r/p\.py::t: extra_info has no 'target'"),
    ({}, r"benchmark r/p\.py::t: extra_info has no 'ratio' or 'target'"),
    ({"ratio": "5x", "target": 4.0}, r"benchmark r/p\.py::t: extra_info\['ratio'\] must be a finite number; got '5x'"),
    ({"ratio": float("nan"), "target": 4.0}, r"extra_info\['ratio'\] must be a finite number; got nan"),
    ({"ratio": 5.0, "target": True}, r"extra_info\['target'\] must be a finite number; got True"),
    ({"ratio": 5.0, "target": 0}, r"benchmark r/p\.py::t: extra_info\['target'\] must be positive"),
])
def test_summarise_rejects_missing_or_invalid_fields_naming_benchmark_and_field(extra, match):
    with pytest.raises(BenchSummaryError, match=match):
        summarise({"benchmarks": [_bench("r/ok.py::t", ratio=2.0, target=1.0), _bench("r/p.py::t", **extra)]})


def test_summarise_rejects_a_benchmark_without_extra_info():
    bench = _bench("r/p.py::t")
    bench["extra_info"] = None
    with pytest.raises(BenchSummaryError, match=r"benchmark r/p\.py::t: no extra_info"):
        summarise({"benchmarks": [bench]})


@pytest.mark.parametrize(("raw", "match"), [
    ({"benchmarks": []}, "lists no benchmarks"),
    ({}, "no 'benchmarks' list"),
    ([], "no 'benchmarks' list"),
    ({"benchmarks": [{"extra_info": {"ratio": 1, "target": 1}}]}, r"benchmarks\[0\] has no 'fullname' or 'name'"),
])
def test_summarise_rejects_empty_or_malformed_input(raw, match):
    with pytest.raises(BenchSummaryError, match=match):
        summarise(raw)


def test_main_writes_summary_and_exits_zero_when_all_met(tmp_path, capsys):
    raw = _write(tmp_path, [_bench("r/a.py::t", ratio=30.0, target=20.0)])
    out = tmp_path / "sub" / "bench.json"
    assert main([raw, "--out", str(out)]) == 0
    assert json.loads(out.read_text()) == [{"name": "r/a.py::t", "ratio": 30.0, "target": 20.0, "met": True}]
    assert "1 of 1 benchmark(s) met" in capsys.readouterr().out


def test_main_writes_summary_and_exits_one_when_any_is_unmet(tmp_path, capsys):
    raw = _write(tmp_path, [_bench("r/a.py::t", ratio=30.0, target=20.0), _bench("r/b.py::t", ratio=5.4, target=12.0)])
    out = tmp_path / "bench.json"
    assert main([raw, "--out", str(out)]) == 1
    assert [row["met"] for row in json.loads(out.read_text())] == [True, False]
    printed = capsys.readouterr().out
    assert "NOT MET" in printed and "r/b.py::t" in printed and "1 of 2 benchmark(s) met" in printed


@pytest.mark.parametrize("content", [None, "", "{not json", json.dumps({"benchmarks": []})])
def test_main_exits_two_without_writing_on_unusable_input(tmp_path, capsys, content):
    """A missing file, invalid JSON or an empty benchmark list is an error (exit 2), and no summary is written."""
    raw = tmp_path / "bench_raw.json"
    if content is not None:
        raw.write_text(content)
    out = tmp_path / "bench.json"
    assert main([str(raw), "--out", str(out)]) == 2
    assert not out.exists()
    assert capsys.readouterr().err.startswith("gradfail.bench: ")


def test_main_names_the_benchmark_missing_extra_info(tmp_path, capsys):
    raw = _write(tmp_path, [_bench("regressions/test_perf_x.py::test_y", speedup=3.0)])
    assert main([raw, "--out", str(tmp_path / "bench.json")]) == 2
    err = capsys.readouterr().err
    assert "regressions/test_perf_x.py::test_y" in err and "'ratio'" in err and "'target'" in err
