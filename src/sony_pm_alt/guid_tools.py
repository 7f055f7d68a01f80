"""Where a paired GUID comes from: a MAC address, the Windows registry, a capture, or a new one.

A Sony camera accepts a PTP/IP connection only from the initiator GUID it was paired with
(``docs/protocol.md`` §6). PlayMemories Home's GUID is 8 zero bytes, ``ff ff`` and
the MAC address of the PC interface that talks to the camera, so the MAC is usually enough; a
capture of PlayMemories connecting shows it for sure; :mod:`sony_pm_alt.pairing` registers a fresh
one made by :func:`new_guid` without Windows at all.
"""

from __future__ import annotations

import re
import secrets
import socket
import struct
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

import dpkt

from .ptpip.codes import GUID_SIZE, PacketType
from .ptpip.errors import ProtocolError
from .ptpip.packets import HEADER, HEADER_SIZE, InitCommandRequest, Packet
from .ptpip.stream import PacketReader

# PlayMemories Home's GUID: eight zero bytes, ff ff, then the 6-byte MAC (README "Method 1").
PLAYMEMORIES_PREFIX = bytes(8) + b"\xff\xff"

_HEX2 = "[0-9a-f]{2}"
_MAC_SEPARATED = re.compile(rf"{_HEX2}([:-]){_HEX2}(?:\1{_HEX2}){{4}}", re.IGNORECASE)
_MAC_BARE = re.compile(r"[0-9a-f]{12}", re.IGNORECASE)
_UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-(?P<node>[0-9a-f]{12})"
_CONTAINER_ID = re.compile(rf"\{{?{_UUID}\}}?", re.IGNORECASE)
_BRACED_UUID = re.compile(rf"\{{{_UUID}\}}", re.IGNORECASE)

# Locally administered (bit 1) and multicast (bit 0) bits of a MAC's first byte (IEEE 802).
_LOCAL_BIT, _MULTICAST_BIT = 0x02, 0x01

# How much of each TCP stream (client → server) is reassembled. The Init Command Request is the
# first packet of a command connection and at most ~560 bytes (a 255-unit name); 64 KiB is room
# for the rest of the handshake while a multi-gigabyte capture costs bounded memory per stream.
MAX_STREAM_BYTES = 64 * 1024
# Smallest Init Command Request: header, GUID, an empty name's NUL, the version.
_MIN_INIT_LENGTH = HEADER_SIZE + GUID_SIZE + 2 + 4

# Link-layer header types as stored in capture files (tcpdump.org/linktypes.html: the LINKTYPE_
# values, which unlike dpkt's DLT_ constants do not change with the platform) and their decoders.
_LINK_LAYERS: dict[int, Any] = {
    0: dpkt.loopback.Loopback,  # BSD loopback, host byte order family
    1: dpkt.ethernet.Ethernet,
    108: dpkt.loopback.Loopback,  # OpenBSD loopback, network byte order family
    113: dpkt.sll.SLL,  # Linux "cooked" capture (tcpdump -i any)
    276: dpkt.sll2.SLL2,  # Linux "cooked" v2 (newer tcpdump -i any)
}
_RAW_IP = frozenset({101, 228, 229})  # raw IP (version in the first nibble), IPv4, IPv6

# What dpkt raises on a truncated or malformed file header, record or frame.
_DECODE_ERRORS = (dpkt.Error, IndexError, ValueError, struct.error)


# --- MAC and ContainerID -----------------------------------------------------------------------


def guid_from_mac(mac: str) -> bytes:
    """PlayMemories Home's GUID for the PC interface with this MAC address.

    ``08:00:27:f5:16:4f``, ``08-00-27-F5-16-4F`` (Windows ``ipconfig /all``) and ``080027f5164f``
    all give ``00000000 00000000 ffff0800 27f5164f``. Use the MAC of the interface that talks to
    the camera (the Wi-Fi adapter, or the VM's NIC when PlayMemories ran in a VM).
    """
    text = mac.strip()
    if _MAC_SEPARATED.fullmatch(text):
        raw = bytes.fromhex(text.replace(":", "").replace("-", ""))
    elif _MAC_BARE.fullmatch(text):
        raw = bytes.fromhex(text)
    else:
        raise ValueError(
            f"{mac!r} is not a MAC address (expected 6 hex bytes, e.g. 08:00:27:f5:16:4f, "
            "08-00-27-F5-16-4F or 080027f5164f)"
        )
    return PLAYMEMORIES_PREFIX + raw


def guid_from_container_id(text: str) -> bytes:
    """The GUID suggested by a Windows registry ContainerID of the camera's USB device: its last
    12 hex digits taken as the MAC (:func:`guid_from_mac`). Reported by one user and **unverified**
    (docs/pairing.md §2): prefer a capture (:func:`guids_from_capture`) when in doubt.

    Accepts the GUID with or without braces, or a pasted ``reg query`` line containing exactly one
    braced GUID.
    """
    stripped = text.strip()
    match = _CONTAINER_ID.fullmatch(stripped)
    if match is None:
        found = list(_BRACED_UUID.finditer(stripped))
        match = found[0] if len(found) == 1 else None
    if match is None:
        raise ValueError(
            f"{text!r} is not a registry ContainerID "
            "(expected e.g. {a4d7a2f7-c5ae-11e4-93ac-080027f5164f})"
        )
    return guid_from_mac(match.group("node"))


def new_guid() -> bytes:
    """A fresh random GUID in PlayMemories' shape, ready to be paired with :func:`pairing.pair`.

    8 zero bytes, ``ff ff``, then 6 random bytes shaped like a MAC address: the locally
    administered bit of the first byte set (so it cannot collide with a real NIC's MAC) and the
    multicast bit clear — what cameras paired with PlayMemories are used to seeing.
    """
    mac = bytearray(secrets.token_bytes(6))
    mac[0] = (mac[0] | _LOCAL_BIT) & ~_MULTICAST_BIT & 0xFF
    return PLAYMEMORIES_PREFIX + bytes(mac)


# --- captures ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CapturedInit:
    """One Init Command Request seen in a capture: the GUID a camera accepted (or refused)."""

    guid: bytes
    friendly_name: str
    client: str  # "address:port" of the initiator (PlayMemories, gphoto2)
    server: str  # "address:port" of the camera


_Endpoint = tuple[bytes, int]
_FlowKey = tuple[_Endpoint, _Endpoint]


@dataclass
class _Flow:
    """One direction of one TCP connection: segments keyed by sequence number."""

    source: _Endpoint
    destination: _Endpoint
    isn: int | None = None  # sequence number of the SYN, when it was captured
    reference: int | None = None  # first data sequence number seen, when no SYN was
    segments: dict[int, bytes] = field(default_factory=dict)
    rejected: bool = False

    def add(self, seq: int, payload: bytes) -> None:
        if self.rejected or not payload:
            return
        if self.isn is not None:
            offset = (seq - self.isn - 1) & 0xFFFFFFFF
            if offset >= MAX_STREAM_BYTES:
                return  # beyond the window, or a wrapped sequence number from before the SYN
            payload = payload[: MAX_STREAM_BYTES - offset]
        else:
            if self.reference is None:
                self.reference = seq
            # Without the SYN the start is unknown: keep a window on both sides of the first
            # segment seen, so an earlier segment captured later still counts.
            if abs(_signed_diff(seq, self.reference)) >= MAX_STREAM_BYTES:
                return
        payload = payload[:MAX_STREAM_BYTES]
        if len(payload) > len(self.segments.get(seq, b"")):
            self.segments[seq] = payload  # a retransmission carrying more bytes replaces
        self._reject_early()

    def _reject_early(self) -> None:
        """Drop a stream as soon as its first bytes show it is not a PTP/IP command stream."""
        if self.isn is None:
            return
        start = self.segments.get((self.isn + 1) & 0xFFFFFFFF)
        if start is not None and len(start) >= HEADER_SIZE and not _is_init_header(start):
            self.rejected = True
            self.segments.clear()

    def assemble(self) -> bytes:
        """The contiguous bytes from the stream's start, cut at the first gap or at the limit."""
        if self.rejected or not self.segments:
            return b""
        if self.isn is not None:
            start = (self.isn + 1) & 0xFFFFFFFF
        else:
            reference = self.reference if self.reference is not None else 0
            start = min(self.segments, key=lambda seq: _signed_diff(seq, reference))
        ordered = sorted(
            ((seq - start) & 0xFFFFFFFF, data)
            for seq, data in self.segments.items()
            if _signed_diff(seq, start) >= 0
        )
        out = bytearray()
        for offset, data in ordered:
            if offset > len(out):
                break  # a segment missing from the capture: what follows cannot be framed
            out += data[len(out) - offset :]
            if len(out) >= MAX_STREAM_BYTES:
                break
        return bytes(out[:MAX_STREAM_BYTES])


def _signed_diff(a: int, b: int) -> int:
    """``a - b`` in 32-bit sequence-number space (RFC 1982 style)."""
    return ((a - b + 0x80000000) & 0xFFFFFFFF) - 0x80000000


def _is_init_header(data: bytes) -> bool:
    length, ptype = HEADER.unpack_from(data)
    return bool(ptype == PacketType.INIT_COMMAND_REQUEST and length >= _MIN_INIT_LENGTH)


def _open_capture(stream: BinaryIO, path: Path) -> Any:
    """A dpkt pcap or pcapng reader, or ValueError naming the file."""
    errors: list[str] = []
    for reader in (dpkt.pcap.Reader, dpkt.pcapng.Reader):
        stream.seek(0)
        try:
            return reader(stream)
        except _DECODE_ERRORS as exc:
            errors.append(str(exc) or type(exc).__name__)
    raise ValueError(
        f"{path} is not a pcap or pcapng capture ({'; '.join(errors)}); "
        "save it from Wireshark or tcpdump -w in one of those formats"
    )


def _network_layer(linktype: int, frame: bytes) -> Any:
    """The dpkt IP or IP6 object of one frame, or None for other traffic and unknown links."""
    if linktype in _RAW_IP:
        version = frame[0] >> 4 if frame else 0
        if version == 4:
            return dpkt.ip.IP(frame)
        return dpkt.ip6.IP6(frame) if version == 6 else None
    if linktype not in _LINK_LAYERS:
        return None
    network = _LINK_LAYERS[linktype](frame).data
    return network if isinstance(network, dpkt.ip.IP | dpkt.ip6.IP6) else None


def _complete_payload(network: Any, tcp: Any) -> bool:
    """False for a segment whose bytes would corrupt the stream: cut by the capture's snap length,
    or an IPv4 fragment (reassembling IP fragments is out of scope; they are rare for TCP)."""
    header = len(tcp) - len(tcp.data)
    if isinstance(network, dpkt.ip.IP):
        if network.mf or network.offset:
            return False
        if not network.len:  # TCP segmentation offload: length unknown, trust the frame
            return True
        expected = network.len - network.hl * 4 - header
    else:
        if not network.plen:
            return True
        extensions = sum(ext.length for ext in network.all_extension_headers)
        expected = network.plen - extensions - header
    return bool(len(tcp.data) >= expected)


def _segments(reader: Any) -> Iterator[tuple[_Endpoint, _Endpoint, Any]]:
    """Every complete TCP segment of the capture as (source, destination, dpkt TCP).

    A truncated last record (a capture killed mid-write) ends the reading quietly.
    """
    linktype = reader.datalink()
    records = iter(reader)
    while True:
        try:
            _timestamp, frame = next(records)
        except (StopIteration, *_DECODE_ERRORS):
            return
        try:
            network = _network_layer(linktype, frame)
        except _DECODE_ERRORS:
            continue  # a truncated or foreign frame
        if network is None:
            continue
        tcp = network.data
        if not isinstance(tcp, dpkt.tcp.TCP) or not _complete_payload(network, tcp):
            continue
        yield (bytes(network.src), tcp.sport), (bytes(network.dst), tcp.dport), tcp


def _collect_flows(reader: Any) -> list[_Flow]:
    current: dict[_FlowKey, _Flow] = {}
    flows: list[_Flow] = []
    for source, destination, tcp in _segments(reader):
        key = (source, destination)
        flow = current.get(key)
        syn = bool(tcp.flags & dpkt.tcp.TH_SYN)
        if flow is None or (syn and flow.isn is not None and flow.isn != tcp.seq):
            flow = _Flow(source, destination)  # new connection (or the 4-tuple reused)
            current[key] = flow
            flows.append(flow)
        if syn:
            if flow.isn is None and not flow.segments:
                flow.isn = tcp.seq
            flow.add((tcp.seq + 1) & 0xFFFFFFFF, bytes(tcp.data))
        else:
            flow.add(tcp.seq, bytes(tcp.data))
    return flows


def _format_endpoint(endpoint: _Endpoint) -> str:
    address, port = endpoint
    if len(address) == 4:
        return f"{socket.inet_ntop(socket.AF_INET, address)}:{port}"
    return f"[{socket.inet_ntop(socket.AF_INET6, address)}]:{port}"


def _init_requests(stream: bytes) -> list[InitCommandRequest]:
    """Every Init Command Request of a stream that starts with one; decoding stops at an error."""
    if len(stream) < HEADER_SIZE or not _is_init_header(stream):
        return []
    first_length, _ = HEADER.unpack_from(stream)
    reader = PacketReader()
    found: list[Packet] = []
    for chunk in (stream[:first_length], stream[first_length:]):
        try:
            found += reader.feed(chunk)
        except ProtocolError:
            break
    return [p for p in found if isinstance(p, InitCommandRequest)]


def guids_from_capture(path: Path) -> list[CapturedInit]:
    """Every PTP/IP Init Command Request in a pcap or pcapng capture, in the order seen.

    The GUID PlayMemories Home (or anything else) sent is the one the camera is paired with.
    What is read and how streams are reassembled: docs/pairing.md §3. A stream whose first bytes
    are not a PTP/IP Init Command Request header is ignored; a pcapng file is read with its first
    interface's link type (dpkt's reader does not report per-packet interfaces).

    Raises ValueError when the file is not a pcap or pcapng capture; returns ``[]`` when it holds
    no Init Command Request.
    """
    path = Path(path)
    with path.open("rb") as stream:
        flows = _collect_flows(_open_capture(stream, path))
    return [
        CapturedInit(
            request.guid,
            request.friendly_name,
            _format_endpoint(flow.source),
            _format_endpoint(flow.destination),
        )
        for flow in flows
        for request in _init_requests(flow.assemble())
    ]
