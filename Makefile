# Two commands for a fresh clone (only python3, pip and make needed):
#   make lab    set up .venv and start JupyterLab on the lessons
#   make test   set up .venv with the test tools, lint, and run the whole test suite (what CI runs)
# While developing:
#   make test-fast   lint, then the tests that are not browser, binder, grading or slow (under 90 s)
#   make lint        ruff check, ruff format --check, and no notebook in solutions/ or lessons/ committed with outputs
#   make dev         also install pre-commit and its hooks (.pre-commit-config.yaml)
# Both install with binder/requirements.txt as constraints: the same pinned
# environment that Binder builds. The test tools are pinned in tests/pins.txt.

# Python caches compiled modules (__pycache__) unless PYTHONDONTWRITEBYTECODE is set, as some CI images
# do: then each of the hundreds of Python processes a test run starts would compile this project's modules again.
unexport PYTHONDONTWRITEBYTECODE
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PINS   := binder/requirements.txt
TEST_PINS := tests/pins.txt
# The browser test drives Debian's chromium with Playwright (from PyPI, in the test extra);
# nothing downloads a browser. Installing the driver package brings chromium with it.
CHROMEDRIVER := /usr/bin/chromedriver
# `platformlab grade` runs student code in boxes made by Debian's bubblewrap.
BWRAP := /usr/bin/bwrap
SUDO   := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

# Python code that ruff checks and formats; notebooks that must be committed without outputs.
LINTED    := src tests benchmarks nbgrader_config.py
NOTEBOOKS  = $(wildcard solutions/*.ipynb lessons/*.ipynb)
# pytest-xdist workers for `make test` and `make test-fast`: whole test modules per worker, longest first (tests/conftest.py).
# One more than the CPUs: the suite also waits (servers and browsers starting, cells running out their time limit),
# and the extra worker's tests use the CPU meanwhile (on 2 CPUs, three workers kept them 96 to 97 % busy, two 90 to 94 %).
TEST_WORKERS ?= $(shell $(PYTHON) -c 'import os; print((os.cpu_count() or 1) + 1)')
# The slow kinds of test (markers registered in pyproject.toml), left out by test-fast.
SLOW      := browser or binder or grading or slow

.PHONY: lab test test-fast lint dev lessons pins

lab: $(VENV)/.installed
	$(BIN)/platformlab lab

test: lint $(CHROMEDRIVER) $(BWRAP)
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --no-loadscope-reorder $(PYTEST_ARGS)

test-fast: lint $(BWRAP)
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --no-loadscope-reorder -m "not ($(SLOW))" $(PYTEST_ARGS)

lint: $(VENV)/.installed-test
	$(BIN)/ruff check $(LINTED)
	@$(BIN)/ruff format --check $(LINTED) || { echo "run \`$(BIN)/ruff format $(LINTED)\`" \
	  "(the pre-commit hook does it on commit)"; exit 1; }
	@$(BIN)/nbstripout --verify --keep-id $(NOTEBOOKS) || { echo "notebooks above have outputs or execution counts:" \
	  "run \`$(BIN)/nbstripout --keep-id FILE\` (the pre-commit hook does it on commit)"; exit 1; }

dev: $(VENV)/.installed-test
	$(BIN)/python -m pip install --quiet -c $(PINS) -c $(TEST_PINS) -e '.[dev]'
	$(BIN)/pre-commit install

lessons: $(VENV)/.installed
	$(BIN)/platformlab generate

$(CHROMEDRIVER):
	$(SUDO) apt-get update
	$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y chromium chromium-driver

$(BWRAP):
	$(SUDO) apt-get update
	$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y bubblewrap

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: $(BIN)/python pyproject.toml $(PINS)
	$(BIN)/python -m pip install --quiet -c $(PINS) -e .
	touch $@

$(VENV)/.installed-test: $(BIN)/python pyproject.toml $(PINS) $(TEST_PINS)
	$(BIN)/python -m pip install --quiet -c $(PINS) -c $(TEST_PINS) -e '.[test]'
	touch $@ $(VENV)/.installed

# Re-pin after changing dependencies: a clean environment, then its exact versions.
pins:
	rm -rf build/pins && $(PYTHON) -m venv build/pins
	build/pins/bin/python -m pip install --quiet --upgrade setuptools
	build/pins/bin/python -m pip install --quiet .
	{ sed -n '1,3p' $(PINS); build/pins/bin/python -m pip freeze --all --exclude platformlab --exclude pip; } > $(PINS).new
	mv $(PINS).new $(PINS)
	build/pins/bin/python -m pip install --quiet -c $(PINS) '.[test]'
	{ sed -n '1,2p' $(TEST_PINS); build/pins/bin/python -m pip freeze --all --exclude platformlab --exclude pip \
	  | grep -vxFf $(PINS); } > $(TEST_PINS).new
	mv $(TEST_PINS).new $(TEST_PINS)
