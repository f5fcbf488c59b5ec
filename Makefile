# The README's two commands wrap these targets.
PY ?= python3
VENV ?= .venv
BIN = $(VENV)/bin

.PHONY: install install-test run test lint bench

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

install: $(BIN)/python
	$(BIN)/pip install --quiet -e .

install-test: $(BIN)/python
	$(BIN)/pip install --quiet -e ".[test]"

run: install
	$(BIN)/catalogue serve

test: install-test
	$(BIN)/pytest

lint: install-test
	$(BIN)/ruff check catalogue tests bench

bench: install
	$(BIN)/python bench/validate.py
