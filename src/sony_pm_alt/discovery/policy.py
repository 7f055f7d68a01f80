"""Which SSDP datagrams lead to a description fetch: pure, no sockets, no clock.

:func:`judge` classifies one datagram by itself; :class:`AnnouncementFilter` adds what needs
memory (one fetch per host per repeat window, the link-local hint once per host). A camera is
identified by the UDP source address of its announcement, as the original sony-pm-alt did
(docs/protocol.md §1.4); a LOCATION that points anywhere else is refused before any
connection is made, so a spoofed NOTIFY cannot make us fetch from a third host.
"""

from __future__ import annotations

import ipaddress
import logging
from collections import OrderedDict
from dataclasses import dataclass, replace
from typing import Literal
from urllib.parse import urlsplit

from ..bounded_http import shorten
from ..ssdp.messages import MTP_NULL_SERVICE, SsdpParseError, parse_message

# A hostile LAN can spoof any number of source addresses; the repeat memory forgets hosts
# older than repeat_window, and this cap bounds it even when a flood fills one window
# (200 datagrams/s x 30 s = 6000 would otherwise fit). Evicting early only costs an extra fetch.
MAX_REMEMBERED_HOSTS = 4096
# The link-local hint is logged once per host; this many hosts are remembered for it.
MAX_HINTED_HOSTS = 256
_LINK_LOCAL = ipaddress.IPv4Network("169.254.0.0/16")
_LINK_LOCAL_HINT = (
    "camera at {host} has a link-local address (no DHCP lease): give it a normal address "
    "on this network (check the router's DHCP server, or set an IP address on the camera)"
)

Verdict = Literal["fetch", "repeat", "ignored", "malformed", "rejected", "dropped"]


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
    notify = message.kind == "notify"
    via, announced = ("NOTIFY", message.nt) if notify else ("M-SEARCH reply", message.st)
    announced = announced or ""
    if announced.lower() != MTP_NULL_SERVICE.lower():
        reason = f"ignoring {via} for {shorten(announced, 80)} from {source}"
        return Decision("ignored", reason, source)
    if notify:
        nts = (message.nts or "").lower()
        if nts == "ssdp:byebye":
            return Decision("ignored", f"ignoring ssdp:byebye from {source}", source)
        if nts != "ssdp:alive":
            return Decision(
                "ignored",
                f"ignoring MtpNullService NOTIFY from {source} with NTS {shorten(nts, 40)}",
                source,
                logging.INFO,
            )
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
            f"http ({checked}): {shorten(location)}; not fetched",
            source,
            logging.WARNING,
            via,
            location,
        )
    port, target = checked
    link_local = ipaddress.IPv4Address(source) in _LINK_LOCAL
    return Decision(
        "fetch",
        f"{via} from {source}: fetching {shorten(location)}",
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
    and never more than ``MAX_REMEMBERED_HOSTS``; ``len()`` is its current size.
    """

    def __init__(self, repeat_window: float) -> None:
        self.repeat_window = repeat_window
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
        while len(self._fetched) > MAX_REMEMBERED_HOSTS:
            self._fetched.popitem(last=False)
        return replace(decision, hint=hint)

    def forget(self, host: str) -> None:
        """Let the next announcement from ``host`` be fetched at once."""
        self._fetched.pop(host, None)

    def _prune(self, now: float) -> None:
        while self._fetched and now - next(iter(self._fetched.values())) >= self.repeat_window:
            self._fetched.popitem(last=False)  # the oldest

    def _first_hint(self, host: str) -> bool:
        if host in self._hinted:
            return False
        self._hinted[host] = None
        while len(self._hinted) > MAX_HINTED_HOSTS:
            self._hinted.popitem(last=False)
        return True
