"""The emulator's network layer: an asyncio PTP/IP responder around :class:`Camera`.

Both PTP/IP connections arrive on one port; the first packet tells them apart (Init Command
Request → command/data connection, Init Event Request → event connection). Each *activation*
is one time the user picks "Send to Computer": it ends when the camera powers off, when nobody
talks to it for the inactivity timeout, or when the emulator stops. After ``activations`` of
them the emulator exits, as a camera switched off for good.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import struct
from collections.abc import Awaitable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import NoReturn, TypeVar

from ..identity import format_guid
from ..ptpip.codes import InitFailReason, OperationCode, PacketType, ResponseCode, code_name
from ..ptpip.connection import (
    NEED_DATA,
    PAUSED,
    CommandConnection,
    EventConnection,
    OperationReady,
    Role,
)
from ..ptpip.errors import ProtocolError
from ..ptpip.packets import (
    HEADER,
    HEADER_SIZE,
    Cancel,
    Data,
    EndData,
    InitCommandRequest,
    InitEventRequest,
    OperationRequest,
    OperationResponse,
    Packet,
    ProbeRequest,
    StartData,
    encode_packet,
)
from ..ptpip.stream import MAX_CONTROL_PACKET
from ..ssdp.description import DeviceDescription
from ..ssdp.messages import udn_from_mac
from .body import BodyConfig
from .camera import Camera, InitDecision, Reply, Screen
from .card import Card, FileSlice
from .faults import FILLER, Faults
from .recorder import Recorder
from .ssdp_responder import SsdpConfig, SsdpResponder

log = logging.getLogger("sony_pm_alt.emulator")
T = TypeVar("T")

# Operations that may carry a data-out phase even when DataPhaseInfo does not say so.
DATA_OUT_OPCODES = frozenset(
    {
        OperationCode.SONY_SET_REQUEST,
        OperationCode.SET_DEVICE_PROP_VALUE,
        OperationCode.MTP_SET_OBJECT_PROP_VALUE,
    }
)
# Object data goes out in Data packets of this size (libgphoto2 reads any size).
DATA_PACKET_SIZE = 1024 * 1024
# After power-off the camera still answers a prompt CloseSession, then drops the link.
POWER_OFF_GRACE = 2.0
READ_SIZE = 64 * 1024
# endless-data: what Start Data announces (the largest PTP/IP length), and how the filler
# trickles after the object's bytes: small packets often enough that no per-read timeout of a
# client (libgphoto2: 2.5 s) fires, capped in count as every sending loop is.
ENDLESS_LENGTH = (1 << 64) - 1
TRICKLE_PACKET = 4096
TRICKLE_INTERVAL = 0.02
TRICKLE_MAX_PACKETS = 50_000  # 1000 s at the interval; the activation normally ends first


@dataclass(frozen=True)
class EmulatorConfig:
    card_dir: Path
    body: BodyConfig = field(default_factory=BodyConfig)
    host: str = "127.0.0.1"
    port: int = 0
    inactivity_timeout: float = 120.0
    activations: int = 1  # 0 = until stopped
    strict_tids: bool = True
    faults: Faults = field(default_factory=Faults)
    ssdp: SsdpConfig | None = None


def _describe(packet: Packet) -> dict[str, object]:
    fields: dict[str, object] = {"type": type(packet).__name__}
    if isinstance(packet, OperationRequest):
        fields.update(
            opcode=packet.code,
            tid=packet.transaction_id,
            params=list(packet.params),
            data_phase=packet.data_phase,
        )
    elif isinstance(packet, StartData):
        fields.update(tid=packet.transaction_id, total=packet.total_length)
    elif isinstance(packet, (Data, EndData)):
        fields.update(tid=packet.transaction_id, length=len(packet.data))
    elif isinstance(packet, Cancel):
        fields.update(tid=packet.transaction_id)
    elif isinstance(packet, InitCommandRequest):
        fields.update(guid=format_guid(packet.guid), name=packet.friendly_name)
    elif isinstance(packet, InitEventRequest):
        fields.update(connection_number=packet.connection_number)
    return fields


def _lengthen(header: bytes, extra: int) -> bytes:
    """The same packet header with a length field ``extra`` bytes larger than the truth."""
    (length,) = struct.unpack_from("<I", header)
    return struct.pack("<I", min(length + extra, 0xFFFFFFFF)) + header[4:]


@dataclass(frozen=True)
class _Link:
    """A command connection of an activation: what answering an operation writes to."""

    activation: Activation
    conn: CommandConnection
    writer: asyncio.StreamWriter


class _Dropped(Exception):
    """The connection is closed on purpose (a fault, or the activation ended)."""


async def _unless_ended(activation: Activation, step: Awaitable[T]) -> T:
    """``step``'s result; if the activation ends first, ``step`` is cancelled and the connection
    dropped: a peer that stopped talking or reading must not keep the emulator alive."""
    task = asyncio.ensure_future(step)
    ended = asyncio.ensure_future(activation.ended.wait())
    await asyncio.wait({task, ended}, return_when=asyncio.FIRST_COMPLETED)
    ended.cancel()
    if not task.done():
        task.cancel()
        raise _Dropped
    return task.result()


class Activation:
    """One "Send to Computer" activation: a Camera plus the connections that talk to it."""

    def __init__(self, number: int, camera: Camera, record: Recorder, timeout: float) -> None:
        self.number = number
        self.camera = camera
        self._record = record
        self._timeout = timeout
        self._loop = asyncio.get_running_loop()
        self._last_activity = self._loop.time()
        self.ended = asyncio.Event()
        self.end_reason = ""
        self.writers: set[asyncio.StreamWriter] = set()
        self.connection_numbers: set[int] = set()
        self._next_connection = 1
        self.op_counts: dict[int, int] = {}
        self.object_bytes_sent = 0
        self.last_tid: int | None = None  # of the last operation answered (stale-reply)

    def touch(self) -> None:
        self._last_activity = self._loop.time()

    def new_connection_number(self) -> int:
        number = self._next_connection
        self._next_connection += 1
        self.connection_numbers.add(number)
        return number

    def end(self, reason: str) -> None:
        if not self.ended.is_set():
            self.end_reason = reason
            self.ended.set()

    async def watch_inactivity(self) -> None:
        while not self.ended.is_set():
            remaining = self._last_activity + self._timeout - self._loop.time()
            if remaining <= 0:
                self._record("timeout", seconds=self._timeout)
                if not self.camera.powered_off:
                    self.camera.set_screen(Screen.TIMED_OUT)
                self.end("timeout")
                return
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.ended.wait(), remaining)


class Emulator:
    """Run with ``await Emulator(config).run()``; ``port`` is known once ``start`` returned."""

    def __init__(self, config: EmulatorConfig, recorder: Recorder | None = None) -> None:
        self.config = config
        self.record = recorder or Recorder()
        self._server: asyncio.Server | None = None
        self._activation: Activation | None = None
        self._stopping = asyncio.Event()
        self.port = 0

    async def start(self) -> int:
        self._server = await asyncio.start_server(
            self._on_connection, self.config.host, self.config.port
        )
        self.port = self._server.sockets[0].getsockname()[1]
        self.record("listening", host=self.config.host, port=self.port)
        return self.port

    def stop(self) -> None:
        """Ask :meth:`run` to end the current activation (with byebye) and return."""
        self._stopping.set()
        if self._activation is not None:
            self._activation.end("stopped")

    async def run(self) -> None:
        if self._server is None:
            await self.start()
        number = 0
        try:
            while not self._stopping.is_set():
                number += 1
                if self.config.activations and number > self.config.activations:
                    break
                await self._run_activation(number)
        finally:
            assert self._server is not None
            self._server.close()
            await self._server.wait_closed()
            self.record("exit")

    async def _run_activation(self, number: int) -> None:
        config = self.config
        card = Card.scan(config.card_dir)
        camera = Camera(
            config.body, card, self.record, strict_tids=config.strict_tids, faults=config.faults
        )
        activation = Activation(number, camera, self.record, config.inactivity_timeout)
        self._activation = activation
        self.record(
            "activation_start", number=number, objects=len(card), screen=camera.screen.name.lower()
        )
        ssdp = await self._start_ssdp()
        watcher = asyncio.create_task(activation.watch_inactivity())
        if self._stopping.is_set():
            activation.end("stopped")
        await activation.ended.wait()
        watcher.cancel()
        for writer in list(activation.writers):
            writer.close()
        if ssdp is not None:
            await ssdp.stop()
        self.record(
            "activation_end",
            number=number,
            reason=activation.end_reason,
            screen=camera.screen.name.lower(),
        )

    async def _start_ssdp(self) -> SsdpResponder | None:
        if self.config.ssdp is None:
            return None
        body = self.config.body
        description = DeviceDescription(
            friendly_name=body.model,
            model_name=body.model,
            serial_number=body.serial_number,
            udn=udn_from_mac(body.mac),
        )
        responder = SsdpResponder(
            self.config.ssdp, description, lambda name, fields: self.record(name, **fields)
        )
        await responder.start()
        return responder

    # ------------------------------------------------------------------ connections

    async def _on_connection(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        sock = writer.get_extra_info("socket")
        if sock is not None:
            # Without TCP_NODELAY every operation costs ~44 ms against libgphoto2 (measured).
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        peer = writer.get_extra_info("peername")
        activation = self._activation
        if activation is None or activation.ended.is_set():
            writer.close()
            return
        activation.writers.add(writer)
        self.record("connection", peer=str(peer))
        try:
            first = await self._read_first_packet(reader)
            ptype = HEADER.unpack_from(first)[1]
            if ptype == PacketType.INIT_COMMAND_REQUEST:
                await self._command_channel(activation, first, reader, writer)
            elif ptype == PacketType.INIT_EVENT_REQUEST:
                if self.config.faults.drop_handshake:
                    self.record("fault", kind="drop_handshake")
                    raise _Dropped
                await self._event_channel(activation, first, reader, writer)
            else:
                self.record("protocol_error", error=f"connection opened with packet type {ptype}")
        except ProtocolError as exc:
            self.record("protocol_error", error=str(exc))
        except _Dropped:
            pass
        except (ConnectionError, asyncio.IncompleteReadError) as exc:
            self.record("connection_lost", error=str(exc) or type(exc).__name__)
        finally:
            activation.writers.discard(writer)
            writer.close()
            with contextlib.suppress(ConnectionError, OSError):
                await writer.wait_closed()
            self.record("disconnect", peer=str(peer))

    async def _read_first_packet(self, reader: asyncio.StreamReader) -> bytes:
        try:
            header = await reader.readexactly(HEADER_SIZE)
        except asyncio.IncompleteReadError:
            raise _Dropped from None  # closed before a word: nothing to record
        length = HEADER.unpack_from(header)[0]
        if not HEADER_SIZE <= length <= MAX_CONTROL_PACKET:
            raise ProtocolError(f"first packet has an invalid length {length}")
        return header + await reader.readexactly(length - HEADER_SIZE)

    async def _command_channel(
        self,
        activation: Activation,
        first: bytes,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
    ) -> None:
        camera = activation.camera
        conn = CommandConnection(
            Role.RESPONDER,
            data_out_opcodes=DATA_OUT_OPCODES,
            on_packet=lambda p: self.record("packet", channel="command", **_describe(p)),
        )
        conn.receive_data(first)
        link = _Link(activation, conn, writer)
        while not activation.ended.is_set():
            event = conn.next_event()
            if event is NEED_DATA or event is PAUSED:
                data = await _unless_ended(activation, reader.read(READ_SIZE))
                activation.touch()
                conn.receive_data(data)
                if not data:
                    return
            elif isinstance(event, InitCommandRequest):
                await self._answer_init(link, event)
            elif isinstance(event, OperationReady):
                await self._operation(link, event)
                if camera.powered_off and event.request.code == OperationCode.CLOSE_SESSION:
                    activation.end("power_off")
            elif isinstance(event, ProbeRequest):
                writer.write(conn.send_probe_response())
            elif isinstance(event, Cancel):
                self.record("cancel", tid=event.transaction_id)

    async def _answer_init(self, link: _Link, request: InitCommandRequest) -> None:
        """Init Ack, or (refused or ignored) the connection dropped."""
        activation, conn, writer = link.activation, link.conn, link.writer
        guid = format_guid(request.guid)
        reason = self.config.faults.refuse_init
        if reason is not None:
            self.record("fault", kind="refuse_init", reason=reason)
            decision = InitDecision.REJECT
        else:
            reason = InitFailReason.REJECTED_INITIATOR
            decision = activation.camera.check_initiator(request.guid, request.friendly_name)
        if decision is InitDecision.REJECT:
            self.record("init_fail", guid=guid, name=request.friendly_name, reason=int(reason))
            writer.write(conn.send_init_fail(reason))
            await writer.drain()
            raise _Dropped
        if decision is InitDecision.IGNORE:
            # One session per activation: the camera accepts the TCP connection and stays silent.
            self.record("init_ignored", guid=guid, name=request.friendly_name)
            await activation.ended.wait()
            raise _Dropped
        number = activation.new_connection_number()
        self.record("init", guid=guid, name=request.friendly_name, connection_number=number)
        body = self.config.body
        writer.write(conn.send_init_ack(number, body.guid, body.model))
        await writer.drain()

    async def _operation(self, link: _Link, ready: OperationReady) -> None:
        activation, request = link.activation, ready.request
        faults = self.config.faults
        count = activation.op_counts[request.code] = activation.op_counts.get(request.code, 0) + 1
        if faults.drop_at is not None and faults.drop_at == (request.code, count):
            self.record("fault", kind="drop_at", opcode=request.code, occurrence=count)
            raise _Dropped
        if activation.camera.powered_off and request.code != OperationCode.CLOSE_SESSION:
            self.record("ignored_after_power_off", opcode=request.code)
            raise _Dropped
        delay = faults.latency_for(request.code)
        if delay:
            await asyncio.sleep(delay)
        was_on = not activation.camera.powered_off
        reply = activation.camera.execute(ready)
        self.record(
            "operation",
            peer=str(link.writer.get_extra_info("peername")),
            opcode=request.code,
            name=code_name(request.code, OperationCode),
            tid=request.transaction_id,
            params=list(request.params),
            data=None if ready.data is None else ready.data.hex(),
            response=reply.code,
            response_name=code_name(reply.code, ResponseCode),
        )
        stale_tid = activation.last_tid if faults.stale_reply else None
        await self._send_reply(link, reply, stale_tid)
        activation.last_tid = request.transaction_id
        activation.touch()
        if was_on and activation.camera.powered_off:
            asyncio.get_running_loop().call_later(POWER_OFF_GRACE, activation.end, "power_off")

    async def _send_reply(self, link: _Link, reply: Reply, stale_tid: int | None) -> None:
        conn, writer = link.conn, link.writer
        data = reply.data
        params = reply.params
        if data is not None and reply.code == ResponseCode.OK:
            # Sony's data-in shape: Start Data, Data packet(s), an empty End Data, Response.
            if isinstance(data, bytes):
                writer.write(conn.send_start_data(len(data)))
                if data:
                    writer.write(conn.send_data(data))
            else:
                params = await self._send_object(link, params, data)
            writer.write(conn.send_data(b"", end=True))
        if stale_tid is not None:
            self.record("fault", kind="stale_reply", tid=stale_tid)
            writer.write(encode_packet(OperationResponse(ResponseCode.OK, stale_tid)))
        writer.write(conn.send_response(reply.code, params))
        await writer.drain()

    async def _send_object(
        self, link: _Link, params: tuple[int, ...], piece: FileSlice
    ) -> tuple[int, ...]:
        """An object's data phase up to (not including) its End Data, shaped by the faults;
        returns the response parameters (Param1 of GetPartialObject is the bytes sent)."""
        conn, writer, faults = link.conn, link.writer, self.config.faults
        if faults.endless_data:
            self.record("fault", kind="endless_data", path=piece.path.name, offset=piece.offset)
            writer.write(conn.send_start_data(ENDLESS_LENGTH))
            await self._stream_file(link, piece)
            await self._trickle(link)
        short = min(faults.undersize_data, piece.length)
        if short:
            self.record("fault", kind="undersize_data", path=piece.path.name, missing=short)
            piece = replace(piece, length=piece.length - short)
        extra = faults.oversize_data
        total = piece.length + extra
        if extra:  # recorded first: a client may hang up as soon as Start Data arrives
            self.record("fault", kind="oversize_data", path=piece.path.name, extra=extra)
        writer.write(conn.send_start_data(total))
        await self._stream_file(link, piece)
        for start in range(0, extra, DATA_PACKET_SIZE):
            size = min(DATA_PACKET_SIZE, extra - start)
            writer.write(conn.send_data(bytes([FILLER]) * size))
            await writer.drain()
        return (total, *params[1:]) if params else params

    async def _trickle(self, link: _Link) -> NoReturn:
        """endless-data: filler until the activation ends (the inactivity timeout is not
        reset by it), then the connection is dropped. Never returns."""
        activation, writer = link.activation, link.writer
        packet = link.conn.send_data(bytes([FILLER]) * TRICKLE_PACKET)  # the codec counts one
        sent = 0
        for _ in range(TRICKLE_MAX_PACKETS):
            if activation.ended.is_set():
                break
            writer.write(packet)
            sent += 1
            await _unless_ended(activation, writer.drain())
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(activation.ended.wait(), TRICKLE_INTERVAL)
        self.record("fault", kind="endless_data_end", packets=sent)
        raise _Dropped

    async def _stream_file(self, link: _Link, piece: FileSlice) -> None:
        activation, writer = link.activation, link.writer
        drop_after = self.config.faults.drop_after_bytes
        lie = self.config.faults.lying_length
        with piece.path.open("rb") as f:
            f.seek(piece.offset)
            left = piece.length
            while left:
                chunk = f.read(min(DATA_PACKET_SIZE, left))
                if not chunk:
                    raise ProtocolError(f"{piece.path} shrank while being sent")
                left -= len(chunk)
                # Header and payload in one write, as a camera sends them: a dissector (and a
                # Wi-Fi trace) then sees one packet, not a lone 12-byte header.
                header = link.conn.send_data_header(len(chunk))
                if lie:
                    # Only the first packet lies; the codec still counts the true length.
                    self.record("fault", kind="lying_length", carried=len(chunk), extra=lie)
                    header = _lengthen(header, lie)
                    lie = 0
                if drop_after is not None:  # cut the chunk where drop-after-bytes falls
                    chunk = chunk[: max(0, drop_after - activation.object_bytes_sent)]
                writer.write(header + chunk)
                activation.object_bytes_sent += len(chunk)
                await writer.drain()
                if drop_after is not None and activation.object_bytes_sent >= drop_after:
                    self.record("fault", kind="drop_after_bytes", sent=activation.object_bytes_sent)
                    raise _Dropped

    async def _event_channel(
        self,
        activation: Activation,
        first: bytes,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
    ) -> None:
        conn = EventConnection(
            Role.RESPONDER,
            on_packet=lambda p: self.record("packet", channel="event", **_describe(p)),
        )
        conn.receive_data(first)
        while not activation.ended.is_set():
            event = conn.next_event()
            if event is NEED_DATA:
                data = await _unless_ended(activation, reader.read(READ_SIZE))
                if not data:
                    return
                conn.receive_data(data)
            elif isinstance(event, InitEventRequest):
                if event.connection_number in activation.connection_numbers:
                    self.record("event_channel", connection_number=event.connection_number)
                    writer.write(conn.send_init_ack())
                else:
                    self.record(
                        "init_fail",
                        channel="event",
                        connection_number=event.connection_number,
                        reason=int(InitFailReason.REJECTED_INITIATOR),
                    )
                    writer.write(conn.send_init_fail(InitFailReason.REJECTED_INITIATOR))
                    await writer.drain()
                    return
            elif isinstance(event, ProbeRequest):
                writer.write(conn.send_probe_response())
            await writer.drain()
