# Two commands do everything on a fresh machine:
#   make report   build the report on the synthetic twin (or DATA=dir)
#   make test     run the test suite
# Both create .venv (Python >= 3.12) and install the pinned environment first.
# With the conda environment of environment.yml (Quarto users), add CONDA=1:
#   conda run --no-capture-output -n ketamine-nif make report CONDA=1

SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV := .venv
PY := $(VENV)/bin/python
CLI := $(VENV)/bin/ketamine-nif
STAMP := $(VENV)/.installed
DATA ?= data/synthetic
RUN_ARGS ?=
SCENARIO ?= paper-null
SEED ?= 20250404
# pytest-xdist workers for make test, each test file on one (0: all in one process)
TEST_JOBS ?= 2
TWIN := data/synthetic/measurements.csv
TWIN_INPUTS := lib/ketamine_nif/twin.py $(wildcard lib/ketamine_nif/scenarios/*.yaml)

# CONDA=1: use the active conda environment (environment.yml installs everything, the project included)
ifdef CONDA
ifeq ($(CONDA_PREFIX),)
$(error CONDA=1 needs an active conda environment: conda run -n ketamine-nif make report CONDA=1)
endif
VENV := $(CONDA_PREFIX)
PY := $(VENV)/bin/python
CLI := $(VENV)/bin/ketamine-nif
STAMP :=
endif

# The first Python >= 3.12 on PATH (pyenv reads .python-version for `python`).
PYTHON_312 := $(shell for p in python3.12 python3.13 python3.14 python3 python; do \
	if command -v $$p >/dev/null 2>&1 && $$p -c 'import sys; sys.exit(sys.version_info < (3, 12))' >/dev/null 2>&1; then \
	echo $$p; break; fi; done)

.PHONY: help venv report run render twin test lint clean

help:
	@echo "make report            build the report (HTML and PDF in _book/) on the synthetic twin, then check it"
	@echo "make report DATA=dir   build it on another data directory (see data/README.md)"
	@echo "make report RUN_ARGS='-p draws=500'   pass options to ketamine-nif run (here: fewer draws in every chapter)"
	@echo "make test              run the tests (TEST_JOBS=N workers, 2 by default; 0: one process)"
	@echo "make lint              ruff check"
	@echo "make clean             remove generated outputs (keeps .venv)"
	@echo "CONDA=1                use the active conda environment (environment.yml) instead of .venv"

$(STAMP): pyproject.toml requirements.lock
	@if [ ! -x $(PY) ]; then \
		if [ -z "$(PYTHON_312)" ]; then \
			echo "error: no Python >= 3.12 found on PATH. Install one (python.org, your OS packages, or 'pyenv install 3.12'), then run make again." >&2; exit 1; fi; \
		echo "creating $(VENV) with $(PYTHON_312) ($$($(PYTHON_312) --version))"; \
		$(PYTHON_312) -m venv $(VENV); fi
	@echo "installing the pinned environment into $(VENV) (first time: a few minutes) ..."
	@$(PY) -m pip install --quiet --disable-pip-version-check --upgrade pip
	@$(PY) -m pip install --quiet --disable-pip-version-check -c requirements.lock -e ".[test]"
	@touch $@

venv: $(STAMP)

$(TWIN): $(TWIN_INPUTS) | $(STAMP)
	@$(CLI) simulate --scenario $(SCENARIO) --seed $(SEED) --out data/synthetic

twin: $(TWIN)

report: $(STAMP)
	@start=$$(date +%s); \
	if [ "$(DATA)" = "data/synthetic" ]; then $(MAKE) --no-print-directory twin || exit $$?; fi; \
	$(CLI) run --data "$(DATA)" $(RUN_ARGS) && $(CLI) render && $(CLI) check-book || exit $$?; \
	echo "make report: done in $$(( $$(date +%s) - start )) s. Open _book/index.html; the PDF is in _book/."

test: $(STAMP)
	@$(PY) -m pytest -n $(TEST_JOBS) --dist loadfile; rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "pytest collected no tests"; exit 0; fi; exit $$rc

lint: $(STAMP)
	@$(VENV)/bin/ruff check lib tests notebooks benchmarks examples

clean:
	rm -rf _build _book data/synthetic
