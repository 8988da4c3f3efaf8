# The two commands of the README: `make demo` and `make test`. Both build .venv on first use from
# pinned versions (constraints.txt) with nothing but python3 (3.11+) and pip.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: demo test lint bench chaos install clean

$(STAMP): pyproject.toml constraints.txt
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/dodo-analytics demo

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

test: lint
	$(BIN)/pytest

chaos: $(STAMP)
	CHAOS_KILLS=20 CHAOS_PUBLISHES=12 CHAOS_STORM_SEEDS=5 CHAOS_DISK_LIMITS=4 $(BIN)/pytest tests/chaos -o addopts="" -q -s

bench: $(STAMP)
	$(BIN)/python bench/sandbox_bench.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
