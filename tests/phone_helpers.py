"""Helpers for the smartphone-mode tests: the emulator in-process and a scriptable HTTP peer."""

from __future__ import annotations

import os
import stat
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from sony_pm_alt.emulator.faults import parse_faults
from sony_pm_alt.emulator.smartphone import (
    PhoneConfig,
    PhonePicture,
    SmartphoneEmulator,
    build_phone_pictures,
)

Answer = tuple[int, dict[str, str], bytes]


@contextmanager
def phone(
    *faults: str,
    shots: int = 8,
    page_size: int = 50,
    selected: frozenset[str] | None = None,
    pictures: list[PhonePicture] | None = None,
) -> Iterator[SmartphoneEmulator]:
    config = PhoneConfig(
        pictures if pictures is not None else build_phone_pictures(shots),
        page_size=page_size,
        selected=selected,
        faults=parse_faults(faults),
    )
    with SmartphoneEmulator(config) as emulator:
        yield emulator


def files_under(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
    }


def expected_path(picture: PhonePicture, name: str | None = None) -> str:
    """Where the default template puts ``picture``."""
    day = picture.taken
    return f"{day:%Y}/{day:%Y-%m-%d}/{name or picture.name}"


def gets(emulator: SmartphoneEmulator) -> list[str]:
    return [
        e["path"]
        for e in emulator.events
        if e["event"] == "phone_http" and e["path"].startswith("/photo/")
    ]


@contextmanager
def scripted_server(
    answer: Callable[[BaseHTTPRequestHandler], Answer | None],
) -> Iterator[tuple[int, list[str]]]:
    """An HTTP peer on 127.0.0.1 whose every answer ``answer(handler)`` decides (None: the
    function wrote the answer itself). Yields (port, request lines seen)."""
    seen: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def _any(self) -> None:
            seen.append(f"{self.command} {self.path}")
            result = answer(self)
            if result is None:
                return
            status, headers, body = result
            self.send_response(status)
            for key, value in {"Content-Length": str(len(body)), **headers}.items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = _any  # noqa: N815

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield int(server.server_address[1]), seen
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


# A stand-in for NetworkManager's CLI: appends each call's arguments to $NMCLI_LOG, answers
# "connection show --active" with $NMCLI_ACTIVE and "wifi list" with $NMCLI_VISIBLE (nmcli's
# terse format: one SSID a line, colons escaped), and fails "wifi connect" when
# $NMCLI_FAIL_JOIN is set. No radio is touched.
FAKE_NMCLI = """#!/bin/sh
printf '%s\\n' "$*" >> "$NMCLI_LOG"
case "$*" in
  *"connection show --active"*) printf '%s\\n' "$NMCLI_ACTIVE" ;;
  *"wifi list"*) printf '%s\\n' "$NMCLI_VISIBLE" ;;
  *"wifi connect"*) [ -n "$NMCLI_FAIL_JOIN" ] && { echo "Error: no such SSID" >&2; exit 10; } ;;
esac
exit 0
"""


def fake_nmcli(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, *, active: str, visible: str = ""
) -> Path:
    """Put :data:`FAKE_NMCLI` first on ``PATH``; return the file its calls are logged to."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    nmcli = bin_dir / "nmcli"
    nmcli.write_text(FAKE_NMCLI)
    nmcli.chmod(nmcli.stat().st_mode | stat.S_IXUSR)
    log = tmp_path / "nmcli.log"
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("NMCLI_LOG", str(log))
    monkeypatch.setenv("NMCLI_ACTIVE", active)
    monkeypatch.setenv("NMCLI_VISIBLE", visible)
    return log
