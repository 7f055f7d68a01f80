"""PTP/IP connection state machines, sans-IO, for both roles.

Bytes go in with ``receive_data``; ``next_event`` returns one event at a time, :data:`NEED_DATA`
when more bytes are needed, or :data:`PAUSED` when the local side owes the peer an answer first
(a responder that has been handed an operation must send its response before it sees the next
request). The ``send_*`` methods return the bytes to write and advance the state. No sockets.

Any protocol violation raises :class:`ProtocolError` and moves the connection to
:attr:`State.ERROR`; every later call then raises too, so misuse after an error is caught.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from enum import Enum
from typing import Final

from .codes import DataPhase, OperationCode
from .errors import LimitExceeded, ProtocolError, UnexpectedPacket
from .packets import (
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
from .stream import PacketReader

# A camera receives only small data-out phases (vendor commands, property values). Bounding
# them keeps a hostile initiator from making the responder buffer an object-sized upload.
MAX_DATA_OUT = 16 * 1024 * 1024
# What an initiator built on this codec collects in memory for one data-in phase.
MAX_DATA_IN = 64 * 1024 * 1024
# libgphoto2 splits data-out into 64 KiB Data packets; we do the same as an initiator.
DATA_OUT_CHUNK = 64 * 1024


class Role(Enum):
    INITIATOR = "initiator"
    RESPONDER = "responder"


class State(Enum):
    WAIT_INIT = "wait-init"  # before the Init Command/Event handshake completed
    IDLE = "idle"  # no transaction open
    REQUESTED = "requested"  # a request is known; its data phase or response is pending
    DATA = "data"  # inside a data phase
    RESPONDING = "responding"  # responder: owes the peer a response (and maybe data-in)
    CLOSED = "closed"
    ERROR = "error"


class Sentinel(Enum):
    NEED_DATA = "NEED_DATA"
    PAUSED = "PAUSED"


NEED_DATA: Final = Sentinel.NEED_DATA
PAUSED: Final = Sentinel.PAUSED


@dataclass(frozen=True, slots=True)
class OperationReady:
    """Responder: a complete operation to execute.

    ``data`` is the data-out payload, or ``None`` when the request had no data phase.
    ``data_transaction_id`` is the TID its Start Data carried (``None`` without data); it differs
    from ``request.transaction_id`` only when the initiator mislabelled the data phase.
    """

    request: OperationRequest
    data: bytes | None = None
    data_transaction_id: int | None = None


@dataclass(frozen=True, slots=True)
class OperationComplete:
    """Initiator: the response to our request, with the data-in payload (``b""`` if none)."""

    request: OperationRequest
    response: OperationResponse
    data: bytes


CommandEvent = InitCommandRequest | InitCommandAck | InitFail | OperationReady | OperationComplete
ChannelEvent = (
    CommandEvent | Cancel | ProbeRequest | ProbeResponse | InitEventRequest | InitEventAck | Event
)


@dataclass(slots=True)
class _DataPhase:
    transaction_id: int
    total: int
    chunks: list[bytes]
    received: int = 0


class _Channel:
    """What both channels share: framing, the error state and the outgoing-packet helper."""

    def __init__(self, role: Role, *, on_packet: Callable[[Packet], None] | None = None) -> None:
        self.role = role
        self.state = State.WAIT_INIT
        self._reader = PacketReader()
        self._packets: deque[Packet] = deque()
        self._on_packet = on_packet

    def receive_data(self, data: bytes) -> None:
        """Feed bytes from the peer; ``b""`` means the peer closed the connection."""
        self._check_usable()
        try:
            packets = self._reader.feed(data)
        except ProtocolError:
            self.state = State.ERROR
            raise
        if self._on_packet is not None:
            for packet in packets:
                self._on_packet(packet)
        self._packets.extend(packets)
        if not data and not self._packets:
            self.state = State.CLOSED

    def _need_data(self) -> Sentinel:
        if self._reader.closed:
            self.state = State.CLOSED
        return NEED_DATA

    def _check_usable(self) -> None:
        if self.state is State.ERROR:
            raise ProtocolError("connection is in the ERROR state after an earlier protocol error")

    def _fail(self, message: str) -> UnexpectedPacket:
        self.state = State.ERROR
        return UnexpectedPacket(message)

    def _emit(self, packet: Packet) -> bytes:
        self._check_usable()
        return encode_packet(packet)

    def send_init_fail(self, reason: int) -> bytes:
        """Refuse the connection; the responder closes the socket after writing this."""
        out = self._emit(InitFail(reason))
        self.state = State.CLOSED
        return out

    def send_probe_request(self) -> bytes:
        return self._emit(ProbeRequest())

    def send_probe_response(self) -> bytes:
        return self._emit(ProbeResponse())

    def _expect_state(self, *allowed: State, action: str) -> None:
        self._check_usable()
        if self.state not in allowed:
            raise self._fail(f"cannot {action} in state {self.state.value}")


class CommandConnection(_Channel):
    """The command/data connection.

    ``data_out_opcodes`` lists operations that may carry a data-out phase even when the request's
    DataPhaseInfo does not say so: PlayMemories Home sends DataPhaseInfo 0 on every request, so
    a responder must look at the next packet to know whether data follows.
    """

    def __init__(
        self,
        role: Role,
        *,
        data_out_opcodes: Iterable[int] = (),
        max_data_out: int = MAX_DATA_OUT,
        max_data_in: int = MAX_DATA_IN,
        on_packet: Callable[[Packet], None] | None = None,
    ) -> None:
        super().__init__(role, on_packet=on_packet)
        self._data_out_opcodes = frozenset(data_out_opcodes)
        self._max_data_out = max_data_out
        self._max_data_in = max_data_in
        self._request: OperationRequest | None = None
        self._request_data_optional = False
        self._phase: _DataPhase | None = None
        self._last_data_tid: int | None = None
        self._next_tid = 0
        self._data_in_started = False
        self._data_in_left = 0

    @property
    def current_request(self) -> OperationRequest | None:
        return self._request

    # ---------------------------------------------------------------- receiving

    def next_event(self) -> ChannelEvent | Sentinel:
        self._check_usable()
        while True:
            if self.state is State.RESPONDING:
                return PAUSED
            if not self._packets:
                return self._need_data()
            event = self._handle(self._packets.popleft())
            if event is not None:
                return event

    def _handle(self, packet: Packet) -> ChannelEvent | None:
        if isinstance(packet, (ProbeRequest, ProbeResponse, Cancel)):
            # Cancel aborts the open transaction; the owner decides what to answer.
            if isinstance(packet, Cancel) and self.state in (State.REQUESTED, State.DATA):
                self._phase = None
                self.state = State.IDLE if self.role is Role.RESPONDER else self.state
            return packet
        if self.role is Role.RESPONDER:
            return self._handle_as_responder(packet)
        return self._handle_as_initiator(packet)

    def _handle_as_responder(self, packet: Packet) -> ChannelEvent | None:
        if self.state is State.CLOSED:
            raise self._fail(f"{type(packet).__name__} after the connection was refused")
        if self.state is State.WAIT_INIT:
            if isinstance(packet, InitCommandRequest):
                self.state = State.RESPONDING
                return packet
            raise self._fail(f"expected Init Command Request, got {type(packet).__name__}")
        if isinstance(packet, OperationRequest):
            return self._request_received(packet)
        if isinstance(packet, StartData):
            return self._start_data_out(packet)
        if isinstance(packet, (Data, EndData)):
            if (
                self._phase is None
                and isinstance(packet, EndData)
                and not packet.data
                and packet.transaction_id == self._last_data_tid
            ):
                # gphoto2 sends a zero-length data-out as a lone Start Data; others add End Data.
                self._last_data_tid = None
                return None
            return self._finish_data_out() if self._collect(packet) else None
        raise self._fail(f"unexpected {type(packet).__name__} on the command connection")

    def _request_received(self, request: OperationRequest) -> ChannelEvent | None:
        if self.state is State.DATA:
            raise self._fail("Operation Request in the middle of a data phase")
        if self.state is State.REQUESTED:
            if not self._request_data_optional or self._request is None:
                raise self._fail("Operation Request while the previous one still awaits its data")
            # The previous request (DataPhaseInfo 0) turned out to have no data phase.
            self._packets.appendleft(request)
            return self._ready(self._request, None, None)
        definite = request.data_phase == DataPhase.DATA_OUT
        maybe = request.data_phase in (DataPhase.UNSPECIFIED, DataPhase.UNKNOWN) and (
            request.code in self._data_out_opcodes
        )
        if definite or maybe:
            self._request = request
            self._request_data_optional = not definite
            self.state = State.REQUESTED
            return None
        return self._ready(request, None, None)

    def _start_data_out(self, start: StartData) -> ChannelEvent | None:
        if self.state is not State.REQUESTED or self._request is None:
            raise self._fail("Start Data without an Operation Request that expects data")
        self._open_phase(start, self._max_data_out, "data-out")
        if start.total_length == 0:
            self._last_data_tid = start.transaction_id
            return self._finish_data_out()
        return None

    def _open_phase(self, start: StartData, limit: int, what: str) -> None:
        if start.total_length > limit:
            self.state = State.ERROR
            raise LimitExceeded(
                f"{what} of {start.total_length} bytes exceeds the {limit}-byte limit"
            )
        self._phase = _DataPhase(start.transaction_id, start.total_length, [])
        self.state = State.DATA

    def _collect(self, packet: Data | EndData) -> bool:
        """Add a data packet to the open phase; True when the phase is complete."""
        phase = self._phase
        if self.state is not State.DATA or phase is None:
            raise self._fail(f"{type(packet).__name__} outside a data phase")
        if packet.transaction_id != phase.transaction_id:
            raise self._fail(
                f"{type(packet).__name__} for transaction {packet.transaction_id} inside the data "
                f"phase of transaction {phase.transaction_id}"
            )
        phase.received += len(packet.data)
        if phase.received > phase.total:
            raise self._fail(f"data phase carries more than the announced {phase.total} bytes")
        phase.chunks.append(packet.data)
        if isinstance(packet, EndData):
            if phase.received != phase.total:
                raise self._fail(
                    f"data phase ended after {phase.received} of {phase.total} announced bytes"
                )
            return True
        return False

    def _finish_data_out(self) -> ChannelEvent:
        phase, request = self._phase, self._request
        assert phase is not None
        assert request is not None
        self._phase = None
        return self._ready(request, b"".join(phase.chunks), phase.transaction_id)

    def _ready(
        self, request: OperationRequest, data: bytes | None, tid: int | None
    ) -> OperationReady:
        self._request = request
        self._request_data_optional = False
        self.state = State.RESPONDING
        return OperationReady(request, data, tid)

    def _handle_as_initiator(self, packet: Packet) -> ChannelEvent | None:
        if self.state is State.WAIT_INIT:
            if isinstance(packet, InitCommandAck):
                self.state = State.IDLE
                return packet
            if isinstance(packet, InitFail):
                self.state = State.CLOSED
                return packet
            raise self._fail(f"expected Init Command Ack or Init Fail, got {type(packet).__name__}")
        request = self._request
        if self.state not in (State.REQUESTED, State.DATA) or request is None:
            raise self._fail(f"unexpected {type(packet).__name__}: no request is outstanding")
        if isinstance(packet, StartData):
            if self.state is State.DATA:
                raise self._fail("second Start Data inside one transaction")
            self._open_phase(packet, self._max_data_in, "data-in")
            return None
        if isinstance(packet, (Data, EndData)):
            if self.state is State.REQUESTED and isinstance(packet, EndData) and not packet.data:
                return None  # a trailing empty End Data after a completed phase
            self._collect(packet)
            if self._phase is not None and isinstance(packet, EndData):
                self.state = State.REQUESTED
            return None
        if isinstance(packet, OperationResponse):
            if packet.transaction_id != request.transaction_id:
                raise self._fail(
                    f"response for transaction {packet.transaction_id}, "
                    f"expected {request.transaction_id}"
                )
            phase, self._phase = self._phase, None
            if phase is not None and phase.received != phase.total:
                raise self._fail(f"response after {phase.received} of {phase.total} data bytes")
            self._request = None
            self.state = State.IDLE
            return OperationComplete(request, packet, b"".join(phase.chunks) if phase else b"")
        raise self._fail(f"unexpected {type(packet).__name__} on the command connection")

    # ---------------------------------------------------------------- sending (responder)

    def send_init_ack(self, connection_number: int, guid: bytes, friendly_name: str) -> bytes:
        self._expect_state(State.RESPONDING, action="acknowledge Init")
        if self._request is not None:
            raise self._fail("cannot acknowledge Init: an operation is owed a response")
        out = self._emit(InitCommandAck(connection_number, guid, friendly_name))
        self.state = State.IDLE
        return out

    def send_start_data(self, total_length: int) -> bytes:
        """Open the data-in phase. Once open it must be completed; to refuse an operation,
        send only a response instead (the peer then gets no data)."""
        self._expect_state(State.RESPONDING, action="start a data-in phase")
        request = self._responding_to()
        if self._data_in_started:
            raise self._fail("second Start Data in one transaction")
        self._data_in_started = True
        self._data_in_left = total_length
        return self._emit(StartData(request.transaction_id, total_length))

    def send_data_header(self, length: int, *, end: bool = False) -> bytes:
        """Header of a Data packet whose ``length`` payload bytes the caller writes itself."""
        self._expect_state(State.RESPONDING, action="send data")
        if not self._data_in_started:
            raise self._fail("data sent before Start Data")
        if length > self._data_in_left:
            raise self._fail(f"{length} data bytes exceed the {self._data_in_left} announced")
        if end and length != self._data_in_left:
            raise self._fail(
                f"End Data leaves {self._data_in_left - length} announced bytes unsent"
            )
        self._data_in_left -= length
        return data_header(self._responding_to().transaction_id, length, end=end)

    def send_data(self, data: bytes, *, end: bool = False) -> bytes:
        return self.send_data_header(len(data), end=end) + data

    def send_response(self, code: int, params: tuple[int, ...] = ()) -> bytes:
        self._expect_state(State.RESPONDING, action="send a response")
        request = self._responding_to()
        if self._data_in_started and self._data_in_left:
            raise self._fail(f"response with {self._data_in_left} announced data bytes unsent")
        out = self._emit(OperationResponse(code, request.transaction_id, params))
        self._request = None
        self._data_in_started = False
        self._data_in_left = 0
        self.state = State.IDLE
        return out

    def _responding_to(self) -> OperationRequest:
        if self._request is None:
            raise self._fail("no operation is being answered")
        return self._request

    # ---------------------------------------------------------------- sending (initiator)

    def send_init_request(self, guid: bytes, friendly_name: str) -> bytes:
        self._expect_state(State.WAIT_INIT, action="send Init Command Request")
        return self._emit(InitCommandRequest(guid, friendly_name))

    def send_request(
        self,
        code: int,
        params: tuple[int, ...] = (),
        data: bytes | None = None,
        *,
        transaction_id: int | None = None,
        data_phase: int | None = None,
    ) -> bytes:
        """Request bytes, followed by a whole data-out phase when ``data`` is given.

        Transaction IDs follow gphoto2: OpenSession uses 0 and restarts the count at 1; the
        counter skips 0xFFFFFFFF, which is not a valid TID.
        """
        self._expect_state(State.IDLE, action="send a request")
        if transaction_id is None:
            transaction_id = 0 if code == OperationCode.OPEN_SESSION else self._next_tid
        if data_phase is None:
            data_phase = DataPhase.DATA_OUT if data is not None else DataPhase.NO_DATA_OR_DATA_IN
        request = OperationRequest(code, transaction_id, params, data_phase)
        out = [self._emit(request)]
        self._next_tid = transaction_id + 1 if transaction_id < 0xFFFFFFFE else 1
        if data is not None:
            out.append(self._emit(StartData(transaction_id, len(data))))
            chunks = [data[i : i + DATA_OUT_CHUNK] for i in range(0, len(data), DATA_OUT_CHUNK)]
            for chunk in chunks[:-1]:
                out.append(self._emit(Data(transaction_id, chunk)))
            out.append(self._emit(EndData(transaction_id, chunks[-1] if chunks else b"")))
        self._request = request
        self.state = State.REQUESTED
        return b"".join(out)


class EventConnection(_Channel):
    """The event connection: Init Event handshake, Events, and Probe Request/Response."""

    def next_event(self) -> ChannelEvent | Sentinel:
        self._check_usable()
        if not self._packets:
            return self._need_data()
        packet = self._packets.popleft()
        if isinstance(packet, (ProbeRequest, ProbeResponse)):
            return packet
        if self.state is State.WAIT_INIT:
            if self.role is Role.RESPONDER and isinstance(packet, InitEventRequest):
                return packet
            if self.role is Role.INITIATOR and isinstance(packet, (InitEventAck, InitFail)):
                self.state = State.IDLE if isinstance(packet, InitEventAck) else State.CLOSED
                return packet
        elif self.role is Role.INITIATOR and isinstance(packet, Event):
            return packet
        raise self._fail(f"unexpected {type(packet).__name__} on the event connection")

    def send_init_request(self, connection_number: int) -> bytes:
        self._expect_state(State.WAIT_INIT, action="send Init Event Request")
        return self._emit(InitEventRequest(connection_number))

    def send_init_ack(self) -> bytes:
        self._expect_state(State.WAIT_INIT, action="acknowledge Init Event")
        self.state = State.IDLE
        return self._emit(InitEventAck())

    def send_event(self, code: int, transaction_id: int, params: tuple[int, ...] = ()) -> bytes:
        self._expect_state(State.IDLE, action="send an Event")
        return self._emit(Event(code, transaction_id, params))


def drain(
    connection: CommandConnection | EventConnection, on_event: Callable[[ChannelEvent], None]
) -> None:
    """Pass every available event to ``on_event`` until the connection needs data or pauses."""
    while not isinstance(event := connection.next_event(), Sentinel):
        on_event(event)
