# Two commands set up a fresh machine (python3 >= 3.11 and make, nothing else):
#   make demo   generate 3 days of sample backups and run them through Dagster into DuckDB
#   make test   the whole test suite (lint included)
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test lint bench ui clean-state

$(STAMP): pyproject.toml setup.py marina_assets/parsing/_csvscan.c marina_assets/warehouse/_pgcopy.c
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "marina-etl needs Python 3.11+, found " + sys.version.split()[0])'
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $@

demo: $(STAMP)
	$(BIN)/marina-etl demo

test: $(STAMP)
	$(BIN)/ruff check marina_assets marina_assets_tests benchmarks
	$(BIN)/pytest

lint: $(STAMP)
	$(BIN)/ruff check marina_assets marina_assets_tests benchmarks
	$(BIN)/ruff format --check marina_assets marina_assets_tests benchmarks

bench: $(STAMP)
	@for b in benchmarks/bench_*.py; do [ -e "$$b" ] || continue; $(BIN)/python -m benchmarks.$$(basename $$b .py) || exit 1; done

ui: $(STAMP)
	@mkdir -p .marina/dagster_home
	@test -e .marina/dagster_home/dagster.yaml || cp deploy/dagster.local.yaml .marina/dagster_home/dagster.yaml
	DAGSTER_HOME=$(CURDIR)/.marina/dagster_home $(BIN)/dagster dev -w workspace.yaml

clean-state:
	rm -rf .marina
