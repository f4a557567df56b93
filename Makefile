# The team's habits; each target sets up what it needs first (scripts/setup.sh).
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: setup quickstart demo test test-fast lint format bench

setup:
	bash scripts/setup.sh

quickstart: setup
	$(BIN)/sgd quickstart

demo: setup
	$(BIN)/sgd demo

test: setup
	$(BIN)/python -m pytest

test-fast: setup
	$(BIN)/python -m pytest -m "not slow"

lint: setup
	$(BIN)/ruff check . && $(BIN)/ruff format --check .

format: setup
	$(BIN)/ruff format . && $(BIN)/ruff check --fix .

bench: setup
	$(BIN)/sgd bench
