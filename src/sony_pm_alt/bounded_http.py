"""One small HTTP/1.1 exchange with a LAN peer, bounded in bytes and in total time.

Used for what a camera (or anything pretending to be one) serves us in one piece: the SSDP
device description and the smartphone mode's descriptions and SOAP answers. We own the socket
and let h11 (sans-IO, the model for our PTP/IP codec) parse what arrives, because the limits
that matter here are ones HTTP client libraries do not offer: a deadline for the whole
exchange, however slowly a peer trickles bytes (httpx and http.client time each read, so a
byte every few seconds keeps them waiting for ever), and a cap on the body that stops reading
at the first byte too many. The header section is capped by h11 (an unfinished head may not
grow past 16 KiB, so at most one read more than that is held).

No proxy is consulted and redirects are not followed: a 3xx is returned as an answer.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass

import h11

# Bytes asked of the kernel per read; a description fits in one or two.
_RECV_SIZE = 16 * 1024


class HttpError(Exception):
    """The exchange failed or broke a limit; ``str(exc)`` is a one-line reason."""


@dataclass(frozen=True)
class Answer:
    status: int
    reason: str
    headers: dict[str, str]
    """Lower-case names; a repeated header keeps its last value."""
    body: bytes


def shorten(value: str, limit: int = 120) -> str:
    """``repr()`` of ``value``, cut at ``limit`` characters: for what a peer sent, in a log line."""
    return repr(value if len(value) <= limit else value[:limit] + "…")


def exchange(
    host: str,
    port: int,
    target: str,
    *,
    method: str = "GET",
    body: bytes | None = None,
    headers: Mapping[str, str] | None = None,
    timeout: float,
    max_bytes: int,
    expect: Collection[int] | None = None,
    on_connect: Callable[[socket.socket], None] | None = None,
) -> Answer:
    """Send one request to ``http://host:port`` + ``target`` and read the whole answer.

    ``timeout`` bounds everything from connecting to the last body byte. A body over
    ``max_bytes`` (announced by Content-Length or actually sent) is an error. With ``expect``,
    any other status is an error before the body is read. ``headers`` add to or replace
    ours (Host, User-Agent, Connection: close), names compared without case. ``on_connect``
    receives the connected socket, so another thread can ``shutdown()`` it to abort.

    Raises :class:`HttpError` and nothing else.
    """
    fields = {
        "host": ("Host", f"{host}:{port}"),
        "user-agent": ("User-Agent", "sony-pm-alt"),
        "connection": ("Connection", "close"),
    }
    for name, value in (headers or {}).items():
        fields[name.lower()] = (name, value)
    if body is not None:
        fields["content-length"] = ("Content-Length", str(len(body)))
    deadline = time.monotonic() + timeout
    try:
        connection = h11.Connection(h11.CLIENT)
        request = connection.send(
            h11.Request(method=method, target=target, headers=[*fields.values()])
        )
        request += connection.send(h11.Data(data=body or b"")) + connection.send(h11.EndOfMessage())
        with socket.create_connection((host, port), timeout=timeout) as sock:
            if on_connect is not None:
                on_connect(sock)
            _remaining(sock, deadline)
            sock.sendall(request)
            return _answer(_Peer(connection, sock, deadline), max_bytes, expect)
    except TimeoutError:
        raise HttpError(f"no complete answer within {timeout:g} s") from None
    except (OSError, h11.ProtocolError, ValueError) as exc:
        raise HttpError(f"{type(exc).__name__}: {shorten(str(exc), 80)}") from None


@dataclass(frozen=True)
class _Peer:
    connection: h11.Connection
    sock: socket.socket
    deadline: float

    def next_event(self) -> object:
        while (event := self.connection.next_event()) is h11.NEED_DATA:
            _remaining(self.sock, self.deadline)
            self.connection.receive_data(self.sock.recv(_RECV_SIZE))
        if isinstance(event, h11.ConnectionClosed):
            raise h11.RemoteProtocolError("connection closed before a complete answer")
        return event


def _answer(peer: _Peer, max_bytes: int, expect: Collection[int] | None) -> Answer:
    event = peer.next_event()
    while isinstance(event, h11.InformationalResponse):  # 100 Continue and the like
        event = peer.next_event()
    assert isinstance(event, h11.Response)
    status, reason = event.status_code, event.reason.decode("latin-1")
    if expect is not None and status not in expect:
        raise HttpError(f"HTTP {status} {shorten(reason, 40)}")
    headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in event.headers}
    length = headers.get("content-length")
    if length is not None and int(length) > max_bytes:
        raise HttpError(f"oversized: Content-Length {length} exceeds {max_bytes} bytes")
    body = bytearray()
    while not isinstance(event := peer.next_event(), h11.EndOfMessage):
        assert isinstance(event, h11.Data)
        body += event.data
        if len(body) > max_bytes:
            raise HttpError(f"oversized: more than {max_bytes} bytes")
    return Answer(status, reason, headers, bytes(body))


def _remaining(sock: socket.socket, deadline: float) -> None:
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise TimeoutError("time limit reached")
    sock.settimeout(remaining)
