"""The asyncio emulator over loopback, driven by a PTP/IP initiator built on our own codec.

Each test starts an :class:`Emulator` on 127.0.0.1 with an ephemeral port and talks to it with
``tests/ptpip_client.py``. Nothing sleeps to synchronise: tests wait for a response packet, an
EOF, or a line of the emulator's recorder (:class:`WatchedRecorder`), each bounded by a timeout.
The only deliberate waits are the behaviour under test: the inactivity timeout, and the silence
of a camera that ignores a second initiator.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import struct
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from emulator_harness import scenario
from golden import POWER_OFF, SENDING
from ptpip_client import (
    PAIRED_GUID,
    WAIT,
    CommandClient,
    EventClient,
    PeerClosed,
    Session,
    connect_session,
    response_bytes,
    split_packets,
    truncated_data,
)
from sony_pm_alt.emulator import (
    BodyConfig,
    Emulator,
    EmulatorConfig,
    Recorder,
    parse_faults,
    read_log,
)
from sony_pm_alt.ptpip.codes import DataType, ObjectPropCode, PacketType, ResponseCode
from sony_pm_alt.ptpip.codes import OperationCode as Op
from sony_pm_alt.ptpip.datasets import (
    DeviceInfo,
    ObjectInfo,
    ObjectPropList,
    StorageInfo,
    decode_u32_array,
)
from sony_pm_alt.ptpip.packets import InitCommandAck, InitEventAck, InitFail, ProbeResponse

pytestmark = pytest.mark.integration

MAC = bytes.fromhex("d8c46a9769b4")
STRANGER_GUID = bytes.fromhex("0000000000000000ffff080027f5164f")
STORAGE = 0x00010001
ROOT = 0xFFFFFFFF
ALL = 0xFFFFFFFF
MIB = 1 << 20
SHORT_TIMEOUT = 0.3  # inactivity timeout where the timeout itself is under test
SILENCE = 0.3  # how long a camera that never answers is watched staying silent


# --- harness ------------------------------------------------------------------------------------


class WatchedRecorder(Recorder):
    """The real recorder (JSON lines on disk) that also lets a test await a given line."""

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.lines: list[dict[str, Any]] = []
        self._waiters: list[tuple[Callable[[dict[str, Any]], bool], asyncio.Future[Any]]] = []

    def __call__(self, event: str, **fields: Any) -> None:
        super().__call__(event, **fields)
        line = {"event": event, **fields}
        self.lines.append(line)
        for predicate, future in list(self._waiters):
            if not future.done() and predicate(line):
                future.set_result(line)

    def named(self, event: str) -> list[dict[str, Any]]:
        return [line for line in self.lines if line["event"] == event]

    async def wait_for(self, event: str, **match: Any) -> dict[str, Any]:
        """The first line (past or future) named ``event`` whose fields include ``match``."""

        def predicate(line: dict[str, Any]) -> bool:
            return line["event"] == event and all(line.get(k) == v for k, v in match.items())

        for line in self.lines:
            if predicate(line):
                return line
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        waiter = (predicate, future)
        self._waiters.append(waiter)
        try:
            return await asyncio.wait_for(future, WAIT)
        finally:
            self._waiters.remove(waiter)


@dataclass
class Running:
    """A started emulator, its recorder, and every client a test opened (closed at the end)."""

    emulator: Emulator
    task: asyncio.Task[None]
    log: WatchedRecorder
    log_path: Path
    clients: list[CommandClient | EventClient] = field(default_factory=list)

    @property
    def port(self) -> int:
        return self.emulator.port

    async def command(self) -> CommandClient:
        client = await CommandClient.connect(self.port)
        self.clients.append(client)
        return client

    async def event(self) -> EventClient:
        client = await EventClient.connect(self.port)
        self.clients.append(client)
        return client

    async def session(self, **kwargs: Any) -> Session:
        session = await connect_session(self.port, **kwargs)
        self.clients += [session.command, session.event]
        return session

    async def finished(self) -> None:
        """``run()`` returned by itself (the activations are used up)."""
        await asyncio.wait_for(asyncio.shield(self.task), WAIT)


@contextlib.asynccontextmanager
async def emulator_running(config: EmulatorConfig, log_path: Path) -> AsyncIterator[Running]:
    recorder = WatchedRecorder(log_path)
    emulator = Emulator(config, recorder)
    await emulator.start()
    task = asyncio.create_task(emulator.run())
    running = Running(emulator, task, recorder, log_path)
    try:
        await recorder.wait_for("activation_start", number=1)
        yield running
    finally:
        emulator.stop()
        try:
            await asyncio.wait_for(task, WAIT)
        finally:
            for client in running.clients:
                await client.close()
            recorder.close()


def seeded_bytes(size: int, seed: int) -> bytes:
    return random.Random(seed).randbytes(size)


@pytest.fixture
def card_dir(tmp_path: Path) -> Path:
    root = tmp_path / "card"
    day = root / "2024-05-01"
    day.mkdir(parents=True)
    (day / "DSC00001.JPG").write_bytes(seeded_bytes(MIB + MIB // 2 + 7, 1))  # two Data packets
    (day / "DSC00002.ARW").write_bytes(seeded_bytes(2000, 2))
    (day / "C0001.MP4").write_bytes(seeded_bytes(3000, 3))
    return root


@pytest.fixture
def log_path(tmp_path: Path) -> Path:
    return tmp_path / "emulator.jsonl"


def make_config(card_dir: Path, **kwargs: Any) -> EmulatorConfig:
    body = kwargs.pop("body", BodyConfig(model="ILCE-5000", mac=MAC))
    kwargs.setdefault("inactivity_timeout", 30.0)
    return EmulatorConfig(card_dir=card_dir, body=body, **kwargs)


def paired_body(**kwargs: Any) -> BodyConfig:
    return BodyConfig(model="ILCE-5000", mac=MAC, allowed_guids=frozenset({PAIRED_GUID}), **kwargs)


async def find(command: CommandClient, name: str) -> tuple[int, ObjectInfo]:
    """Walk the card as gphoto2 does (root, then each folder) and return ``name``'s handle."""
    for parent in decode_u32_array(
        await command.call_ok(Op.GET_OBJECT_HANDLES, [STORAGE, 0, ROOT])
    ):
        for handle in decode_u32_array(
            await command.call_ok(Op.GET_OBJECT_HANDLES, [STORAGE, 0, parent])
        ):
            info = ObjectInfo.decode(await command.call_ok(Op.GET_OBJECT_INFO, [handle]))
            if info.filename == name:
                return handle, info
    raise AssertionError(f"{name} not on the card")


# --- init and the event channel ------------------------------------------------------------------


def test_paired_guid_gets_the_camera_identity(card_dir: Path, log_path: Path) -> None:
    async def run() -> None:
        config = make_config(card_dir, body=paired_body())
        async with emulator_running(config, log_path) as emu:
            command = await emu.command()
            ack = await command.init(PAIRED_GUID, "linux")
            assert isinstance(ack, InitCommandAck)
            assert ack.connection_number == 1
            assert ack.guid == bytes(8) + b"\xff\xff" + MAC
            assert ack.friendly_name == "ILCE-5000"
            # Byte for byte the Init Command Ack of a real ILCE-5000 (docs/protocol.md §5).
            assert bytes(command.raw) == bytes.fromhex(
                "34000000 02000000 01000000"
                "00000000 00000000 ffff d8c4 6a97 69b4"
                "4900 4c00 4300 4500 2d00 3500 3000 3000 3000 0000"
                "0000 0100"
            )
            line = await emu.log.wait_for("init")
            assert line["guid"] == "ff:ff:52:54:00:b6:fd:a9:ff:ff:52:3c:28:07:a9:3a"
            assert line["name"] == "linux"

    scenario(run())


def test_unlisted_guid_gets_init_fail_reason_1_and_is_disconnected(
    card_dir: Path, log_path: Path
) -> None:
    async def run() -> None:
        config = make_config(card_dir, body=paired_body())
        async with emulator_running(config, log_path) as emu:
            stranger = await emu.command()
            fail = await stranger.init(STRANGER_GUID, "WIN7-VM")
            assert fail == InitFail(1)
            assert bytes(stranger.raw) == bytes.fromhex("0c000000 05000000 01000000")
            await stranger.expect_eof()
            line = await emu.log.wait_for("init_fail")
            assert (line["reason"], line["name"]) == (1, "WIN7-VM")
            # A refused stranger does not use up the activation: the paired host still gets in.
            session = await emu.session()
            await session.command.call_ok(Op.GET_DEVICE_INFO)

    scenario(run())


def test_without_allow_list_any_guid_is_accepted(card_dir: Path, log_path: Path) -> None:
    async def run() -> None:
        async with emulator_running(make_config(card_dir), log_path) as emu:
            session = await emu.session(guid=STRANGER_GUID)
            assert session.ack.friendly_name == "ILCE-5000"
            await session.command.call_ok(Op.GET_STORAGE_IDS)

    scenario(run())


def test_event_channel_handshake_and_probe(card_dir: Path, log_path: Path) -> None:
    async def run() -> None:
        async with emulator_running(make_config(card_dir), log_path) as emu:
            command = await emu.command()
            ack = await command.init()
            assert isinstance(ack, InitCommandAck)
            event = await emu.event()
            assert await event.init(ack.connection_number) == InitEventAck()
            assert bytes(event.raw) == bytes.fromhex("08000000 04000000")
            assert await event.probe() == ProbeResponse()
            assert bytes(event.raw[8:]) == bytes.fromhex("08000000 0e000000")
            line = await emu.log.wait_for("event_channel")
            assert line["connection_number"] == ack.connection_number
            # A probe on the command connection is answered too.
            await command.send_raw(command.conn.send_probe_request())
            assert await command.next_event() == ProbeResponse()

    scenario(run())


def test_event_channel_with_a_wrong_connection_number_is_refused(
    card_dir: Path, log_path: Path
) -> None:
    async def run() -> None:
        async with emulator_running(make_config(card_dir), log_path) as emu:
            command = await emu.command()
            ack = await command.init()
            assert isinstance(ack, InitCommandAck)
            event = await emu.event()
            assert await event.init(ack.connection_number + 6) == InitFail(1)
            await event.expect_eof()
            line = await emu.log.wait_for("init_fail", channel="event")
            assert line["connection_number"] == ack.connection_number + 6

    scenario(run())


def test_a_connection_must_start_with_an_init_request(card_dir: Path, log_path: Path) -> None:
    async def run() -> None:
        async with emulator_running(make_config(card_dir), log_path) as emu:
            command = await emu.command()
            # An Operation Request (OpenSession) where the Init Command Request belongs.
            await command.send_raw(
                bytes.fromhex("16000000 06000000 01000000 0210 00000000 01000000")
            )
            assert await command.read_raw_until_eof() == b""
            line = await emu.log.wait_for("protocol_error")
            assert "packet type 6" in line["error"]

    scenario(run())


def test_one_session_per_activation(card_dir: Path, log_path: Path) -> None:
    async def run() -> None:
        async with emulator_running(make_config(card_dir, body=paired_body()), log_path) as emu:
            first = await emu.session()
            second = await emu.command()
            await second.send_raw(second.conn.send_init_request(PAIRED_GUID, "again"))
            line = await emu.log.wait_for("init_ignored")
            assert line["name"] == "again"
            # The camera accepted the TCP connection and stays silent: no Ack, no Fail, no EOF.
            await second.expect_silence(SILENCE)
            assert len(emu.log.named("init")) == 1
            # The session that owns the activation carries on.
            await first.command.call_ok(Op.GET_STORAGE_IDS)

    scenario(run())


# --- session rules -------------------------------------------------------------------------------


def test_session_rules_over_the_wire(card_dir: Path, log_path: Path) -> None:
    async def run() -> None:
        async with emulator_running(make_config(card_dir), log_path) as emu:
            command = await emu.command()
            assert isinstance(await command.init(), InitCommandAck)
            early = await command.call(Op.GET_STORAGE_IDS)
            assert early.response.code == ResponseCode.SESSION_NOT_OPEN
            info = DeviceInfo.decode(await command.call_ok(Op.GET_DEVICE_INFO))
            assert info.model == "ILCE-5000"
            await command.call_ok(Op.OPEN_SESSION, [1])
            again = await command.call(Op.OPEN_SESSION, [1])
            assert again.response.code == ResponseCode.SESSION_ALREADY_OPEN
            await emu.log.wait_for("session_start", session_id=1, initiator="pytest")

    scenario(run())


def test_strict_tids_refuse_a_skipped_transaction_id(card_dir: Path, log_path: Path) -> None:
    async def run() -> None:
        async with emulator_running(make_config(card_dir), log_path) as emu:
            session = await emu.session()
            await session.command.call_ok(Op.GET_DEVICE_INFO)  # TID 1
            skipped = await session.command.call(Op.GET_STORAGE_IDS, transaction_id=3)
            assert skipped.response.code == ResponseCode.INVALID_TRANSACTION_ID
            assert skipped.response.transaction_id == 3
            await emu.log.wait_for("tid_mismatch", tid=3)

    scenario(run())


def test_lenient_tids_answer_and_record_the_mismatch(card_dir: Path, log_path: Path) -> None:
    async def run() -> None:
        config = make_config(card_dir, strict_tids=False)
        async with emulator_running(config, log_path) as emu:
            session = await emu.session()
            skipped = await session.command.call(Op.GET_STORAGE_IDS, transaction_id=710)
            assert skipped.response.code == ResponseCode.OK
            assert decode_u32_array(skipped.data) == (STORAGE,)
            line = await emu.log.wait_for("tid_mismatch", tid=710)
            assert line["problems"] == ["request TID 710, expected 1"]

    scenario(run())


def test_device_info_and_removed_operations(card_dir: Path, log_path: Path) -> None:
    async def run() -> None:
        body = BodyConfig(model="DSC-RX100M6", without_operations=frozenset({0x9805}))
        async with emulator_running(make_config(card_dir, body=body), log_path) as emu:
            session = await emu.session()
            info = DeviceInfo.decode(await session.command.call_ok(Op.GET_DEVICE_INFO))
            assert info.vendor_extension_id == 0xFFFFFFFF
            assert info.manufacturer == "Sony Corporation"
            assert info.model == "DSC-RX100M6"
            assert {0x9280, 0x9281} <= set(info.operations_supported)
            assert 0x9805 not in info.operations_supported
            removed = await session.command.call(Op.MTP_GET_OBJ_PROP_LIST, [ALL, 0, ALL, 0, 0])
            assert removed.response.code == ResponseCode.OPERATION_NOT_SUPPORTED
            assert removed.data == b""

    scenario(run())


# --- listing and downloading ---------------------------------------------------------------------


def test_gphoto2_style_listing_and_download(card_dir: Path, log_path: Path) -> None:
    """The sequence gphoto2 -P runs (docs/protocol.md §15), checked against the files."""

    async def run() -> None:
        async with emulator_running(make_config(card_dir), log_path) as emu:
            session = await emu.session()
            command = session.command
            await command.call_ok(Op.GET_DEVICE_INFO)
            await command.call_ok(Op.SONY_SET_REQUEST, [4], SENDING)
            assert len(await command.call_ok(Op.SONY_GET_REQUEST, [4])) == 8192
            assert decode_u32_array(await command.call_ok(Op.GET_STORAGE_IDS)) == (STORAGE,)
            storage = StorageInfo.decode(await command.call_ok(Op.GET_STORAGE_INFO, [STORAGE]))
            assert storage.description == "Storage Media"
            (folder,) = decode_u32_array(
                await command.call_ok(Op.GET_OBJECT_HANDLES, [STORAGE, 0, ROOT])
            )
            folder_info = ObjectInfo.decode(await command.call_ok(Op.GET_OBJECT_INFO, [folder]))
            assert (folder_info.filename, folder_info.object_format) == ("2024-05-01", 0x3001)
            assert folder_info.association_type == 1
            children = decode_u32_array(
                await command.call_ok(Op.GET_OBJECT_HANDLES, [STORAGE, 0, folder])
            )
            count = await command.call(Op.GET_NUM_OBJECTS, [STORAGE, 0, folder])
            assert count.response.params == (len(children),) == (3,)
            everything = decode_u32_array(
                await command.call_ok(Op.GET_OBJECT_HANDLES, [STORAGE, 0, 0])
            )
            assert everything == (folder, *children)
            short = await command.call(Op.GET_OBJECT_HANDLES, [STORAGE, 0])
            assert short.response.code == ResponseCode.PARAMETER_NOT_SUPPORTED

            downloaded: dict[str, bytes] = {}
            for handle in children:
                info = ObjectInfo.decode(await command.call_ok(Op.GET_OBJECT_INFO, [handle]))
                assert info.parent_object == folder
                if info.compressed_size <= MIB:
                    downloaded[info.filename] = await command.call_ok(Op.GET_OBJECT, [handle])
                    continue
                blocks = bytearray()
                for _ in range(info.compressed_size // MIB + 1):  # gphoto2's 1 MiB loop
                    rest = info.compressed_size - len(blocks)
                    if not rest:
                        break
                    block = await command.call(
                        Op.GET_PARTIAL_OBJECT, [handle, len(blocks), min(MIB, rest)]
                    )
                    assert block.response.params == (len(block.data),)
                    blocks += block.data
                downloaded[info.filename] = bytes(blocks)
            await command.call_ok(Op.CLOSE_SESSION)

            day = card_dir / "2024-05-01"
            assert downloaded == {p.name: p.read_bytes() for p in day.iterdir()}
            await emu.log.wait_for("session_end", session_id=1)

    scenario(run())


def test_data_in_has_the_sony_shape(card_dir: Path, log_path: Path) -> None:
    """Start Data, Data packet(s) of at most 1 MiB, an empty End Data, the Response."""

    async def run() -> None:
        async with emulator_running(make_config(card_dir), log_path) as emu:
            session = await emu.session()
            command = session.command
            handle, info = await find(command, "DSC00001.JPG")
            content = (card_dir / "2024-05-01" / "DSC00001.JPG").read_bytes()
            before = len(command.raw)
            done = await command.call(Op.GET_OBJECT, [handle])
            assert done.data == content
            packets, tail = split_packets(bytes(command.raw[before:]))
            assert tail == b""
            tid = struct.pack("<I", done.request.transaction_id)
            assert [p.type for p in packets] == [
                PacketType.START_DATA,
                PacketType.DATA,
                PacketType.DATA,
                PacketType.END_DATA,
                PacketType.OPERATION_RESPONSE,
            ]
            assert packets[0].payload == tid + struct.pack("<Q", len(content))
            assert packets[1].payload == tid + content[:MIB]
            assert packets[2].payload == tid + content[MIB:]
            assert packets[3].payload == tid
            assert info.compressed_size == len(content)

    scenario(run())


def test_partial_object_ranges_over_the_wire(card_dir: Path, log_path: Path) -> None:
    async def run() -> None:
        async with emulator_running(make_config(card_dir), log_path) as emu:
            session = await emu.session()
            command = session.command
            handle, _ = await find(command, "C0001.MP4")
            content = (card_dir / "2024-05-01" / "C0001.MP4").read_bytes()
            for offset, length in [(0, 100), (100, 1000), (2900, 500), (2999, 1)]:
                done = await command.call(Op.GET_PARTIAL_OBJECT, [handle, offset, length])
                assert done.data == content[offset : offset + length]
                assert done.response.params == (len(done.data),)
            before = len(command.raw)
            past = await command.call(Op.GET_PARTIAL_OBJECT, [handle, 5000, 100])
            assert (past.response.code, past.response.params, past.data) == (
                ResponseCode.OK,
                (0,),
                b"",
            )
            packets, _ = split_packets(bytes(command.raw[before:]))
            assert [p.type for p in packets] == [9, 12, 7]  # a zero-length data phase

    scenario(run())


def test_a_4_gib_file_over_the_wire(tmp_path: Path, log_path: Path) -> None:
    size = (4 << 30) + 1
    card_dir = tmp_path / "big"
    card_dir.mkdir()
    clip = card_dir / "C0002.MP4"
    clip.touch()
    os.truncate(clip, size)  # sparse: the test never reads 4 GiB

    async def run() -> None:
        async with emulator_running(make_config(card_dir), log_path) as emu:
            session = await emu.session()
            command = session.command
            (handle,) = decode_u32_array(
                await command.call_ok(Op.GET_OBJECT_HANDLES, [STORAGE, 0, ROOT])
            )
            info = ObjectInfo.decode(await command.call_ok(Op.GET_OBJECT_INFO, [handle]))
            assert info.compressed_size == 0xFFFFFFFF
            props = ObjectPropList.decode(
                await command.call_ok(Op.MTP_GET_OBJ_PROP_LIST, [handle, 0, ALL, 0, 0])
            )
            (element,) = [e for e in props.elements if e.prop_code == ObjectPropCode.OBJECT_SIZE]
            assert (element.data_type, element.value) == (DataType.UINT64, size)
            tail = await command.call(Op.GET_PARTIAL_OBJECT, [handle, 0xFFFFFFF0, 32])
            assert tail.response.params == (size - 0xFFFFFFF0,)
            assert tail.data == bytes(size - 0xFFFFFFF0)

    scenario(run())


def test_obj_prop_list_of_everything_over_the_wire(card_dir: Path, log_path: Path) -> None:
    async def run() -> None:
        async with emulator_running(make_config(card_dir), log_path) as emu:
            session = await emu.session()
            command = session.command
            props = ObjectPropList.decode(
                await command.call_ok(Op.MTP_GET_OBJ_PROP_LIST, [ALL, 0, ALL, 0, 0])
            ).by_handle()
            everything = decode_u32_array(
                await command.call_ok(Op.GET_OBJECT_HANDLES, [STORAGE, 0, 0])
            )
            assert tuple(props) == everything
            for handle in everything:
                info = ObjectInfo.decode(await command.call_ok(Op.GET_OBJECT_INFO, [handle]))
                p = props[handle]
                assert p[0xDC07] == info.filename
                assert p[0xDC0B] == info.parent_object
                assert p[0xDC02] == info.object_format
                assert p[0xDC04] == info.compressed_size
                assert p[0xDC08] == info.capture_date
            names = {p[0xDC07] for p in props.values()}
            assert names == {"2024-05-01", "DSC00001.JPG", "DSC00002.ARW", "C0001.MP4"}

    scenario(run())


# --- Sony vendor operations ----------------------------------------------------------------------


def test_gphoto2_start_pair_bytes(card_dir: Path, log_path: Path) -> None:
    """gphoto2's literal start-pair packets (docs/protocol.md §10) and the camera's answers."""

    async def run() -> None:
        async with emulator_running(make_config(card_dir), log_path) as emu:
            session = await emu.session()
            command = session.command
            await command.call_ok(Op.GET_DEVICE_INFO)  # TID 1
            await command.send_raw(
                bytes.fromhex(
                    "16000000 06000000 02000000 8092 02000000 04000000"
                    "14000000 09000000 02000000 12000000 00000000"
                    "1e000000 0c000000 02000000 02000000 02000000 00000000 00000000 0101"
                )
            )
            assert await command.read_raw(14) == bytes.fromhex("0e000000 07000000 0120 02000000")
            await emu.log.wait_for("screen", state="sending")

            await command.send_raw(
                bytes.fromhex("16000000 06000000 01000000 8192 03000000 04000000")
            )
            # 8250 bytes, as in libgphoto2 #16: StartData 20 + Data 8204 + EndData 12 + Resp 14.
            reply = await command.read_raw(8250)
            packets, tail = split_packets(reply)
            assert tail == b""
            tid = struct.pack("<I", 3)
            assert [(p.type, len(p.payload) + 8) for p in packets] == [
                (PacketType.START_DATA, 20),
                (PacketType.DATA, 8204),
                (PacketType.END_DATA, 12),
                (PacketType.OPERATION_RESPONSE, 14),
            ]
            assert packets[0].payload == tid + struct.pack("<Q", 8192)
            assert packets[1].payload == tid + bytes(8192)
            assert reply[-14:] == response_bytes(ResponseCode.OK, 3)
            # The codec's TID counter did not see the raw transactions; carry on at TID 4.
            after = await command.call(Op.GET_STORAGE_IDS, transaction_id=4)
            assert after.response.code == ResponseCode.OK

    scenario(run())


def test_unpaired_9280_makes_later_9280_busy(card_dir: Path, log_path: Path) -> None:
    async def run() -> None:
        async with emulator_running(make_config(card_dir), log_path) as emu:
            session = await emu.session()
            command = session.command
            await command.call_ok(Op.SONY_SET_REQUEST, [4], SENDING)
            await command.call_ok(Op.GET_STORAGE_IDS)  # other operations may come between
            for _ in range(2):  # but a 0x9280 before the pair's 0x9281 is refused, for good
                busy = await command.call(Op.SONY_SET_REQUEST, [4], POWER_OFF)
                assert busy.response.code == 0x2019  # DeviceBusy
            selector5 = await command.call(Op.SONY_SET_REQUEST, [5])
            assert selector5.response.code == ResponseCode.DEVICE_BUSY
            await emu.log.wait_for("sony_unpaired", opcode=Op.SONY_SET_REQUEST)

    scenario(run())


def test_9280_selector_5_is_parameter_not_supported(card_dir: Path, log_path: Path) -> None:
    async def run() -> None:
        async with emulator_running(make_config(card_dir), log_path) as emu:
            session = await emu.session()
            refused = await session.command.call(Op.SONY_SET_REQUEST, [5])
            assert refused.response.code == ResponseCode.PARAMETER_NOT_SUPPORTED

    scenario(run())


def test_power_off_sequence_ends_the_activation(card_dir: Path, log_path: Path) -> None:
    async def run() -> None:
        async with emulator_running(make_config(card_dir, activations=1), log_path) as emu:
            session = await emu.session()
            command = session.command
            await command.call_ok(Op.SONY_SET_REQUEST, [4], SENDING)
            await command.call_ok(Op.SONY_GET_REQUEST, [4])
            await command.call_ok(Op.SONY_SET_REQUEST, [4], POWER_OFF)
            blob = await command.call_ok(Op.SONY_GET_REQUEST, [4])
            assert blob == bytes(8192)
            await emu.log.wait_for("power_off")
            await emu.log.wait_for("screen", state="powered_off")
            await command.call_ok(Op.CLOSE_SESSION)
            await command.expect_eof()
            await session.event.expect_eof()
            await emu.finished()  # run() returned by itself: the one activation is over
            end = await emu.log.wait_for("activation_end", number=1)
            assert (end["reason"], end["screen"]) == ("power_off", "powered_off")
            await emu.log.wait_for("exit")

    scenario(run())


def test_after_power_off_only_close_session_is_accepted(card_dir: Path, log_path: Path) -> None:
    async def run() -> None:
        async with emulator_running(make_config(card_dir), log_path) as emu:
            session = await emu.session()
            command = session.command
            await command.call_ok(Op.SONY_SET_REQUEST, [4], POWER_OFF)
            await command.call_ok(Op.SONY_GET_REQUEST, [4])
            await command.request(Op.GET_STORAGE_IDS)
            await command.expect_eof()  # no response: the camera is off
            await emu.log.wait_for("ignored_after_power_off", opcode=Op.GET_STORAGE_IDS)

    scenario(run())


# --- activations and the inactivity timeout -----------------------------------------------------


def test_inactivity_timeout_ends_the_activation(card_dir: Path, log_path: Path) -> None:
    async def run() -> None:
        config = make_config(card_dir, inactivity_timeout=SHORT_TIMEOUT, activations=1)
        async with emulator_running(config, log_path) as emu:
            session = await emu.session()
            await session.command.call_ok(Op.GET_DEVICE_INFO)
            # Waiting out the timeout is the behaviour under test; EOF is the signal.
            started = time.monotonic()
            await session.command.expect_eof()
            assert time.monotonic() - started >= SHORT_TIMEOUT * 0.9
            await session.event.expect_eof()
            await emu.finished()
            assert (await emu.log.wait_for("timeout"))["seconds"] == SHORT_TIMEOUT
            await emu.log.wait_for("screen", state="timed_out")
            end = await emu.log.wait_for("activation_end", number=1)
            assert (end["reason"], end["screen"]) == ("timeout", "timed_out")

    scenario(run())


def test_a_new_activation_accepts_a_new_session(card_dir: Path, log_path: Path) -> None:
    async def run() -> None:
        config = make_config(
            card_dir, body=paired_body(), inactivity_timeout=SHORT_TIMEOUT, activations=2
        )
        async with emulator_running(config, log_path) as emu:
            first = await emu.session()
            await first.command.expect_eof()  # activation 1 times out
            await emu.log.wait_for("activation_start", number=2)
            second = await emu.session()  # "Send to Computer" picked again: a fresh camera
            await second.command.call_ok(Op.GET_DEVICE_INFO)
            assert second.ack.connection_number == 1
            await second.command.expect_eof()  # activation 2 times out too
            await emu.finished()
            ends = emu.log.named("activation_end")
            assert [(e["number"], e["reason"]) for e in ends] == [(1, "timeout"), (2, "timeout")]
            assert len(emu.log.named("session_start")) == 2

    scenario(run())


# --- faults --------------------------------------------------------------------------------------


def test_drop_after_bytes_cuts_a_data_phase_after_exactly_n_object_bytes(
    card_dir: Path, log_path: Path
) -> None:
    async def run() -> None:
        faults = parse_faults(["drop-after-bytes=3500"])
        async with emulator_running(make_config(card_dir, faults=faults), log_path) as emu:
            session = await emu.session()
            command = session.command
            mp4, _ = await find(command, "C0001.MP4")
            arw, _ = await find(command, "DSC00002.ARW")
            day = card_dir / "2024-05-01"
            # 3000 object bytes go through whole; the count goes on across transfers.
            assert await command.call_ok(Op.GET_OBJECT, [mp4]) == (day / "C0001.MP4").read_bytes()
            await command.request(Op.GET_OBJECT, [arw])
            raw = await command.read_raw_until_eof()
            packets, tail = split_packets(raw)
            assert [p.type for p in packets] == [PacketType.START_DATA]
            announced, payload = truncated_data(tail)
            assert announced == 2000
            assert payload == (day / "DSC00002.ARW").read_bytes()[:500]
            line = await emu.log.wait_for("fault", kind="drop_after_bytes")
            assert line["sent"] == 3500

    scenario(run())


def test_drop_after_bytes_is_seen_by_the_codec_as_eof_mid_packet(
    card_dir: Path, log_path: Path
) -> None:
    async def run() -> None:
        faults = parse_faults(["drop-after-bytes=100"])
        async with emulator_running(make_config(card_dir, faults=faults), log_path) as emu:
            session = await emu.session()
            handle, _ = await find(session.command, "DSC00002.ARW")
            await session.command.request(Op.GET_OBJECT, [handle])
            with pytest.raises(PeerClosed) as closed:
                await session.command.response()
            assert closed.value.mid_packet

    scenario(run())


def test_drop_at_closes_on_the_kth_request(card_dir: Path, log_path: Path) -> None:
    async def run() -> None:
        faults = parse_faults(["drop-at=0x1004:2"])
        async with emulator_running(make_config(card_dir, faults=faults), log_path) as emu:
            session = await emu.session()
            await session.command.call_ok(Op.GET_STORAGE_IDS)
            await session.command.request(Op.GET_STORAGE_IDS)
            await session.command.expect_eof()
            line = await emu.log.wait_for("fault", kind="drop_at")
            assert (line["opcode"], line["occurrence"]) == (0x1004, 2)

    scenario(run())


def test_busy_first(card_dir: Path, log_path: Path) -> None:
    async def run() -> None:
        faults = parse_faults(["busy-first=2"])
        async with emulator_running(make_config(card_dir, faults=faults), log_path) as emu:
            session = await emu.session()  # OpenSession is never busy
            for _ in range(2):
                busy = await session.command.call(Op.GET_DEVICE_INFO)
                assert (busy.response.code, busy.data) == (ResponseCode.DEVICE_BUSY, b"")
            await session.command.call_ok(Op.GET_DEVICE_INFO)

    scenario(run())


def test_refuse_init(card_dir: Path, log_path: Path) -> None:
    async def run() -> None:
        faults = parse_faults(["refuse-init=2"])
        config = make_config(card_dir, body=paired_body(), faults=faults)
        async with emulator_running(config, log_path) as emu:
            command = await emu.command()
            assert await command.init(PAIRED_GUID) == InitFail(2)  # even the paired host
            assert bytes(command.raw) == bytes.fromhex("0c000000 05000000 02000000")
            await command.expect_eof()
            await emu.log.wait_for("fault", kind="refuse_init", reason=2)
            await emu.log.wait_for("init_fail", reason=2)

    scenario(run())


def test_latency_still_answers(card_dir: Path, log_path: Path) -> None:
    async def run() -> None:
        faults = parse_faults(["latency=0.01", "latency=0x1001:0.05"])
        async with emulator_running(make_config(card_dir, faults=faults), log_path) as emu:
            session = await emu.session()
            started = time.monotonic()
            info = DeviceInfo.decode(await session.command.call_ok(Op.GET_DEVICE_INFO))
            assert time.monotonic() - started >= 0.045  # 0.05 s, minus clock granularity
            assert info.model == "ILCE-5000"
            await session.command.call_ok(Op.GET_STORAGE_IDS)

    scenario(run())


# --- the recorder --------------------------------------------------------------------------------


def test_recorder_lines(card_dir: Path, log_path: Path) -> None:
    async def run() -> None:
        async with emulator_running(make_config(card_dir), log_path) as emu:
            session = await emu.session(name="linux")
            assert await session.event.probe() == ProbeResponse()
            command = session.command
            await command.call_ok(Op.GET_DEVICE_INFO)
            await command.call_ok(Op.SONY_SET_REQUEST, [4], SENDING)
            await command.call_ok(Op.SONY_GET_REQUEST, [4])
            await command.call_ok(Op.CLOSE_SESSION)

    scenario(run())
    lines = read_log(log_path)
    assert all({"t", "event"} <= set(line) for line in lines)
    times = [line["t"] for line in lines]
    assert times == sorted(times)
    events = [line["event"] for line in lines]
    assert events[0] == "listening"
    # Connection handlers may log their "disconnect" after run() logged "exit".
    assert events.index("activation_end") < events.index("exit")

    def packets(channel: str) -> list[tuple[Any, ...]]:
        out = []
        for line in lines:
            if line["event"] == "packet" and line["channel"] == channel:
                out.append(
                    (line["type"], line.get("opcode"), line.get("length", line.get("total")))
                )
        return out

    # Every packet the client sent, in order, on each channel.
    assert packets("command") == [
        ("InitCommandRequest", None, None),
        ("OperationRequest", 0x1002, None),
        ("OperationRequest", 0x1001, None),
        ("OperationRequest", 0x9280, None),
        ("StartData", None, 18),
        ("EndData", None, 18),
        ("OperationRequest", 0x9281, None),
        ("OperationRequest", 0x1003, None),
    ]
    assert packets("event") == [("InitEventRequest", None, None), ("ProbeRequest", None, None)]
    init = next(line for line in lines if line.get("type") == "InitCommandRequest")
    assert (init["guid"], init["name"]) == (
        "ff:ff:52:54:00:b6:fd:a9:ff:ff:52:3c:28:07:a9:3a",
        "linux",
    )

    operations = [line for line in lines if line["event"] == "operation"]
    assert [(o["opcode"], o["tid"], o["response"]) for o in operations] == [
        (0x1002, 0, 0x2001),
        (0x1001, 1, 0x2001),
        (0x9280, 2, 0x2001),
        (0x9281, 3, 0x2001),
        (0x1003, 4, 0x2001),
    ]
    assert operations[2]["data"] == "020000000200000000000000000000000101"
    assert operations[2]["params"] == [4]
    assert [o["data"] for o in operations if o["opcode"] != 0x9280] == [None] * 4
    assert operations[0]["name"] == "OPEN_SESSION (0x1002)"
    assert operations[0]["response_name"] == "OK (0x2001)"

    assert events.index("session_start") < events.index("screen") < events.index("session_end")
    start = next(x for x in lines if x["event"] == "session_start")
    assert (start["session_id"], start["initiator"]) == (1, "linux")
    assert next(x for x in lines if x["event"] == "screen")["state"] == "sending"
    assert next(x for x in lines if x["event"] == "session_end")["session_id"] == 1
    assert events.count("activation_start") == events.count("activation_end") == 1
