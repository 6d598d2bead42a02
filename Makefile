# The README's two commands. Both create .venv on first use (torch 2.13.0 CPU when no torch is present).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

.PHONY: claims test bench fig1-paper install clean

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -c "import torch" 2>/dev/null || $(BIN)/python -m pip install -q "torch==2.13.0"
	$(BIN)/python -m pip install -q -e ".[test]"
	touch $(STAMP)

## The main job: verify the claims at the default profile, print the table, write reports/.
claims: $(STAMP)
	$(BIN)/gradfail report --out reports

## The project's tests: unit tests + claims at the CI profile. Exit 5 (no tests ran) is a failure.
test: $(STAMP)
	@$(BIN)/python -m pytest --claims-profile ci; status=$$?; \
	if [ $$status -eq 5 ]; then echo "make test: pytest collected no tests" >&2; exit 1; fi; exit $$status

## Perf benchmarks (issue 6): each asserts a ratio of two timings taken side by side, never a wall-clock limit.
## Writes reports/bench_raw.json (pytest-benchmark) and reports/bench.json ({name, ratio, target, met} each).
## Fails if pytest fails or collects nothing (exit 5), or if any benchmark misses its target (an xfailed one too).
bench: $(STAMP)
	@mkdir -p reports; rm -f reports/bench_raw.json reports/bench.json
	@$(BIN)/python -m pytest -m perf regressions --benchmark-enable --benchmark-json=reports/bench_raw.json; \
	status=$$?; \
	if [ $$status -eq 5 ]; then echo "make bench: pytest collected no perf benchmarks" >&2; exit 1; fi; \
	$(BIN)/python -m gradfail.bench reports/bench_raw.json --out reports/bench.json; summary=$$?; \
	if [ $$status -ne 0 ]; then echo "make bench: pytest exited $$status" >&2; exit $$status; fi; exit $$summary

clean:
	rm -rf $(VENV) reports .pytest_cache .hypothesis

## Figure 1 at the paper's scale (d = 5, 10, 30 x 5 seeds x 50,000 SGD steps); prints the training time.
fig1-paper: $(STAMP)
	$(BIN)/gradfail figures fig1_parity --profile paper --out reports
