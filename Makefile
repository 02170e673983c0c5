# The two set-up commands of the README: `make run` and `make test`.
# Both create or refresh .venv from pyproject.toml + constraints.txt first.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export PYTHONUNBUFFERED := 1

.PHONY: run test browser services lint typecheck unit doctor venv ui rebuild-llama clean

# llama-cpp-python first, built portably (no AMX, no -march=native) into a wheelhouse
# keyed by its version and flags, so neither pip's cache nor a native build is used.
$(STAMP): pyproject.toml constraints.txt scripts/llama-wheel.sh
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	scripts/llama-wheel.sh $(BIN)/python >/dev/null
	$(BIN)/python -m pip install -q -c constraints.txt -e '.[local,postgres,redis,grpc,dev]'
	touch $(STAMP)

venv: $(STAMP)

run: $(STAMP)
	$(BIN)/autotune run experiments/quickstart.toml

test: $(STAMP) browser services lint typecheck doctor unit

# The report tests open pages in a real headless browser (Debian's chromium).
browser:
	@command -v chromium >/dev/null 2>&1 || (apt-get update -qq && apt-get install -y -qq chromium >/dev/null) || echo "chromium could not be installed; browser tests will be skipped"

# The storage and worker tests start real PostgreSQL and Redis servers on loopback ports
# (Debian's packages; apt does not start them as services here). Missing ones are skipped.
services:
	@missing=""; \
	ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || command -v initdb >/dev/null 2>&1 || missing="postgresql"; \
	command -v redis-server >/dev/null 2>&1 || missing="$$missing redis-server"; \
	[ -z "$$missing" ] || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null) || echo "could not install$$missing; those tests will be skipped"

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
