"""Find Sony cameras in "Send to Computer" mode: SSDP listener, description fetch, identity.

Data flows one way: datagram → :class:`Decision` (pure, :func:`judge` and
:class:`AnnouncementFilter`) → description fetch (one worker thread) → :class:`DiscoveredCamera`
→ ``on_camera``. Formats and parsers come from :mod:`sony_pm_alt.ssdp`; ssdpy's own server is
not used (one malformed datagram kills it, it reads 1024 bytes and drops the source address —
``docs/protocol.md`` §17), so this module owns its receive loop.

Everything a LAN peer can send is bounded: datagrams by a kernel socket filter (only payloads
starting with ``NOTI`` or ``HTTP`` are delivered) and by a token bucket per socket that stops
reading while it is empty (the kernel then drops the excess, at no cost to this process),
description fetches by
a queue of ``max_pending`` and one fetch per host per ``repeat_window``, the fetch itself by a
total deadline and a byte limit, the remembered hosts by pruning and a cap, and log lines by a
second token bucket. No rejection is logged with a traceback.

A camera is identified by the UDP source address of its announcement, as the original
sony-pm-alt did (``docs/protocol.md`` §1.4); a LOCATION that points anywhere else is refused
before any connection is made, so a spoofed NOTIFY cannot make us fetch from a third host.
The cool-down after a session is the watcher's job; :meth:`Discovery.forget` lets it ask for
an immediate re-fetch.
"""

from __future__ import annotations

import contextlib
import ctypes
import http.client
import io
import ipaddress
import logging
import math
import queue
import selectors
import socket
import struct
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Literal
from urllib.parse import urlsplit

from sony_pm_alt.errors import FetchError as FetchError  # defined with every other error
from sony_pm_alt.ssdp.description import DescriptionError, parse_description
from sony_pm_alt.ssdp.messages import (
    MAX_DATAGRAM,
    MTP_NULL_SERVICE,
    SSDP_GROUP,
    SSDP_PORT,
    SsdpParseError,
    msearch,
    parse_message,
)

if TYPE_CHECKING:
    from _typeshed import WriteableBuffer

log = logging.getLogger("sony_pm_alt.discovery")

SONY_MANUFACTURER = "Sony Corporation"
# A hostile LAN can spoof any number of source addresses; the repeat memory forgets hosts
# older than repeat_window, and this cap bounds it even when a flood fills one window
# (200 datagrams/s x 30 s = 6000 would otherwise fit). Evicting early only costs an extra fetch.
MAX_REMEMBERED_HOSTS = 4096
# The link-local hint is logged once per host; this many hosts are remembered for it.
MAX_HINTED_HOSTS = 256
# At most this many datagrams are read per socket per wake-up, so stop() is seen during a flood.
_READ_BATCH = 64
# A socket whose share of the datagram budget is spent is not read for this long: the kernel
# drops what overflows its receive buffer, at no cost to this process. A flood then costs the
# budget's worth of datagrams per second, however fast it comes (docs/security.md).
_PAUSE = 0.1
# The group socket's share of datagrams_per_second; the search socket (M-SEARCH replies, on an
# ephemeral port) has the rest, so a flood of port 1900 cannot hide a camera's reply.
_GROUP_SHARE = 0.75
# Linux's SO_ATTACH_FILTER (asm-generic/socket.h); the socket module does not name it.
_SO_ATTACH_FILTER = 26
# Rejection log lines: a burst of this many, then this many per second; the rest are counted
# and the count is appended to the next line that gets through.
_LOG_BURST = 32
_LOG_PER_SECOND = 4.0
# How long stop() waits for each thread; both are daemon threads, so a hung one cannot keep
# the interpreter alive.
_JOIN_TIMEOUT = 2.0
# Poll interval of the fetch worker's queue (it also wakes at once on a job).
_WORKER_POLL = 0.25
_LINK_LOCAL = ipaddress.IPv4Network("169.254.0.0/16")
_LINK_LOCAL_HINT = (
    "camera at {host} has a link-local address (no DHCP lease): give it a normal address "
    "on this network (check the router's DHCP server, or set an IP address on the camera)"
)
_DEFAULT_HOST = f"{SSDP_GROUP}:{SSDP_PORT}"

Verdict = Literal["fetch", "repeat", "ignored", "malformed", "rejected", "dropped"]


@dataclass(frozen=True)
class DiscoveredCamera:
    """A Sony camera announcing MtpNullService, with the identity from its description."""

    host: str
    """UDP source address of the announcement: the address to connect to (PTP/IP port 15740)."""
    location: str
    """The LOCATION URL the description was fetched from (always on ``host``)."""
    udn: str
    serial: str
    model: str
    friendly_name: str
    manufacturer: str


@dataclass(frozen=True)
class DiscoveryConfig:
    """Where to listen and the limits that keep a hostile LAN from costing much."""

    interface: str | None = None
    """IPv4 address of the interface to join the group on and send M-SEARCH from (None: the
    system's choice for the group's route)."""
    group: str = SSDP_GROUP
    port: int = SSDP_PORT
    search_interval: float = 60.0
    """Seconds between M-SEARCHes; the first goes out when :meth:`Discovery.start` runs."""
    description_timeout: float = 4.0
    """Total time allowed for one description fetch (connect, request, headers and body)."""
    max_description_bytes: int = 64 * 1024
    repeat_window: float = 30.0
    """An announcement from a host already fetched within this many seconds is not fetched."""
    max_pending: int = 16
    """Description fetches queued at once; announcements beyond are dropped and counted."""
    datagrams_per_second: float = 200.0
    """Datagrams read per second at most (burst: one second's worth), three quarters for the
    group socket and one for the M-SEARCH socket; while a socket's share is spent it is not
    read and the kernel drops what overflows its buffer (counted in ``/proc/net/udp``, not in
    :attr:`Discovery.stats`)."""

    def __post_init__(self) -> None:
        for name in ("interface", "group"):
            value = getattr(self, name)
            if value is not None:
                try:
                    ipaddress.IPv4Address(value)
                except ValueError:
                    raise ValueError(f"{name} must be an IPv4 address, got {value!r}") from None
        if not 0 < self.port < 65536:
            raise ValueError(f"port must be 1-65535, got {self.port}")
        for name in (
            "search_interval",
            "description_timeout",
            "repeat_window",
            "datagrams_per_second",
        ):
            value = getattr(self, name)
            if not (math.isfinite(value) and value > 0):
                raise ValueError(f"{name} must be a positive number, got {value!r}")
        for name in ("max_description_bytes", "max_pending"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)!r}")


@dataclass(frozen=True)
class Decision:
    """What to do with one datagram. ``reason`` is the one-line log message for it.

    For ``"fetch"`` (and ``"repeat"``), ``port`` and ``target`` say where the description is:
    always ``http://<host>:<port><target>``, ``host`` being the datagram's source.
    """

    verdict: Verdict
    reason: str
    host: str
    level: int = logging.DEBUG
    via: str = ""
    """``"NOTIFY"`` or ``"M-SEARCH reply"`` for announcements."""
    location: str | None = None
    port: int = 80
    target: str = "/"
    hint: str | None = None
    """A hint to log once (the link-local one), set only the first time for a host."""


def _short(value: str, limit: int = 120) -> str:
    return repr(value if len(value) <= limit else value[:limit] + "…")


def check_location(location: str, source: str) -> tuple[int, str] | str:
    """Return ``(port, request target)`` if ``location`` is ``http://<source>[:port]/…``.

    Otherwise return why not (another host, a host name, user info, a scheme other than
    plain ``http``, a bad port or path). Pure: no name resolution, no connection.
    """
    try:
        parts = urlsplit(location)
        port = parts.port
    except ValueError as exc:
        return f"unreadable URL ({exc})"
    if parts.scheme != "http":
        return f"scheme {parts.scheme!r} instead of http" if parts.scheme else "no scheme"
    if "@" in parts.netloc:
        return "user info in the URL"
    hostname = parts.hostname
    if not hostname:
        return "no host"
    try:
        address = ipaddress.IPv4Address(hostname)
    except ValueError:
        return f"host name {hostname!r} instead of the sender's address {source}"
    if str(address) != source:
        return f"host {address} is not the sender {source}"
    if port == 0:
        return "port 0"
    target = parts.path or "/"
    if not target.startswith("/"):
        return "path does not start with /"
    if parts.query:
        target += "?" + parts.query
    if not target.isascii() or any(ch <= " " or ch == "\x7f" for ch in target):
        return "characters not allowed in a request path"
    return (port if port is not None else 80), target


def judge(data: bytes, source: str) -> Decision:
    """Classify one datagram from ``source`` (an IPv4 address); pure and never raises.

    ``"fetch"``: an ``ssdp:alive`` NOTIFY with NT MtpNullService, or an ``HTTP/1.1 200 OK``
    M-SEARCH reply with that ST, whose LOCATION passes :func:`check_location`. ``"ignored"``:
    byebyes, other devices and services, M-SEARCHes (ours looped back included).
    ``"malformed"``: not SSDP. ``"rejected"``: an MtpNullService announcement without a usable
    LOCATION. Repeats are :class:`AnnouncementFilter`'s business.
    """
    try:
        message = parse_message(data)
    except SsdpParseError as exc:
        return Decision(
            "malformed", f"ignoring malformed datagram from {source}: {exc}", source, logging.INFO
        )
    if message.kind == "msearch":
        return Decision("ignored", f"ignoring M-SEARCH from {source}", source)
    if message.kind == "notify":
        nt = message.nt or ""
        if nt.lower() != MTP_NULL_SERVICE.lower():
            return Decision(
                "ignored", f"ignoring NOTIFY for {_short(nt, 80)} from {source}", source
            )
        nts = (message.nts or "").lower()
        if nts == "ssdp:byebye":
            return Decision("ignored", f"ignoring ssdp:byebye from {source}", source)
        if nts != "ssdp:alive":
            return Decision(
                "ignored",
                f"ignoring MtpNullService NOTIFY from {source} with NTS {_short(nts, 40)}",
                source,
                logging.INFO,
            )
        via = "NOTIFY"
    else:
        st = message.st or ""
        if st.lower() != MTP_NULL_SERVICE.lower():
            return Decision(
                "ignored", f"ignoring M-SEARCH reply for {_short(st, 80)} from {source}", source
            )
        via = "M-SEARCH reply"
    location = message.location
    if not location:
        return Decision(
            "rejected",
            f"rejected {via} from {source}: MtpNullService announcement without LOCATION",
            source,
            logging.INFO,
            via,
        )
    checked = check_location(location, source)
    if isinstance(checked, str):
        return Decision(
            "rejected",
            f"rejected {via} from {source}: LOCATION points at another host or is not plain "
            f"http ({checked}): {_short(location)}; not fetched",
            source,
            logging.WARNING,
            via,
            location,
        )
    port, target = checked
    link_local = ipaddress.IPv4Address(source) in _LINK_LOCAL
    return Decision(
        "fetch",
        f"{via} from {source}: fetching {_short(location)}",
        source,
        logging.DEBUG,
        via,
        location,
        port,
        target,
        _LINK_LOCAL_HINT.format(host=source) if link_local else None,
    )


class AnnouncementFilter:
    """:func:`judge` plus the repeat window and the once-per-host link-local hint.

    Holds no sockets and reads no clock: :meth:`decide` gets the time. The repeat memory
    keeps only hosts fetched within ``repeat_window`` (older ones are pruned on every call)
    and never more than ``max_hosts``; ``len()`` is its current size.
    """

    def __init__(
        self,
        repeat_window: float,
        max_hosts: int = MAX_REMEMBERED_HOSTS,
        max_hinted: int = MAX_HINTED_HOSTS,
    ) -> None:
        self.repeat_window = repeat_window
        self._max_hosts = max_hosts
        self._max_hinted = max_hinted
        # host → time of its last fetch decision, oldest first (times only grow, and an entry
        # is written once per window, so the front is always the oldest).
        self._fetched: OrderedDict[str, float] = OrderedDict()
        self._hinted: OrderedDict[str, None] = OrderedDict()

    def __len__(self) -> int:
        return len(self._fetched)

    def decide(self, data: bytes, source: str, now: float) -> Decision:
        """Judge ``data`` from ``source`` at time ``now`` (seconds, monotonic)."""
        decision = judge(data, source)
        if decision.verdict != "fetch":
            return decision
        self._prune(now)
        hint = decision.hint if decision.hint and self._first_hint(source) else None
        if source in self._fetched:
            age = now - self._fetched[source]
            return replace(
                decision,
                verdict="repeat",
                reason=f"{decision.via} from {source}: already fetched {age:.1f} s ago",
                hint=hint,
            )
        self._fetched[source] = now
        while len(self._fetched) > self._max_hosts:
            self._fetched.popitem(last=False)
        return replace(decision, hint=hint)

    def forget(self, host: str) -> None:
        """Let the next announcement from ``host`` be fetched at once."""
        self._fetched.pop(host, None)

    def _prune(self, now: float) -> None:
        while self._fetched:
            oldest = next(iter(self._fetched.values()))
            if now - oldest < self.repeat_window:
                break
            self._fetched.popitem(last=False)

    def _first_hint(self, host: str) -> bool:
        if host in self._hinted:
            return False
        self._hinted[host] = None
        while len(self._hinted) > self._max_hinted:
            self._hinted.popitem(last=False)
        return True


class TokenBucket:
    """``burst`` tokens, refilled at ``rate`` per second; :meth:`take` gets the time."""

    def __init__(self, rate: float, burst: float, now: float) -> None:
        self._rate = rate
        self._burst = burst
        self._tokens = burst
        self._stamp = now

    def take(self, now: float) -> bool:
        """Take one token if there is one."""
        elapsed = max(0.0, now - self._stamp)
        self._tokens = min(self._burst, self._tokens + elapsed * self._rate)
        self._stamp = max(self._stamp, now)
        if self._tokens < 1.0:
            return False
        self._tokens -= 1.0
        return True


class _LogLimiter:
    """Rejection log lines through a token bucket; suppressed ones are counted."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._bucket = TokenBucket(_LOG_PER_SECOND, _LOG_BURST, time.monotonic())
        self._suppressed = 0

    def log(self, level: int, message: str) -> None:
        if level < logging.INFO:
            log.log(level, "%s", message)  # debug lines are opt-in; never limited
            return
        if not log.isEnabledFor(level):
            return
        with self._lock:
            if not self._bucket.take(time.monotonic()):
                self._suppressed += 1
                return
            suppressed, self._suppressed = self._suppressed, 0
        if suppressed:
            message += f" ({suppressed} similar messages suppressed)"
        log.log(level, "%s", message)


@dataclass(frozen=True)
class _Job:
    host: str
    port: int
    target: str
    location: str
    via: str


class _DeadlineReader(io.RawIOBase):
    """Socket reads that all end by one deadline, however slowly the peer trickles bytes.

    Reads go through the socket's own ``makefile`` object, which keeps the socket open after
    http.client closes the connection (as it does for a response that ends at close).
    """

    def __init__(self, sock: socket.socket, deadline: float) -> None:
        super().__init__()
        self._sock = sock
        self._raw = sock.makefile("rb", buffering=0)
        self._deadline = deadline

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: WriteableBuffer) -> int | None:
        remaining = self._deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError("time limit reached")
        self._sock.settimeout(remaining)
        return self._raw.readinto(buffer)

    def close(self) -> None:
        self._raw.close()
        super().close()


def _response_class(deadline: float) -> type[http.client.HTTPResponse]:
    class _Response(http.client.HTTPResponse):
        def __init__(
            self,
            sock: socket.socket,
            debuglevel: int = 0,
            method: str | None = None,
            url: str | None = None,
        ) -> None:
            super().__init__(sock, debuglevel, method, url)
            self.fp.close()  # the plain makefile() reader; replaced by one with the deadline
            self.fp = io.BufferedReader(_DeadlineReader(sock, deadline))

    return _Response


def fetch_description(
    host: str,
    port: int,
    target: str,
    *,
    timeout: float,
    max_bytes: int,
    on_connect: Callable[[socket.socket], None] | None = None,
) -> bytes:
    """GET ``http://host:port/target`` and return the body; raise :class:`FetchError`.

    Plain :mod:`http.client`: no proxy is consulted and redirects are not followed (a 3xx is
    an error). ``timeout`` bounds the whole exchange; at most ``max_bytes`` + 1 bytes of body
    are read (one more means oversized). ``on_connect`` receives the connected socket, so
    another thread can shut it down to abort the fetch.
    """
    deadline = time.monotonic() + timeout
    connection = http.client.HTTPConnection(host, port, timeout=timeout)
    connection.response_class = _response_class(deadline)
    try:
        connection.connect()
        if on_connect is not None:
            on_connect(connection.sock)
        connection.request(
            "GET",
            target,
            headers={
                "Host": f"{host}:{port}",
                "Accept": "text/xml, */*",
                "User-Agent": "sony-pm-alt",
                "Connection": "close",
            },
        )
        response = connection.getresponse()
        if response.status != 200:
            raise FetchError(f"HTTP {response.status} {_short(response.reason, 40)}")
        if response.length is not None and response.length > max_bytes:
            raise FetchError(
                f"oversized: Content-Length {response.length} exceeds {max_bytes} bytes"
            )
        body = bytearray()
        while True:
            chunk = response.read1(max_bytes + 1 - len(body))
            if not chunk:
                return bytes(body)
            body += chunk
            if len(body) > max_bytes:
                raise FetchError(f"oversized: more than {max_bytes} bytes")
    except TimeoutError:
        raise FetchError(f"no complete answer within {timeout:g} s") from None
    except (OSError, http.client.HTTPException, ValueError) as exc:
        raise FetchError(f"{type(exc).__name__}: {_short(str(exc), 80)}") from None
    finally:
        connection.close()


def _search_payload(group: str, port: int) -> bytes:
    """The M-SEARCH airnef sends (docs/protocol.md §1.3), addressed to ``group:port``."""
    payload = msearch(MTP_NULL_SERVICE, 1)
    host = f"{group}:{port}"
    return (
        payload if host == _DEFAULT_HOST else payload.replace(_DEFAULT_HOST.encode(), host.encode())
    )


def _attach_prefix_filter(sock: socket.socket) -> bool:
    """Let the kernel drop every datagram that does not start with ``NOTI`` or ``HTTP``.

    A classic BPF socket filter: it runs before the datagram is queued, so M-SEARCHes of other
    hosts, junk and empty datagrams never wake this process. For a UDP socket the program sees
    the UDP header first: the payload starts at offset 8. A payload shorter than 4 bytes makes
    the load fail, which drops it. Returns False where the kernel refuses (not Linux).
    """
    program = (
        (0x20, 0, 0, 8),  # ld  [8]      (BPF_LD | BPF_W | BPF_ABS): payload bytes 0-3
        (0x15, 2, 0, int.from_bytes(b"NOTI", "big")),  # jeq  → accept
        (0x15, 1, 0, int.from_bytes(b"HTTP", "big")),  # jeq  → accept
        (0x06, 0, 0, 0),  # ret #0       drop
        (0x06, 0, 0, 0xFFFFFFFF),  # ret #-1  accept, whole datagram
    )
    code = ctypes.create_string_buffer(b"".join(struct.pack("HBBI", *op) for op in program))
    fprog = struct.pack("HL", len(program), ctypes.addressof(code))  # struct sock_fprog
    try:
        sock.setsockopt(socket.SOL_SOCKET, _SO_ATTACH_FILTER, fprog)
    except OSError as exc:
        log.debug("no kernel filter on the SSDP socket (%s); filtering in Python only", exc)
        return False
    return True


def _group_socket(config: DiscoveryConfig) -> socket.socket:
    """Bound to ``('', port)``, joined to the group, multicast TTL 2 and loop on."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM, socket.IPPROTO_UDP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        iface = socket.inet_aton(config.interface or "0.0.0.0")
        sock.setsockopt(
            socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, socket.inet_aton(config.group) + iface
        )
        _multicast_options(sock, config)
        _attach_prefix_filter(sock)
        sock.bind(("", config.port))
        sock.setblocking(False)
    except BaseException:
        sock.close()
        raise
    return sock


def _search_socket(config: DiscoveryConfig) -> socket.socket:
    """An ephemeral port for M-SEARCH: replies are unicast to the sender, and a socket sharing
    port 1900 with other listeners (SO_REUSEADDR) would get only some of them."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM, socket.IPPROTO_UDP)
    try:
        _multicast_options(sock, config)
        _attach_prefix_filter(sock)
        sock.bind((config.interface or "", 0))
        sock.setblocking(False)
    except BaseException:
        sock.close()
        raise
    return sock


def _multicast_options(sock: socket.socket, config: DiscoveryConfig) -> None:
    if config.interface is not None:
        sock.setsockopt(
            socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton(config.interface)
        )
    sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, 2)
    sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_LOOP, 1)


_COUNTERS = ("datagrams", "ignored", "malformed", "rejected", "dropped", "fetched", "cameras")


@dataclass
class _Sockets:
    group: socket.socket
    search: socket.socket
    wake_read: socket.socket
    wake_write: socket.socket

    def close(self) -> None:
        for sock in (self.group, self.search, self.wake_read, self.wake_write):
            sock.close()


class Discovery:
    """Listen for Sony cameras on the SSDP group and report each one to ``on_camera``.

    ``on_camera`` runs on the fetch worker thread, once per host per ``repeat_window`` (and
    again after :meth:`forget`); an exception in it is logged, never propagated. One object
    runs once: :meth:`start`, then :meth:`stop`.

    :attr:`stats` counts ``datagrams`` (all received), ``ignored`` (other devices, byebyes,
    M-SEARCHes, repeats, non-Sony descriptions), ``malformed``, ``rejected`` (bad LOCATION,
    failed, oversized or unusable descriptions), ``dropped`` (over the datagram rate or the
    fetch queue), ``fetched`` (description fetches attempted) and ``cameras`` (reported).
    """

    def __init__(
        self, config: DiscoveryConfig, on_camera: Callable[[DiscoveredCamera], None]
    ) -> None:
        self.config = config
        self._on_camera = on_camera
        now = time.monotonic()
        self._filter = AnnouncementFilter(config.repeat_window)
        self._filter_lock = threading.Lock()
        self._bucket = TokenBucket(
            config.datagrams_per_second, max(1.0, config.datagrams_per_second), now
        )
        self._logs = _LogLimiter()
        self._jobs: queue.Queue[_Job] = queue.Queue(maxsize=config.max_pending)
        self._stats = dict.fromkeys(_COUNTERS, 0)
        self._stats_lock = threading.Lock()
        # Queued plus running fetches, for wait_idle().
        self._busy = 0
        self._idle = threading.Condition()
        self._state_lock = threading.Lock()
        self._started = False
        self._stopping = threading.Event()
        self._sockets: _Sockets | None = None
        self._threads: list[threading.Thread] = []
        self._active: socket.socket | None = None
        self._payload = _search_payload(config.group, config.port)

    @property
    def stats(self) -> dict[str, int]:
        """A snapshot of the counters."""
        with self._stats_lock:
            return dict(self._stats)

    def start(self) -> None:
        """Open the sockets, start the receive thread and the fetch worker, send an M-SEARCH.

        Raises ``OSError`` if a socket cannot be set up (nothing is left open then) and
        ``RuntimeError`` if called twice or after :meth:`stop`.
        """
        with self._state_lock:
            if self._started or self._stopping.is_set():
                raise RuntimeError("a Discovery can be started once")
            self._started = True
        group = _group_socket(self.config)
        opened = [group]
        try:
            search = _search_socket(self.config)
            opened.append(search)
            wake_read, wake_write = socket.socketpair()
        except BaseException:
            for sock in opened:
                sock.close()
            raise
        wake_read.setblocking(False)
        self._sockets = _Sockets(group, search, wake_read, wake_write)
        self._threads = [
            threading.Thread(target=self._receive_loop, name="ssdp-discovery", daemon=True),
            threading.Thread(target=self._fetch_loop, name="ssdp-describe", daemon=True),
        ]
        for thread in self._threads:
            thread.start()
        self.search()

    def stop(self) -> None:
        """Stop both threads (waiting a bounded time) and close the sockets. Idempotent."""
        with self._state_lock:
            if self._stopping.is_set():
                return
            self._stopping.set()
        sockets = self._sockets
        if sockets is not None:
            with contextlib.suppress(OSError):
                sockets.wake_write.send(b"x")
        self._abort_fetch()
        for thread in self._threads:
            thread.join(_JOIN_TIMEOUT)
            if thread.is_alive():
                log.warning("discovery thread %s did not stop in time", thread.name)
        if sockets is not None:
            sockets.close()

    def search(self) -> None:
        """Send one M-SEARCH for MtpNullService (MX 1) to the group; errors are logged."""
        sockets = self._sockets
        if sockets is None:
            raise RuntimeError("Discovery.search() needs start() first")
        if self._stopping.is_set():
            return
        try:
            sockets.search.sendto(self._payload, (self.config.group, self.config.port))
        except OSError as exc:
            log.warning(
                "cannot send M-SEARCH to %s:%d: %s", self.config.group, self.config.port, exc
            )

    def forget(self, host: str) -> None:
        """Let the next announcement from ``host`` be fetched at once (e.g. after a session)."""
        with self._filter_lock:
            self._filter.forget(host)

    def wait_idle(self, timeout: float) -> bool:
        """Wait until no description fetch is queued or running; False if ``timeout`` passed."""
        with self._idle:
            return self._idle.wait_for(lambda: self._busy == 0, timeout)

    # --- receiving ------------------------------------------------------------------------

    def _count(self, name: str) -> None:
        with self._stats_lock:
            self._stats[name] += 1

    def _receive_loop(self) -> None:
        sockets = self._sockets
        assert sockets is not None
        selector = selectors.DefaultSelector()
        rate = self.config.datagrams_per_second
        now = time.monotonic()
        # Each socket reads at most its share of the budget; a socket whose share is spent is
        # taken out of the selector until resume time (see _PAUSE).
        budgets = {
            sockets.group: TokenBucket(rate * _GROUP_SHARE, max(1.0, rate * _GROUP_SHARE), now),
            sockets.search: TokenBucket(
                rate * (1 - _GROUP_SHARE), max(1.0, rate * (1 - _GROUP_SHARE)), now
            ),
        }
        paused: dict[socket.socket, float] = {}
        try:
            for sock in (sockets.group, sockets.search, sockets.wake_read):
                selector.register(sock, selectors.EVENT_READ)
            next_search = time.monotonic() + self.config.search_interval
            while not self._stopping.is_set():
                now = time.monotonic()
                for sock, resume in list(paused.items()):
                    if now >= resume:
                        del paused[sock]
                        selector.register(sock, selectors.EVENT_READ)
                wake = min([next_search, *paused.values()])
                for key, _ in selector.select(max(0.0, wake - now)):
                    if key.fileobj is sockets.wake_read:
                        continue
                    assert isinstance(key.fileobj, socket.socket)
                    if not self._drain(key.fileobj, budgets[key.fileobj]):
                        selector.unregister(key.fileobj)
                        paused[key.fileobj] = time.monotonic() + _PAUSE
                if not self._stopping.is_set() and time.monotonic() >= next_search:
                    self.search()
                    next_search = time.monotonic() + self.config.search_interval
        except Exception:  # a bug here must be visible, and must not hang stop()
            log.exception("SSDP receive loop failed; discovery stopped")
        finally:
            selector.close()

    def _drain(self, sock: socket.socket, budget: TokenBucket) -> bool:
        """Read what is waiting, within ``budget``; False when the budget is spent."""
        for _ in range(_READ_BATCH):
            if not budget.take(time.monotonic()):
                self._logs.log(
                    logging.WARNING,
                    f"more than {self.config.datagrams_per_second:g} SSDP datagrams per second: "
                    "reading paused, the kernel drops the excess",
                )
                return False
            try:
                # One byte more than the parser accepts, so a longer datagram is refused rather
                # than silently truncated.
                data, addr = sock.recvfrom(MAX_DATAGRAM + 1)
            except (BlockingIOError, InterruptedError):
                return True
            except OSError as exc:
                self._logs.log(logging.WARNING, f"SSDP socket error: {exc}")
                return True
            try:
                self._handle_datagram(data, str(addr[0]), time.monotonic())
            except Exception:  # one datagram must never end the loop
                log.exception("error while handling a datagram from %s", addr[0])
        return True

    def _handle_datagram(self, data: bytes, source: str, now: float) -> Decision:
        """Count, rate-limit, judge, log and maybe queue a fetch for one datagram."""
        self._count("datagrams")
        if not self._bucket.take(now):
            self._count("dropped")
            reason = (
                f"dropping datagrams: more than {self.config.datagrams_per_second:g} per second"
            )
            self._logs.log(logging.WARNING, reason)
            return Decision("dropped", reason, source, logging.WARNING)
        with self._filter_lock:
            decision = self._filter.decide(data, source, now)
        self._logs.log(decision.level, decision.reason)
        if decision.hint is not None:
            self._logs.log(logging.WARNING, decision.hint)
        if decision.verdict == "repeat":
            self._count("ignored")
        elif decision.verdict != "fetch":
            self._count(decision.verdict)
        else:
            assert decision.location is not None
            job = _Job(source, decision.port, decision.target, decision.location, decision.via)
            with self._idle:
                try:
                    self._jobs.put_nowait(job)
                except queue.Full:
                    pass
                else:
                    self._busy += 1
                    return decision
            # Not fetched, so not remembered: a later announcement may try again.
            self.forget(source)
            self._count("dropped")
            reason = (
                f"dropping {decision.via} from {source}: {self.config.max_pending} "
                "description fetches already queued"
            )
            self._logs.log(logging.WARNING, reason)
            return replace(decision, verdict="dropped", reason=reason, level=logging.WARNING)
        return decision

    # --- fetching -------------------------------------------------------------------------

    def _fetch_loop(self) -> None:
        while not self._stopping.is_set():
            try:
                job = self._jobs.get(timeout=_WORKER_POLL)
            except queue.Empty:
                continue
            try:
                if not self._stopping.is_set():
                    self._describe(job)
            except Exception:  # a bug must not end the worker
                log.exception("error while fetching the description from %s", job.host)
            finally:
                with self._idle:
                    self._busy -= 1
                    self._idle.notify_all()

    def _set_active(self, sock: socket.socket) -> None:
        with self._state_lock:
            self._active = sock
        if self._stopping.is_set():
            self._abort_fetch()

    def _abort_fetch(self) -> None:
        # shutdown() wakes a recv() blocked in the worker; close() from here would not.
        with self._state_lock:
            sock = self._active
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    def _describe(self, job: _Job) -> None:
        self._count("fetched")
        config = self.config
        try:
            body = fetch_description(
                job.host,
                job.port,
                job.target,
                timeout=config.description_timeout,
                max_bytes=config.max_description_bytes,
                on_connect=self._set_active,
            )
        except FetchError as exc:
            if self._stopping.is_set():
                return
            self._count("rejected")
            self._logs.log(
                logging.WARNING,
                f"rejected description from {job.host} ({_short(job.location)}): {exc}",
            )
            return
        finally:
            with self._state_lock:
                self._active = None
        if self._stopping.is_set():
            return  # stop() may have cut the body short
        try:
            description = parse_description(body, config.max_description_bytes)
        except DescriptionError as exc:
            self._count("rejected")
            self._logs.log(
                logging.WARNING,
                f"rejected description from {job.host} ({_short(job.location)}): {exc}",
            )
            return
        if description.manufacturer != SONY_MANUFACTURER:
            self._count("ignored")
            self._logs.log(
                logging.INFO,
                f"ignoring {job.host}: manufacturer is {_short(description.manufacturer, 60)}, "
                f"not {SONY_MANUFACTURER}",
            )
            return
        camera = DiscoveredCamera(
            host=job.host,
            location=job.location,
            udn=description.udn,
            serial=description.serial_number,
            model=description.model_name,
            friendly_name=description.friendly_name,
            manufacturer=description.manufacturer,
        )
        self._count("cameras")
        self._logs.log(
            logging.INFO,
            f"found {_short(camera.model, 60)} (serial {_short(camera.serial, 60)}) at "
            f"{camera.host} via {job.via}",
        )
        try:
            self._on_camera(camera)
        except Exception:
            log.exception("on_camera failed for the camera at %s", camera.host)


def discover(config: DiscoveryConfig, timeout: float) -> list[DiscoveredCamera]:
    """Listen and M-SEARCH for ``timeout`` seconds; return the cameras found, in order.

    Fetches still running when ``timeout`` ends get up to ``description_timeout`` more. A
    camera seen twice (only possible when ``timeout`` exceeds ``repeat_window``) is listed
    once, with its latest details.
    """
    found: dict[tuple[str, str], DiscoveredCamera] = {}
    lock = threading.Lock()

    def on_camera(camera: DiscoveredCamera) -> None:
        with lock:
            found.pop((camera.host, camera.udn), None)
            found[(camera.host, camera.udn)] = camera

    discovery = Discovery(config, on_camera)
    discovery.start()
    try:
        threading.Event().wait(timeout)
        discovery.wait_idle(config.description_timeout)
    finally:
        discovery.stop()
    with lock:
        return list(found.values())
