"""The emulated camera's SSDP side: NOTIFY rounds, M-SEARCH replies and the description server.

A thin asyncio layer over :mod:`sony_pm_alt.ssdp`; all formats come from there. ssdpy's own
server is not used: one malformed datagram kills it and it answers M-SEARCH with a NOTIFY
(docs/protocol.md §17), so this module owns its receive loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from http import HTTPStatus
from urllib.parse import urlsplit

from sony_pm_alt.ssdp.description import (
    DESCRIPTION_PATH,
    DeviceDescription,
    description_url,
    render_description,
)
from sony_pm_alt.ssdp.messages import (
    SSDP_GROUP,
    SSDP_PORT,
    SsdpParseError,
    alive_messages,
    byebye_messages,
    msearch_reply,
    parse_message,
    search_targets_matched,
)
from sony_pm_alt.ssdp.ratelimit import TokenBucket
from sony_pm_alt.ssdp.sockets import MULTICAST_TTL, multicast_socket

log = logging.getLogger("sony_pm_alt.emulator.ssdp")

EventSink = Callable[[str, dict[str, object]], None]

# A GET request head is a few hundred bytes; 8 KiB is what common HTTP servers allow for a line.
HTTP_HEAD_LIMIT = 8 * 1024
HTTP_HEAD_TIMEOUT = 5.0
# Clients fetch the description once per discovery; more than a handful at once is a flood.
HTTP_MAX_CONNECTIONS = 16
# M-SEARCH answers are rate limited (token bucket): each ssdp:all query costs four datagrams,
# so an unlimited responder would amplify a spoofed flood.
MSEARCH_BURST = 32
MSEARCH_PER_SECOND = 16.0


@dataclass(frozen=True)
class SsdpConfig:
    """Where and how the emulated camera announces itself."""

    advertise_host: str  # the IP put in LOCATION (the camera's address)
    interface: str | None = None  # IPv4 of the interface to send from and join on; None: default
    group: str = SSDP_GROUP
    port: int = SSDP_PORT  # UDP port of the group; bound to hear M-SEARCH
    http_host: str = "0.0.0.0"
    http_port: int = 1900  # the description server's TCP port; 0 picks one (LOCATION says it)
    notify_interval: float = 3.0
    max_rounds: int | None = None  # alive rounds (None: until stopped); M-SEARCH always answered
    ttl: int = MULTICAST_TTL
    byebye_first: bool = False  # a byebye round first, like an A6000 (docs/protocol.md §1.2)


class _Datagrams(asyncio.DatagramProtocol):
    def __init__(self, owner: SsdpResponder) -> None:
        self._owner = owner

    def datagram_received(self, data: bytes, addr: tuple[str | int, ...]) -> None:
        try:
            self._owner._on_datagram(data, (str(addr[0]), int(addr[1])))
        except Exception:  # the receive loop must survive anything a datagram triggers
            log.exception("error while handling a datagram from %s", addr)

    def error_received(self, exc: Exception) -> None:
        log.warning("SSDP socket error: %s", exc)


class SsdpResponder:
    """Announce a :class:`DeviceDescription` over SSDP and serve it over HTTP.

    ``on_event(name, fields)`` is called for ``ssdp_alive`` (``round``), ``ssdp_byebye``
    (``reason``: ``"first"`` or ``"stop"``), ``msearch`` (``from``, ``st``, ``replies``) and
    ``http_get`` (``from``, ``method``, ``path``, ``status``). Usable as an async context manager.
    """

    def __init__(
        self,
        config: SsdpConfig,
        description: DeviceDescription,
        on_event: EventSink | None = None,
    ) -> None:
        self._config = config
        self._description = description
        self._document = render_description(description)
        self._on_event = on_event
        self._server: asyncio.Server | None = None
        self._transport: asyncio.DatagramTransport | None = None
        self._announcer: asyncio.Task[None] | None = None
        self._location: str | None = None
        self._connections: set[asyncio.StreamWriter] = set()
        self._bucket = TokenBucket(MSEARCH_PER_SECOND, MSEARCH_BURST, time.monotonic())
        self._stopped = False

    @property
    def location(self) -> str:
        """The LOCATION URL announced; available once :meth:`start` has returned."""
        if self._location is None:
            raise RuntimeError("SsdpResponder.location is known only after start()")
        return self._location

    async def start(self) -> None:
        """Bind the HTTP server and the UDP socket, send the first round, start the announcer."""
        if self._location is not None or self._stopped:
            raise RuntimeError("an SsdpResponder can be started once")
        cfg = self._config
        try:
            self._server = await asyncio.start_server(
                self._serve_http, cfg.http_host, cfg.http_port, limit=HTTP_HEAD_LIMIT
            )
            port = self._server.sockets[0].getsockname()[1]
            self._location = description_url(cfg.advertise_host, port)
            loop = asyncio.get_running_loop()
            self._transport, _ = await loop.create_datagram_endpoint(
                lambda: _Datagrams(self),
                sock=multicast_socket(
                    group=cfg.group, port=cfg.port, interface=cfg.interface, ttl=cfg.ttl
                ),
            )
        except BaseException:
            await self._close()
            raise
        if cfg.byebye_first:
            self._send_byebye("first")
        self._send_alive(1)
        self._announcer = asyncio.create_task(self._announce(), name="ssdp-announcer")

    async def stop(self) -> None:
        """Send a byebye round and close everything. Idempotent."""
        if self._stopped:
            return
        self._stopped = True
        if self._announcer is not None:
            self._announcer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._announcer
        if self._transport is not None:
            self._send_byebye("stop")
        await self._close()

    async def __aenter__(self) -> SsdpResponder:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    async def _close(self) -> None:
        self._stopped = True
        if self._transport is not None:
            self._transport.close()
        for writer in list(self._connections):
            writer.close()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    # --- SSDP -------------------------------------------------------------------------------

    async def _announce(self) -> None:
        number = 1
        while self._config.max_rounds is None or number < self._config.max_rounds:
            await asyncio.sleep(self._config.notify_interval)
            number += 1
            self._send_alive(number)

    def _send_alive(self, number: int) -> None:
        for datagram in alive_messages(self._description.udn, self.location):
            self._send(datagram, (self._config.group, self._config.port))
        self._emit("ssdp_alive", {"round": number})

    def _send_byebye(self, reason: str) -> None:
        for datagram in byebye_messages(self._description.udn):
            self._send(datagram, (self._config.group, self._config.port))
        self._emit("ssdp_byebye", {"reason": reason})

    def _send(self, datagram: bytes, addr: tuple[str, int]) -> None:
        assert self._transport is not None
        self._transport.sendto(datagram, addr)

    def _on_datagram(self, data: bytes, addr: tuple[str, int]) -> None:
        try:
            message = parse_message(data)
        except SsdpParseError as exc:
            log.info("ignoring malformed datagram from %s:%d: %s", *addr, exc)
            return
        if message.kind != "msearch":
            return  # NOTIFYs (ours, looped back, or other devices') and stray replies
        st = message.st
        if not st:
            log.info("ignoring M-SEARCH without ST from %s:%d", *addr)
            return
        if not self._bucket.take(time.monotonic()):
            log.debug("M-SEARCH rate limit: dropping query from %s:%d", *addr)
            return
        # Replies go out at once instead of after a random delay of up to MX: scheduling delayed
        # replies would queue work per query, and tests stay deterministic.
        matched = search_targets_matched(st, self._description.udn)
        for nt in matched:
            self._send(msearch_reply(nt, self._description.udn, self.location), addr)
        self._emit("msearch", {"from": f"{addr[0]}:{addr[1]}", "st": st, "replies": len(matched)})

    def _emit(self, name: str, fields: dict[str, object]) -> None:
        if self._on_event is None:
            return
        try:
            self._on_event(name, fields)
        except Exception:  # a recorder bug must not take the camera off the network
            log.exception("on_event(%r) failed", name)

    # --- HTTP -------------------------------------------------------------------------------

    async def _serve_http(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if len(self._connections) >= HTTP_MAX_CONNECTIONS or self._stopped:
            writer.close()
            return
        self._connections.add(writer)
        peer = writer.get_extra_info("peername")
        try:
            async with asyncio.timeout(HTTP_HEAD_TIMEOUT):
                try:
                    head = await reader.readuntil(b"\r\n\r\n")
                except asyncio.LimitOverrunError:
                    method, path, status = "", "", 400
                else:
                    method, path, status = self._route(head)
                self._emit(
                    "http_get",
                    {"from": _peer(peer), "method": method, "path": path, "status": status},
                )
                writer.write(self._response(status, method))
                await writer.drain()
        except (TimeoutError, asyncio.IncompleteReadError) as exc:
            log.info("HTTP client %s: no request head (%s)", _peer(peer), type(exc).__name__)
        except OSError as exc:
            log.info("HTTP client %s: %s", _peer(peer), exc)
        finally:
            self._connections.discard(writer)
            writer.close()

    def _route(self, head: bytes) -> tuple[str, str, int]:
        request_line = head.split(b"\r\n", 1)[0]
        parts = request_line.split(b" ")
        if len(parts) != 3 or not parts[2].startswith(b"HTTP/1."):
            return "", "", 400
        try:
            method, target = parts[0].decode("ascii"), parts[1].decode("ascii")
        except UnicodeDecodeError:
            return "", "", 400
        path = urlsplit(target).path
        if method not in ("GET", "HEAD"):
            return method, path, 405
        return method, path, 200 if path == DESCRIPTION_PATH else 404

    def _response(self, status: int, method: str) -> bytes:
        reason = HTTPStatus(status).phrase
        body = self._document if status == 200 else f"{status} {reason}\n".encode()
        content_type = 'text/xml; charset="utf-8"' if status == 200 else "text/plain"
        lines = [
            f"HTTP/1.1 {status} {reason}",
            f"Content-Type: {content_type}",
            f"Content-Length: {len(body)}",
            "Connection: close",
        ]
        if status == 405:
            lines.append("Allow: GET, HEAD")
        head = ("\r\n".join(lines) + "\r\n\r\n").encode()
        return head if method == "HEAD" else head + body


def _peer(peer: object) -> str:
    if isinstance(peer, tuple) and len(peer) >= 2:
        return f"{peer[0]}:{peer[1]}"
    return str(peer)
