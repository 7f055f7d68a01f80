"""Tests for PacketReader: reassembly across arbitrary TCP segmentation, limits, EOF."""

from __future__ import annotations

import itertools
import struct
import tracemalloc

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from golden import SENDING
from sony_pm_alt.ptpip.codes import DataPhase, OperationCode, PacketType, ResponseCode
from sony_pm_alt.ptpip.errors import LimitExceeded, MalformedPacket, ProtocolError
from sony_pm_alt.ptpip.packets import (
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
    encode_packet,
)
from sony_pm_alt.ptpip.stream import MAX_CONTROL_PACKET, MAX_DATA_PACKET, PacketReader

# A session's worth of packets of every type, in the order they might share one stream.
PACKETS: list[Packet] = [
    InitCommandRequest(bytes.fromhex("00000000 00000000 ffff0800 27f5164f"), "WIN7-VM"),
    InitCommandAck(1, bytes.fromhex("00000000 00000000 ffff d8c4 6a97 69b4"), "ILCE-5000"),
    InitEventRequest(1),
    InitEventAck(),
    OperationRequest(OperationCode.OPEN_SESSION, 0, (1,)),
    OperationResponse(ResponseCode.OK, 0),
    OperationRequest(OperationCode.SONY_SET_REQUEST, 2, (4,), DataPhase.DATA_OUT),
    StartData(2, 18),
    EndData(2, SENDING),
    OperationResponse(ResponseCode.OK, 2),
    OperationRequest(OperationCode.SONY_GET_REQUEST, 3, (4,)),
    StartData(3, 300),
    Data(3, bytes(range(256))),
    Data(3, b"x" * 44),
    EndData(3),
    OperationResponse(ResponseCode.OK, 3, (1, 2, 3, 4, 5)),
    Event(0x4002, 0, (7,)),
    ProbeRequest(),
    ProbeResponse(),
    Cancel(4),
    InitFail(2),
    Data(5, b""),
    OperationRequest(0x9805, 6, (1, 0, 0xFFFFFFFF, 0, 0), 0),
]
STREAM = b"".join(encode_packet(p) for p in PACKETS)


def feed_chunks(chunks: list[bytes]) -> tuple[list[Packet], PacketReader]:
    reader = PacketReader()
    out: list[Packet] = []
    for chunk in chunks:
        assert chunk, "b'' would mean end of stream"
        out.extend(reader.feed(chunk))
    return out, reader


def split_at(data: bytes, points: list[int]) -> list[bytes]:
    cuts = [0, *sorted(set(points)), len(data)]
    return [data[a:b] for a, b in itertools.pairwise(cuts) if b > a]


def test_all_coalesced() -> None:
    packets, reader = feed_chunks([STREAM])
    assert packets == PACKETS
    assert [type(p) for p in packets] == [type(p) for p in PACKETS]
    assert reader.buffered == 0


def test_one_byte_at_a_time() -> None:
    reader = PacketReader()
    out: list[Packet] = []
    boundaries = set()
    offset = 0
    for p in PACKETS:
        offset += len(encode_packet(p))
        boundaries.add(offset)
    for i in range(len(STREAM)):
        got = reader.feed(STREAM[i : i + 1])
        # A packet comes out exactly when its last byte arrives, never earlier or later.
        assert len(got) == (1 if i + 1 in boundaries else 0)
        out.extend(got)
        assert reader.buffered == (i + 1) - max(b for b in boundaries | {0} if b <= i + 1)
    assert out == PACKETS


def test_split_at_every_byte_boundary() -> None:
    for cut in range(len(STREAM) + 1):
        packets, reader = feed_chunks(split_at(STREAM, [cut]))
        assert packets == PACKETS, cut
        assert reader.buffered == 0


def test_header_and_body_in_separate_segments_like_the_ilce5000() -> None:
    # sony-pm-alt #7: the OpenSession response header and its 6-byte body came 48 ms apart.
    raw = bytes.fromhex("0e000000 07000000 0120 00000000")
    reader = PacketReader()
    assert reader.feed(raw[:8]) == []
    assert reader.buffered == 8
    assert reader.feed(raw[8:]) == [OperationResponse(ResponseCode.OK, 0)]


def test_data_header_and_payload_written_separately() -> None:
    reader = PacketReader()
    assert reader.feed(data_header(0x23, len(SENDING))) == []
    assert reader.feed(SENDING) == [Data(0x23, SENDING)]


@settings(max_examples=150)
@given(points=st.lists(st.integers(0, len(STREAM)), max_size=40))
def test_hypothesis_split_points(points: list[int]) -> None:
    packets, reader = feed_chunks(split_at(STREAM, points))
    assert packets == PACKETS
    assert reader.buffered == 0


@settings(max_examples=50)
@given(
    packets=st.lists(
        st.one_of(
            st.builds(Data, st.integers(0, 0xFFFFFFFF), st.binary(max_size=200)),
            st.builds(StartData, st.integers(0, 0xFFFFFFFF), st.integers(0, 2**64 - 1)),
            st.builds(
                OperationResponse,
                st.integers(0, 0xFFFF),
                st.integers(0, 0xFFFFFFFF),
                st.lists(st.integers(0, 0xFFFFFFFF), max_size=5).map(tuple),
            ),
            st.just(ProbeRequest()),
        ),
        max_size=12,
    ),
    data=st.data(),
)
def test_hypothesis_packets_and_split_points(packets: list[Packet], data: st.DataObject) -> None:
    stream = b"".join(encode_packet(p) for p in packets)
    points = data.draw(st.lists(st.integers(0, len(stream)), max_size=20))
    got, reader = feed_chunks(split_at(stream, points))
    assert got == packets
    assert reader.buffered == 0
    assert reader.feed(b"") == []
    assert reader.closed


# --- malformed headers ----------------------------------------------------------------------


@pytest.mark.parametrize("length", range(8))
def test_length_below_header_raises(length: int) -> None:
    reader = PacketReader()
    header = struct.pack("<II", length, PacketType.PROBE_REQUEST)
    assert reader.feed(header[:7]) == []  # not decidable before the whole header is there
    with pytest.raises(MalformedPacket, match="below the 8-byte header"):
        reader.feed(header[7:])


def test_length_below_header_after_good_packets() -> None:
    reader = PacketReader()
    with pytest.raises(MalformedPacket):
        reader.feed(encode_packet(ProbeRequest()) + struct.pack("<II", 4, 13))


def test_bad_payload_inside_good_framing_raises() -> None:
    reader = PacketReader()
    # Start Data with an 11-byte payload.
    with pytest.raises(MalformedPacket):
        reader.feed(struct.pack("<II", 19, PacketType.START_DATA) + bytes(11))


def test_unknown_type_raises() -> None:
    with pytest.raises(MalformedPacket, match="unknown packet type 15"):
        PacketReader().feed(struct.pack("<II", 8, 15))


# --- limits ---------------------------------------------------------------------------------


def peak_memory_while_raising(reader: PacketReader, chunk: bytes) -> int:
    tracemalloc.start()
    try:
        with pytest.raises(LimitExceeded):
            reader.feed(chunk)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return peak


CONTROL_TYPES = [t for t in PacketType if t not in (PacketType.DATA, PacketType.END_DATA)]


@pytest.mark.parametrize("ptype", [*CONTROL_TYPES, 0, 15, 0xFFFFFFFF], ids=str)
def test_huge_control_packet_rejected_from_the_header_alone(ptype: int) -> None:
    reader = PacketReader()
    peak = peak_memory_while_raising(reader, struct.pack("<II", 0xFFFFFFFF, ptype))
    assert peak < 64 * 1024


@pytest.mark.parametrize("ptype", [PacketType.DATA, PacketType.END_DATA])
def test_huge_data_packet_rejected_from_the_header_alone(ptype: int) -> None:
    reader = PacketReader()
    peak = peak_memory_while_raising(reader, struct.pack("<II", 0xFFFFFFFF, ptype))
    assert peak < 64 * 1024


def test_control_limit_boundary() -> None:
    reader = PacketReader()
    assert reader.feed(struct.pack("<II", MAX_CONTROL_PACKET, PacketType.OPERATION_REQUEST)) == []
    assert reader.buffered == 8
    with pytest.raises(LimitExceeded, match=str(MAX_CONTROL_PACKET)):
        PacketReader().feed(struct.pack("<II", MAX_CONTROL_PACKET + 1, PacketType.START_DATA))


def test_data_limit_boundary() -> None:
    reader = PacketReader()
    assert reader.feed(struct.pack("<II", MAX_DATA_PACKET, PacketType.DATA)) == []
    assert reader.buffered == 8
    with pytest.raises(LimitExceeded):
        PacketReader().feed(struct.pack("<II", MAX_DATA_PACKET + 1, PacketType.END_DATA))


def test_data_packets_may_exceed_the_control_limit() -> None:
    big = Data(1, bytes(MAX_CONTROL_PACKET * 4))
    assert PacketReader().feed(encode_packet(big)) == [big]


def test_limit_is_checked_after_a_split_header() -> None:
    reader = PacketReader()
    header = struct.pack("<II", 0xFFFFFFFF, PacketType.DATA)
    assert reader.feed(header[:5]) == []
    with pytest.raises(LimitExceeded):
        reader.feed(header[5:])


def test_limit_is_checked_for_a_packet_behind_a_good_one() -> None:
    reader = PacketReader()
    with pytest.raises(LimitExceeded):
        reader.feed(encode_packet(ProbeRequest()) + struct.pack("<II", 0xFFFFFFFF, 6))


def test_custom_limits() -> None:
    reader = PacketReader(max_control_packet=20, max_data_packet=30)
    assert reader.feed(encode_packet(StartData(1, 2))) == [StartData(1, 2)]  # 20 bytes
    assert reader.feed(encode_packet(Data(1, bytes(18)))) == [Data(1, bytes(18))]  # 30 bytes
    with pytest.raises(LimitExceeded):
        reader.feed(encode_packet(OperationRequest(1, 1, (1,))))  # 22 bytes
    with pytest.raises(LimitExceeded):
        PacketReader(max_control_packet=20, max_data_packet=30).feed(
            encode_packet(EndData(1, bytes(19)))
        )


def test_largest_init_packet_fits_the_control_limit() -> None:
    ack = InitCommandAck(0xFFFFFFFF, bytes(16), "\uffff" * 255)
    assert PacketReader().feed(encode_packet(ack)) == [ack]


# --- end of stream --------------------------------------------------------------------------


def test_eof_on_a_packet_boundary() -> None:
    reader = PacketReader()
    assert reader.feed(encode_packet(ProbeRequest())) == [ProbeRequest()]
    assert not reader.closed
    assert reader.feed(b"") == []
    assert reader.closed


def test_eof_on_an_empty_stream() -> None:
    reader = PacketReader()
    assert reader.feed(b"") == []
    assert reader.closed


@pytest.mark.parametrize("cut", [1, 4, 7, 8, 9, 13])
def test_eof_mid_packet_raises(cut: int) -> None:
    raw = encode_packet(OperationResponse(ResponseCode.OK, 0))  # 14 bytes
    reader = PacketReader()
    assert reader.feed(raw[:cut]) == []
    with pytest.raises(MalformedPacket, match="closed in the middle of a packet"):
        reader.feed(b"")
    assert reader.closed


def test_feed_after_close_raises() -> None:
    reader = PacketReader()
    reader.feed(b"")
    with pytest.raises(MalformedPacket, match="after end of stream"):
        reader.feed(encode_packet(ProbeRequest()))
    with pytest.raises(MalformedPacket, match="after end of stream"):
        reader.feed(b"")


def test_feed_after_eof_mid_packet_raises() -> None:
    reader = PacketReader()
    reader.feed(b"\x0e\x00")
    with pytest.raises(MalformedPacket):
        reader.feed(b"")
    with pytest.raises(MalformedPacket):
        reader.feed(b"\x00")


# --- fuzz -----------------------------------------------------------------------------------


@settings(max_examples=300)
@given(chunks=st.lists(st.binary(max_size=40), max_size=8), eof=st.booleans())
def test_fuzz_random_bytes_raise_only_protocol_error(chunks: list[bytes], eof: bool) -> None:
    reader = PacketReader(max_control_packet=200, max_data_packet=400)
    fed, packets = b"", []
    try:
        for chunk in chunks:
            fed += chunk
            packets += reader.feed(chunk)
        if eof:
            packets += reader.feed(b"")
    except ProtocolError:
        return  # anything else fails the test
    assert_packets_are_the_stream(reader, fed, packets)
    assert reader.closed is (eof or b"" in chunks)  # an empty chunk is the end of stream too


def assert_packets_are_the_stream(reader: PacketReader, fed: bytes, packets: list[Packet]) -> None:
    """What the reader returned is the start of what it was fed, and the rest is buffered."""
    consumed = b"".join(encode_packet(packet) for packet in packets)
    assert fed.startswith(consumed)
    assert len(consumed) + reader.buffered == len(fed)


@settings(max_examples=200)
@given(
    prefix=st.binary(max_size=12),
    ptype=st.integers(0, 16),
    payload=st.binary(max_size=30),
    points=st.lists(st.integers(0, 60), max_size=6),
)
def test_fuzz_framed_packets_raise_only_protocol_error(
    prefix: bytes, ptype: int, payload: bytes, points: list[int]
) -> None:
    stream = encode_packet(ProbeRequest()) + struct.pack("<II", 8 + len(payload), ptype) + payload
    stream = prefix + stream if prefix else stream
    reader = PacketReader()
    packets = []
    try:
        for chunk in split_at(stream, [p for p in points if p <= len(stream)]):
            packets += reader.feed(chunk)
    except ProtocolError:
        assert prefix or (ptype, payload) != (PacketType.PROBE_REQUEST, b"")  # two probes are fine
        return
    assert_packets_are_the_stream(reader, stream, packets)
    if not prefix:  # the probe is first, whatever follows it
        assert packets[0] == ProbeRequest()
