# cbct-viewer: the two front-door commands are `make run` and `make test`.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
SAMPLE ?= sample-scan

.PHONY: run test install install-test system-deps system-deps-test lint typecheck bench screenshots clean

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(VENV)/bin/python
	$(PY) -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(VENV)/bin/python
	$(PY) -m pip install --quiet -e ".[test]"
	touch $@ $(VENV)/.installed

system-deps:
	packaging/system-deps.sh run

system-deps-test:
	packaging/system-deps.sh test

install: system-deps $(VENV)/.installed

install-test: system-deps-test $(VENV)/.installed-test

## Install, write the built-in dental phantom if missing, open the viewer on it.
run: install
	$(VENV)/bin/cbct-viewer sample $(SAMPLE) --if-missing
	$(VENV)/bin/cbct-viewer ./$(SAMPLE)

## Install everything the tests need (system packages too), then lint and run the suite.
test: install-test
	$(VENV)/bin/ruff check .
	$(MAKE) --no-print-directory typecheck
	$(PY) -m pytest tests/test_import_contracts.py -q
	xvfb-run -a -s "-screen 0 1600x1000x24" $(PY) -m pytest

lint: $(VENV)/.installed-test
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(MAKE) --no-print-directory typecheck

## mypy sees the root folders as the cbctviewer package (a bare `io/` would shadow the stdlib).
typecheck: $(VENV)/.installed-test
	rm -rf build/typecheck && mkdir -p build/typecheck/cbctviewer
	for d in app core io rendering; do ln -s ../../../$$d build/typecheck/cbctviewer/$$d; done
	cd build/typecheck && ../../$(VENV)/bin/mypy --config-file ../../pyproject.toml -p cbctviewer

bench: install-test
	$(PY) benchmarks/run_all.py

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .mypy_cache .ruff_cache
