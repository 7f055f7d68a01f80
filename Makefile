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

# Debian packages: the gphoto2 CLI and tshark are third-party clients the tests check the
# emulator with; iproute2/util-linux give private network namespaces for multicast tests;
# python3-venv/-dev, a compiler, libltdl-dev, patch and xz-utils build the venv and the
# native layer (the patched ptp2 camlib and the cffi shim; see build.py).
APT_PACKAGES := gphoto2 tshark iproute2 util-linux python3 python3-venv python3-dev \
	build-essential pkg-config ca-certificates libltdl-dev patch xz-utils

.PHONY: help system-deps venv ref-env build run test lint demo bench clean

help:
	@echo "make run    install, build, start 'sony-pm-alt watch'"
	@echo "make test   install, then lint, type-check and run the whole test suite"
	@echo "make demo   emulated camera + Debian's gphoto2 downloading from it"
	@echo "make bench  benchmarks (ratios side by side)"

system-deps:
	@missing=""; for p in $(APT_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' "$$p" 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  command -v apt-get >/dev/null || { echo "error: apt-get not found; install$$missing by hand" >&2; exit 1; }; \
	  export DEBIAN_FRONTEND=noninteractive; \
	  apt-get update -qq && apt-get install -y -qq --no-install-recommends $$missing >/dev/null \
	    || { echo "error: apt-get install$$missing failed (run as root?)" >&2; exit 1; }; \
	fi

$(VENV)/.installed: pyproject.toml | system-deps
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	@touch $@

venv: system-deps $(VENV)/.installed

$(REF_VENV)/.installed: | system-deps
	@test -x $(REF_VENV)/bin/python || $(PYTHON) -m venv $(REF_VENV)
	$(REF_VENV)/bin/python -m pip install -q --upgrade pip
	$(REF_VENV)/bin/python -m pip install -q '$(REF_GPHOTO2)'
	@touch $@

ref-env: $(REF_VENV)/.installed

build: venv
	$(PY) build.py

run: build
	$(VENV)/bin/sony-pm-alt watch

lint: venv
	$(VENV)/bin/ruff check src tests scripts bench build.py
	$(VENV)/bin/ruff format --check src tests scripts bench build.py
	$(VENV)/bin/mypy

test: build ref-env lint
	SONY_PM_ALT_REF_PYTHON=$(CURDIR)/$(REF_VENV)/bin/python $(VENV)/bin/pytest

demo: venv
	$(PY) scripts/demo.py

bench: build ref-env
	SONY_PM_ALT_REF_PYTHON=$(CURDIR)/$(REF_VENV)/bin/python $(PY) bench/run.py

clean:
	rm -rf $(VENV) $(REF_VENV) .mypy_cache .ruff_cache .pytest_cache .hypothesis
