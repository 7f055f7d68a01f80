# sony-pm-alt — every target installs what it needs first (Debian 12, as root), idempotently.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
# Reference client for the emulator's fidelity tests: python-gphoto2 2.6.4 bundles libgphoto2
# 2.5.34, whose camlib sends both Sony vendor pairs. Kept apart from the project's pinned 2.6.1.
REF_VENV := .venv-ref264
REF_GPHOTO2 := gphoto2==2.6.4

.PHONY: help system-deps venv ref-env build run test lint demo bench bench-micro clean

help:
	@echo "make run    install, build, start 'sony-pm-alt watch'"
	@echo "make test   install, then lint, type-check and run the whole test suite"
	@echo "make demo   an emulated camera, discovered and synced by watch (private netns)"
	@echo "make bench  sony-pm-alt vs gphoto2 on a Wi-Fi-like link (BENCH_ARGS=--quick: < 2 min)"

system-deps:
	scripts/setup.sh system

$(VENV)/.installed: pyproject.toml | system-deps
	PYTHON=$(PYTHON) VENV=$(VENV) scripts/setup.sh python
	@touch $@

venv: system-deps $(VENV)/.installed

$(REF_VENV)/.installed: | system-deps
	@test -x $(REF_VENV)/bin/python || $(PYTHON) -m venv $(REF_VENV)
	$(REF_VENV)/bin/python -m pip install -q --upgrade pip
	$(REF_VENV)/bin/python -m pip install -q '$(REF_GPHOTO2)'
	@touch $@

ref-env: $(REF_VENV)/.installed

build: venv
	VENV=$(VENV) scripts/setup.sh native

run: build
	$(VENV)/bin/sony-pm-alt watch

lint: venv
	$(VENV)/bin/ruff check src tests scripts bench build.py
	$(VENV)/bin/ruff format --check src tests scripts bench build.py
	$(VENV)/bin/mypy

test: build ref-env lint
	SONY_PM_ALT_REF_PYTHON=$(CURDIR)/$(REF_VENV)/bin/python $(VENV)/bin/pytest

demo: build
	$(PY) scripts/demo.py

# BENCH_ARGS: --quick (< 2 min), --link loopback|wifi|rate=100mbit,rtt=4ms, --runs N, --only 1,3.
# bench/run.py keeps the micro-benchmarks (raw download per client, codec framing, native build).
BENCH_ARGS ?=
bench: build
	$(PY) bench/harness.py $(BENCH_ARGS)

bench-micro: build ref-env
	SONY_PM_ALT_REF_PYTHON=$(CURDIR)/$(REF_VENV)/bin/python $(PY) bench/run.py

clean:
	rm -rf $(VENV) $(REF_VENV) .mypy_cache .ruff_cache .pytest_cache .hypothesis
