# Logship developer commands. `make run` runs the product on the embedded default,
# `make test` runs the test suite. Both create the virtual environment first.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# The agent also runs on Debian 12's python3-msgpack 1.0.3, python3-tenacity 8.2 and
# python3-watchdog 2.2 (the .deb depends on them): its tests run again against those versions.
DEBVENV ?= .venv-debian
DEBSTAMP := $(DEBVENV)/.installed
AGENT_TESTS := tests/unit/agent tests/unit/logship/test_wire.py tests/unit/logship/test_config.py \
	tests/unit/logship/test_records.py $(wildcard tests/integration/test_agent_*.py)

.PHONY: venv run test test-agent-debian lint fmt bench deb clean

venv: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[server,dev]'
	touch $(STAMP)

run: venv
	$(BIN)/logship up

test: venv $(DEBSTAMP)
	$(BIN)/pytest
	$(MAKE) --no-print-directory test-agent-debian

$(DEBSTAMP): pyproject.toml
	$(PYTHON) -m venv $(DEBVENV)
	$(DEBVENV)/bin/pip install --quiet msgpack==1.0.3 tenacity==8.2.2 watchdog==2.2.1 \
		pytest==9.2.0 pytest-timeout==2.4.0
	touch $(DEBSTAMP)

test-agent-debian: $(DEBSTAMP)
	PYTHONPATH=$(CURDIR) $(DEBVENV)/bin/python -m pytest -q -p no:cacheprovider $(AGENT_TESTS)

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

fmt: venv
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: venv
	$(BIN)/python bench/e2e.py

deb: venv
	bash packaging/deb/build.sh

clean:
	rm -rf $(VENV) $(DEBVENV) build dist *.egg-info
