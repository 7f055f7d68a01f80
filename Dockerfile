# sony-pm-alt as a container, e.g. on a NAS. Build with `make image` (podman), or after
# `make dist` with `docker build -t sony-pm-alt .`; run with host networking (the camera
# announces itself by SSDP multicast, which a bridged container misses):
#   docker run -d --net=host -e PUID=1000 -e PGID=1000 -v /srv/photos:/photos \
#     -v sony-pm-alt-state:/state -e SONY_PM_ALT_GUID=ff:ff:52:54:00:b6:fd:a9:ff:ff:52:3c:28:07:a9:3a \
#     sony-pm-alt
# or contrib/compose.yaml. (docker needs BuildKit, its default builder since 23.0, for the
# RUN --mount below.) The image holds only the wheel `make dist` built and the runtime
# dependencies from its wheelhouse: no compiler, gphoto2 CLI, tshark or source tree.
ARG BASE=debian:bookworm-slim
FROM ${BASE}
ARG VERSION=0.1.0
LABEL org.opencontainers.image.title="sony-pm-alt" \
      org.opencontainers.image.description="Wireless photo import from Sony cameras in 'Send to Computer' mode (PTP/IP)" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.licenses="GPL-3.0-or-later AND LGPL-2.1-or-later" \
      org.opencontainers.image.base.name="docker.io/library/debian:bookworm-slim"

# libusb for `pair`. No python3-venv: pip runs from its wheel in the wheelhouse.
RUN apt-get update -qq \
    && apt-get install -y -qq --no-install-recommends python3 libusb-1.0-0 >/dev/null \
    && apt-get clean && rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin

# Only from the host-built wheelhouse, never from an index inside the build; bind-mounted, so
# the wheels leave no layer behind. libgphoto2's message translations go, as the base's do.
# DIST_DIGEST (the content of dist/, from scripts/build-image.sh) keys this layer's cache: the
# bind mount itself does not.
ARG DIST_DIGEST=unknown
RUN --mount=type=bind,source=dist,target=/tmp/dist \
    echo "installing dist/ ${DIST_DIGEST}" \
    && python3 -m venv --without-pip /opt/sony-pm-alt \
    && set -- /tmp/dist/wheelhouse/pip-*.whl \
    && /opt/sony-pm-alt/bin/python "$1/pip" install -q --no-index \
       --no-cache-dir --find-links /tmp/dist/wheelhouse /tmp/dist/sony_pm_alt-*.whl \
    && rm -rf /opt/sony-pm-alt/lib/python3*/site-packages/gphoto2/libgphoto2/locale \
    && groupadd --gid 1000 sony && useradd --uid 1000 --gid 1000 --no-create-home --home-dir /state sony \
    && mkdir -p /photos /state && chown sony:sony /photos /state

COPY contrib/container/entrypoint.sh /usr/local/bin/sony-pm-alt-entrypoint
ENV PATH=/opt/sony-pm-alt/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    PUID=1000 PGID=1000 HOME=/state \
    SONY_PM_ALT_DEST=/photos \
    SONY_PM_ALT_STATE=/state/state.sqlite3
VOLUME ["/photos", "/state"]
HEALTHCHECK --interval=5m --timeout=30s CMD ["sony-pm-alt", "doctor", "--quiet"]
ENTRYPOINT ["sony-pm-alt-entrypoint"]
CMD ["sony-pm-alt", "watch"]
