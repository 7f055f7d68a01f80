"""Tests for the sans-IO PTP/IP connection state machines (command and event, both roles).

Golden bytes: ``docs/protocol.md`` §4, §5, §10 and §11.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from golden import SENDING
from sony_pm_alt.ptpip.codes import DataPhase, EventCode, OperationCode, ResponseCode
from sony_pm_alt.ptpip.connection import (
    DATA_OUT_CHUNK,
    MAX_DATA_IN,
    MAX_DATA_OUT,
    NEED_DATA,
    PAUSED,
    ChannelEvent,
    CommandConnection,
    EventConnection,
    OperationComplete,
    OperationReady,
    Role,
    Sentinel,
    State,
    drain,
)
from sony_pm_alt.ptpip.errors import (
    LimitExceeded,
    MalformedPacket,
    ProtocolError,
    UnexpectedPacket,
)
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
    encode_packet,
)
from sony_pm_alt.ptpip.stream import PacketReader


def h(text: str) -> bytes:
    return bytes.fromhex(text)


def enc(*packets: Packet) -> bytes:
    return b"".join(encode_packet(p) for p in packets)


def decode_all(raw: bytes) -> list[Packet]:
    reader = PacketReader()
    packets = reader.feed(raw)
    assert reader.buffered == 0
    return packets


Connection = CommandConnection | EventConnection


def state(conn: Connection) -> State:
    """The connection's state, read through a call so that mypy does not narrow it."""
    return conn.state


def events(conn: Connection) -> tuple[list[ChannelEvent], Sentinel]:
    """Every event available now, and the sentinel that ended the list."""
    out: list[ChannelEvent] = []
    while True:
        event = conn.next_event()
        if isinstance(event, Sentinel):
            return out, event
        out.append(event)


def one_event(conn: Connection) -> ChannelEvent:
    got, _ = events(conn)
    assert len(got) == 1, got
    return got[0]


PMH_GUID = h("00000000 00000000 ffff0800 27f5164f")
ILCE_GUID = h("00000000 00000000 ffff d8c4 6a97 69b4")
INIT_REQUEST = h(
    "2c000000 01000000 00000000 00000000 ffff0800 27f5164f"
    " 5700 4900 4e00 3700 2d00 5600 4d00 0000 0000 0100"
)
INIT_ACK = h(
    "34000000 02000000 01000000 00000000 00000000 ffff d8c4 6a97 69b4"
    " 4900 4c00 4300 4500 2d00 3500 3000 3000 3000 0000 0000 0100"
)
INIT_FAIL = h("0c000000 05000000 01000000")
OPEN_SESSION = h("16000000 06000000 01000000 0210 00000000 01000000")
OPEN_SESSION_OK = h("0e000000 07000000 0120 00000000")
GET_DEVICE_INFO = h("12000000 06000000 01000000 0110 01000000")
GPHOTO2_9280 = (
    h("16000000 06000000 02000000 8092 02000000 04000000"),
    h("14000000 09000000 02000000 12000000 00000000"),
    h("1e000000 0c000000 02000000") + SENDING,
)
GPHOTO2_9280_OK = h("0e000000 07000000 0120 02000000")
GPHOTO2_9281 = h("16000000 06000000 01000000 8192 03000000 04000000")
SHAPE_B = (
    h("14000000 09000000 23000000 12000000 00000000"),
    h("1e000000 0a000000 23000000") + SENDING,
    h("0c000000 0c000000 23000000"),
)
OK = ResponseCode.OK
SONY_SET = OperationCode.SONY_SET_REQUEST
SONY_GET = OperationCode.SONY_GET_REQUEST


def responder(
    *, data_out_opcodes: Iterable[int] = (SONY_SET,), max_data_out: int = MAX_DATA_OUT
) -> CommandConnection:
    """A responder that has completed the Init handshake with PlayMemories Home."""
    conn = CommandConnection(
        Role.RESPONDER, data_out_opcodes=data_out_opcodes, max_data_out=max_data_out
    )
    conn.receive_data(INIT_REQUEST)
    assert one_event(conn) == InitCommandRequest(PMH_GUID, "WIN7-VM")
    assert conn.send_init_ack(1, ILCE_GUID, "ILCE-5000") == INIT_ACK
    assert state(conn) is State.IDLE
    return conn


def initiator(*, max_data_in: int = MAX_DATA_IN) -> CommandConnection:
    """An initiator that has completed the Init handshake with an ILCE-5000."""
    conn = CommandConnection(Role.INITIATOR, max_data_in=max_data_in)
    assert conn.send_init_request(PMH_GUID, "WIN7-VM") == INIT_REQUEST
    conn.receive_data(INIT_ACK)
    assert one_event(conn) == InitCommandAck(1, ILCE_GUID, "ILCE-5000")
    assert state(conn) is State.IDLE
    return conn


def answer(conn: CommandConnection, data: bytes = b"") -> OperationComplete:
    """Feed the initiator an OK response to its outstanding request."""
    request = conn.current_request
    assert request is not None
    conn.receive_data(enc(OperationResponse(OK, request.transaction_id)))
    complete = one_event(conn)
    assert isinstance(complete, OperationComplete)
    assert complete.data == data
    return complete


def command_calls(conn: CommandConnection) -> list[Callable[[], object]]:
    return [
        lambda: conn.receive_data(enc(ProbeRequest())),
        lambda: conn.receive_data(b""),
        conn.next_event,
        lambda: conn.send_response(OK),
        lambda: conn.send_start_data(1),
        lambda: conn.send_data(b"x"),
        lambda: conn.send_data(b""),
        lambda: conn.send_data_header(0, end=True),
        conn.send_probe_request,
        conn.send_probe_response,
        lambda: conn.send_init_ack(1, ILCE_GUID, "ILCE-5000"),
        lambda: conn.send_init_fail(1),
        lambda: conn.send_init_request(PMH_GUID, "WIN7-VM"),
        lambda: conn.send_request(OperationCode.GET_DEVICE_INFO),
        lambda: conn.send_request(SONY_SET, (4,), SENDING),
    ]


def assert_dead(conn: CommandConnection) -> None:
    """After an error every further call raises ProtocolError and the state stays ERROR."""
    assert state(conn) is State.ERROR
    for call in command_calls(conn):
        with pytest.raises(ProtocolError):
            call()
        assert state(conn) is State.ERROR


# ============================================================================ responder


def test_responder_init_flow() -> None:
    conn = CommandConnection(Role.RESPONDER)
    assert conn.role is Role.RESPONDER
    assert state(conn) is State.WAIT_INIT
    assert conn.next_event() is NEED_DATA
    conn.receive_data(INIT_REQUEST[:10])
    assert conn.next_event() is NEED_DATA
    conn.receive_data(INIT_REQUEST[10:])
    assert conn.next_event() == InitCommandRequest(PMH_GUID, "WIN7-VM")
    assert state(conn) is State.RESPONDING
    assert conn.next_event() is PAUSED
    assert conn.send_init_ack(1, ILCE_GUID, "ILCE-5000") == INIT_ACK
    assert state(conn) is State.IDLE
    assert conn.next_event() is NEED_DATA


def test_responder_init_fail() -> None:
    conn = CommandConnection(Role.RESPONDER)
    conn.receive_data(INIT_REQUEST)
    assert isinstance(conn.next_event(), InitCommandRequest)
    assert conn.send_init_fail(1) == INIT_FAIL
    assert state(conn) is State.CLOSED


def test_responder_after_init_fail_executes_nothing() -> None:
    """A refused initiator (unknown GUID) must not get operations executed.

    Here the OpenSession request was pipelined behind the Init Command Request, so it is
    already buffered when the responder refuses the connection.
    """
    conn = CommandConnection(Role.RESPONDER)
    conn.receive_data(INIT_REQUEST + OPEN_SESSION)
    assert isinstance(conn.next_event(), InitCommandRequest)
    assert conn.send_init_fail(1) == INIT_FAIL
    assert state(conn) is State.CLOSED
    with pytest.raises(ProtocolError):
        conn.next_event()


def test_responder_send_init_ack_only_answers_an_init_request() -> None:
    conn = responder()
    conn.receive_data(GET_DEVICE_INFO)
    assert isinstance(conn.next_event(), OperationReady)
    with pytest.raises(ProtocolError):
        conn.send_init_ack(1, ILCE_GUID, "ILCE-5000")  # the operation is owed a response
    assert state(conn) is State.ERROR


def test_responder_open_session_and_get_device_info() -> None:
    conn = responder()
    conn.receive_data(OPEN_SESSION)
    ready = conn.next_event()
    assert ready == OperationReady(OperationRequest(OperationCode.OPEN_SESSION, 0, (1,), 1))
    assert isinstance(ready, OperationReady)
    assert ready.data is None
    assert ready.data_transaction_id is None
    assert conn.current_request == ready.request
    assert state(conn) is State.RESPONDING
    assert conn.next_event() is PAUSED
    assert conn.next_event() is PAUSED
    assert conn.send_response(OK) == OPEN_SESSION_OK
    assert conn.current_request is None
    assert state(conn) is State.IDLE
    assert conn.next_event() is NEED_DATA
    conn.receive_data(GET_DEVICE_INFO)
    ready = conn.next_event()
    assert isinstance(ready, OperationReady)
    assert ready.request == OperationRequest(OperationCode.GET_DEVICE_INFO, 1)


def test_responder_paused_until_response_even_with_queued_requests() -> None:
    conn = responder()
    conn.receive_data(OPEN_SESSION + GET_DEVICE_INFO + enc(ProbeRequest()))
    first = conn.next_event()
    assert isinstance(first, OperationReady)
    assert first.request.transaction_id == 0
    assert conn.next_event() is PAUSED
    conn.send_response(OK)
    second = conn.next_event()
    assert isinstance(second, OperationReady)
    assert second.request.transaction_id == 1
    assert conn.next_event() is PAUSED
    conn.send_response(OK, (1, 2))
    assert conn.next_event() == ProbeRequest()
    assert conn.next_event() is NEED_DATA


def test_responder_response_params() -> None:
    conn = responder()
    conn.receive_data(enc(OperationRequest(OperationCode.GET_NUM_OBJECTS, 7, (1, 0, 0))))
    assert isinstance(conn.next_event(), OperationReady)
    out = conn.send_response(OK, (42,))
    assert decode_all(out) == [OperationResponse(OK, 7, (42,))]


# --- data-out shapes ----------------------------------------------------------------------


def test_data_out_shape_a_gphoto2_bytes() -> None:
    conn = responder(data_out_opcodes=())
    conn.receive_data(OPEN_SESSION)
    conn.next_event()
    conn.send_response(OK)
    conn.receive_data(GET_DEVICE_INFO)
    conn.next_event()
    conn.send_response(OK)
    conn.receive_data(GPHOTO2_9280[0])
    assert conn.next_event() is NEED_DATA
    assert state(conn) is State.REQUESTED
    conn.receive_data(GPHOTO2_9280[1])
    assert conn.next_event() is NEED_DATA
    assert state(conn) is State.DATA
    conn.receive_data(GPHOTO2_9280[2])
    ready = conn.next_event()
    assert ready == OperationReady(
        OperationRequest(SONY_SET, 2, (4,), DataPhase.DATA_OUT), SENDING, 2
    )
    assert conn.send_response(OK) == GPHOTO2_9280_OK
    conn.receive_data(GPHOTO2_9281)
    ready = conn.next_event()
    assert isinstance(ready, OperationReady)
    assert ready.request == OperationRequest(SONY_GET, 3, (4,))
    assert ready.data is None


@pytest.mark.parametrize("phase", [DataPhase.DATA_OUT, DataPhase.UNSPECIFIED])
def test_data_out_shape_b(phase: int) -> None:
    conn = responder()
    request = OperationRequest(SONY_SET, 0x23, (4,), phase)
    conn.receive_data(enc(request) + b"".join(SHAPE_B))
    assert events(conn) == ([OperationReady(request, SENDING, 0x23)], PAUSED)
    assert decode_all(conn.send_response(OK)) == [OperationResponse(OK, 0x23)]
    assert conn.next_event() is NEED_DATA


def test_data_out_several_data_packets() -> None:
    conn = responder()
    request = OperationRequest(OperationCode.MTP_SET_OBJECT_PROP_VALUE, 9, (1, 0xDC07), 2)
    payload = bytes(range(256)) * 3
    conn.receive_data(
        enc(
            request,
            StartData(9, len(payload)),
            Data(9, payload[:100]),
            Data(9, b""),
            Data(9, payload[100:500]),
            Data(9, payload[500:700]),
            EndData(9, payload[700:]),
        )
    )
    assert events(conn) == ([OperationReady(request, payload, 9)], PAUSED)


def test_data_out_several_data_packets_then_empty_end_data() -> None:
    conn = responder()
    request = OperationRequest(SONY_SET, 9, (4,), 2)
    conn.receive_data(enc(request, StartData(9, 6), Data(9, b"abc"), Data(9, b"def")))
    assert events(conn) == ([], NEED_DATA)
    conn.receive_data(enc(EndData(9)))
    assert events(conn) == ([OperationReady(request, b"abcdef", 9)], PAUSED)


def test_gphoto2_zero_length_data_out_only_start_data() -> None:
    conn = responder()
    request = OperationRequest(SONY_SET, 4, (4,), DataPhase.DATA_OUT)
    conn.receive_data(enc(request, StartData(4, 0)))
    assert events(conn) == ([OperationReady(request, b"", 4)], PAUSED)
    conn.send_response(OK)
    # No End Data follows: the next request is handled normally.
    conn.receive_data(enc(OperationRequest(SONY_GET, 5, (4,))))
    ready = one_event(conn)
    assert isinstance(ready, OperationReady)
    assert ready.request.transaction_id == 5


def test_zero_length_data_out_trailing_empty_end_data_is_swallowed() -> None:
    seen: list[Packet] = []
    conn = CommandConnection(Role.RESPONDER, data_out_opcodes=(SONY_SET,), on_packet=seen.append)
    conn.receive_data(INIT_REQUEST)
    conn.next_event()
    conn.send_init_ack(1, ILCE_GUID, "ILCE-5000")
    request = OperationRequest(SONY_SET, 4, (4,), DataPhase.DATA_OUT)
    conn.receive_data(enc(request, StartData(4, 0), EndData(4)))
    assert events(conn) == ([OperationReady(request, b"", 4)], PAUSED)
    conn.send_response(OK)
    assert events(conn) == ([], NEED_DATA)
    assert state(conn) is State.IDLE
    conn.receive_data(enc(OperationRequest(SONY_GET, 5, (4,))))
    ready = one_event(conn)
    assert isinstance(ready, OperationReady)
    assert ready.request.transaction_id == 5
    assert seen[-3:] == [StartData(4, 0), EndData(4), OperationRequest(SONY_GET, 5, (4,))]


def test_zero_length_data_out_end_data_arriving_after_the_response() -> None:
    conn = responder()
    request = OperationRequest(SONY_SET, 4, (4,), DataPhase.DATA_OUT)
    conn.receive_data(enc(request, StartData(4, 0)))
    assert isinstance(conn.next_event(), OperationReady)
    conn.send_response(OK)
    conn.receive_data(enc(EndData(4)))
    assert events(conn) == ([], NEED_DATA)
    assert state(conn) is State.IDLE


def test_empty_end_data_for_another_transaction_is_not_swallowed() -> None:
    conn = responder()
    conn.receive_data(enc(OperationRequest(SONY_SET, 4, (4,), 2), StartData(4, 0)))
    conn.next_event()
    conn.send_response(OK)
    conn.receive_data(enc(EndData(3)))
    with pytest.raises(UnexpectedPacket):
        conn.next_event()
    assert_dead(conn)


def test_dp0_on_data_out_opcode_followed_by_start_data() -> None:
    # 2015 hack #8–#12: 0x9280 with DataPhaseInfo 0, then a Data header and payload written apart.
    conn = responder()
    conn.receive_data(h("16000000 06000000 00000000 8092 15000000 04000000"))
    assert events(conn) == ([], NEED_DATA)
    assert state(conn) is State.REQUESTED
    conn.receive_data(h("14000000 09000000 15000000 1000000000000000"))
    conn.receive_data(h("1c000000 0a000000 15000000"))
    conn.receive_data(h("00000000 01000000 00000000 00000000"))
    assert events(conn) == ([], NEED_DATA)
    conn.receive_data(h("0c000000 0c000000 15000000"))
    request = OperationRequest(SONY_SET, 0x15, (4,), 0)
    assert events(conn) == (
        [OperationReady(request, h("00000000 01000000 00000000 00000000"), 0x15)],
        PAUSED,
    )


def test_dp0_on_data_out_opcode_followed_by_another_request() -> None:
    # 2015 hack #4/#5: 0x9280 without data, then 0x9281.
    conn = responder()
    conn.receive_data(h("16000000 06000000 00000000 8092 11000000 01000000"))
    assert events(conn) == ([], NEED_DATA)  # undecided until the next packet
    conn.receive_data(h("16000000 06000000 00000000 8192 12000000 01000000"))
    first = conn.next_event()
    assert first == OperationReady(OperationRequest(SONY_SET, 0x11, (1,), 0), None, None)
    assert conn.next_event() is PAUSED
    assert decode_all(conn.send_response(OK)) == [OperationResponse(OK, 0x11)]
    second = conn.next_event()
    assert second == OperationReady(OperationRequest(SONY_GET, 0x12, (1,), 0), None, None)
    assert decode_all(conn.send_response(OK)) == [OperationResponse(OK, 0x12)]
    assert conn.next_event() is NEED_DATA


def test_dp0_followed_by_request_that_is_itself_undecided() -> None:
    conn = responder()
    conn.receive_data(
        enc(OperationRequest(SONY_SET, 1, (1,), 0), OperationRequest(SONY_SET, 2, (1,), 0))
    )
    assert events(conn) == ([OperationReady(OperationRequest(SONY_SET, 1, (1,), 0))], PAUSED)
    conn.send_response(OK)
    assert events(conn) == ([], NEED_DATA)
    assert state(conn) is State.REQUESTED
    conn.receive_data(enc(StartData(2, 1), EndData(2, b"z")))
    assert events(conn) == (
        [OperationReady(OperationRequest(SONY_SET, 2, (1,), 0), b"z", 2)],
        PAUSED,
    )


@pytest.mark.parametrize("phase", [DataPhase.UNSPECIFIED, DataPhase.UNKNOWN])
def test_dp0_or_3_on_ordinary_opcode_is_ready_at_once(phase: int) -> None:
    conn = responder()
    request = OperationRequest(OperationCode.GET_DEVICE_INFO, 1, (), phase)
    conn.receive_data(enc(request))
    assert events(conn) == ([OperationReady(request)], PAUSED)


def test_dp0_without_data_out_opcodes_then_start_data_is_an_error() -> None:
    conn = responder(data_out_opcodes=())
    conn.receive_data(enc(OperationRequest(SONY_SET, 0x15, (4,), 0), StartData(0x15, 16)))
    assert isinstance(conn.next_event(), OperationReady)
    conn.send_response(OK)
    with pytest.raises(UnexpectedPacket):
        conn.next_event()
    assert_dead(conn)


def test_data_phase_under_another_tid_is_accepted() -> None:
    # 2015 hack #14–#18: 0x9280 TID 0x17 p1 5, then a data phase under TID 0x22.
    conn = responder()
    conn.receive_data(
        h("16000000 06000000 00000000 8092 17000000 05000000")
        + h("14000000 09000000 22000000 1000000000000000")
        + h("1c000000 0a000000 22000000")
        + h("00000000 01000000 00000000 00000000")
        + h("0c000000 0c000000 22000000")
    )
    ready = one_event(conn)
    assert isinstance(ready, OperationReady)
    assert ready.request.transaction_id == 0x17
    assert ready.data_transaction_id == 0x22
    assert ready.data == h("00000000 01000000 00000000 00000000")
    # The response echoes the request's TID.
    assert decode_all(conn.send_response(OK)) == [OperationResponse(OK, 0x17)]


HACK_START_AND_CLOSE = [
    "12000000 06000000 00000000 0110 01000000",
    "16000000 06000000 00000000 1610 02000000 06d40000",
    "1a000000 06000000 00000000 0298 0c000000 86dc0000 01b30000",
    "16000000 06000000 00000000 8092 11000000 01000000",
    "16000000 06000000 00000000 8192 12000000 01000000",
    "16000000 06000000 00000000 8092 13000000 01000000",
    "16000000 06000000 00000000 8192 14000000 01000000",
    "16000000 06000000 00000000 8092 15000000 04000000",
    "14000000 09000000 15000000 1000000000000000",
    "1c000000 0a000000 15000000",
    "00000000 01000000 00000000 00000000",
    "0c000000 0c000000 15000000",
    "16000000 06000000 00000000 8192 16000000 04000000",
    "16000000 06000000 00000000 8092 17000000 05000000",
    "14000000 09000000 22000000 1000000000000000",
    "1c000000 0a000000 22000000",
    "00000000 01000000 00000000 00000000",
    "0c000000 0c000000 22000000",
    "16000000 06000000 00000000 8092 23000000 04000000",
    "14000000 09000000 23000000 1200000000000000",
    "1e000000 0a000000 23000000",
    "02000000 02000000 00000000 00000000 0101",
    "0c000000 0c000000 23000000",
    "16000000 06000000 00000000 8192 c6020000 04000000",
    "16000000 06000000 00000000 8092 c7020000 04000000",
    "14000000 09000000 c7020000 1000000000000000",
    "1c000000 0a000000 c7020000",
    "00000000 05000000 00000000 00000000",
    "0c000000 0c000000 c7020000",
]
CMD1 = h("00000000 01000000 00000000 00000000")
HACK_EXPECTED = [
    (0x1001, 1, (), None, None),
    (0x1016, 2, (0xD406,), None, None),
    (0x9802, 12, (0xDC86, 0xB301), None, None),
    (0x9280, 0x11, (1,), None, None),
    (0x9281, 0x12, (1,), None, None),
    (0x9280, 0x13, (1,), None, None),
    (0x9281, 0x14, (1,), None, None),
    (0x9280, 0x15, (4,), CMD1, 0x15),
    (0x9281, 0x16, (4,), None, None),
    (0x9280, 0x17, (5,), CMD1, 0x22),
    (0x9280, 0x23, (4,), SENDING, 0x23),
    (0x9281, 710, (4,), None, None),
    (0x9280, 711, (4,), h("00000000 05000000 00000000 00000000"), 711),
]


@settings(max_examples=25)
@given(sizes=st.lists(st.integers(1, 64), min_size=1, max_size=8))
def test_the_whole_2015_hack_sequence(sizes: list[int]) -> None:
    """All 29 packets the 2015 hack wrote, split into hypothesis-chosen segments."""
    conn = responder(data_out_opcodes=(OperationCode.SET_DEVICE_PROP_VALUE, SONY_SET))
    stream = b"".join(h(x) for x in HACK_START_AND_CLOSE)
    got: list[tuple[int, int, tuple[int, ...], bytes | None, int | None]] = []
    pos = 0
    for size in itertools.cycle(sizes):
        if pos >= len(stream):
            break
        conn.receive_data(stream[pos : pos + size])
        pos += size
        while (event := conn.next_event()) is not NEED_DATA:
            if event is PAUSED:
                conn.send_response(OK)
                continue
            assert isinstance(event, OperationReady)
            r = event.request
            assert r.data_phase == DataPhase.UNSPECIFIED
            got.append((r.code, r.transaction_id, r.params, event.data, event.data_transaction_id))
    assert got == HACK_EXPECTED
    assert state(conn) is State.IDLE


# --- data-out errors ----------------------------------------------------------------------


def start_data_out(conn: CommandConnection, tid: int, total: int) -> None:
    conn.receive_data(enc(OperationRequest(SONY_SET, tid, (4,), 2), StartData(tid, total)))
    assert events(conn) == ([], NEED_DATA)
    assert state(conn) is State.DATA


@pytest.mark.parametrize("packet", [Data(8, b"ab"), EndData(8, b"abcd"), EndData(8)])
def test_data_tid_differs_from_start_data(packet: Packet) -> None:
    conn = responder()
    start_data_out(conn, 7, 4)
    conn.receive_data(enc(packet))
    with pytest.raises(UnexpectedPacket, match="transaction 8"):
        conn.next_event()
    assert_dead(conn)


@pytest.mark.parametrize(
    "packets",
    [
        [Data(7, b"12345")],
        [EndData(7, b"12345")],
        [Data(7, b"123"), Data(7, b"45")],
        [Data(7, b"1234"), Data(7, b"5")],
        [Data(7, b"1234"), EndData(7, b"5")],
    ],
    ids=["data", "end", "two-data", "data-after-full", "end-after-full"],
)
def test_more_bytes_than_announced(packets: list[Packet]) -> None:
    conn = responder()
    start_data_out(conn, 7, 4)
    conn.receive_data(enc(*packets))
    with pytest.raises(UnexpectedPacket, match="more than the announced 4"):
        events(conn)
    assert_dead(conn)


@pytest.mark.parametrize(
    "packets",
    [[EndData(7)], [EndData(7, b"123")], [Data(7, b"12"), EndData(7, b"1")]],
    ids=["empty", "short", "data-then-short"],
)
def test_end_data_before_the_announced_total(packets: list[Packet]) -> None:
    conn = responder()
    start_data_out(conn, 7, 4)
    conn.receive_data(enc(*packets))
    with pytest.raises(UnexpectedPacket, match="ended after"):
        events(conn)
    assert_dead(conn)


def test_start_data_above_max_data_out() -> None:
    conn = responder(max_data_out=100)
    conn.receive_data(enc(OperationRequest(SONY_SET, 7, (4,), 2), StartData(7, 101)))
    with pytest.raises(LimitExceeded):
        conn.next_event()
    assert_dead(conn)


def test_start_data_at_max_data_out_is_accepted() -> None:
    conn = responder(max_data_out=100)
    conn.receive_data(
        enc(OperationRequest(SONY_SET, 7, (4,), 2), StartData(7, 100), EndData(7, bytes(100)))
    )
    ready = one_event(conn)
    assert isinstance(ready, OperationReady)
    assert ready.data == bytes(100)


def test_start_data_unknown_length_is_refused() -> None:
    conn = responder()
    conn.receive_data(enc(OperationRequest(SONY_SET, 7, (4,), 2), StartData(7, 2**64 - 1)))
    with pytest.raises(LimitExceeded):
        conn.next_event()
    assert_dead(conn)


@pytest.mark.parametrize(
    "packets",
    [
        [OperationRequest(SONY_SET, 1, (4,), 2), OperationRequest(SONY_GET, 2, (4,))],
        [OperationRequest(SONY_SET, 1, (4,), 2), StartData(1, 4), OperationRequest(SONY_GET, 2)],
        [OperationRequest(SONY_SET, 1, (4,), 2), StartData(1, 4), StartData(1, 4)],
        [StartData(1, 4)],
        [Data(1, b"x")],
        [EndData(1, b"x")],
        [EndData(1)],
        [OperationRequest(SONY_SET, 1, (4,), 2), Data(1, b"x")],
        [OperationRequest(SONY_SET, 1, (4,), 2), EndData(1)],
        [OperationResponse(OK, 1)],
        [Event(0x4002, 1)],
        [InitCommandRequest(PMH_GUID, "again")],
        [InitCommandAck(1, ILCE_GUID, "x")],
        [InitEventRequest(1)],
        [InitEventAck()],
        [InitFail(1)],
    ],
    ids=[
        "dp2-then-request",
        "request-mid-data",
        "second-start-data",
        "start-data-idle",
        "data-idle",
        "end-data-idle",
        "empty-end-data-idle",
        "data-before-start",
        "end-before-start",
        "response",
        "event",
        "second-init",
        "init-ack",
        "init-event-request",
        "init-event-ack",
        "init-fail",
    ],
)
def test_responder_unexpected_packets(packets: list[Packet]) -> None:
    conn = responder()
    conn.receive_data(enc(*packets))
    with pytest.raises(UnexpectedPacket):
        events(conn)
    assert_dead(conn)


@pytest.mark.parametrize(
    "packet",
    [OperationRequest(0x1002, 0, (1,)), InitFail(1), StartData(0, 0), Event(1, 1)],
    ids=repr,
)
def test_responder_expects_init_first(packet: Packet) -> None:
    conn = CommandConnection(Role.RESPONDER)
    conn.receive_data(enc(packet))
    with pytest.raises(UnexpectedPacket):
        conn.next_event()
    assert_dead(conn)


def test_responder_local_misuse() -> None:
    conn = responder()
    with pytest.raises(ProtocolError):
        conn.send_response(OK)
    assert_dead(conn)
    conn = responder()
    with pytest.raises(ProtocolError):
        conn.send_start_data(10)
    assert_dead(conn)
    conn = CommandConnection(Role.RESPONDER)
    conn.receive_data(INIT_REQUEST)
    conn.next_event()
    with pytest.raises(ProtocolError):
        conn.send_response(OK)  # an Init request is answered with send_init_ack
    assert_dead(conn)


def test_malformed_bytes_move_to_error() -> None:
    conn = responder()
    with pytest.raises(MalformedPacket):
        conn.receive_data(h("0c000000 06000000 01000000"))  # Operation Request too short
    assert_dead(conn)


def test_limit_from_the_reader_moves_to_error() -> None:
    conn = responder()
    with pytest.raises(LimitExceeded):
        conn.receive_data(h("ffffffff 0a000000"))
    assert_dead(conn)


# --- data-in sending --------------------------------------------------------------------------


def exchange(
    code: int, send: Callable[[CommandConnection], bytes]
) -> tuple[bytes, OperationComplete]:
    """Initiator asks ``code``; the responder answers with ``send``; return its bytes and result."""
    init = initiator()
    resp = responder()
    resp.receive_data(init.send_request(code, (4,)))
    ready = one_event(resp)
    assert isinstance(ready, OperationReady)
    out = send(resp)
    assert state(resp) is State.IDLE
    init.receive_data(out)
    complete = one_event(init)
    assert isinstance(complete, OperationComplete)
    assert complete.request == ready.request
    assert complete.response.transaction_id == ready.request.transaction_id
    assert state(init) is State.IDLE
    return out, complete


BLOB = bytes(i * 7 % 256 for i in range(1000))


def send_shape_a(resp: CommandConnection) -> bytes:
    return resp.send_start_data(len(BLOB)) + resp.send_data(BLOB, end=True) + resp.send_response(OK)


def send_shape_b(resp: CommandConnection) -> bytes:
    return (
        resp.send_start_data(len(BLOB))
        + resp.send_data(BLOB)
        + resp.send_data(b"", end=True)
        + resp.send_response(OK)
    )


def send_chunks(resp: CommandConnection) -> bytes:
    out = resp.send_start_data(len(BLOB))
    for i in range(0, 900, 300):
        out += resp.send_data(BLOB[i : i + 300])
    return out + resp.send_data(BLOB[900:], end=True) + resp.send_response(OK)


def send_streamed(resp: CommandConnection) -> bytes:
    # The caller writes header and payload separately (a file streamed from disk).
    out = resp.send_start_data(len(BLOB))
    out += resp.send_data_header(600) + BLOB[:600]
    out += resp.send_data_header(400) + BLOB[600:]
    return out + resp.send_data_header(0, end=True) + resp.send_response(OK)


def send_data_without_end(resp: CommandConnection) -> bytes:
    return resp.send_start_data(len(BLOB)) + resp.send_data(BLOB) + resp.send_response(OK)


@pytest.mark.parametrize(
    "send",
    [send_shape_a, send_shape_b, send_chunks, send_streamed, send_data_without_end],
    ids=["shape-a", "shape-b", "chunks", "streamed-header", "no-end-data"],
)
def test_data_in_sending_round_trips(send: Callable[[CommandConnection], bytes]) -> None:
    _, complete = exchange(OperationCode.GET_OBJECT, send)
    assert complete.data == BLOB
    assert complete.response.code == OK


def test_data_in_shape_b_bytes() -> None:
    conn = responder()
    conn.receive_data(enc(OperationRequest(SONY_GET, 0x23, (4,))))
    conn.next_event()
    assert conn.send_start_data(18) == SHAPE_B[0]
    assert conn.send_data(SENDING) == SHAPE_B[1]
    assert conn.send_data(b"", end=True) == SHAPE_B[2]
    assert conn.send_response(OK) == h("0e000000 07000000 0120 23000000")


def test_data_in_ilce5000_9281_sizes() -> None:
    # docs/protocol.md §4.2: 20 + 8204 + 12 + 14 = 8250 bytes, "8250 bytes received".
    def send(resp: CommandConnection) -> bytes:
        parts = [
            resp.send_start_data(8192),
            resp.send_data(bytes(8192)),
            resp.send_data(b"", end=True),
            resp.send_response(OK),
        ]
        assert [len(p) for p in parts] == [20, 8204, 12, 14]
        return b"".join(parts)

    out, complete = exchange(SONY_GET, send)
    assert len(out) == 8250
    assert complete.data == bytes(8192)


def test_data_in_zero_length() -> None:
    def send(resp: CommandConnection) -> bytes:
        return resp.send_start_data(0) + resp.send_data(b"", end=True) + resp.send_response(OK)

    _, complete = exchange(SONY_GET, send)
    assert complete.data == b""


def test_data_in_error_response_without_data() -> None:
    def send(resp: CommandConnection) -> bytes:
        return resp.send_response(ResponseCode.INVALID_OBJECT_HANDLE)

    _, complete = exchange(OperationCode.GET_OBJECT, send)
    assert complete.data == b""
    assert complete.response.code == ResponseCode.INVALID_OBJECT_HANDLE


@pytest.mark.parametrize(
    "send",
    [
        lambda c: c.send_data(b"12345"),
        lambda c: c.send_data(b"12345", end=True),
        lambda c: c.send_data_header(5),
        lambda c: c.send_data(b"123") + c.send_data(b"45"),
        lambda c: c.send_data(b"1234") + c.send_data(b"5", end=True),
    ],
    ids=["data", "end", "header", "two-data", "after-full"],
)
def test_sending_more_data_than_announced_raises(
    send: Callable[[CommandConnection], bytes],
) -> None:
    conn = responder()
    conn.receive_data(enc(OperationRequest(OperationCode.GET_OBJECT, 3, (1,))))
    conn.next_event()
    conn.send_start_data(4)
    with pytest.raises(ProtocolError):
        send(conn)
    assert_dead(conn)


def test_sending_data_without_start_data_raises() -> None:
    conn = responder()
    conn.receive_data(enc(OperationRequest(OperationCode.GET_OBJECT, 3, (1,))))
    conn.next_event()
    with pytest.raises(ProtocolError):
        conn.send_data(b"x")
    assert_dead(conn)


def test_data_in_budget_resets_with_the_next_operation() -> None:
    conn = responder()
    conn.receive_data(enc(OperationRequest(OperationCode.GET_OBJECT, 3, (1,))))
    conn.next_event()
    conn.send_start_data(10)
    conn.send_data(bytes(10), end=True)
    conn.send_response(OK)
    conn.receive_data(enc(OperationRequest(OperationCode.GET_OBJECT, 4, (1,))))
    conn.next_event()
    with pytest.raises(ProtocolError):
        conn.send_data(b"x")


def responding_with_data_in(total: int) -> CommandConnection:
    conn = responder()
    conn.receive_data(enc(OperationRequest(OperationCode.GET_OBJECT, 3, (1,))))
    assert isinstance(conn.next_event(), OperationReady)
    conn.send_start_data(total)
    return conn


@pytest.mark.parametrize(
    "send",
    [
        lambda c: c.send_response(OK),
        lambda c: c.send_data(b"12345") + c.send_response(OK),
        lambda c: c.send_data(b"12345", end=True),
        lambda c: c.send_data(b"", end=True),
        lambda c: c.send_data_header(3, end=True),
        lambda c: c.send_start_data(10),
    ],
    ids=[
        "response-without-data",
        "response-after-half",
        "end-data-after-half",
        "empty-end-data-first",
        "end-header-short",
        "second-start-data",
    ],
)
def test_sending_an_incomplete_data_in_phase_raises(
    send: Callable[[CommandConnection], bytes],
) -> None:
    """Whatever the responder lets a caller send, its own initiator role must accept.

    After Start Data announced 10 bytes, a Response (or an End Data, or a second Start Data)
    before all 10 were sent is a stream the initiator role rejects ("response after 5 of 10
    data bytes", "data phase ended after 5 of 10", "second Start Data"); the responder must
    refuse to produce it. A responder that cannot deliver the data has to drop the connection.
    """
    conn = responding_with_data_in(10)
    with pytest.raises(ProtocolError):
        send(conn)
    assert state(conn) is State.ERROR


# --- probes and cancel ------------------------------------------------------------------------


def test_responder_probe_request() -> None:
    conn = responder()
    conn.receive_data(h("08000000 0d000000"))
    assert conn.next_event() == ProbeRequest()
    assert state(conn) is State.IDLE
    assert conn.send_probe_response() == h("08000000 0e000000")
    assert state(conn) is State.IDLE
    assert conn.send_probe_request() == h("08000000 0d000000")
    conn.receive_data(h("08000000 0e000000"))
    assert conn.next_event() == ProbeResponse()
    assert conn.next_event() is NEED_DATA


def test_probe_while_a_dp0_request_is_undecided() -> None:
    conn = responder()
    request = OperationRequest(SONY_SET, 5, (4,), 0)
    conn.receive_data(enc(request, ProbeRequest(), StartData(5, 2), EndData(5, b"hi")))
    assert conn.next_event() == ProbeRequest()
    assert state(conn) is State.REQUESTED
    assert conn.next_event() == OperationReady(request, b"hi", 5)


def test_probe_inside_a_data_phase() -> None:
    conn = responder()
    request = OperationRequest(SONY_SET, 5, (4,), 2)
    conn.receive_data(
        enc(request, StartData(5, 2), Data(5, b"h"), ProbeRequest(), EndData(5, b"i"))
    )
    assert events(conn) == ([ProbeRequest(), OperationReady(request, b"hi", 5)], PAUSED)


def test_probe_before_init() -> None:
    conn = CommandConnection(Role.RESPONDER)
    conn.receive_data(enc(ProbeRequest()) + INIT_REQUEST)
    assert conn.next_event() == ProbeRequest()
    assert isinstance(conn.next_event(), InitCommandRequest)


def test_cancel_when_idle() -> None:
    conn = responder()
    conn.receive_data(h("0c000000 0b000000 05000000"))
    assert conn.next_event() == Cancel(5)
    assert state(conn) is State.IDLE


def test_cancel_while_waiting_for_data_out() -> None:
    conn = responder()
    conn.receive_data(enc(OperationRequest(SONY_SET, 5, (4,), 2), Cancel(5)))
    assert conn.next_event() == Cancel(5)
    assert state(conn) is State.IDLE
    conn.receive_data(enc(OperationRequest(SONY_GET, 6, (4,))))
    ready = conn.next_event()
    assert isinstance(ready, OperationReady)
    assert ready.request.transaction_id == 6


def test_cancel_inside_a_data_out_phase() -> None:
    conn = responder()
    start_data_out(conn, 5, 10)
    conn.receive_data(enc(Data(5, b"abc"), Cancel(5)))
    assert conn.next_event() == Cancel(5)
    assert state(conn) is State.IDLE
    conn.receive_data(
        enc(OperationRequest(SONY_SET, 6, (4,), 2), StartData(6, 1), EndData(6, b"z"))
    )
    ready = conn.next_event()
    assert ready == OperationReady(OperationRequest(SONY_SET, 6, (4,), 2), b"z", 6)


# --- end of stream ----------------------------------------------------------------------------


def test_responder_eof_when_idle() -> None:
    conn = responder()
    conn.receive_data(b"")
    assert state(conn) is State.CLOSED
    assert conn.next_event() is NEED_DATA
    with pytest.raises(ProtocolError):
        conn.receive_data(OPEN_SESSION)
    assert state(conn) is State.ERROR


def test_responder_eof_mid_packet() -> None:
    conn = responder()
    conn.receive_data(OPEN_SESSION[:9])
    with pytest.raises(MalformedPacket):
        conn.receive_data(b"")
    assert_dead(conn)


def test_on_packet_sees_every_decoded_packet() -> None:
    seen: list[Packet] = []
    conn = CommandConnection(Role.RESPONDER, on_packet=seen.append)
    conn.receive_data(INIT_REQUEST + enc(ProbeRequest()))
    assert seen == [InitCommandRequest(PMH_GUID, "WIN7-VM"), ProbeRequest()]


def test_drain() -> None:
    conn = responder()
    conn.receive_data(enc(ProbeRequest(), Cancel(1), OperationRequest(0x1001, 1), ProbeRequest()))
    got: list[ChannelEvent] = []
    drain(conn, got.append)
    assert got == [ProbeRequest(), Cancel(1), OperationReady(OperationRequest(0x1001, 1))]
    assert conn.next_event() is PAUSED


# ============================================================================ initiator


def test_initiator_init_request_bytes() -> None:
    conn = CommandConnection(Role.INITIATOR)
    assert conn.send_init_request(PMH_GUID, "WIN7-VM") == INIT_REQUEST
    assert state(conn) is State.WAIT_INIT
    assert conn.next_event() is NEED_DATA


def test_initiator_init_ack_split_like_a_real_camera() -> None:
    conn = CommandConnection(Role.INITIATOR)
    conn.send_init_request(PMH_GUID, "WIN7-VM")
    conn.receive_data(INIT_ACK[:8])
    assert conn.next_event() is NEED_DATA
    conn.receive_data(INIT_ACK[8:])
    ack = conn.next_event()
    assert isinstance(ack, InitCommandAck)
    assert ack.connection_number == 1
    assert ack.friendly_name == "ILCE-5000"
    assert state(conn) is State.IDLE


def test_initiator_init_fail() -> None:
    conn = CommandConnection(Role.INITIATOR)
    conn.send_init_request(PMH_GUID, "WIN7-VM")
    conn.receive_data(INIT_FAIL)
    assert conn.next_event() == InitFail(1)
    assert state(conn) is State.CLOSED


@pytest.mark.parametrize(
    "packet",
    [InitCommandRequest(PMH_GUID, "x"), OperationResponse(OK, 0), InitEventAck(), StartData(0, 1)],
    ids=repr,
)
def test_initiator_expects_ack_or_fail(packet: Packet) -> None:
    conn = CommandConnection(Role.INITIATOR)
    conn.send_init_request(PMH_GUID, "WIN7-VM")
    conn.receive_data(enc(packet))
    with pytest.raises(UnexpectedPacket):
        conn.next_event()
    assert_dead(conn)


def test_initiator_gphoto2_session_bytes_and_tids() -> None:
    conn = initiator()
    assert conn.send_request(OperationCode.OPEN_SESSION, (1,)) == OPEN_SESSION
    conn.receive_data(OPEN_SESSION_OK)
    complete = one_event(conn)
    assert isinstance(complete, OperationComplete)
    assert complete.response == OperationResponse(OK, 0)
    assert conn.send_request(OperationCode.GET_DEVICE_INFO) == GET_DEVICE_INFO
    answer(conn)
    assert conn.send_request(SONY_SET, (4,), SENDING) == b"".join(GPHOTO2_9280)
    conn.receive_data(GPHOTO2_9280_OK)
    answer_9280 = one_event(conn)
    assert isinstance(answer_9280, OperationComplete)
    assert answer_9280.request.data_phase == DataPhase.DATA_OUT
    assert conn.send_request(SONY_GET, (4,)) == GPHOTO2_9281


def tids(
    conn: CommandConnection, count: int, code: int = OperationCode.GET_OBJECT_INFO
) -> list[int]:
    out = []
    for _ in range(count):
        (request,) = decode_all(conn.send_request(code, (1,)))
        assert isinstance(request, OperationRequest)
        out.append(request.transaction_id)
        answer(conn)
    return out


def test_initiator_tids_count_up_from_open_session() -> None:
    conn = initiator()
    assert tids(conn, 1, OperationCode.OPEN_SESSION) == [0]
    assert tids(conn, 5) == [1, 2, 3, 4, 5]
    # A new OpenSession restarts the count.
    assert tids(conn, 1, OperationCode.OPEN_SESSION) == [0]
    assert tids(conn, 2) == [1, 2]


def test_initiator_explicit_tid_and_wrap() -> None:
    conn = initiator()
    conn.send_request(OperationCode.GET_DEVICE_INFO, transaction_id=100)
    answer(conn)
    assert tids(conn, 2) == [101, 102]
    conn.send_request(OperationCode.GET_DEVICE_INFO, transaction_id=0xFFFFFFFD)
    answer(conn)
    # 0xFFFFFFFF is not a valid TID: 0xFFFFFFFE is followed by 1.
    assert tids(conn, 3) == [0xFFFFFFFE, 1, 2]
    conn.send_request(OperationCode.GET_DEVICE_INFO, transaction_id=0xFFFFFFFF)
    answer(conn)
    assert tids(conn, 1) == [1]


def test_initiator_explicit_tid_and_data_phase() -> None:
    conn = initiator()
    out = conn.send_request(SONY_SET, (4,), SENDING, transaction_id=0x23, data_phase=0)
    assert out == enc(
        OperationRequest(SONY_SET, 0x23, (4,), 0), StartData(0x23, 18), EndData(0x23, SENDING)
    )
    answer(conn)
    assert tids(conn, 1) == [0x24]


def test_initiator_data_out_splits_into_64k_data_packets() -> None:
    conn = initiator()
    payload = bytes(i % 251 for i in range(2 * DATA_OUT_CHUNK + 5))
    packets = decode_all(
        conn.send_request(OperationCode.MTP_SET_OBJECT_PROP_VALUE, (1,), payload, transaction_id=9)
    )
    assert packets == [
        OperationRequest(OperationCode.MTP_SET_OBJECT_PROP_VALUE, 9, (1,), DataPhase.DATA_OUT),
        StartData(9, len(payload)),
        Data(9, payload[:65536]),
        Data(9, payload[65536:131072]),
        EndData(9, payload[131072:]),
    ]
    assert DATA_OUT_CHUNK == 65536


@pytest.mark.parametrize(
    ("size", "shape"),
    [
        (0, [("end", 0)]),
        (1, [("end", 1)]),
        (65535, [("end", 65535)]),
        (65536, [("end", 65536)]),
        (65537, [("data", 65536), ("end", 1)]),
        (131072, [("data", 65536), ("end", 65536)]),
    ],
)
def test_initiator_data_out_chunk_boundaries(size: int, shape: list[tuple[str, int]]) -> None:
    conn = initiator()
    packets = decode_all(conn.send_request(SONY_SET, (4,), bytes(size), transaction_id=5))
    assert packets[:2] == [
        OperationRequest(SONY_SET, 5, (4,), DataPhase.DATA_OUT),
        StartData(5, size),
    ]
    got: list[tuple[str, int]] = []
    for packet in packets[2:]:
        assert isinstance(packet, (Data, EndData))
        assert packet.transaction_id == 5
        got.append(("end" if isinstance(packet, EndData) else "data", len(packet.data)))
    assert got == shape


def test_initiator_data_out_reaches_a_responder() -> None:
    init = initiator()
    resp = responder()
    payload = bytes(i % 253 for i in range(DATA_OUT_CHUNK * 2 + 77))
    resp.receive_data(init.send_request(OperationCode.MTP_SET_OBJECT_PROP_VALUE, (1,), payload))
    ready = one_event(resp)
    assert isinstance(ready, OperationReady)
    assert ready.data == payload
    init.receive_data(resp.send_response(OK))
    complete = one_event(init)
    assert isinstance(complete, OperationComplete)
    assert complete.data == b""


def test_initiator_data_in_shape_b_with_trailing_empty_end_data() -> None:
    conn = initiator()
    conn.send_request(OperationCode.GET_DEVICE_INFO, transaction_id=1)
    dataset = bytes(range(243))
    conn.receive_data(enc(StartData(1, 243), Data(1, dataset), EndData(1)))
    assert events(conn) == ([], NEED_DATA)
    conn.receive_data(enc(OperationResponse(OK, 1)))
    complete = one_event(conn)
    assert complete == OperationComplete(
        OperationRequest(0x1001, 1), OperationResponse(OK, 1), dataset
    )


def test_initiator_data_in_shape_a_plus_extra_empty_end_data() -> None:
    conn = initiator()
    conn.send_request(OperationCode.GET_OBJECT, (5,), transaction_id=3)
    conn.receive_data(
        enc(StartData(3, 4), EndData(3, b"abcd"), EndData(3), OperationResponse(OK, 3))
    )
    complete = one_event(conn)
    assert isinstance(complete, OperationComplete)
    assert complete.data == b"abcd"


def test_initiator_data_in_without_end_data() -> None:
    conn = initiator()
    conn.send_request(OperationCode.GET_OBJECT, (5,), transaction_id=3)
    conn.receive_data(
        enc(StartData(3, 4), Data(3, b"ab"), Data(3, b"cd"), OperationResponse(OK, 3))
    )
    complete = one_event(conn)
    assert isinstance(complete, OperationComplete)
    assert complete.data == b"abcd"


@pytest.mark.parametrize(("tid", "bad"), [(1, 0), (1, 2), (5, 0xFFFFFFFF), (0, 1)])
def test_initiator_response_tid_mismatch(tid: int, bad: int) -> None:
    conn = initiator()
    conn.send_request(OperationCode.GET_DEVICE_INFO, transaction_id=tid)
    conn.receive_data(enc(OperationResponse(OK, bad)))
    with pytest.raises(UnexpectedPacket, match=f"expected {tid}"):
        conn.next_event()
    assert_dead(conn)


@pytest.mark.parametrize(
    "packets",
    [
        [StartData(3, 4), OperationResponse(OK, 3)],
        [StartData(3, 4), Data(3, b"abc"), OperationResponse(OK, 3)],
    ],
    ids=["no-data", "short"],
)
def test_initiator_response_before_all_data(packets: list[Packet]) -> None:
    conn = initiator()
    conn.send_request(OperationCode.GET_OBJECT, (5,), transaction_id=3)
    conn.receive_data(enc(*packets))
    with pytest.raises(UnexpectedPacket, match="response after"):
        events(conn)
    assert_dead(conn)


@pytest.mark.parametrize(
    "packets",
    [
        [StartData(3, 4), Data(4, b"ab")],
        [StartData(3, 4), Data(3, b"abcde")],
        [StartData(3, 4), EndData(3, b"ab")],
        [StartData(3, 4), StartData(3, 4)],
        [Data(3, b"ab")],
        [StartData(3, 2), EndData(3, b"ab"), Data(3, b"x")],
        [OperationRequest(0x1001, 3)],
        [InitCommandAck(1, ILCE_GUID, "x")],
        [Event(0x4002, 3)],
        [InitEventAck()],
    ],
    ids=[
        "data-tid",
        "too-much",
        "end-short",
        "second-start",
        "data-before-start",
        "data-after-end",
        "request",
        "ack-again",
        "event",
        "init-event-ack",
    ],
)
def test_initiator_unexpected_packets(packets: list[Packet]) -> None:
    conn = initiator()
    conn.send_request(OperationCode.GET_OBJECT, (5,), transaction_id=3)
    conn.receive_data(enc(*packets))
    with pytest.raises(UnexpectedPacket):
        events(conn)
    assert_dead(conn)


def test_initiator_response_with_nothing_outstanding() -> None:
    conn = initiator()
    conn.receive_data(enc(OperationResponse(OK, 0)))
    with pytest.raises(UnexpectedPacket, match="no request is outstanding"):
        conn.next_event()
    assert_dead(conn)


def test_initiator_max_data_in() -> None:
    conn = initiator(max_data_in=1000)
    conn.send_request(OperationCode.GET_OBJECT, (5,), transaction_id=3)
    conn.receive_data(enc(StartData(3, 1001)))
    with pytest.raises(LimitExceeded):
        conn.next_event()
    assert_dead(conn)


def test_initiator_cannot_send_while_a_request_is_outstanding() -> None:
    conn = initiator()
    conn.send_request(OperationCode.GET_DEVICE_INFO)
    with pytest.raises(ProtocolError):
        conn.send_request(OperationCode.GET_DEVICE_INFO)
    assert_dead(conn)


def test_initiator_cannot_send_before_the_ack() -> None:
    conn = CommandConnection(Role.INITIATOR)
    conn.send_init_request(PMH_GUID, "WIN7-VM")
    with pytest.raises(ProtocolError):
        conn.send_request(OperationCode.OPEN_SESSION, (1,))
    assert_dead(conn)


def test_initiator_sees_probes_and_cancel_mid_transaction() -> None:
    conn = initiator()
    conn.send_request(OperationCode.GET_OBJECT, (5,), transaction_id=3)
    conn.receive_data(enc(ProbeRequest(), StartData(3, 2), Data(3, b"a"), ProbeRequest()))
    assert events(conn) == ([ProbeRequest(), ProbeRequest()], NEED_DATA)
    conn.receive_data(enc(EndData(3, b"b"), OperationResponse(OK, 3)))
    complete = one_event(conn)
    assert isinstance(complete, OperationComplete)
    assert complete.data == b"ab"


def test_initiator_eof_while_waiting() -> None:
    conn = initiator()
    conn.send_request(OperationCode.GET_DEVICE_INFO)
    conn.receive_data(b"")
    assert state(conn) is State.CLOSED
    assert conn.next_event() is NEED_DATA


# ============================================================================ loopback


class Wire:
    """Delivers bytes to a connection in hypothesis-chosen segment sizes."""

    def __init__(self, sizes: list[int]) -> None:
        self._sizes = itertools.cycle(sizes)

    def send(self, data: bytes, to: Connection) -> None:
        pos = 0
        while pos < len(data):
            size = next(self._sizes)
            to.receive_data(data[pos : pos + size])
            pos += size


DEVICE_INFO = bytes(i % 256 for i in range(243))
BLOB_9281 = bytes(i * 31 % 256 for i in range(8192))


def camera_reply(conn: CommandConnection, ready: OperationReady, shape: str) -> bytes:
    code = ready.request.code
    if code == OperationCode.GET_DEVICE_INFO:
        data = DEVICE_INFO
    elif code == SONY_GET:
        data = BLOB_9281
    else:
        return conn.send_response(OK)
    out = conn.send_start_data(len(data))
    if shape == "a":
        out += conn.send_data(data, end=True)
    elif shape == "b":
        out += conn.send_data(data) + conn.send_data(b"", end=True)
    else:
        half = len(data) // 2
        out += conn.send_data_header(half) + data[:half]
        out += conn.send_data(data[half:]) + conn.send_data_header(0, end=True)
    return out + conn.send_response(OK)


@settings(max_examples=30, deadline=None)
@given(
    to_camera=st.lists(st.integers(1, 700), min_size=1, max_size=6),
    to_host=st.lists(st.integers(1, 3000), min_size=1, max_size=6),
    shape=st.sampled_from(["a", "b", "streamed"]),
)
def test_loopback_session(to_camera: list[int], to_host: list[int], shape: str) -> None:
    host = CommandConnection(Role.INITIATOR)
    camera = CommandConnection(Role.RESPONDER, data_out_opcodes=(SONY_SET,))
    host_events = EventConnection(Role.INITIATOR)
    camera_events = EventConnection(Role.RESPONDER)
    up, down = Wire(to_camera), Wire(to_host)

    up.send(host.send_init_request(PMH_GUID, "WIN7-VM"), camera)
    assert one_event(camera) == InitCommandRequest(PMH_GUID, "WIN7-VM")
    down.send(camera.send_init_ack(1, ILCE_GUID, "ILCE-5000"), host)
    ack = one_event(host)
    assert isinstance(ack, InitCommandAck)

    up.send(host_events.send_init_request(ack.connection_number), camera_events)
    assert one_event(camera_events) == InitEventRequest(1)
    down.send(camera_events.send_init_ack(), host_events)
    assert one_event(host_events) == InitEventAck()

    received: list[OperationReady] = []

    def call(
        code: int, params: tuple[int, ...] = (), data: bytes | None = None
    ) -> OperationComplete:
        up.send(host.send_request(code, params, data), camera)
        while True:
            got, sentinel = events(camera)
            for ready in got:
                assert isinstance(ready, OperationReady)
                received.append(ready)
                down.send(camera_reply(camera, ready, shape), host)
            if sentinel is NEED_DATA and not got:
                break
        complete = one_event(host)
        assert isinstance(complete, OperationComplete)
        assert complete.response.code == OK
        assert complete.response.transaction_id == complete.request.transaction_id
        return complete

    assert call(OperationCode.OPEN_SESSION, (1,)).request.transaction_id == 0
    info = call(OperationCode.GET_DEVICE_INFO)
    assert info.data == DEVICE_INFO
    assert info.request.transaction_id == 1
    set_request = call(SONY_SET, (4,), SENDING)
    assert set_request.data == b""
    assert received[-1].data == SENDING
    assert received[-1].data_transaction_id == 2
    blob = call(SONY_GET, (4,))
    assert blob.data == BLOB_9281
    assert blob.request.transaction_id == 3

    down.send(camera_events.send_event(EventCode.OBJECT_ADDED, 0, (0x1234,)), host_events)
    down.send(camera_events.send_probe_request(), host_events)
    assert events(host_events) == (
        [Event(EventCode.OBJECT_ADDED, 0, (0x1234,)), ProbeRequest()],
        NEED_DATA,
    )
    up.send(host_events.send_probe_response(), camera_events)
    assert one_event(camera_events) == ProbeResponse()

    close = call(OperationCode.CLOSE_SESSION)
    assert close.request.transaction_id == 4
    assert [r.request.code for r in received] == [0x1002, 0x1001, 0x9280, 0x9281, 0x1003]
    assert state(host) is state(camera) is State.IDLE

    host.receive_data(b"")
    camera.receive_data(b"")
    assert state(host) is state(camera) is State.CLOSED


# ============================================================================ fuzz

small_tid = st.integers(0, 3)
fuzz_packets = st.lists(
    st.one_of(
        st.builds(
            OperationRequest,
            st.sampled_from([0x1001, 0x1002, 0x9280, 0x9281]),
            small_tid,
            st.just((4,)),
            st.integers(0, 3),
        ),
        st.builds(OperationResponse, st.just(OK), small_tid),
        st.builds(StartData, small_tid, st.integers(0, 6)),
        st.builds(Data, small_tid, st.binary(max_size=4)),
        st.builds(EndData, small_tid, st.binary(max_size=4)),
        st.builds(Cancel, small_tid),
        st.just(ProbeRequest()),
        st.just(ProbeResponse()),
        st.builds(Event, st.just(0x4002), small_tid),
        st.just(InitCommandRequest(PMH_GUID, "x")),
        st.just(InitCommandAck(1, ILCE_GUID, "x")),
        st.just(InitFail(1)),
    ),
    max_size=12,
)


def run_until_error(
    conn: CommandConnection, step: Callable[[ChannelEvent | Sentinel], bool]
) -> None:
    """Drive ``conn`` until it needs data; a ProtocolError must leave it in ERROR."""
    try:
        for _ in range(100):
            event = conn.next_event()
            if not step(event):
                return
    except ProtocolError:
        assert state(conn) is State.ERROR
        assert_dead(conn)


@settings(max_examples=200)
@given(packets=fuzz_packets, eof=st.booleans())
def test_fuzz_responder_raises_only_protocol_error(packets: list[Packet], eof: bool) -> None:
    conn = responder()
    conn.receive_data(enc(*packets))

    def step(event: ChannelEvent | Sentinel) -> bool:
        if event is PAUSED:
            conn.send_response(OK)
            return True
        return event is not NEED_DATA

    run_until_error(conn, step)
    if eof and state(conn) is not State.ERROR:
        try:
            conn.receive_data(b"")
        except ProtocolError:
            assert_dead(conn)


@settings(max_examples=200)
@given(packets=fuzz_packets)
def test_fuzz_initiator_raises_only_protocol_error(packets: list[Packet]) -> None:
    conn = initiator()
    conn.send_request(SONY_GET, (4,), transaction_id=1)
    conn.receive_data(enc(*packets))

    def step(event: ChannelEvent | Sentinel) -> bool:
        if isinstance(event, OperationComplete) and state(conn) is State.IDLE:
            conn.send_request(SONY_GET, (4,), transaction_id=1)
        return event is not NEED_DATA

    run_until_error(conn, step)


@settings(max_examples=200)
@given(raw=st.binary(max_size=60), role=st.sampled_from(list(Role)))
def test_fuzz_raw_bytes_into_a_command_connection(raw: bytes, role: Role) -> None:
    conn = CommandConnection(role)
    try:
        conn.receive_data(raw)
        while not isinstance(conn.next_event(), Sentinel):
            pass
    except ProtocolError:
        assert state(conn) is State.ERROR


# ============================================================================ event connection


def event_calls(conn: EventConnection) -> list[Callable[[], object]]:
    return [
        lambda: conn.receive_data(enc(ProbeRequest())),
        lambda: conn.receive_data(b""),
        conn.next_event,
        lambda: conn.send_init_request(1),
        conn.send_init_ack,
        lambda: conn.send_event(EventCode.OBJECT_ADDED, 0, (1,)),
        conn.send_probe_request,
        conn.send_probe_response,
        # send_init_fail is left out here: test_event_send_init_fail_after_an_error covers it.
    ]


def assert_event_dead(conn: EventConnection) -> None:
    assert state(conn) is State.ERROR
    for call in event_calls(conn):
        with pytest.raises(ProtocolError):
            call()
        assert state(conn) is State.ERROR


def test_event_responder_handshake() -> None:
    conn = EventConnection(Role.RESPONDER)
    assert conn.next_event() is NEED_DATA
    conn.receive_data(h("0c000000 03000000 01000000"))
    assert conn.next_event() == InitEventRequest(1)
    assert conn.send_init_ack() == h("08000000 04000000")
    assert state(conn) is State.IDLE
    out = conn.send_event(EventCode.OBJECT_ADDED, 0, (5,))
    assert out == h("12000000 08000000 0240 00000000 05000000")
    conn.receive_data(h("08000000 0d000000"))
    assert conn.next_event() == ProbeRequest()
    assert conn.send_probe_response() == h("08000000 0e000000")
    assert conn.next_event() is NEED_DATA


def test_event_responder_init_fail() -> None:
    conn = EventConnection(Role.RESPONDER)
    conn.receive_data(h("0c000000 03000000 07000000"))
    assert conn.next_event() == InitEventRequest(7)
    assert conn.send_init_fail(1) == INIT_FAIL
    assert state(conn) is State.CLOSED


def test_event_initiator_handshake_and_events() -> None:
    conn = EventConnection(Role.INITIATOR)
    assert conn.send_init_request(1) == h("0c000000 03000000 01000000")
    assert state(conn) is State.WAIT_INIT
    conn.receive_data(h("08000000 04000000"))
    assert conn.next_event() == InitEventAck()
    assert state(conn) is State.IDLE
    conn.receive_data(
        enc(
            Event(EventCode.OBJECT_ADDED, 0, (1,)),
            ProbeRequest(),
            Event(EventCode.STORE_REMOVED, 0xFFFFFFFF, (1, 2, 3)),
        )
    )
    assert events(conn) == (
        [
            Event(EventCode.OBJECT_ADDED, 0, (1,)),
            ProbeRequest(),
            Event(EventCode.STORE_REMOVED, 0xFFFFFFFF, (1, 2, 3)),
        ],
        NEED_DATA,
    )
    assert conn.send_probe_response() == h("08000000 0e000000")


def test_event_initiator_init_fail() -> None:
    conn = EventConnection(Role.INITIATOR)
    conn.send_init_request(1)
    conn.receive_data(INIT_FAIL)
    assert conn.next_event() == InitFail(1)
    assert state(conn) is State.CLOSED


def test_event_airnef_probe_after_handshake() -> None:
    host = EventConnection(Role.INITIATOR)
    camera = EventConnection(Role.RESPONDER)
    camera.receive_data(host.send_init_request(1))
    assert camera.next_event() == InitEventRequest(1)
    host.receive_data(camera.send_init_ack())
    assert host.next_event() == InitEventAck()
    camera.receive_data(host.send_probe_request())
    assert camera.next_event() == ProbeRequest()
    host.receive_data(camera.send_probe_response())
    assert host.next_event() == ProbeResponse()


@pytest.mark.parametrize(
    ("role", "packets"),
    [
        (Role.RESPONDER, [Event(1, 1)]),
        (Role.RESPONDER, [InitEventAck()]),
        (Role.RESPONDER, [OperationRequest(0x1001, 1)]),
        (Role.RESPONDER, [InitCommandRequest(PMH_GUID, "x")]),
        (Role.INITIATOR, [Event(EventCode.OBJECT_ADDED, 0)]),
        (Role.INITIATOR, [InitEventRequest(1)]),
        (Role.INITIATOR, [InitCommandAck(1, ILCE_GUID, "x")]),
        (Role.INITIATOR, [OperationResponse(OK, 0)]),
    ],
    ids=repr,
)
def test_event_unexpected_before_handshake(role: Role, packets: list[Packet]) -> None:
    conn = EventConnection(role)
    conn.receive_data(enc(*packets))
    with pytest.raises(UnexpectedPacket):
        conn.next_event()
    assert_event_dead(conn)


@pytest.mark.parametrize(
    ("role", "packet"),
    [
        (Role.RESPONDER, Event(1, 1)),
        (Role.RESPONDER, InitEventRequest(1)),
        (Role.RESPONDER, Cancel(1)),
        (Role.INITIATOR, InitEventAck()),
        (Role.INITIATOR, InitFail(1)),
        (Role.INITIATOR, StartData(1, 1)),
    ],
    ids=repr,
)
def test_event_unexpected_after_handshake(role: Role, packet: Packet) -> None:
    conn = EventConnection(role)
    if role is Role.RESPONDER:
        conn.receive_data(enc(InitEventRequest(1)))
        conn.next_event()
        conn.send_init_ack()
    else:
        conn.send_init_request(1)
        conn.receive_data(enc(InitEventAck()))
        conn.next_event()
    assert state(conn) is State.IDLE
    conn.receive_data(enc(packet))
    with pytest.raises(UnexpectedPacket):
        conn.next_event()
    assert_event_dead(conn)


def test_event_cannot_send_events_before_the_handshake() -> None:
    conn = EventConnection(Role.RESPONDER)
    with pytest.raises(ProtocolError):
        conn.send_event(EventCode.OBJECT_ADDED, 0)
    assert_event_dead(conn)


@pytest.mark.parametrize("role", list(Role))
def test_event_send_init_fail_after_an_error(role: Role) -> None:
    """Like every other call, send_init_fail must raise in ERROR and leave the state alone."""
    conn = EventConnection(role)
    conn.receive_data(enc(OperationResponse(OK, 0)))
    with pytest.raises(UnexpectedPacket):
        conn.next_event()
    assert state(conn) is State.ERROR
    with pytest.raises(ProtocolError):
        conn.send_init_fail(1)
    assert state(conn) is State.ERROR


def test_event_malformed_bytes() -> None:
    conn = EventConnection(Role.INITIATOR)
    with pytest.raises(MalformedPacket):
        conn.receive_data(h("0a000000 08000000 0240"))  # Event payload too short
    assert_event_dead(conn)


def test_event_eof() -> None:
    conn = EventConnection(Role.INITIATOR)
    conn.send_init_request(1)
    conn.receive_data(b"")
    assert state(conn) is State.CLOSED
    assert conn.next_event() is NEED_DATA
