# The two set-up commands of the README: `make run` and `make test`.
# Both create or refresh .venv from pyproject.toml + constraints.txt first.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export PYTHONUNBUFFERED := 1

.PHONY: run test browser lint typecheck unit doctor venv ui rebuild-llama clean

# llama-cpp-python first, built portably (no AMX, no -march=native) into a wheelhouse
# keyed by its version and flags, so neither pip's cache nor a native build is used.
$(STAMP): pyproject.toml constraints.txt scripts/llama-wheel.sh
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	scripts/llama-wheel.sh $(BIN)/python >/dev/null
	$(BIN)/python -m pip install -q -c constraints.txt -e '.[local,postgres,dev]'
	touch $(STAMP)

venv: $(STAMP)

run: $(STAMP)
	$(BIN)/autotune run experiments/quickstart.toml

test: $(STAMP) browser lint typecheck doctor unit

# The report tests open pages in a real headless browser (Debian's chromium).
browser:
	@command -v chromium >/dev/null 2>&1 || (apt-get update -qq && apt-get install -y -qq chromium >/dev/null) || echo "chromium could not be installed; browser tests will be skipped"

lint: $(STAMP)
	$(BIN)/ruff check autotune tests benchmarks
	$(BIN)/ruff format --check autotune tests benchmarks

typecheck: $(STAMP)
	$(BIN)/mypy

doctor: $(STAMP)
	$(BIN)/autotune doctor

unit: $(STAMP)
	$(BIN)/pytest -q

# Rebuild the embedded backend from source (same portable flags, no cache).
rebuild-llama:
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	rm -rf "$$(scripts/llama-wheel.sh $(BIN)/python --print-house)"
	rm -f $(STAMP)
	$(MAKE) venv

# The MLflow UI over the local store (compare runs, trials, per-case tables).
ui: $(STAMP)
	$(BIN)/autotune ui

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
