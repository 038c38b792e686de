# Two commands for a fresh clone (only python3, pip and make needed):
#   make lab    set up .venv and start JupyterLab on the lessons
#   make test   set up .venv with the test tools and run the whole test suite
# Both install with binder/requirements.txt as constraints: the same pinned
# environment that Binder builds. The test tools are pinned in tests/pins.txt.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PINS   := binder/requirements.txt
TEST_PINS := tests/pins.txt
# The browser test drives Debian's chromium with Playwright (from PyPI, in the test extra);
# nothing downloads a browser. Installing the driver package brings chromium with it.
CHROMEDRIVER := /usr/bin/chromedriver
SUDO   := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: lab test lessons pins

lab: $(VENV)/.installed
	$(BIN)/platformlab lab

test: $(VENV)/.installed-test $(CHROMEDRIVER)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lessons: $(VENV)/.installed
	$(BIN)/platformlab generate

$(CHROMEDRIVER):
	$(SUDO) apt-get update
	$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y chromium chromium-driver

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
