"""A small PTP/IP initiator over asyncio streams, for tests that talk to the emulator.

Built on the project's own codec in the INITIATOR role (:class:`CommandConnection` and
:class:`EventConnection`), so it speaks exactly what the codec speaks; where a test needs the
literal bytes (golden packets from docs/protocol.md, or a connection cut mid-packet) it can
write and read raw bytes next to the codec.

Every wait is bounded: each call takes at most ``timeout`` seconds (:data:`WAIT` by default) and
at most :data:`MAX_READS` socket reads. Only loopback is used.
"""

from __future__ import annotations

import asyncio
import contextlib
import struct
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from golden import SETTER_GUID
from sony_pm_alt.ptpip.codes import OperationCode, PacketType, ResponseCode
from sony_pm_alt.ptpip.connection import (
    ChannelEvent,
    CommandConnection,
    EventConnection,
    OperationComplete,
    Role,
    drain,
)
from sony_pm_alt.ptpip.errors import ProtocolError
from sony_pm_alt.ptpip.packets import (
    HEADER,
    HEADER_SIZE,
    InitCommandAck,
    InitEventAck,
    InitFail,
    ProbeResponse,
)

LOOPBACK = "127.0.0.1"
# Any single expected packet on loopback arrives in milliseconds; 5 s only guards against hangs.
WAIT = 5.0
READ_SIZE = 64 * 1024
# 100k reads of up to 64 KiB: far more than any test transfers, still a hard stop for a loop.
MAX_READS = 100_000
# sony-guid-setter's GUID (docs/protocol.md §6): what a "paired" test client presents.
PAIRED_GUID = SETTER_GUID
CLIENT_NAME = "pytest"

C = TypeVar("C", CommandConnection, EventConnection)


class PeerClosed(Exception):
    """The camera closed the connection. ``mid_packet``: it did so inside a packet."""

    def __init__(self, mid_packet: bool) -> None:
        super().__init__("connection closed mid-packet" if mid_packet else "connection closed")
        self.mid_packet = mid_packet


@dataclass(frozen=True, slots=True)
class RawPacket:
    """One framed packet cut out of raw bytes: its type and payload (after the header)."""

    type: int
    payload: bytes


def split_packets(raw: bytes) -> tuple[list[RawPacket], bytes]:
    """Split raw stream bytes into complete packets and the incomplete tail (``b""`` if none).

    For bytes the codec would refuse, e.g. a Data packet cut short by a dropped connection.
    """
    packets: list[RawPacket] = []
    offset = 0
    for _ in range(len(raw) // HEADER_SIZE + 1):  # every packet is at least a header long
        if len(raw) - offset < HEADER_SIZE:
            break
        length, ptype = HEADER.unpack_from(raw, offset)
        if length < HEADER_SIZE or offset + length > len(raw):
            break
        packets.append(RawPacket(ptype, raw[offset + HEADER_SIZE : offset + length]))
        offset += length
    return packets, raw[offset:]


def truncated_data(tail: bytes) -> tuple[int, bytes]:
    """For a tail that is a cut-short Data packet: (payload length announced, bytes that came)."""
    length, ptype = HEADER.unpack_from(tail)
    assert ptype == PacketType.DATA, f"tail is a packet of type {ptype}, not Data"
    return length - HEADER_SIZE - 4, tail[HEADER_SIZE + 4 :]


class _Channel(Generic[C]):
    """Socket plumbing both channels share: the codec, raw bytes seen, bounded reads."""

    def __init__(
        self,
        conn: C,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        timeout: float,
    ) -> None:
        self.conn: C = conn
        self.timeout = timeout
        self.raw = bytearray()  # every byte the camera sent that went through the codec
        self._reader = reader
        self._writer = writer
        self._events: deque[ChannelEvent] = deque()
        self._eof = False

    @staticmethod
    async def _open(
        host: str, port: int, timeout: float
    ) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        return await asyncio.wait_for(asyncio.open_connection(host, port), timeout)

    async def send_raw(self, data: bytes) -> None:
        """Write bytes the codec did not produce (its state does not change)."""
        self._writer.write(data)
        await self._writer.drain()

    async def read_raw(self, count: int) -> bytes:
        """Exactly ``count`` bytes, bypassing the codec (the answer to a :meth:`send_raw`)."""
        return await asyncio.wait_for(self._reader.readexactly(count), self.timeout)

    async def read_raw_until_eof(self) -> bytes:
        """Every byte up to the camera closing the connection, bypassing the codec."""
        out = bytearray()
        async with asyncio.timeout(self.timeout):
            for _ in range(MAX_READS):
                chunk = await self._reader.read(READ_SIZE)
                if not chunk:
                    self._eof = True
                    return bytes(out)
                out += chunk
        raise AssertionError(f"no EOF after {MAX_READS} reads")

    async def next_event(self) -> ChannelEvent:
        """The next packet-level event from the camera; :class:`PeerClosed` on EOF."""
        async with asyncio.timeout(self.timeout):
            for _ in range(MAX_READS):
                if self._events:
                    return self._events.popleft()
                if self._eof:
                    raise PeerClosed(mid_packet=False)
                data = await self._reader.read(READ_SIZE)
                self.raw += data
                if not data:
                    self._eof = True
                    try:
                        self.conn.receive_data(b"")
                    except ProtocolError as exc:
                        raise PeerClosed(mid_packet=True) from exc
                    raise PeerClosed(mid_packet=False)
                self.conn.receive_data(data)
                drain(self.conn, self._events.append)
        raise AssertionError(f"no complete packet after {MAX_READS} reads")

    async def expect_eof(self) -> None:
        """The camera closes the connection cleanly with nothing more to say."""
        try:
            event = await self.next_event()
        except PeerClosed as exc:
            closed = exc
        else:
            raise AssertionError(f"expected the camera to close the connection, got {event!r}")
        assert not closed.mid_packet, "connection closed in the middle of a packet"

    async def expect_silence(self, seconds: float) -> None:
        """Nothing at all (not even EOF) arrives for ``seconds``: waiting *is* the assertion."""
        try:
            data = await asyncio.wait_for(self._reader.read(1), seconds)
        except TimeoutError:
            return
        raise AssertionError(
            f"expected silence, got {data!r}" if data else "expected silence, got EOF"
        )

    async def close(self) -> None:
        self._writer.close()
        with contextlib.suppress(ConnectionError, OSError):
            await asyncio.wait_for(self._writer.wait_closed(), self.timeout)


class CommandClient(_Channel[CommandConnection]):
    """The command/data connection. TIDs follow gphoto2 (OpenSession 0, then 1, 2, …)."""

    @classmethod
    async def connect(
        cls, port: int, *, host: str = LOOPBACK, timeout: float = WAIT
    ) -> CommandClient:
        reader, writer = await cls._open(host, port, timeout)
        return cls(CommandConnection(Role.INITIATOR), reader, writer, timeout)

    async def init(
        self, guid: bytes = PAIRED_GUID, name: str = CLIENT_NAME
    ) -> InitCommandAck | InitFail:
        await self.send_raw(self.conn.send_init_request(guid, name))
        event = await self.next_event()
        if isinstance(event, (InitCommandAck, InitFail)):
            return event
        raise AssertionError(f"expected Init Command Ack or Init Fail, got {event!r}")

    async def request(
        self,
        code: int,
        params: Sequence[int] = (),
        data: bytes | None = None,
        *,
        transaction_id: int | None = None,
        data_phase: int | None = None,
    ) -> None:
        """Send a request (and its data-out phase) without waiting for the answer."""
        await self.send_raw(
            self.conn.send_request(
                code, tuple(params), data, transaction_id=transaction_id, data_phase=data_phase
            )
        )

    async def response(self) -> OperationComplete:
        event = await self.next_event()
        if isinstance(event, OperationComplete):
            return event
        raise AssertionError(f"expected an operation response, got {event!r}")

    async def call(
        self,
        code: int,
        params: Sequence[int] = (),
        data: bytes | None = None,
        *,
        transaction_id: int | None = None,
        data_phase: int | None = None,
    ) -> OperationComplete:
        """One whole transaction: request, optional data-out, then data-in and response."""
        await self.request(code, params, data, transaction_id=transaction_id, data_phase=data_phase)
        return await self.response()

    async def call_ok(
        self, code: int, params: Sequence[int] = (), data: bytes | None = None
    ) -> bytes:
        """A transaction that must answer OK; returns its data-in bytes."""
        done = await self.call(code, params, data)
        assert done.response.code == ResponseCode.OK, (
            f"0x{code:04X} answered 0x{done.response.code:04X}"
        )
        return done.data


class EventClient(_Channel[EventConnection]):
    """The event connection."""

    @classmethod
    async def connect(
        cls, port: int, *, host: str = LOOPBACK, timeout: float = WAIT
    ) -> EventClient:
        reader, writer = await cls._open(host, port, timeout)
        return cls(EventConnection(Role.INITIATOR), reader, writer, timeout)

    async def init(self, connection_number: int) -> InitEventAck | InitFail:
        await self.send_raw(self.conn.send_init_request(connection_number))
        event = await self.next_event()
        if isinstance(event, (InitEventAck, InitFail)):
            return event
        raise AssertionError(f"expected Init Event Ack or Init Fail, got {event!r}")

    async def probe(self) -> ProbeResponse:
        await self.send_raw(self.conn.send_probe_request())
        event = await self.next_event()
        if isinstance(event, ProbeResponse):
            return event
        raise AssertionError(f"expected Probe Response, got {event!r}")


@dataclass
class Session:
    """Both connections of an initiator that completed the handshake and OpenSession."""

    command: CommandClient
    event: EventClient
    ack: InitCommandAck

    async def close(self) -> None:
        await self.command.close()
        await self.event.close()


async def connect_session(
    port: int,
    *,
    guid: bytes = PAIRED_GUID,
    name: str = CLIENT_NAME,
    session_id: int = 1,
    timeout: float = WAIT,
) -> Session:
    """What gphoto2 does first: Init Command, Init Event, OpenSession (TID 0)."""
    command = await CommandClient.connect(port, timeout=timeout)
    ack = await command.init(guid, name)
    assert isinstance(ack, InitCommandAck), f"camera refused the initiator: {ack!r}"
    event = await EventClient.connect(port, timeout=timeout)
    event_ack = await event.init(ack.connection_number)
    assert isinstance(event_ack, InitEventAck), f"camera refused the event channel: {event_ack!r}"
    await command.call_ok(OperationCode.OPEN_SESSION, [session_id])
    return Session(command, event, ack)


def response_bytes(code: int, transaction_id: int, params: Sequence[int] = ()) -> bytes:
    """Raw Operation Response packet, for comparing against bytes read with ``read_raw``."""
    payload = struct.pack(f"<HI{len(params)}I", code, transaction_id, *params)
    return HEADER.pack(HEADER_SIZE + len(payload), PacketType.OPERATION_RESPONSE) + payload
