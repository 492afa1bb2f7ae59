# Two commands do all the set-up: `make demo` and `make test`. Each creates/updates .venv itself.
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
export DAGSTER_DISABLE_TELEMETRY := 1
export MLFLOW_DISABLE_TELEMETRY := true
export DO_NOT_TRACK := 1

.PHONY: venv demo test ui lint bench clean system-deps

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
	$(BIN)/python -m pytest -q

ui: venv
	$(BIN)/monitor-pipeline ui

lint: venv
	$(BIN)/ruff check monitor_pipeline tests bench

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
