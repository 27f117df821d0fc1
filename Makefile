# The two commands of the README: `make demo` (the main job) and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin

.PHONY: demo test install install-dev bench lint clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

install: $(BIN)/python
	$(BIN)/pip install -q -e .

install-dev: $(BIN)/python
	$(BIN)/pip install -q -e '.[dev]'

## Start the sandbox, crawl it into data/harvester.sqlite, print what landed where.
demo: install
	$(BIN)/python -m harvester.demo

## Install dev dependencies and run the whole test suite, on TEST_WORKERS processes
## (pytest-xdist; most tests wait on a sandbox or a rate limit, so 2 fit a 2-core machine).
TEST_WORKERS ?= 2
test: install-dev
	$(BIN)/python -m pytest -n $(TEST_WORKERS)

## Benchmarks (bench/README.md).
bench: install-dev
	$(BIN)/python -m bench

lint: install-dev
	$(BIN)/ruff check harvester tests bench

clean:
	rm -rf $(VENV) data/harvester.sqlite* .pytest_cache
