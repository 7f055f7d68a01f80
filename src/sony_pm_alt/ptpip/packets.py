"""PTP/IP packets (types 1–14): one frozen dataclass per type, pure encode and decode.

Framing: every packet is ``u32 Length`` (whole packet, header included) + ``u32 Type`` + payload,
little-endian (``docs/protocol.md`` §3). :func:`decode_packet` takes exactly one
packet's bytes; splitting a byte stream into packets is :mod:`sony_pm_alt.ptpip.stream`'s job.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import ClassVar, Self, get_args

from .codes import GUID_SIZE, DataPhase, PacketType
from .errors import MalformedPacket

HEADER = struct.Struct("<II")
HEADER_SIZE = HEADER.size

MAX_PARAMS = 5
MAX_EVENT_PARAMS = 3
# Version sent by gphoto2, PlayMemories Home, airnef and the ILCE-5000: minor 0, major 1.
PROTOCOL_VERSION = 0x00010000
# A friendly name longer than this is not a host or model name; refusing it bounds Init packets.
MAX_NAME_UNITS = 255


def _u32_params(payload: bytes, limit: int, what: str) -> tuple[int, ...]:
    if len(payload) % 4:
        raise MalformedPacket(
            f"{what}: parameter block of {len(payload)} bytes is not a multiple of 4"
        )
    count = len(payload) // 4
    if count > limit:
        raise MalformedPacket(f"{what}: {count} parameters, at most {limit} allowed")
    return struct.unpack(f"<{count}I", payload)


def _check_params(params: tuple[int, ...], limit: int, what: str) -> None:
    if len(params) > limit:
        raise ValueError(f"{what}: at most {limit} parameters, got {len(params)}")
    for p in params:
        if not 0 <= p <= 0xFFFFFFFF:
            raise ValueError(f"{what}: parameter {p} does not fit in 32 bits")


def _encode_name(name: str) -> bytes:
    if "\x00" in name:
        raise ValueError("friendly name must not contain NUL")
    raw = name.encode("utf-16-le")
    if len(raw) // 2 > MAX_NAME_UNITS:
        raise ValueError(f"friendly name longer than {MAX_NAME_UNITS} UTF-16 units")
    return raw + b"\x00\x00"


def _decode_name(payload: bytes, what: str) -> tuple[str, bytes]:
    """Split a NUL-terminated UTF-16LE name (no length prefix) from the bytes that follow it."""
    for end in range(0, len(payload) - 1, 2):
        if payload[end] == 0 and payload[end + 1] == 0:
            break
    else:
        raise MalformedPacket(f"{what}: friendly name is not NUL-terminated")
    if end // 2 > MAX_NAME_UNITS:
        raise MalformedPacket(f"{what}: friendly name longer than {MAX_NAME_UNITS} units")
    try:
        name = payload[:end].decode("utf-16-le")
    except UnicodeDecodeError as exc:
        raise MalformedPacket(f"{what}: friendly name is not valid UTF-16") from exc
    return name, payload[end + 2 :]


def _decode_version(rest: bytes, what: str) -> int:
    if len(rest) != 4:
        raise MalformedPacket(f"{what}: expected a 4-byte protocol version, got {len(rest)} bytes")
    minor, major = struct.unpack("<HH", rest)
    return int((major << 16) | minor)


def _encode_version(version: int) -> bytes:
    return struct.pack("<HH", version & 0xFFFF, version >> 16)


@dataclass(frozen=True, slots=True)
class InitCommandRequest:
    guid: bytes
    friendly_name: str
    version: int = PROTOCOL_VERSION
    TYPE: ClassVar[PacketType] = PacketType.INIT_COMMAND_REQUEST

    def payload(self) -> bytes:
        if len(self.guid) != GUID_SIZE:
            raise ValueError("GUID must be 16 bytes")
        return self.guid + _encode_name(self.friendly_name) + _encode_version(self.version)

    @classmethod
    def from_payload(cls, payload: bytes) -> InitCommandRequest:
        what = "Init Command Request"
        if len(payload) < GUID_SIZE + 2 + 4:
            raise MalformedPacket(f"{what}: {len(payload)}-byte payload is too short")
        name, rest = _decode_name(payload[GUID_SIZE:], what)
        return cls(payload[:GUID_SIZE], name, _decode_version(rest, what))


@dataclass(frozen=True, slots=True)
class InitCommandAck:
    connection_number: int
    guid: bytes
    friendly_name: str
    version: int = PROTOCOL_VERSION
    TYPE: ClassVar[PacketType] = PacketType.INIT_COMMAND_ACK

    def payload(self) -> bytes:
        if len(self.guid) != GUID_SIZE:
            raise ValueError("GUID must be 16 bytes")
        return (
            struct.pack("<I", self.connection_number)
            + self.guid
            + _encode_name(self.friendly_name)
            + _encode_version(self.version)
        )

    @classmethod
    def from_payload(cls, payload: bytes) -> InitCommandAck:
        what = "Init Command Ack"
        if len(payload) < 4 + GUID_SIZE + 2 + 4:
            raise MalformedPacket(f"{what}: {len(payload)}-byte payload is too short")
        (conn,) = struct.unpack_from("<I", payload)
        name, rest = _decode_name(payload[4 + GUID_SIZE :], what)
        return cls(conn, payload[4 : 4 + GUID_SIZE], name, _decode_version(rest, what))


def _single_u32(payload: bytes, what: str) -> int:
    if len(payload) != 4:
        raise MalformedPacket(f"{what}: expected a 4-byte payload, got {len(payload)} bytes")
    (value,) = struct.unpack("<I", payload)
    return int(value)


def _name(ptype: PacketType) -> str:
    """``"End Data"`` for END_DATA: how error messages name a packet type."""
    return ptype.name.replace("_", " ").title()


class _NoPayload:
    __slots__ = ()
    TYPE: ClassVar[PacketType]

    def payload(self) -> bytes:
        return b""

    @classmethod
    def from_payload(cls, payload: bytes) -> Self:
        if payload:
            raise MalformedPacket(
                f"{_name(cls.TYPE)}: expected no payload, got {len(payload)} bytes"
            )
        return cls()


@dataclass(frozen=True, slots=True)
class InitEventRequest:
    connection_number: int
    TYPE: ClassVar[PacketType] = PacketType.INIT_EVENT_REQUEST

    def payload(self) -> bytes:
        return struct.pack("<I", self.connection_number)

    @classmethod
    def from_payload(cls, payload: bytes) -> InitEventRequest:
        return cls(_single_u32(payload, "Init Event Request"))


@dataclass(frozen=True, slots=True)
class InitEventAck(_NoPayload):
    TYPE: ClassVar[PacketType] = PacketType.INIT_EVENT_ACK


@dataclass(frozen=True, slots=True)
class InitFail:
    reason: int
    TYPE: ClassVar[PacketType] = PacketType.INIT_FAIL

    def payload(self) -> bytes:
        return struct.pack("<I", self.reason)

    @classmethod
    def from_payload(cls, payload: bytes) -> InitFail:
        return cls(_single_u32(payload, "Init Fail"))


@dataclass(frozen=True, slots=True)
class OperationRequest:
    code: int
    transaction_id: int
    params: tuple[int, ...] = ()
    data_phase: int = DataPhase.NO_DATA_OR_DATA_IN
    TYPE: ClassVar[PacketType] = PacketType.OPERATION_REQUEST

    def payload(self) -> bytes:
        _check_params(self.params, MAX_PARAMS, "Operation Request")
        return struct.pack(
            f"<IHI{len(self.params)}I",
            self.data_phase,
            self.code,
            self.transaction_id,
            *self.params,
        )

    @classmethod
    def from_payload(cls, payload: bytes) -> OperationRequest:
        what = "Operation Request"
        if len(payload) < 10:
            raise MalformedPacket(f"{what}: {len(payload)}-byte payload is too short")
        phase, code, tid = struct.unpack_from("<IHI", payload)
        return cls(code, tid, _u32_params(payload[10:], MAX_PARAMS, what), phase)


@dataclass(frozen=True, slots=True)
class _CodeAndParams:
    """Operation Response and Event: ``u16`` code, ``u32`` TID, up to ``MAX`` ``u32`` params."""

    code: int
    transaction_id: int
    params: tuple[int, ...] = ()
    TYPE: ClassVar[PacketType]
    MAX: ClassVar[int] = MAX_PARAMS

    def payload(self) -> bytes:
        _check_params(self.params, self.MAX, _name(self.TYPE))
        return struct.pack(f"<HI{len(self.params)}I", self.code, self.transaction_id, *self.params)

    @classmethod
    def from_payload(cls, payload: bytes) -> Self:
        what = _name(cls.TYPE)
        if len(payload) < 6:
            raise MalformedPacket(f"{what}: {len(payload)}-byte payload is too short")
        code, tid = struct.unpack_from("<HI", payload)
        return cls(code, tid, _u32_params(payload[6:], cls.MAX, what))


@dataclass(frozen=True, slots=True)
class OperationResponse(_CodeAndParams):
    TYPE: ClassVar[PacketType] = PacketType.OPERATION_RESPONSE


@dataclass(frozen=True, slots=True)
class Event(_CodeAndParams):
    TYPE: ClassVar[PacketType] = PacketType.EVENT
    MAX: ClassVar[int] = MAX_EVENT_PARAMS


@dataclass(frozen=True, slots=True)
class StartData:
    """Announces a data phase. ``total_length`` 0xFFFFFFFFFFFFFFFF means "unknown" in the spec;
    libgphoto2 reads only its low 32 bits, so a responder must never send it."""

    transaction_id: int
    total_length: int
    TYPE: ClassVar[PacketType] = PacketType.START_DATA

    def payload(self) -> bytes:
        return struct.pack("<IQ", self.transaction_id, self.total_length)

    @classmethod
    def from_payload(cls, payload: bytes) -> StartData:
        if len(payload) != 12:
            raise MalformedPacket(f"Start Data: expected 12 payload bytes, got {len(payload)}")
        tid, total = struct.unpack("<IQ", payload)
        return cls(tid, total)


@dataclass(frozen=True, slots=True)
class Data:
    transaction_id: int
    data: bytes
    TYPE: ClassVar[PacketType] = PacketType.DATA

    def payload(self) -> bytes:
        return struct.pack("<I", self.transaction_id) + self.data

    @classmethod
    def from_payload(cls, payload: bytes) -> Self:
        if len(payload) < 4:
            raise MalformedPacket(f"{_name(cls.TYPE)}: {len(payload)}-byte payload is too short")
        return cls(struct.unpack_from("<I", payload)[0], bytes(payload[4:]))


@dataclass(frozen=True, slots=True)
class EndData(Data):
    """Last packet of a data phase; may carry the final bytes (gphoto2) or none (Sony, PMH)."""

    data: bytes = b""
    TYPE: ClassVar[PacketType] = PacketType.END_DATA


@dataclass(frozen=True, slots=True)
class Cancel:
    transaction_id: int
    TYPE: ClassVar[PacketType] = PacketType.CANCEL

    def payload(self) -> bytes:
        return struct.pack("<I", self.transaction_id)

    @classmethod
    def from_payload(cls, payload: bytes) -> Cancel:
        return cls(_single_u32(payload, "Cancel"))


@dataclass(frozen=True, slots=True)
class ProbeRequest(_NoPayload):
    TYPE: ClassVar[PacketType] = PacketType.PROBE_REQUEST


@dataclass(frozen=True, slots=True)
class ProbeResponse(_NoPayload):
    TYPE: ClassVar[PacketType] = PacketType.PROBE_RESPONSE


Packet = (
    InitCommandRequest
    | InitCommandAck
    | InitEventRequest
    | InitEventAck
    | InitFail
    | OperationRequest
    | OperationResponse
    | Event
    | StartData
    | Data
    | Cancel
    | EndData
    | ProbeRequest
    | ProbeResponse
)

PACKET_CLASSES: dict[int, type[Packet]] = {cls.TYPE: cls for cls in get_args(Packet)}


def encode_packet(packet: Packet) -> bytes:
    """Frame one packet: length and type header followed by its payload."""
    try:
        payload = packet.payload()
    except struct.error as exc:  # a field out of its range: a caller bug, not a protocol error
        raise ValueError(f"{type(packet).__name__}: {exc}") from None
    return HEADER.pack(HEADER_SIZE + len(payload), packet.TYPE) + payload


def data_header(transaction_id: int, payload_length: int, *, end: bool = False) -> bytes:
    """Header and TID of a Data (or End Data) packet whose payload is written separately.

    Lets a sender stream a large payload from disk without building the packet in memory.
    """
    ptype = PacketType.END_DATA if end else PacketType.DATA
    return HEADER.pack(HEADER_SIZE + 4 + payload_length, ptype) + struct.pack("<I", transaction_id)


def decode_packet(raw: bytes | bytearray | memoryview) -> Packet:
    """Decode exactly one framed packet. Raises :class:`MalformedPacket` on any inconsistency."""
    if len(raw) < HEADER_SIZE:
        raise MalformedPacket(f"packet of {len(raw)} bytes is shorter than the 8-byte header")
    length, ptype = HEADER.unpack_from(raw)
    if length != len(raw):
        raise MalformedPacket(f"length field says {length} bytes, packet has {len(raw)}")
    cls = PACKET_CLASSES.get(ptype)
    if cls is None:
        raise MalformedPacket(f"unknown packet type {ptype}")
    return cls.from_payload(bytes(raw[HEADER_SIZE:]))
