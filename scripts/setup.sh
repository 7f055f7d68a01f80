#!/usr/bin/env bash
# Install what sony-pm-alt needs and build it (the Makefile runs this; the container image is
# made from `make dist`'s wheelhouse instead, see the Dockerfile).
#
#   scripts/setup.sh system   Debian packages (apt-get; only the missing ones; needs root)
#   scripts/setup.sh image    the Debian packages `make image` needs (podman, debootstrap)
#   scripts/setup.sh python   the virtual environment .venv with the package and dev tools
#   scripts/setup.sh native   the native layer: patched ptp2 camlib + cffi shim (build.py)
#   scripts/setup.sh all      all three, in that order
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
VENV=${VENV:-.venv}
# gphoto2 and tshark: third-party clients the tests check the emulator with; iproute2 and
# util-linux: private network namespaces; python3-venv/-dev, build-essential, pkg-config,
# libltdl-dev, patch, xz-utils: the venv and the native layer; libusb-1.0-0: pairing;
# curl and lftp: third-party FTP clients the FTP receiver is checked with; time: GNU time, the
# peak memory of each client in `make bench`.
APT_PACKAGES=(gphoto2 tshark iproute2 util-linux python3 python3-venv python3-dev
  build-essential pkg-config ca-certificates libltdl-dev patch xz-utils libusb-1.0-0 make
  curl lftp time)
# make image: podman builds it, debootstrap makes the base image; pipx: the pipx install test.
IMAGE_PACKAGES=(podman debootstrap)
PIPX_PACKAGES=(pipx)

system() {
  local missing=() p
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "installing Debian packages: ${missing[*]}"
  command -v apt-get >/dev/null || { echo "error: apt-get not found; install ${missing[*]} by hand" >&2; exit 1; }
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq && apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null \
    || { echo "error: apt-get install ${missing[*]} failed (run as root?)" >&2; exit 1; }
}

python_env() {
  [ -x "$VENV/bin/python" ] || "$PYTHON" -m venv "$VENV"
  "$VENV/bin/python" -m pip install -q --upgrade pip
  # EXTRAS=dev (default) adds the test tools; EXTRAS= leaves them out.
  local extras=${EXTRAS-dev}
  "$VENV/bin/python" -m pip install -q -e ".${extras:+[$extras]}"
}

native() {
  "$VENV/bin/python" build.py
}

case "${1:-all}" in
  system) system "${APT_PACKAGES[@]}" "${PIPX_PACKAGES[@]}" ;;
  image) system "${IMAGE_PACKAGES[@]}" ;;
  python) python_env ;;
  native) native ;;
  all) system "${APT_PACKAGES[@]}" "${PIPX_PACKAGES[@]}"; python_env; native ;;
  *) echo "usage: scripts/setup.sh [system|image|python|native|all]" >&2; exit 2 ;;
esac
