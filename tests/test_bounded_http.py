"""bounded_http: one exchange with a byte cap and a total deadline, against a canned peer.

The peer is a one-connection TCP server on 127.0.0.1 (an ephemeral port) that records the
request head and answers with fixed bytes. Trickling and endless peers are exercised through
discovery and the smartphone mode (tests/test_discovery.py, tests/test_smartphone_hostile.py).
"""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from sony_pm_alt.bounded_http import HttpError, exchange

WAIT = 10.0


@contextmanager
def peer(answer: bytes) -> Iterator[tuple[int, list[bytes]]]:
    """Serve one connection: read the request head (and a body of up to 64 KiB that arrives
    with it), send ``answer``, close. Yields the port and the list the request lands in."""
    server = socket.create_server(("127.0.0.1", 0))
    server.settimeout(WAIT)
    requests: list[bytes] = []

    def serve() -> None:
        try:
            conn, _ = server.accept()
        except OSError:
            return
        with conn:
            conn.settimeout(WAIT)
            data = b""
            while b"\r\n\r\n" not in data:
                chunk = conn.recv(65536)
                if not chunk:
                    break
                data += chunk
            requests.append(data)
            with contextlib.suppress(OSError):  # the client may hang up early, as it should
                conn.sendall(answer)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield server.getsockname()[1], requests
    finally:
        server.close()
        thread.join(WAIT)


def test_content_length_body_and_our_request() -> None:
    with peer(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-A: b\r\n\r\nhello") as (port, seen):
        answer = exchange(
            "127.0.0.1", port, "/d.xml", headers={"accept": "text/xml"}, timeout=WAIT, max_bytes=5
        )
    assert (answer.status, answer.reason, answer.body) == (200, "OK", b"hello")
    assert answer.headers["x-a"] == "b"
    head = seen[0].decode().lower()
    assert head.startswith("get /d.xml http/1.1\r\n")
    assert f"host: 127.0.0.1:{port}\r\n" in head
    assert "connection: close\r\n" in head
    assert "accept: text/xml\r\n" in head


def test_chunked_and_close_delimited_bodies() -> None:
    chunked = (
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n"
    )
    with peer(chunked) as (port, _):
        assert exchange("127.0.0.1", port, "/", timeout=WAIT, max_bytes=5).body == b"abcde"
    with peer(b"HTTP/1.0 200 OK\r\n\r\nuntil the end") as (port, _):
        assert (
            exchange("127.0.0.1", port, "/", timeout=WAIT, max_bytes=100).body == b"until the end"
        )


def test_our_headers_are_replaced_without_regard_to_case() -> None:
    with peer(b"HTTP/1.1 204 No Content\r\n\r\n") as (port, seen):
        exchange("127.0.0.1", port, "/", headers={"HOST": "camera"}, timeout=WAIT, max_bytes=1)
    head = seen[0].decode().lower()
    assert head.count("host:") == 1
    assert "host: camera\r\n" in head


def test_a_body_is_sent_with_its_length() -> None:
    with peer(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n") as (port, seen):
        exchange("127.0.0.1", port, "/c", method="POST", body=b"<x/>", timeout=WAIT, max_bytes=1)
    assert seen[0].lower().startswith(b"post /c http/1.1\r\n")
    assert b"content-length: 4\r\n" in seen[0].lower()
    assert seen[0].endswith(b"\r\n\r\n<x/>")


@pytest.mark.parametrize(
    ("answer", "max_bytes", "reason"),
    [
        (b"HTTP/1.1 200 OK\r\nContent-Length: 1001\r\n\r\n", 1000,
         "oversized: Content-Length 1001 exceeds 1000 bytes"),
        (b"HTTP/1.1 200 OK\r\n\r\n" + b"x" * 1001, 1000, "oversized: more than 1000 bytes"),
        (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3e9\r\n" + b"x" * 1001, 1000,
         "oversized: more than 1000 bytes"),
        (b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort", 1000,
         "RemoteProtocolError"),
        (b"HTTP/1.1 200 OK\r\nX: " + b"y" * 100_000 + b"\r\n\r\n", 1000, "RemoteProtocolError"),
        (b"SSH-2.0-OpenSSH\r\n\r\n", 1000, "RemoteProtocolError"),
        (b"", 1000, "RemoteProtocolError"),
    ],
)  # fmt: skip
def test_limits_and_broken_answers_are_one_line_errors(
    answer: bytes, max_bytes: int, reason: str
) -> None:
    with peer(answer) as (port, _), pytest.raises(HttpError) as info:
        exchange("127.0.0.1", port, "/", timeout=WAIT, max_bytes=max_bytes)
    assert reason in str(info.value)
    assert "\n" not in str(info.value)


def test_a_redirect_is_an_answer_or_with_expect_an_error() -> None:
    redirect = b"HTTP/1.1 301 Moved\r\nLocation: http://10.9.9.9/\r\nContent-Length: 0\r\n\r\n"
    with peer(redirect) as (port, seen):
        answer = exchange("127.0.0.1", port, "/", timeout=WAIT, max_bytes=10)
    assert (answer.status, answer.headers["location"]) == (301, "http://10.9.9.9/")
    assert len(seen) == 1
    huge = b"HTTP/1.1 404 Not Found\r\nContent-Length: 999999\r\n\r\n"
    with peer(huge) as (port, _), pytest.raises(HttpError, match=r"^HTTP 404 'Not Found'$"):
        exchange("127.0.0.1", port, "/", timeout=WAIT, max_bytes=10, expect=(200,))


def test_on_connect_can_abort_the_exchange() -> None:
    with peer(b"") as (port, _), pytest.raises(HttpError):
        exchange(
            "127.0.0.1",
            port,
            "/",
            timeout=WAIT,
            max_bytes=10,
            on_connect=lambda sock: sock.shutdown(socket.SHUT_RDWR),
        )


def test_nobody_listening_is_an_error() -> None:
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
    with pytest.raises(HttpError, match="ConnectionRefusedError"):
        exchange("127.0.0.1", port, "/", timeout=WAIT, max_bytes=10)
