"""Helpers for the smartphone-mode tests: the emulator in-process and a scriptable HTTP peer."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

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
