"""Hostile-camera data faults: oversize, undersize, endless, lying data phases, stale replies.

Each fault is checked on the wire with the raw bytes a client receives (the project's codec
would refuse most of them, which is the point), over loopback with an ephemeral port. Waits are
bounded: each read by ``WAIT`` and the whole scenario by ``SCENARIO_LIMIT``; the endless data
phase ends because the emulator's inactivity timeout (short here) ends the activation.
"""

from __future__ import annotations

import asyncio
import contextlib
import struct
from pathlib import Path
from typing import Any

import pytest

from emulator_harness import Running, loopback_emulator, scenario
from ptpip_client import WAIT, CommandClient, RawPacket, connect_session, response_bytes
from sony_pm_alt.emulator import BodyConfig, EmulatorConfig, read_log
from sony_pm_alt.emulator.faults import FILLER, MAX_OVERSIZE, FaultSpecError, parse_faults
from sony_pm_alt.emulator.server import ENDLESS_LENGTH
from sony_pm_alt.ptpip.codes import OperationCode as Op
from sony_pm_alt.ptpip.codes import PacketType, ResponseCode
from sony_pm_alt.ptpip.datasets import ObjectInfo, decode_u32_array
from sony_pm_alt.ptpip.packets import HEADER, HEADER_SIZE

pytestmark = pytest.mark.integration

STORAGE = 0x00010001
SIZE = 5000
ASKED = 1000


@pytest.fixture
def card_dir(tmp_path: Path) -> Path:
    root = tmp_path / "card" / "100MSDCF"
    root.mkdir(parents=True)
    (root / "DSC00001.JPG").write_bytes(bytes(i * 7 % 251 for i in range(SIZE)))
    return root.parent


def original(card_dir: Path) -> bytes:
    return (card_dir / "100MSDCF" / "DSC00001.JPG").read_bytes()


def emulator(
    card_dir: Path, log_path: Path, specs: list[str], **kwargs: Any
) -> contextlib.AbstractAsyncContextManager[Running]:
    config = EmulatorConfig(
        card_dir=card_dir, body=BodyConfig(), faults=parse_faults(specs), **kwargs
    )
    return loopback_emulator(config, log_path)


async def file_handle(command: CommandClient) -> int:
    handles = decode_u32_array(await command.call_ok(Op.GET_OBJECT_HANDLES, [STORAGE, 0, 0]))
    for handle in handles:
        info = ObjectInfo.decode(await command.call_ok(Op.GET_OBJECT_INFO, [handle]))
        if info.filename == "DSC00001.JPG":
            return handle
    raise AssertionError("DSC00001.JPG is not on the card")


async def read_packets(command: CommandClient, count: int) -> list[RawPacket]:
    """Exactly ``count`` packets, framed by their own length fields (which may lie)."""
    packets = []
    for _ in range(count):
        length, ptype = HEADER.unpack(await command.read_raw(HEADER_SIZE))
        packets.append(RawPacket(ptype, await command.read_raw(length - HEADER_SIZE)))
    return packets


def faults_logged(log_path: Path, kind: str) -> list[dict[str, Any]]:
    return [
        line for line in read_log(log_path) if line["event"] == "fault" and line["kind"] == kind
    ]


# --- the spec -----------------------------------------------------------------------------------


def test_parse_the_hostile_data_faults() -> None:
    faults = parse_faults(
        [
            "oversize-data=16",
            "undersize-data=0x10",
            "endless-data=1",
            "lying-length=4096",
            "stale-reply=1",
        ]
    )
    assert (faults.oversize_data, faults.undersize_data, faults.lying_length) == (16, 16, 4096)
    assert faults.endless_data
    assert faults.stale_reply
    off = parse_faults([])
    assert (off.oversize_data, off.undersize_data, off.lying_length) == (0, 0, 0)
    assert not off.endless_data
    assert not off.stale_reply
    assert not parse_faults(["endless-data=1", "endless-data=0"]).endless_data


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("oversize-data=-1", "must not be negative"),
        ("oversize-data=lots", "is not a number"),
        (f"oversize-data={MAX_OVERSIZE + 1}", "at most"),
        ("undersize-data=x", "is not a number"),
        ("endless-data=yes", r"expected 1 \(on\) or 0 \(off\)"),
        ("stale-reply=2", r"expected 1 \(on\) or 0 \(off\)"),
        ("lying-length=0x100000000", "does not fit a 32-bit length field"),
    ],
)
def test_bad_hostile_data_specs_say_what_is_wrong(spec: str, message: str) -> None:
    with pytest.raises(FaultSpecError, match=message):
        parse_faults([spec])


def test_unknown_fault_lists_the_new_kinds() -> None:
    with pytest.raises(FaultSpecError, match="oversize-data, undersize-data, endless-data"):
        parse_faults(["oversized=1"])


# --- over loopback ------------------------------------------------------------------------------


@pytest.mark.parametrize("extra", [16, 4096])
def test_oversize_data_sends_more_than_asked_and_says_so(
    card_dir: Path, tmp_path: Path, extra: int
) -> None:
    log_path = tmp_path / "emulator.jsonl"

    async def run() -> None:
        async with emulator(card_dir, log_path, [f"oversize-data={extra}"]) as emu:
            session = await connect_session(emu.port)
            command = session.command
            handle = await file_handle(command)
            done = await command.call(Op.GET_PARTIAL_OBJECT, [handle, 100, ASKED])
            assert done.response.code == ResponseCode.OK
            assert done.response.params == (ASKED + extra,)
            assert done.data == original(card_dir)[100 : 100 + ASKED] + bytes([FILLER]) * extra
            whole = await command.call_ok(Op.GET_OBJECT, [handle])
            assert whole == original(card_dir) + bytes([FILLER]) * extra
            await session.close()

    scenario(run())
    lines = faults_logged(log_path, "oversize_data")
    assert [(line["path"], line["extra"]) for line in lines] == [("DSC00001.JPG", extra)] * 2


def test_undersize_data_sends_fewer_than_asked_and_says_so(card_dir: Path, tmp_path: Path) -> None:
    log_path = tmp_path / "emulator.jsonl"

    async def run() -> None:
        async with emulator(card_dir, log_path, ["undersize-data=300"]) as emu:
            session = await connect_session(emu.port)
            command = session.command
            handle = await file_handle(command)
            done = await command.call(Op.GET_PARTIAL_OBJECT, [handle, 0, ASKED])
            assert done.response.params == (ASKED - 300,)
            assert done.data == original(card_dir)[: ASKED - 300]
            # Never fewer than nothing: a 100-byte request gets an empty data phase.
            done = await command.call(Op.GET_PARTIAL_OBJECT, [handle, 0, 100])
            assert (done.response.params, done.data) == ((0,), b"")
            assert await command.call_ok(Op.GET_OBJECT, [handle]) == original(card_dir)[:-300]
            await session.close()

    scenario(run())
    assert [line["missing"] for line in faults_logged(log_path, "undersize_data")] == [
        300,
        100,
        300,
    ]


def test_endless_data_trickles_until_the_activation_ends(card_dir: Path, tmp_path: Path) -> None:
    log_path = tmp_path / "emulator.jsonl"

    async def run() -> bytes:
        # The inactivity timeout (not reset by the trickle) is what ends the data phase.
        async with emulator(card_dir, log_path, ["endless-data=1"], inactivity_timeout=1.0) as emu:
            session = await connect_session(emu.port)
            command = session.command
            handle = await file_handle(command)
            await command.request(Op.GET_PARTIAL_OBJECT, [handle, 0, ASKED])
            raw = await command.read_raw_until_eof()
            await session.close()
            return raw

    raw = scenario(run())
    start_length, start_type, _tid, total = struct.unpack_from("<IIIQ", raw)
    assert (start_length, start_type, total) == (20, PacketType.START_DATA, ENDLESS_LENGTH)
    payloads, offset = [], start_length
    for _ in range(len(raw) // (HEADER_SIZE + 4)):
        if offset + HEADER_SIZE + 4 > len(raw):
            break
        length, ptype = HEADER.unpack_from(raw, offset)
        assert ptype == PacketType.DATA  # never End Data, never a response
        assert length > HEADER_SIZE + 4
        payloads.append(raw[offset + HEADER_SIZE + 4 : offset + length])
        offset += length
    assert payloads[0] == original(card_dir)[:ASKED]
    filler = payloads[1:]
    assert len(filler) >= 2
    assert all(p == bytes([FILLER]) * len(p) and p for p in filler)
    (end,) = faults_logged(log_path, "endless_data_end")
    assert end["packets"] >= len(filler) - 1  # the last one may have been cut by the close
    events = [line["event"] for line in read_log(log_path)]
    assert "timeout" in events


def test_lying_length_says_more_than_the_data_packet_carries(
    card_dir: Path, tmp_path: Path
) -> None:
    log_path = tmp_path / "emulator.jsonl"

    async def run() -> None:
        async with emulator(card_dir, log_path, ["lying-length=64"]) as emu:
            session = await connect_session(emu.port)
            command = session.command
            handle = await file_handle(command)
            await command.request(Op.GET_PARTIAL_OBJECT, [handle, 0, ASKED])
            request = command.conn.current_request
            assert request is not None
            tid = request.transaction_id
            start = await read_packets(command, 1)
            assert start[0].type == PacketType.START_DATA
            assert struct.unpack("<IQ", start[0].payload) == (tid, ASKED)
            length, ptype = HEADER.unpack(await command.read_raw(HEADER_SIZE))
            assert (length, ptype) == (HEADER_SIZE + 4 + ASKED + 64, PacketType.DATA)
            # What really follows: the TID, the 1000 bytes, End Data, the response.
            rest = await command.read_raw(4 + ASKED + HEADER_SIZE + 4)
            assert rest[4 : 4 + ASKED] == original(card_dir)[:ASKED]
            assert HEADER.unpack_from(rest, 4 + ASKED) == (HEADER_SIZE + 4, PacketType.END_DATA)
            assert await command.read_raw(18) == response_bytes(ResponseCode.OK, tid, [ASKED])
            await session.close()

    scenario(run())
    (line,) = faults_logged(log_path, "lying_length")
    assert (line["carried"], line["extra"]) == (ASKED, 64)


def test_stale_reply_comes_before_the_real_response(card_dir: Path, tmp_path: Path) -> None:
    log_path = tmp_path / "emulator.jsonl"

    async def run() -> None:
        async with emulator(card_dir, log_path, ["stale-reply=1"]) as emu:
            # OpenSession (TID 0) is the first operation: no stale reply, the codec accepts it.
            session = await connect_session(emu.port)
            command = session.command
            await command.request(Op.GET_NUM_OBJECTS, [STORAGE, 0, 0])
            stale = response_bytes(ResponseCode.OK, 0)
            real = response_bytes(ResponseCode.OK, 1, [2])  # the folder and the file
            assert await command.read_raw(len(stale) + len(real)) == stale + real
            await session.close()

    scenario(run())
    assert [line["tid"] for line in faults_logged(log_path, "stale_reply")] == [0]


def test_endless_data_ends_with_the_activation_even_if_nobody_reads(
    card_dir: Path, tmp_path: Path
) -> None:
    """The trickle never outlives the emulator: with one activation, ``run()`` returns once
    the inactivity timeout ends it, although the client never reads a byte of the phase."""
    log_path = tmp_path / "emulator.jsonl"

    async def run() -> None:
        async with emulator(card_dir, log_path, ["endless-data=1"], inactivity_timeout=0.5) as emu:
            session = await connect_session(emu.port)
            handle = await file_handle(session.command)
            await session.command.request(Op.GET_OBJECT, [handle])
            await asyncio.wait_for(asyncio.shield(emu.task), WAIT)  # ends by itself
            await session.close()

    scenario(run())
    events = [line["event"] for line in read_log(log_path)]
    assert events.index("timeout") < events.index("activation_end")
    assert faults_logged(log_path, "endless_data")
