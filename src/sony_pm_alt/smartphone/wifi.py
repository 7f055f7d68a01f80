"""Joining the camera's own Wi-Fi through NetworkManager's ``nmcli``, and going back after
(``docs/smartphone.md``, "Joining the camera's Wi-Fi": why nmcli, and the passphrase on its
command line).
"""

from __future__ import annotations

import csv
import logging
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager

from ..errors import SonyPmAltError

log = logging.getLogger("sony_pm_alt.wifi")

JOIN_TIMEOUT = 45  # seconds: scanning for a camera that has just opened its access point
COMMAND_TIMEOUT = JOIN_TIMEOUT + 15


class WifiError(SonyPmAltError):
    """NetworkManager could not join or leave a network; one-line reason."""


def nmcli(*args: str) -> str:
    binary = shutil.which("nmcli")
    if binary is None:
        raise WifiError(
            "nmcli not found: install NetworkManager, or join the camera's Wi-Fi yourself "
            "and leave wifi_ssid out of the config"
        )
    try:
        done = subprocess.run(
            [binary, *args], capture_output=True, text=True, timeout=COMMAND_TIMEOUT, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise WifiError(f"nmcli {args[0]}: {exc}") from None
    if done.returncode != 0:
        reason = (done.stderr or done.stdout).strip().splitlines()
        raise WifiError(f"nmcli {' '.join(args[:3])}: {reason[-1] if reason else done.returncode}")
    return done.stdout


def split_terse(line: str) -> list[str]:
    """nmcli ``-t`` fields: ``:`` separates, ``\\:`` is a literal colon (``\\\\`` a backslash)."""
    fields = csv.reader([line], delimiter=":", escapechar="\\", quoting=csv.QUOTE_NONE)
    return next(fields) or [""]  # an empty line: one empty field


def active_wifi() -> str | None:
    """The name of the active Wi-Fi connection, if any."""
    out = nmcli("-t", "-f", "NAME,TYPE,DEVICE", "connection", "show", "--active")
    for line in out.splitlines():
        fields = split_terse(line)
        if len(fields) == 3 and fields[1] in ("802-11-wireless", "wifi"):
            return fields[0]
    return None


@contextmanager
def joined(ssid: str, password: str | None) -> Iterator[str | None]:
    """Join ``ssid`` for the body of the ``with``; afterwards bring the previous Wi-Fi
    connection back up (or leave the camera's network when there was none), whatever
    happened inside. A failure to go back is logged, not raised over the import's result."""
    previous = active_wifi()
    args = ["--wait", str(JOIN_TIMEOUT), "device", "wifi", "connect", ssid]
    if password:
        args += ["password", password]
    try:
        nmcli(*args)
    except WifiError as exc:
        raise WifiError(f"cannot join the camera's Wi-Fi {ssid!r}: {exc}") from None
    try:
        yield previous
    finally:
        restore(ssid, previous)


def restore(ssid: str, previous: str | None) -> None:
    try:
        if previous is not None and previous != ssid:
            nmcli("--wait", str(JOIN_TIMEOUT), "connection", "up", "id", previous)
        else:
            nmcli("connection", "down", "id", ssid)
    except WifiError as exc:
        log.warning("could not return to the previous network (%s): %s", previous, exc)
