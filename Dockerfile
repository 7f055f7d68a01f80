# sony-pm-alt as a container, e.g. on a NAS:
#   docker build -t sony-pm-alt .
#   docker run -d --net=host -v /srv/photos:/photos \
#     -e SONY_PM_ALT_GUID=ff:ff:52:54:00:b6:fd:a9:ff:ff:52:3c:28:07:a9:3a sony-pm-alt
# --net=host: the camera announces itself by SSDP multicast, which a bridged container misses.
FROM debian:bookworm-slim

WORKDIR /opt/sony-pm-alt
COPY . .
# The same script `make run` and `make test` run: Debian packages, the venv, the native layer.
RUN apt-get update -qq && apt-get install -y -qq --no-install-recommends python3 make \
    && EXTRAS= scripts/setup.sh all \
    && rm -rf /var/lib/apt/lists/* /root/.cache/pip

ENV PATH=/opt/sony-pm-alt/.venv/bin:$PATH \
    SONY_PM_ALT_DEST=/photos \
    SONY_PM_ALT_STATE=/photos/.sony-pm-alt/state.sqlite3
VOLUME /photos
CMD ["sony-pm-alt", "watch"]
