#!/usr/bin/env bash
# Create the base image localhost/debian:bookworm-slim when podman does not have it: these
# machines cannot pull from a registry, so it is bootstrapped from the machine's own Debian
# mirror (debootstrap --variant=minbase, about 1.5 minutes) and imported.
#
#   scripts/base-image.sh [IMAGE]
set -euo pipefail
IMAGE=${1:-localhost/debian:bookworm-slim}
podman image exists "$IMAGE" && exit 0
command -v debootstrap >/dev/null || { echo "error: debootstrap missing: apt-get install debootstrap" >&2; exit 1; }
MIRROR=${DEBIAN_MIRROR:-$(sed -n 's/^URIs: *\(\S*debian\)$/\1/p' /etc/apt/sources.list.d/*.sources 2>/dev/null | head -n1)}
MIRROR=${MIRROR:-http://deb.debian.org/debian}
ROOTFS=$(mktemp -d /var/tmp/sony-pm-alt-rootfs.XXXXXX)
trap 'rm -rf "$ROOTFS"' EXIT
echo "bootstrapping $IMAGE from $MIRROR (debootstrap --variant=minbase bookworm)"
debootstrap --variant=minbase bookworm "$ROOTFS" "$MIRROR" >/dev/null
# As the official slim image: no apt lists, caches, docs, manuals or translations, now or
# from later apt-get installs.
cat > "$ROOTFS/etc/dpkg/dpkg.cfg.d/slim" <<'CFG'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
path-exclude /usr/share/groff/*
path-exclude /usr/share/lintian/*
CFG
rm -rf "$ROOTFS"/usr/share/locale/*
find "$ROOTFS"/usr/share/doc -type f ! -name copyright -delete
rm -rf "$ROOTFS"/var/lib/apt/lists/* "$ROOTFS"/var/cache/apt/*.bin "$ROOTFS"/var/cache/apt/archives/*.deb \
  "$ROOTFS"/usr/share/man/* "$ROOTFS"/usr/share/info/*
tar -C "$ROOTFS" -c . | podman import --change 'CMD ["bash"]' - "$IMAGE" >/dev/null
echo "created $IMAGE"
