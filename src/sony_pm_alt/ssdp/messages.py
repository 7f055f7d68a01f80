"""SSDP datagrams as a Sony camera sends them, and a hardened parser for any SSDP datagram.

Sans-IO: functions build and parse ``bytes``; the caller owns the sockets. The datagrams are
the camera's byte for byte (docs/protocol.md §1.1–§1.3); parsing is ssdpy's behind the checks
it does not make, each failure one :class:`SsdpParseError` (why: docs/protocol.md §17).
"""

from __future__ import annotations

import re
import types
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from ssdpy.constants import ipv4_multicast_ip
from ssdpy.http_helper import parse_headers

SSDP_GROUP: str = ipv4_multicast_ip  # 239.255.255.250
SSDP_PORT = 1900
MTP_NULL_SERVICE = "urn:microsoft-com:service:MtpNullService:1"
MTP_DEVICE = "urn:microsoft-com:device:mtp:1"
ROOT_DEVICE = "upnp:rootdevice"
SSDP_ALL = "ssdp:all"
SONY_SERVER = "FedoraCore/2 UPnP/1.0 MINT-X/1.8.1"
# ssdpy reads 1024 bytes and silently truncates; real Sony NOTIFYs are ~300 bytes, and nothing
# legitimate on the group comes close to this, so anything longer is refused, not truncated.
MAX_DATAGRAM = 8192

_HOST = f"{SSDP_GROUP}:{SSDP_PORT}"
_UDN_PREFIX = "uuid:00000000-0001-0010-8000-"
_START_LINES: dict[str, Literal["notify", "msearch", "response"]] = {
    "NOTIFY * HTTP/1.1": "notify",
    "M-SEARCH * HTTP/1.1": "msearch",
    "HTTP/1.1 200 OK": "response",
}
# RFC 9110 token: what a header name may consist of.
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")


class SsdpParseError(ValueError):
    """A datagram is not a well-formed SSDP message; ``str(exc)`` is a one-line reason."""


def udn_from_mac(mac: bytes) -> str:
    """Return the UDN a Sony body derives from its 6-byte WLAN MAC (docs/protocol.md §1.1)."""
    if len(mac) != 6:
        raise ValueError(f"a MAC address has 6 bytes, got {len(mac)}")
    return _UDN_PREFIX + mac.hex()


def _targets(udn: str) -> list[tuple[str, str]]:
    """The four (NT, USN) pairs a Sony body announces, in its order."""
    return [(nt, _usn(nt, udn)) for nt in (udn, ROOT_DEVICE, MTP_DEVICE, MTP_NULL_SERVICE)]


def _usn(nt: str, udn: str) -> str:
    return udn if nt == udn else f"{udn}::{nt}"


def _check(**fields: str) -> None:
    for name, value in fields.items():
        if _CONTROL.search(value):
            raise ValueError(f"{name} must not contain control characters: {value!r}")


def _datagram(*lines: str) -> bytes:
    return ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8")


def alive_messages(udn: str, location: str, max_age: int = 1800) -> list[bytes]:
    """Return the four ``NOTIFY ssdp:alive`` datagrams of one announcement round."""
    _check(udn=udn, location=location)
    return [
        _datagram(
            "NOTIFY * HTTP/1.1",
            f"HOST: {_HOST}",
            f"CACHE-CONTROL: max-age={max_age}",
            f"LOCATION: {location}",
            f"NT: {nt}",
            "NTS: ssdp:alive",
            f"SERVER: {SONY_SERVER}",
            f"USN: {usn}",
        )
        for nt, usn in _targets(udn)
    ]


def byebye_messages(udn: str) -> list[bytes]:
    """Return the four ``NOTIFY ssdp:byebye`` datagrams (no LOCATION, SERVER or CACHE-CONTROL)."""
    _check(udn=udn)
    return [
        _datagram(
            "NOTIFY * HTTP/1.1", f"HOST: {_HOST}", f"NT: {nt}", "NTS: ssdp:byebye", f"USN: {usn}"
        )
        for nt, usn in _targets(udn)
    ]


def msearch(
    st: str = MTP_NULL_SERVICE, mx: int = 1, *, group: str = SSDP_GROUP, port: int = SSDP_PORT
) -> bytes:
    """Return an M-SEARCH request as airnef sends it (docs/protocol.md §1.3), to ``group``."""
    _check(st=st, group=group)
    return _datagram(
        "M-SEARCH * HTTP/1.1",
        f"HOST: {group}:{port}",
        'MAN: "ssdp:discover"',
        f"ST: {st}",
        f"MX: {mx}",
        "USER-AGENT: Windows/7.0/7.0",
    )


def msearch_reply(st: str, udn: str, location: str, max_age: int = 1800) -> bytes:
    """Return the unicast ``HTTP/1.1 200 OK`` reply for one matched search target ``st``."""
    _check(st=st, udn=udn, location=location)
    return _datagram(
        "HTTP/1.1 200 OK",
        f"CACHE-CONTROL: max-age={max_age}",
        "EXT:",
        f"LOCATION: {location}",
        f"SERVER: {SONY_SERVER}",
        f"ST: {st}",
        f"USN: {_usn(st, udn)}",
    )


def search_targets_matched(st: str, udn: str) -> list[str]:
    """Return the announced NTs that answer an M-SEARCH for ``st``.

    ``ssdp:all`` matches all four, one of the four NTs matches itself, anything else nothing.
    """
    nts = [nt for nt, _ in _targets(udn)]
    if st == SSDP_ALL:
        return nts
    return [st] if st in nts else []


@dataclass(frozen=True)
class SsdpMessage:
    """One parsed SSDP datagram. ``headers`` has lower-case names and stripped values."""

    kind: Literal["notify", "msearch", "response"]
    headers: Mapping[str, str] = field(hash=False)

    @property
    def nt(self) -> str | None:
        """Notification type (NOTIFY only)."""
        return self.headers.get("nt")

    @property
    def nts(self) -> str | None:
        """``ssdp:alive`` or ``ssdp:byebye`` (NOTIFY only)."""
        return self.headers.get("nts")

    @property
    def st(self) -> str | None:
        """Search target (M-SEARCH and its replies)."""
        return self.headers.get("st")

    @property
    def location(self) -> str | None:
        """URL of the device description; ``None`` for byebyes and M-SEARCH."""
        return self.headers.get("location")


def parse_message(data: bytes) -> SsdpMessage:
    """Parse one datagram; raise :class:`SsdpParseError` (and nothing else) if it is not SSDP.

    Accepts CRLF or bare-LF line ends and ignores anything after the blank line. Refuses
    datagrams over :data:`MAX_DATAGRAM`, non-UTF-8 bytes, control characters, an unknown start
    line and header lines that are not ``token: value``; ssdpy's parser accepts all that
    passes these checks, and builds the header map. A repeated header keeps its
    last value.
    """
    if len(data) > MAX_DATAGRAM:
        raise SsdpParseError(f"datagram of {len(data)} bytes exceeds {MAX_DATAGRAM}")
    if b"\r\n" not in data:
        data = data.replace(b"\n", b"\r\n")
    head = data.split(b"\r\n\r\n", 1)[0]
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SsdpParseError(f"not UTF-8 text (byte {exc.start})") from None
    lines = text.split("\r\n")
    kind = _START_LINES.get(lines[0])
    if kind is None:
        raise SsdpParseError(f"not an SSDP start line: {lines[0][:40]!r}")
    for number, line in enumerate(lines[1:], start=2):
        if _CONTROL.search(line):
            raise SsdpParseError(f"control character in line {number}")
        name, colon, _ = line.partition(":")
        if not colon or not _TOKEN.fullmatch(name.strip()):
            raise SsdpParseError(f"line {number} is not a 'name: value' header: {line[:40]!r}")
    headers: dict[str, str] = parse_headers(head + b"\r\n\r\n")
    return SsdpMessage(kind, types.MappingProxyType(headers))
