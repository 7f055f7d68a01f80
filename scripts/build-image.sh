#!/usr/bin/env bash
# Build the container image from dist/ (make dist) with podman, on the local base image
# (scripts/base-image.sh); print its size and the build time. Layers are cached: the Debian
# packages layer is reused until the Dockerfile changes.
#
#   scripts/build-image.sh [TAG]
set -euo pipefail
cd "$(dirname "$0")/.."
TAG=${1:-localhost/sony-pm-alt:latest}
BASE=${BASE:-localhost/debian:bookworm-slim}
ls dist/sony_pm_alt-*.whl dist/wheelhouse >/dev/null 2>&1 || { echo "error: no dist/; run make dist first" >&2; exit 1; }
VERSION=$(sed -n 's/^version = "\(.*\)"/\1/p' pyproject.toml)
# What the wheels hold (entry names and CRCs, not their timestamps): a rebuilt but identical
# dist/ keeps the cached install layer, any change installs again.
DIST_DIGEST=$(python3 - <<'PY'
import hashlib, pathlib, zipfile
digest = hashlib.sha256()
for wheel in sorted(pathlib.Path("dist").glob("**/*.whl")):
    digest.update(wheel.name.encode())
    for info in sorted(zipfile.ZipFile(wheel).infolist(), key=lambda i: i.filename):
        digest.update(f"{info.filename}:{info.CRC}\n".encode())
print(digest.hexdigest()[:16])
PY
)
start=$(date +%s)
# chroot isolation and host networking: what works on these machines (podman run does not).
podman build -q --format docker --isolation=chroot --network=host --layers \
  --build-arg "BASE=$BASE" --build-arg "VERSION=$VERSION" --build-arg "DIST_DIGEST=$DIST_DIGEST" \
  -t "$TAG" . >/dev/null
seconds=$(( $(date +%s) - start ))
size=$(podman image inspect --format '{{.Size}}' "$TAG")
echo "built $TAG in ${seconds} s; size $(( size / 1000000 )) MB"
