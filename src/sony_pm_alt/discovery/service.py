"""The discovery service: two SSDP sockets, a receive thread and a description worker.

Data flows one way: datagram → :mod:`.policy` (what to do with it) → :mod:`.describe` (one
worker thread) → :class:`DiscoveredCamera` → ``on_camera``. Formats and parsers come from
:mod:`sony_pm_alt.ssdp`; ssdpy's own server is not used (one malformed datagram kills it, it
reads 1024 bytes and drops the source address — docs/protocol.md §17), so this module owns its
receive loop.

Everything a LAN peer can send is bounded (docs/security.md tells how, and what a flood
costs); no rejection is logged with a traceback. The cool-down after a session is the
watcher's job; :meth:`Discovery.forget` lets it ask for an immediate re-fetch.
"""

from __future__ import annotations

import contextlib
import functools
import ipaddress
import logging
import math
import queue
import selectors
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace

from ..bounded_http import shorten
from ..ssdp.messages import MAX_DATAGRAM, MTP_NULL_SERVICE, SSDP_GROUP, SSDP_PORT, msearch
from ..ssdp.ratelimit import LimitedLog, TokenBucket
from ..ssdp.sockets import multicast_socket
from .describe import DiscoveredCamera, NotACamera, describe
from .policy import AnnouncementFilter, Decision

log = logging.getLogger("sony_pm_alt.discovery")

# At most this many datagrams are read per socket per wake-up, so stop() is seen during a flood.
_READ_BATCH = 64
# A socket whose share of the datagram budget is spent is not read for this long: the kernel
# drops what overflows its receive buffer, at no cost to this process. A flood then costs the
# budget's worth of datagrams per second, however fast it comes (docs/security.md).
_PAUSE = 0.1
# The group socket's share of datagrams_per_second; the search socket (M-SEARCH replies, on an
# ephemeral port) has the rest, so a flood of port 1900 cannot hide a camera's reply.
_GROUP_SHARE = 0.75
# Rejection log lines: a burst of this many, then this many per second; the rest are counted
# and the count is appended to the next line that gets through.
_LOG_BURST = 32
_LOG_PER_SECOND = 4.0
# How long stop() waits for each thread; both are daemon threads, so a hung one cannot keep
# the interpreter alive.
_JOIN_TIMEOUT = 2.0
# Poll interval of the fetch worker's queue (it also wakes at once on a job).
_WORKER_POLL = 0.25
_COUNTERS = ("datagrams", "ignored", "malformed", "rejected", "dropped", "fetched", "cameras")


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
    runs once: :meth:`start`, then :meth:`stop`. :meth:`receive` takes one datagram without
    any socket (the receive thread calls it; so can a test or a capture replay).

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
        # One lock for all state the receive thread, the fetch worker and callers share (the
        # repeat memory, the counters, the fetch count, the lifecycle and the socket being
        # fetched from): no step holds it while doing I/O or calling out, so one is enough and
        # there is no lock order to get wrong. The log limiter has its own (it is called from
        # both threads outside this one), and the job queue is a queue.Queue.
        self._lock = threading.Condition()
        self._filter = AnnouncementFilter(config.repeat_window)
        self._bucket = TokenBucket(
            config.datagrams_per_second, max(1.0, config.datagrams_per_second), now
        )
        self._logs = LimitedLog(log, _LOG_PER_SECOND, _LOG_BURST, now)
        self._jobs: queue.Queue[Decision] = queue.Queue(maxsize=config.max_pending)
        self._stats = dict.fromkeys(_COUNTERS, 0)
        self._busy = 0  # queued plus running fetches, for wait_idle()
        self._started = False
        self._stopping = threading.Event()
        self._sockets: _Sockets | None = None
        self._threads: list[threading.Thread] = []
        self._active: socket.socket | None = None
        self._payload = msearch(MTP_NULL_SERVICE, 1, group=config.group, port=config.port)

    @property
    def stats(self) -> dict[str, int]:
        """A snapshot of the counters."""
        with self._lock:
            return dict(self._stats)

    @property
    def remembered(self) -> int:
        """Hosts in the repeat memory now (bounded: see ``policy.MAX_REMEMBERED_HOSTS``)."""
        with self._lock:
            return len(self._filter)

    @property
    def pending(self) -> int:
        """Description fetches queued now, not counting the one running (at most
        ``max_pending``)."""
        return self._jobs.qsize()

    def start(self) -> None:
        """Open the sockets, start the receive thread and the fetch worker, send an M-SEARCH.

        Raises ``OSError`` if a socket cannot be set up (nothing is left open then) and
        ``RuntimeError`` if called twice or after :meth:`stop`.
        """
        with self._lock:
            if self._started or self._stopping.is_set():
                raise RuntimeError("a Discovery can be started once")
            self._started = True
        config = self.config
        ssdp_socket = functools.partial(
            multicast_socket,
            group=config.group,
            port=config.port,
            interface=config.interface,
            announcements_only=True,
        )
        with contextlib.ExitStack() as opened:  # closed again if a later one fails
            group = opened.enter_context(ssdp_socket())
            search = opened.enter_context(ssdp_socket(join=False))
            wake_read, wake_write = socket.socketpair()
            opened.pop_all()
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
        with self._lock:
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
        with self._lock:
            self._filter.forget(host)

    def wait_idle(self, timeout: float) -> bool:
        """Wait until no description fetch is queued or running; False if ``timeout`` passed."""
        with self._lock:
            return self._lock.wait_for(lambda: self._busy == 0, timeout)

    def receive(self, data: bytes, source: str, now: float | None = None) -> Decision:
        """Handle one datagram from ``source`` (an IPv4 address) at ``now`` (monotonic seconds;
        None: the clock): count it, rate-limit, judge, log, and maybe queue a fetch.

        Never blocks (a full queue drops the fetch) and never raises for any ``data``. The
        fetch runs on the worker thread, so it needs :meth:`start`; without it a queued job
        only waits (and counts towards ``max_pending``).
        """
        now = time.monotonic() if now is None else now
        with self._lock:
            self._stats["datagrams"] += 1
            if not self._bucket.take(now):
                self._stats["dropped"] += 1
                decision = None
            else:
                decision = self._filter.decide(data, source, now)
        if decision is None:
            reason = (
                f"dropping datagrams: more than {self.config.datagrams_per_second:g} per second"
            )
            self._log(logging.WARNING, reason)
            return Decision("dropped", reason, source, logging.WARNING)
        self._log(decision.level, decision.reason)
        if decision.hint is not None:
            self._log(logging.WARNING, decision.hint)
        if decision.verdict == "fetch":
            return self._queue(decision)
        self._count("ignored" if decision.verdict == "repeat" else decision.verdict)
        return decision

    # --- receiving ------------------------------------------------------------------------

    def _count(self, name: str) -> None:
        with self._lock:
            self._stats[name] += 1

    def _log(self, level: int, message: str) -> None:
        self._logs.log(level, message, time.monotonic())

    def _queue(self, decision: Decision) -> Decision:
        source = decision.host
        with self._lock:
            try:
                self._jobs.put_nowait(decision)
            except queue.Full:
                # Not fetched, so not remembered: a later announcement may try again.
                self._filter.forget(source)
                self._stats["dropped"] += 1
            else:
                self._busy += 1
                return decision
        reason = (
            f"dropping {decision.via} from {source}: {self.config.max_pending} "
            "description fetches already queued"
        )
        self._log(logging.WARNING, reason)
        return replace(decision, verdict="dropped", reason=reason, level=logging.WARNING)

    def _receive_loop(self) -> None:
        sockets = self._sockets
        assert sockets is not None
        selector = selectors.DefaultSelector()
        rate = self.config.datagrams_per_second
        now = time.monotonic()
        # Each socket reads at most its share of the budget; a socket whose share is spent is
        # taken out of the selector until resume time (see _PAUSE).
        shares = {sockets.group: rate * _GROUP_SHARE, sockets.search: rate * (1 - _GROUP_SHARE)}
        budgets = {sock: TokenBucket(r, max(1.0, r), now) for sock, r in shares.items()}
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
                self._log(
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
                self._log(logging.WARNING, f"SSDP socket error: {exc}")
                return True
            try:
                self.receive(data, str(addr[0]))
            except Exception:  # one datagram must never end the loop
                log.exception("error while handling a datagram from %s", addr[0])
        return True

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
                with self._lock:
                    self._busy -= 1
                    self._lock.notify_all()

    def _set_active(self, sock: socket.socket) -> None:
        with self._lock:
            self._active = sock
        if self._stopping.is_set():
            self._abort_fetch()

    def _abort_fetch(self) -> None:
        # shutdown() wakes a recv() blocked in the worker; close() from here would not.
        with self._lock:
            sock = self._active
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    def _describe(self, job: Decision) -> None:
        self._count("fetched")
        try:
            camera = describe(
                job,
                timeout=self.config.description_timeout,
                max_bytes=self.config.max_description_bytes,
                on_connect=self._set_active,
            )
        except NotACamera as exc:
            if not self._stopping.is_set():  # stop() may have cut the answer short
                self._count(exc.counter)
                self._log(logging.INFO if exc.counter == "ignored" else logging.WARNING, str(exc))
            return
        finally:
            with self._lock:
                self._active = None
        if self._stopping.is_set():
            return
        self._count("cameras")
        self._log(
            logging.INFO,
            f"found {shorten(camera.model, 60)} (serial {shorten(camera.serial, 60)}) at "
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
