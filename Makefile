# The README's two commands, `make demo` and `make test`, and `make bench`.
# Each sets up .venv on first use (idempotent: a stamp file records the install) and then runs.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# The CPU build of torch that lies on this machine's disk; any torch >= 2.4 works elsewhere
# (`make demo TORCH='torch>=2.4'`). The fallback takes whatever torch the index offers.
TORCH ?= torch==2.13.0
PIP := $(BIN)/python -m pip --quiet
# pytest's worker processes (pytest-xdist): one per core of the 2-core machine that CI runs on. Tests are handed
# out one at a time, so the slow ones (tests/conftest.py puts them first) spread over the workers.
TEST_WORKERS ?= 2

.PHONY: demo test bench lint types pytest clean

demo: $(VENV)/.installed
	$(BIN)/fourfold demo

test: $(VENV)/.installed-dev lint types pytest

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks

types: $(VENV)/.installed-dev
	$(BIN)/mypy src

pytest: $(VENV)/.installed-dev
	$(BIN)/pytest -q -n $(TEST_WORKERS) --maxschedchunk 1

bench: $(VENV)/.installed-bench
	$(BIN)/fourfold bench

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.torch: | $(BIN)/python
	$(BIN)/python -c "import torch" 2>/dev/null || $(PIP) install "$(TORCH)" || $(PIP) install "torch>=2.4"
	touch $@

$(VENV)/.installed: pyproject.toml $(VENV)/.torch
	$(PIP) install -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml $(VENV)/.torch
	$(PIP) install -e ".[dev]"
	touch $@ $(VENV)/.installed

$(VENV)/.installed-bench: pyproject.toml $(VENV)/.installed-dev
	$(PIP) install -e ".[dev,bench]"
	touch $@

clean:
	rm -rf $(VENV) runs .pytest_cache .mypy_cache .ruff_cache
