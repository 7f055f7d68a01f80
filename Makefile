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

.PHONY: help system-deps venv ref-env build run test lint demo bench bench-micro clean dist \
	image test-image reliability soak

help:
	@echo "make run    install, build, start 'sony-pm-alt watch'"
	@echo "make test   install, then lint, type-check and run the whole test suite"
	@echo "make demo   an emulated camera, discovered and synced by watch (private netns)"
	@echo "make bench  sony-pm-alt vs gphoto2 on a Wi-Fi-like link, and the FTP receiver (BENCH_ARGS=--quick: < 2 min)"
	@echo "make dist   dist/: the platform wheel (with the native layer), the sdist, dist/wheelhouse/"
	@echo "make image  the container image localhost/sony-pm-alt:latest (podman)"
	@echo "make test-image  build the image and sync from it (chroot) against the emulator"
	@echo "make reliability  the fault matrix; writes docs/reliability.md"
	@echo "make soak   one watch through 200 camera activations (a few minutes)"

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
	$(VENV)/bin/ruff check src tests scripts bench build.py setup.py
	$(VENV)/bin/ruff format --check src tests scripts bench build.py setup.py
	$(VENV)/bin/mypy

test: build ref-env lint dist
	SONY_PM_ALT_REF_PYTHON=$(CURDIR)/$(REF_VENV)/bin/python $(VENV)/bin/pytest

demo: build
	$(PY) scripts/demo.py

# BENCH_ARGS: --quick (< 2 min), --link loopback|wifi|rate=100mbit,rtt=4ms, --runs N, --only 1,3.
# bench/run.py keeps the micro-benchmarks (raw download per client, codec framing, native build).
BENCH_ARGS ?=
bench: build
	$(PY) bench/harness.py $(BENCH_ARGS)
	$(PY) bench/ftp.py

bench-micro: build ref-env
	SONY_PM_ALT_REF_PYTHON=$(CURDIR)/$(REF_VENV)/bin/python $(PY) bench/run.py

# The wheel's build obtains and builds the native layer itself (setup.py → build.py, cached in
# ~/.cache/sony-pm-alt); -P keeps ./build.py from shadowing PyPA's `build`.
dist: venv
	rm -rf dist
	$(PY) -P -m build --outdir dist . >/dev/null
	set -o pipefail; $(PY) -m pip wheel -q --wheel-dir dist/wheelhouse dist/sony_pm_alt-*.whl 2>&1 \
	  | { grep -v '^WARNING: Location' || true; }
	@# pip itself, for installing from the wheelhouse where no pip is (the container image)
	set -o pipefail; $(PY) -m pip download -q --no-deps --only-binary :all: -d dist/wheelhouse pip 2>&1 \
	  | { grep -v '^WARNING: Location' || true; }
	@ls dist/sony_pm_alt-*-cp*-*.whl dist/sony_pm_alt-*.tar.gz >/dev/null
	@ls -1 dist dist/wheelhouse

# The image: only the wheel and its wheelhouse (no compiler, gphoto2, tshark or source tree).
# Base images cannot be pulled here: scripts/base-image.sh bootstraps one when missing.
IMAGE := localhost/sony-pm-alt:latest
image: dist
	scripts/setup.sh image
	scripts/base-image.sh localhost/debian:bookworm-slim
	scripts/build-image.sh $(IMAGE)

test-image: image
	SONY_PM_ALT_IMAGE=$(IMAGE) $(VENV)/bin/pytest -m image tests/test_image.py

reliability: build
	$(PY) tests/reliability.py --write docs/reliability.md

soak: build
	$(PY) tests/soak.py --write docs/soak.md

clean:
	rm -rf $(VENV) $(REF_VENV) .mypy_cache .ruff_cache .pytest_cache .hypothesis dist
