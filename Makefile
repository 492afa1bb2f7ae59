# Two commands do all the set-up: `make demo` and `make test`. Each creates/updates .venv itself.
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# Test processes (pytest-xdist; each takes whole test files, so a file's module fixtures are built once). CI has 2
# cores; TEST_WORKERS=0 runs the suite in this process (a debugger, -x).
TEST_WORKERS ?= 2
export DAGSTER_DISABLE_TELEMETRY := 1
export MLFLOW_DISABLE_TELEMETRY := true
export DO_NOT_TRACK := 1

.PHONY: venv demo test check fast lint format types ui bench clean system-deps

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	@# torch first, alone: the CPU wheel on disk; anything else pulls a multi-GB CUDA build.
	$(BIN)/pip install -q torch==2.13.0
	$(BIN)/pip install -q -e '.[dev,embeddings]'
	@touch $(STAMP)

venv: $(STAMP)

demo: venv
	$(BIN)/monitor-pipeline demo

test: venv
	@# Debian's chromium and postgresql for the browser and production tests, when missing (apt-get).
	@scripts/system-deps.sh
	$(BIN)/python -m pytest -q -n $(TEST_WORKERS) --dist loadfile

# Your own loop, under 3 minutes: lint, types and the fast tests (no end-to-end, Spark, browser or property tests).
check: lint types fast

fast: venv
	$(BIN)/python -m pytest -q -n $(TEST_WORKERS) --dist loadfile -m "not slow"

lint: venv
	$(BIN)/ruff check monitor_pipeline tests bench scripts
	$(BIN)/ruff format --check monitor_pipeline tests bench scripts

format: venv
	$(BIN)/ruff format monitor_pipeline tests bench scripts
	$(BIN)/ruff check --fix monitor_pipeline tests bench scripts

types: venv
	$(BIN)/mypy

ui: venv
	$(BIN)/monitor-pipeline ui

bench: venv
	$(BIN)/python bench/ingest.py --records 1000000
	$(BIN)/python bench/simulate.py
	$(BIN)/python bench/monitoring.py --rows 1000000
	$(BIN)/python bench/security.py --requests 1000000
	$(BIN)/python bench/nab.py
	$(BIN)/python bench/forecast.py
	$(BIN)/python bench/scalability.py --target lstm --runs 3 --threads 1

clean:
	rm -rf .monitor
