"""Tests for the PTP/IP packet codec (types 1–14): golden bytes, round trips, hostile input.

Golden bytes come from ``docs/protocol.md`` §4, §5, §10 and §11 (PlayMemories Home, a Sony
ILCE-5000, gphoto2 and the 2015 sony-pm-alt hack).
"""

from __future__ import annotations

import struct
from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sony_pm_alt.ptpip.codes import (
    GUID_SIZE,
    DataPhase,
    EventCode,
    OperationCode,
    PacketType,
    ResponseCode,
)
from sony_pm_alt.ptpip.errors import MalformedPacket, ProtocolError
from sony_pm_alt.ptpip.packets import (
    HEADER_SIZE,
    MAX_EVENT_PARAMS,
    MAX_NAME_UNITS,
    MAX_PARAMS,
    PACKET_CLASSES,
    PROTOCOL_VERSION,
    Cancel,
    Data,
    EndData,
    Event,
    InitCommandAck,
    InitCommandRequest,
    InitEventAck,
    InitEventRequest,
    InitFail,
    OperationRequest,
    OperationResponse,
    Packet,
    ProbeRequest,
    ProbeResponse,
    StartData,
    data_header,
    decode_packet,
    encode_packet,
)


def h(text: str) -> bytes:
    """Hex as written in docs/protocol.md: groups separated by spaces."""
    return bytes.fromhex(text)


def frame(ptype: int, payload: bytes) -> bytes:
    """A packet with a correct length field around an arbitrary payload."""
    return struct.pack("<II", HEADER_SIZE + len(payload), ptype) + payload


PMH_GUID = h("00000000 00000000 ffff0800 27f5164f")
ILCE5000_GUID = h("00000000 00000000 ffff d8c4 6a97 69b4")
SENDING_PAYLOAD = h("02000000 02000000 00000000 00000000 0101")  # 0x9280 "Sending…", 18 bytes

# --- golden bytes -------------------------------------------------------------------------------

GOLDEN: list[tuple[str, bytes, Packet]] = [
    (
        "PMH Init Command Request WIN7-VM",
        h(
            "2c000000 01000000 00000000 00000000 ffff0800 27f5164f"
            " 5700 4900 4e00 3700 2d00 5600 4d00 0000 0000 0100"
        ),
        InitCommandRequest(PMH_GUID, "WIN7-VM", PROTOCOL_VERSION),
    ),
    (
        "ILCE-5000 Init Command Ack",
        h(
            "34000000 02000000 01000000 00000000 00000000 ffff d8c4 6a97 69b4"
            " 4900 4c00 4300 4500 2d00 3500 3000 3000 3000 0000 0000 0100"
        ),
        InitCommandAck(1, ILCE5000_GUID, "ILCE-5000", PROTOCOL_VERSION),
    ),
    ("Init Event Request", h("0c000000 03000000 01000000"), InitEventRequest(1)),
    ("Init Event Ack", h("08000000 04000000"), InitEventAck()),
    ("Sony Init Fail, wrong GUID", h("0c000000 05000000 01000000"), InitFail(1)),
    (
        "OpenSession session 1 TID 0",
        h("16000000 06000000 01000000 0210 00000000 01000000"),
        OperationRequest(OperationCode.OPEN_SESSION, 0, (1,), DataPhase.NO_DATA_OR_DATA_IN),
    ),
    (
        "OpenSession response OK",
        h("0e000000 07000000 0120 00000000"),
        OperationResponse(ResponseCode.OK, 0),
    ),
    (
        "GetDeviceInfo TID 1",
        h("12000000 06000000 01000000 0110 01000000"),
        OperationRequest(OperationCode.GET_DEVICE_INFO, 1, (), DataPhase.NO_DATA_OR_DATA_IN),
    ),
    (
        "gphoto2 0x9280 request dp=2 TID 2 p1=4",
        h("16000000 06000000 02000000 8092 02000000 04000000"),
        OperationRequest(OperationCode.SONY_SET_REQUEST, 2, (4,), DataPhase.DATA_OUT),
    ),
    (
        "gphoto2 StartData total 18",
        h("14000000 09000000 02000000 12000000 00000000"),
        StartData(2, 18),
    ),
    (
        "gphoto2 EndData with payload",
        h("1e000000 0c000000 02000000 02000000 02000000 00000000 00000000 0101"),
        EndData(2, SENDING_PAYLOAD),
    ),
    (
        "gphoto2 0x9280 response OK TID 2",
        h("0e000000 07000000 0120 02000000"),
        OperationResponse(ResponseCode.OK, 2),
    ),
    (
        "gphoto2 0x9281 request dp=1 TID 3 p1=4",
        h("16000000 06000000 01000000 8192 03000000 04000000"),
        OperationRequest(OperationCode.SONY_GET_REQUEST, 3, (4,), DataPhase.NO_DATA_OR_DATA_IN),
    ),
    (
        "shape B StartData",
        h("14000000 09000000 23000000 12000000 00000000"),
        StartData(0x23, 18),
    ),
    (
        "shape B Data",
        h("1e000000 0a000000 23000000") + SENDING_PAYLOAD,
        Data(0x23, SENDING_PAYLOAD),
    ),
    ("shape B empty EndData", h("0c000000 0c000000 23000000"), EndData(0x23, b"")),
    (
        "2015 hack #1 GetDeviceInfo dp=0",
        h("12000000 06000000 00000000 0110 01000000"),
        OperationRequest(OperationCode.GET_DEVICE_INFO, 1, (), DataPhase.UNSPECIFIED),
    ),
    (
        "2015 hack #2 SetDevicePropValue dp=0",
        h("16000000 06000000 00000000 1610 02000000 06d40000"),
        OperationRequest(OperationCode.SET_DEVICE_PROP_VALUE, 2, (0xD406,), 0),
    ),
    (
        "2015 hack #3 GetObjectPropDesc dp=0 two params",
        h("1a000000 06000000 00000000 0298 0c000000 86dc0000 01b30000"),
        OperationRequest(OperationCode.MTP_GET_OBJECT_PROP_DESC, 12, (0xDC86, 0xB301), 0),
    ),
    (
        "2015 hack #4 0x9280 dp=0 without data",
        h("16000000 06000000 00000000 8092 11000000 01000000"),
        OperationRequest(OperationCode.SONY_SET_REQUEST, 0x11, (1,), 0),
    ),
    (
        "2015 hack #9 StartData TID 0x15 total 16",
        h("14000000 09000000 15000000 1000000000000000"),
        StartData(0x15, 16),
    ),
    (
        "2015 hack #10/#11 Data TID 0x15",
        h("1c000000 0a000000 15000000 00000000 01000000 00000000 00000000"),
        Data(0x15, h("00000000 01000000 00000000 00000000")),
    ),
    ("2015 hack #12 empty EndData", h("0c000000 0c000000 15000000"), EndData(0x15)),
    (
        "2015 hack #15 StartData under unused TID 0x22",
        h("14000000 09000000 22000000 1000000000000000"),
        StartData(0x22, 16),
    ),
    (
        "2015 hack #24 0x9281 TID 710",
        h("16000000 06000000 00000000 8192 c6020000 04000000"),
        OperationRequest(OperationCode.SONY_GET_REQUEST, 710, (4,), 0),
    ),
    ("Probe Request", h("08000000 0d000000"), ProbeRequest()),
    ("Probe Response", h("08000000 0e000000"), ProbeResponse()),
    # No capture shows these two; the bytes follow the layout table of docs/protocol.md §3.
    ("Cancel", h("0c000000 0b000000 07000000"), Cancel(7)),
    (
        "Event ObjectAdded handle 5",
        h("12000000 08000000 0240 00000000 05000000"),
        Event(EventCode.OBJECT_ADDED, 0, (5,)),
    ),
]


@pytest.mark.parametrize(("raw", "packet"), [g[1:] for g in GOLDEN], ids=[g[0] for g in GOLDEN])
def test_golden_decode(raw: bytes, packet: Packet) -> None:
    decoded = decode_packet(raw)
    assert decoded == packet
    assert type(decoded) is type(packet)


@pytest.mark.parametrize(("raw", "packet"), [g[1:] for g in GOLDEN], ids=[g[0] for g in GOLDEN])
def test_golden_encode(raw: bytes, packet: Packet) -> None:
    assert encode_packet(packet) == raw
    assert encode_packet(decode_packet(raw)) == raw


def test_golden_sizes_match_the_notes() -> None:
    sizes = {name: len(raw) for name, raw, _ in GOLDEN}
    assert sizes["PMH Init Command Request WIN7-VM"] == 44
    assert sizes["ILCE-5000 Init Command Ack"] == 52
    assert sizes["gphoto2 StartData total 18"] == 20
    assert sizes["gphoto2 EndData with payload"] == 30


def test_golden_fields_read_individually() -> None:
    req = decode_packet(GOLDEN[0][1])
    assert isinstance(req, InitCommandRequest)
    assert req.guid == PMH_GUID
    assert req.friendly_name == "WIN7-VM"
    assert req.version == 0x00010000
    ack = decode_packet(GOLDEN[1][1])
    assert isinstance(ack, InitCommandAck)
    assert ack.connection_number == 1
    assert ack.guid[8:10] == b"\xff\xff"
    assert ack.friendly_name == "ILCE-5000"


def test_every_packet_type_has_a_golden_case() -> None:
    assert {type(p).TYPE for _, _, p in GOLDEN} == set(PacketType)
    assert set(PACKET_CLASSES) == {int(t) for t in PacketType}
    for ptype, cls in PACKET_CLASSES.items():
        assert ptype == cls.TYPE


def test_gphoto2_start_data_u32_plus_four_zero_bytes_is_the_u64_length() -> None:
    # gphoto2 writes the length as a u32 followed by four zero bytes; it is the same u64.
    gphoto2 = frame(PacketType.START_DATA, struct.pack("<III", 2, 18, 0))
    assert decode_packet(gphoto2) == StartData(2, 18)


def test_start_data_unknown_length_round_trips() -> None:
    raw = h("14000000 09000000 05000000 ffffffff ffffffff")
    assert decode_packet(raw) == StartData(5, 0xFFFFFFFFFFFFFFFF)
    assert encode_packet(StartData(5, 0xFFFFFFFFFFFFFFFF)) == raw


def test_defaults() -> None:
    assert OperationRequest(1, 2).data_phase == DataPhase.NO_DATA_OR_DATA_IN
    assert OperationRequest(1, 2).params == ()
    assert EndData(3).data == b""
    assert InitCommandRequest(bytes(16), "x").version == PROTOCOL_VERSION


# --- data_header --------------------------------------------------------------------------------


def test_data_header_matches_the_2015_hack_bytes() -> None:
    assert data_header(0x15, 16) == h("1c000000 0a000000 15000000")
    assert data_header(0x23, 18) == h("1e000000 0a000000 23000000")
    assert data_header(711, 16) == h("1c000000 0a000000 c7020000")


def test_data_header_end_with_no_payload_is_an_empty_end_data() -> None:
    assert data_header(0x23, 0, end=True) == h("0c000000 0c000000 23000000")
    assert data_header(0x23, 0, end=True) == encode_packet(EndData(0x23))


@settings(max_examples=50)
@given(
    tid=st.integers(0, 0xFFFFFFFF),
    payload=st.binary(max_size=64),
    end=st.booleans(),
)
def test_data_header_plus_payload_is_a_whole_packet(tid: int, payload: bytes, end: bool) -> None:
    raw = data_header(tid, len(payload), end=end) + payload
    expected: Packet = EndData(tid, payload) if end else Data(tid, payload)
    assert decode_packet(raw) == expected
    assert encode_packet(expected) == raw


# --- round trips ----------------------------------------------------------------------------

u16 = st.integers(0, 0xFFFF)
u32 = st.integers(0, 0xFFFFFFFF)
u64 = st.integers(0, 0xFFFFFFFFFFFFFFFF)
guids = st.binary(min_size=GUID_SIZE, max_size=GUID_SIZE)
_ANY_NO_NUL = st.characters(codec="utf-16", exclude_characters="\x00")
_BMP_NO_NUL = st.characters(max_codepoint=0xFFFF, codec="utf-16", exclude_characters="\x00")
# Any text without NUL that fits in 255 UTF-16 units (astral characters count two).
names = st.one_of(
    st.text(_ANY_NO_NUL, max_size=MAX_NAME_UNITS // 2),
    st.text(_BMP_NO_NUL, max_size=MAX_NAME_UNITS),
    st.text(_BMP_NO_NUL, min_size=MAX_NAME_UNITS, max_size=MAX_NAME_UNITS),
)


def params(limit: int) -> st.SearchStrategy[tuple[int, ...]]:
    return st.lists(u32, max_size=limit).map(tuple)


PACKET_STRATEGIES: dict[PacketType, st.SearchStrategy[Packet]] = {
    PacketType.INIT_COMMAND_REQUEST: st.builds(InitCommandRequest, guids, names, u32),
    PacketType.INIT_COMMAND_ACK: st.builds(InitCommandAck, u32, guids, names, u32),
    PacketType.INIT_EVENT_REQUEST: st.builds(InitEventRequest, u32),
    PacketType.INIT_EVENT_ACK: st.just(InitEventAck()),
    PacketType.INIT_FAIL: st.builds(InitFail, u32),
    PacketType.OPERATION_REQUEST: st.builds(
        OperationRequest, u16, u32, params(MAX_PARAMS), st.one_of(st.sampled_from(DataPhase), u32)
    ),
    PacketType.OPERATION_RESPONSE: st.builds(OperationResponse, u16, u32, params(MAX_PARAMS)),
    PacketType.EVENT: st.builds(Event, u16, u32, params(MAX_EVENT_PARAMS)),
    PacketType.START_DATA: st.builds(StartData, u32, u64),
    PacketType.DATA: st.builds(Data, u32, st.binary(max_size=300)),
    PacketType.CANCEL: st.builds(Cancel, u32),
    PacketType.END_DATA: st.builds(EndData, u32, st.binary(max_size=300)),
    PacketType.PROBE_REQUEST: st.just(ProbeRequest()),
    PacketType.PROBE_RESPONSE: st.just(ProbeResponse()),
}
any_packet = st.one_of(*PACKET_STRATEGIES.values())


def test_every_type_has_a_strategy() -> None:
    assert set(PACKET_STRATEGIES) == set(PacketType)


@pytest.mark.parametrize("ptype", list(PacketType), ids=lambda t: t.name)
@settings(max_examples=40)
@given(data=st.data())
def test_round_trip(ptype: PacketType, data: st.DataObject) -> None:
    packet = data.draw(PACKET_STRATEGIES[ptype])
    raw = encode_packet(packet)
    length, wire_type = struct.unpack_from("<II", raw)
    assert length == len(raw)
    assert wire_type == ptype
    decoded = decode_packet(raw)
    assert decoded == packet
    assert type(decoded) is type(packet)
    assert encode_packet(decoded) == raw
    assert decode_packet(bytearray(raw)) == packet
    assert decode_packet(memoryview(raw)) == packet


@settings(max_examples=30)
@given(guid=guids, name=names)
def test_init_request_layout(guid: bytes, name: str) -> None:
    raw = encode_packet(InitCommandRequest(guid, name))
    units = len(name.encode("utf-16-le")) // 2
    assert len(raw) == 8 + 16 + 2 * (units + 1) + 4
    assert raw[8:24] == guid
    assert raw[24 : 24 + 2 * units] == name.encode("utf-16-le")
    assert raw[-6:] == b"\x00\x00\x00\x00\x01\x00"


@settings(max_examples=30)
@given(code=u16, tid=u32, ps=params(MAX_PARAMS), phase=u32)
def test_operation_request_layout(code: int, tid: int, ps: tuple[int, ...], phase: int) -> None:
    raw = encode_packet(OperationRequest(code, tid, ps, phase))
    assert len(raw) == 18 + 4 * len(ps)
    assert struct.unpack_from("<IHI", raw, 8) == (phase, code, tid)
    assert struct.unpack_from(f"<{len(ps)}I", raw, 18) == ps


def test_name_with_astral_characters_counts_utf16_units() -> None:
    name = "\U0001f4f7" * 127 + "x"  # 255 UTF-16 units
    assert decode_packet(encode_packet(InitCommandAck(1, bytes(16), name))) == InitCommandAck(
        1, bytes(16), name
    )
    with pytest.raises(ValueError, match="255"):
        encode_packet(InitCommandAck(1, bytes(16), name + "y"))


# --- encode-side validation ----------------------------------------------------------------


@pytest.mark.parametrize(
    "packet",
    [
        InitCommandRequest(bytes(15), "x"),
        InitCommandRequest(bytes(17), "x"),
        InitCommandAck(1, b"", "x"),
        InitCommandRequest(bytes(16), "a\x00b"),
        InitCommandAck(1, bytes(16), "\x00"),
        InitCommandRequest(bytes(16), "x" * (MAX_NAME_UNITS + 1)),
        InitCommandRequest(bytes(16), "\udc00"),  # a lone surrogate cannot be UTF-16 encoded
        OperationRequest(1, 1, (0,) * (MAX_PARAMS + 1)),
        OperationRequest(1, 1, (0x1_0000_0000,)),
        OperationRequest(1, 1, (-1,)),
        OperationResponse(1, 1, (0,) * (MAX_PARAMS + 1)),
        OperationResponse(1, 1, (2**40,)),
        Event(1, 1, (0,) * (MAX_EVENT_PARAMS + 1)),
        Event(1, 1, (-5,)),
    ],
    ids=repr,
)
def test_encode_rejects_invalid_fields(packet: Packet) -> None:
    with pytest.raises(ValueError):  # noqa: PT011 - several messages, the type is the contract
        encode_packet(packet)


ALL_ONES = 0xFFFFFFFF
LIMITS = [
    (InitCommandRequest(bytes(16), "x" * MAX_NAME_UNITS), 8 + 16 + 2 * (MAX_NAME_UNITS + 1) + 4),
    (InitCommandRequest(bytes(16), ""), 8 + 16 + 2 + 4),
    (OperationRequest(0xFFFF, ALL_ONES, (ALL_ONES,) * MAX_PARAMS, ALL_ONES), 18 + 4 * MAX_PARAMS),
    (Event(0xFFFF, ALL_ONES, (ALL_ONES,) * MAX_EVENT_PARAMS), 14 + 4 * MAX_EVENT_PARAMS),
]


@pytest.mark.parametrize(("packet", "length"), LIMITS, ids=repr)
def test_encode_accepts_the_limits(packet: Packet, length: int) -> None:
    raw = encode_packet(packet)
    assert struct.unpack_from("<I", raw) == (length,) == (len(raw),)
    assert decode_packet(raw) == packet


# --- hostile input: framing ---------------------------------------------------------------------


@pytest.mark.parametrize("size", range(HEADER_SIZE))
def test_shorter_than_header(size: int) -> None:
    raw = h("0c000000 05000000 01000000")[:size]
    with pytest.raises(MalformedPacket, match="shorter than the 8-byte header"):
        decode_packet(raw)


@pytest.mark.parametrize(("raw", "packet"), [g[1:] for g in GOLDEN], ids=[g[0] for g in GOLDEN])
def test_length_field_differs_from_size(raw: bytes, packet: Packet) -> None:
    length = len(raw)
    for wrong in {0, 7, 8, length - 1, length + 1, 0xFFFFFFFF} - {length}:
        with pytest.raises(MalformedPacket, match="length field"):
            decode_packet(struct.pack("<I", wrong) + raw[4:])
    # Bytes after the packet are not silently dropped either.
    with pytest.raises(MalformedPacket, match="length field"):
        decode_packet(raw + b"\x00")
    with pytest.raises(MalformedPacket, match="length field"):
        decode_packet(raw[:-1] if length > HEADER_SIZE else raw + raw)


@pytest.mark.parametrize("ptype", [0, 15, 16, 0x100, 0x7FFFFFFF, 0xFFFFFFFF])
@pytest.mark.parametrize("payload", [b"", b"\x01\x00\x00\x00"])
def test_unknown_packet_types(ptype: int, payload: bytes) -> None:
    with pytest.raises(MalformedPacket, match=f"unknown packet type {ptype}"):
        decode_packet(frame(ptype, payload))


# Smallest payload each type accepts, and whether it takes only that exact size.
MIN_PAYLOAD: dict[PacketType, tuple[int, bool]] = {
    PacketType.INIT_COMMAND_REQUEST: (16 + 2 + 4, False),
    PacketType.INIT_COMMAND_ACK: (4 + 16 + 2 + 4, False),
    PacketType.INIT_EVENT_REQUEST: (4, True),
    PacketType.INIT_EVENT_ACK: (0, True),
    PacketType.INIT_FAIL: (4, True),
    PacketType.OPERATION_REQUEST: (10, False),
    PacketType.OPERATION_RESPONSE: (6, False),
    PacketType.EVENT: (6, False),
    PacketType.START_DATA: (12, True),
    PacketType.DATA: (4, False),
    PacketType.CANCEL: (4, True),
    PacketType.END_DATA: (4, False),
    PacketType.PROBE_REQUEST: (0, True),
    PacketType.PROBE_RESPONSE: (0, True),
}

# One full-size sample per type, used for truncation.
SAMPLES: list[Packet] = [
    InitCommandRequest(PMH_GUID, "WIN7-VM"),
    InitCommandAck(1, ILCE5000_GUID, "ILCE-5000"),
    InitEventRequest(1),
    InitEventAck(),
    InitFail(1),
    OperationRequest(0x9805, 9, (1, 2, 3, 4, 5), 0),
    OperationResponse(0x2001, 9, (1, 2, 3, 4, 5)),
    Event(0x4002, 9, (1, 2, 3)),
    StartData(9, 0x1_0000_0012),
    Data(9, bytes(range(40))),
    Cancel(9),
    EndData(9, bytes(range(40))),
    ProbeRequest(),
    ProbeResponse(),
]


def test_min_payload_table_is_right() -> None:
    assert set(MIN_PAYLOAD) == set(PacketType)
    assert {p.TYPE for p in SAMPLES} == set(PacketType)
    for ptype, (size, _) in MIN_PAYLOAD.items():
        if ptype in (PacketType.INIT_COMMAND_REQUEST, PacketType.INIT_COMMAND_ACK):
            continue  # needs a NUL where the name goes; checked in the Init tests below
        decode_packet(frame(ptype, bytes(size)))


@pytest.mark.parametrize("packet", SAMPLES, ids=lambda p: type(p).__name__)
def test_truncated_payloads(packet: Packet) -> None:
    full = packet.payload()
    minimum, exact = MIN_PAYLOAD[packet.TYPE]
    for cut in range(len(full)):
        raw = frame(packet.TYPE, full[:cut])
        if cut < minimum or exact:
            with pytest.raises(MalformedPacket):
                decode_packet(raw)
        elif isinstance(packet, (InitCommandRequest, InitCommandAck)):
            # The version must be exactly the 4 bytes after the name's NUL: no prefix fits.
            with pytest.raises(MalformedPacket):
                decode_packet(raw)
        elif isinstance(packet, (OperationRequest, OperationResponse, Event)):
            extra = cut - minimum
            if extra % 4:
                with pytest.raises(MalformedPacket, match="multiple of 4"):
                    decode_packet(raw)
            else:
                shorter = decode_packet(raw)
                assert isinstance(shorter, type(packet))
                assert shorter.params == packet.params[: extra // 4]
        else:
            assert isinstance(packet, (Data, EndData))
            assert decode_packet(raw) == type(packet)(packet.transaction_id, packet.data[: cut - 4])


@pytest.mark.parametrize("packet", SAMPLES, ids=lambda p: type(p).__name__)
def test_trailing_byte_after_fixed_layout(packet: Packet) -> None:
    _, exact = MIN_PAYLOAD[packet.TYPE]
    raw = frame(packet.TYPE, packet.payload() + b"\x00")
    if exact or isinstance(
        packet, (InitCommandRequest, InitCommandAck, OperationRequest, OperationResponse, Event)
    ):
        with pytest.raises(MalformedPacket):
            decode_packet(raw)
    else:
        assert isinstance(packet, (Data, EndData))
        assert decode_packet(raw) == type(packet)(packet.transaction_id, packet.data + b"\x00")


# --- hostile input: names -----------------------------------------------------------------------


def init_request_payload(name_bytes: bytes, version: bytes = b"\x00\x00\x01\x00") -> bytes:
    return PMH_GUID + name_bytes + version


def init_ack_payload(name_bytes: bytes, version: bytes = b"\x00\x00\x01\x00") -> bytes:
    return b"\x01\x00\x00\x00" + ILCE5000_GUID + name_bytes + version


NAME_PAYLOADS = [
    (PacketType.INIT_COMMAND_REQUEST, init_request_payload),
    (PacketType.INIT_COMMAND_ACK, init_ack_payload),
]


@pytest.mark.parametrize(("ptype", "build"), NAME_PAYLOADS, ids=["request", "ack"])
def test_name_without_nul_terminator(ptype: int, build: Callable[..., bytes]) -> None:
    # No aligned 0000 unit anywhere, the version included.
    raw = frame(ptype, build("WIN7-VM".encode("utf-16-le"), b"\x01\x00\x01\x00"))
    with pytest.raises(MalformedPacket, match="not NUL-terminated"):
        decode_packet(raw)
    # With the usual version its first two zero bytes pose as the NUL; the rest is too short.
    raw = frame(ptype, build("WIN7-VM".encode("utf-16-le")))
    with pytest.raises(MalformedPacket):
        decode_packet(raw)
    # A NUL that is not on a 16-bit boundary is not a terminator.
    raw = frame(ptype, build(b"A" + b"\x00\x00" + b"B", b"\x01\x00\x01\x00"))
    with pytest.raises(MalformedPacket):
        decode_packet(raw)


@pytest.mark.parametrize(("ptype", "build"), NAME_PAYLOADS, ids=["request", "ack"])
@pytest.mark.parametrize(
    "name_bytes",
    [b"A", b"A\x00B", b"A\x00B\x00C", "WIN7-VM".encode("utf-16-le") + b"\x00"],
)
def test_odd_length_name(ptype: int, build: Callable[..., bytes], name_bytes: bytes) -> None:
    with pytest.raises(MalformedPacket):
        decode_packet(frame(ptype, build(name_bytes + b"\x00\x00")))


@pytest.mark.parametrize(("ptype", "build"), NAME_PAYLOADS, ids=["request", "ack"])
@pytest.mark.parametrize(
    "units",
    [
        b"\x00\xd8",  # lone high surrogate at the end
        b"\x00\xdc",  # lone low surrogate
        b"\x00\xd8A\x00",  # high surrogate followed by a non-surrogate
        b"A\x00\x00\xdcB\x00",  # low surrogate in the middle
        b"\x00\xdc\x00\xd8",  # pair in the wrong order
    ],
)
def test_name_with_invalid_utf16(ptype: int, build: Callable[..., bytes], units: bytes) -> None:
    with pytest.raises(MalformedPacket, match="not valid UTF-16"):
        decode_packet(frame(ptype, build(units + b"\x00\x00")))


@pytest.mark.parametrize(("ptype", "build"), NAME_PAYLOADS, ids=["request", "ack"])
def test_name_length_limit_on_decode(ptype: int, build: Callable[..., bytes]) -> None:
    ok = decode_packet(frame(ptype, build("n".encode("utf-16-le") * MAX_NAME_UNITS + b"\0\0")))
    assert isinstance(ok, (InitCommandRequest, InitCommandAck))
    assert ok.friendly_name == "n" * MAX_NAME_UNITS
    too_long = frame(ptype, build("n".encode("utf-16-le") * (MAX_NAME_UNITS + 1) + b"\0\0"))
    with pytest.raises(MalformedPacket, match="longer than 255"):
        decode_packet(too_long)


def test_valid_surrogate_pair_in_name_decodes() -> None:
    raw = frame(PacketType.INIT_COMMAND_REQUEST, init_request_payload(b"\x3d\xd8\xf7\xdc\0\0"))
    packet = decode_packet(raw)
    assert isinstance(packet, InitCommandRequest)
    assert packet.friendly_name == "\U0001f4f7"


def test_version_bytes_are_minor_then_major() -> None:
    raw = frame(PacketType.INIT_COMMAND_REQUEST, init_request_payload(b"\0\0", h("0200 0100")))
    packet = decode_packet(raw)
    assert isinstance(packet, InitCommandRequest)
    assert packet.version == 0x00010002
    assert encode_packet(packet) == raw


# --- hostile input: parameters ------------------------------------------------------------------

PARAM_TYPES = [
    (PacketType.OPERATION_REQUEST, h("01000000 0110 01000000"), MAX_PARAMS),
    (PacketType.OPERATION_RESPONSE, h("0120 01000000"), MAX_PARAMS),
    (PacketType.EVENT, h("0240 01000000"), MAX_EVENT_PARAMS),
]


@pytest.mark.parametrize(("ptype", "fixed", "limit"), PARAM_TYPES, ids=["req", "resp", "event"])
@pytest.mark.parametrize("extra", [1, 2, 3, 5, 7, 9])
def test_params_not_a_multiple_of_4(ptype: int, fixed: bytes, limit: int, extra: int) -> None:
    with pytest.raises(MalformedPacket, match="not a multiple of 4"):
        decode_packet(frame(ptype, fixed + bytes(extra)))


@pytest.mark.parametrize(("ptype", "fixed", "limit"), PARAM_TYPES, ids=["req", "resp", "event"])
def test_too_many_params(ptype: int, fixed: bytes, limit: int) -> None:
    decoded = decode_packet(frame(ptype, fixed + bytes(4 * limit)))
    assert isinstance(decoded, (OperationRequest, OperationResponse, Event))
    assert decoded.params == (0,) * limit
    for count in (limit + 1, limit + 2, 16):
        with pytest.raises(MalformedPacket, match=f"{count} parameters"):
            decode_packet(frame(ptype, fixed + bytes(4 * count)))


# --- fuzz -------------------------------------------------------------------------------------


@settings(max_examples=300)
@given(raw=st.binary(max_size=80))
def test_fuzz_decode_raises_only_protocol_error(raw: bytes) -> None:
    try:
        packet = decode_packet(raw)
    except ProtocolError:
        return
    assert encode_packet(packet) == raw


@settings(max_examples=300)
@given(ptype=st.integers(0, 16), payload=st.binary(max_size=80))
def test_fuzz_framed_payload(ptype: int, payload: bytes) -> None:
    """A correct header around random bytes: every accepted packet re-encodes byte-identically."""
    raw = frame(ptype, payload)
    try:
        packet = decode_packet(raw)
    except ProtocolError:
        return
    assert ptype == packet.TYPE
    assert encode_packet(packet) == raw


@settings(max_examples=200)
@given(
    ptype=st.sampled_from([PacketType.INIT_COMMAND_REQUEST, PacketType.INIT_COMMAND_ACK]),
    prefix=st.binary(min_size=20, max_size=20),
    units=st.lists(st.integers(0, 0xFFFF), max_size=20),
    tail=st.binary(max_size=8),
)
def test_fuzz_init_names(ptype: int, prefix: bytes, units: list[int], tail: bytes) -> None:
    """Random UTF-16 units (surrogates included) where the friendly name goes."""
    raw = frame(ptype, prefix + struct.pack(f"<{len(units)}H", *units) + tail)
    try:
        packet = decode_packet(raw)
    except ProtocolError:
        return
    assert encode_packet(packet) == raw
