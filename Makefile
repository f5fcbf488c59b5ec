# The README's two commands wrap these targets.
PY ?= python3
VENV ?= .venv
BIN = $(VENV)/bin

.PHONY: install install-test axe run test lint bench bandit audit

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

install: $(BIN)/python
	$(BIN)/pip install --quiet -e .

# Installed again only when the packaging changes (the code itself is installed editable), so `make test`
# starts at once, and two test passes can run side by side without reinstalling under each other (.ci/run).
$(VENV)/.installed-test: $(BIN)/python setup.cfg pyproject.toml
	$(BIN)/pip install --quiet -e ".[test]"
	touch $@

install-test: $(VENV)/.installed-test

run: install
	$(BIN)/catalogue serve

# axe-core for the browser tests, from the lockfile in tests/browser.
AXE = tests/browser/node_modules/axe-core/axe.min.js
$(AXE): tests/browser/package.json tests/browser/package-lock.json
	cd tests/browser && npm ci --no-audit --no-fund --loglevel=error
	touch $@

axe: $(AXE)

test: install-test $(AXE)
	$(BIN)/pytest

lint: install-test
	$(BIN)/ruff check catalogue tests bench

# bandit skips B101 (asserts only narrow types for mypy) and B405/B406 (importing XML modules we
# only write XML with; parsing untrusted XML is still caught by B313-B320). Every other finding is
# fixed or marked `# nosec BXXX` with its reason on the line.
bandit: install-test
	$(BIN)/bandit -q -r catalogue -s B101,B405,B406

# pip-audit asks a vulnerability service about every installed package; .ci/run reports clearly
# when that service cannot be reached instead of passing on nothing.
audit: bandit
	$(BIN)/pip-audit --progress-spinner off --skip-editable

# Every script in bench/, then bench/REPORT.md with each figure beside its target (`bench/run_all.py --quick`
# checks the scripts at small sizes). API throughput uses wrk when installed (Debian: apt-get install wrk).
bench: install-test
	$(BIN)/python bench/run_all.py
