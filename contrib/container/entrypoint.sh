#!/bin/sh
# Run the command as PUID:PGID (the NAS convention: they decide who owns the photos). Started
# as root, it hands /state to that user (and /photos itself, not its content, when root owns it,
# as a runtime-created bind mount is) and drops every privilege with setpriv (util-linux);
# started as another user (--user), it runs the command as that user.
set -eu
if [ "$(id -u)" = 0 ]; then
    PUID=${PUID:-1000}
    PGID=${PGID:-1000}
    case "$PUID$PGID" in
        *[!0-9]*) echo "sony-pm-alt: PUID and PGID must be numbers (got '$PUID', '$PGID')" >&2; exit 2 ;;
    esac
    if [ "$PUID" = 0 ]; then
        echo "sony-pm-alt: refusing PUID=0; give the uid that should own the photos" >&2
        exit 2
    fi
    mkdir -p "${HOME:-/state}"
    chown "$PUID:$PGID" "${HOME:-/state}"
    [ -O "${SONY_PM_ALT_DEST:-/photos}" ] && chown "$PUID:$PGID" "${SONY_PM_ALT_DEST:-/photos}"
    exec setpriv --reuid="$PUID" --regid="$PGID" --clear-groups --inh-caps=-all -- "$@"
fi
exec "$@"
