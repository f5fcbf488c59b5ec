# The README's two commands wrap these targets.
PY ?= python3
VENV ?= .venv
BIN = $(VENV)/bin

.PHONY: install install-test axe run test lint complexity bench bandit audit packaging

# What decides what an install puts in the venv: a change to one of these installs again.
PACKAGING = setup.cfg setup.py pyproject.toml

# setuptools ends every editable build with an "Editable installation." note (which folders may shadow the
# package on import) that pip shows as a warning banner, although nothing is wrong; only that note is silenced.
EDITABLE = PYTHONWARNINGS="ignore:Editable installation:UserWarning" $(BIN)/pip install --quiet -e

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

# Installed again only when the packaging changes (the code itself is installed editable), so `make run` and
# `make test` start at once, and two test passes can run side by side without reinstalling under each other
# (.ci/run).
$(VENV)/.installed: $(BIN)/python $(PACKAGING)
	$(EDITABLE) .
	touch $@

$(VENV)/.installed-test: $(BIN)/python $(PACKAGING)
	$(EDITABLE) ".[test]"
	touch $@

install: $(VENV)/.installed

install-test: $(VENV)/.installed-test

PORT ?= 5000

run: install
	$(BIN)/catalogue serve --port $(PORT)

# axe-core for the browser tests, from the lockfile in tests/browser.
AXE = tests/browser/node_modules/axe-core/axe.min.js
$(AXE): tests/browser/package.json tests/browser/package-lock.json
	cd tests/browser && npm ci --no-audit --no-fund --loglevel=error
	touch $@

axe: $(AXE)

test: install-test $(AXE)
	$(BIN)/pytest

# The settings of ruff are in ruff.toml, those of mypy in setup.cfg ([mypy]). `ruff format --check` changes
# nothing: it fails on a file that `ruff format` would rewrite. All three run, and any failure fails the target.
lint: install-test
	@status=0; \
	echo "ruff check ."; $(BIN)/ruff check . || status=1; \
	echo "ruff format --check ."; $(BIN)/ruff format --check . || status=1; \
	echo "mypy catalogue"; $(BIN)/mypy catalogue || status=1; \
	exit $$status

# Nothing in catalogue/ worse than radon's grade C (a cyclomatic complexity over 20): radon lists what is, and
# the target fails while that list is not empty.
complexity: install-test
	@worse="$$($(BIN)/radon cc --min D --show-complexity catalogue)"; \
	if [ -n "$$worse" ]; then echo "$$worse"; echo "radon: the functions above grade worse than C"; exit 1; fi

# The built wheel installed into a fresh virtual environment, run from outside the checkout (tests/packaging).
packaging: install-test
	$(BIN)/pytest -m packaging tests/packaging

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
