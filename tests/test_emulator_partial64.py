"""GetPartialObject64 (0x95C1), offered by the emulator only with ``--partial64``.

No real Sony body is known to offer it (docs/protocol.md §13.3): it exists so that the sync
engine's path for objects of 4 GiB or more can be tested. The card holds a sparse file a little
over 4 GiB with a few real bytes just below, across and above the 4 GiB line; every test reads
only those ranges, never the whole file.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from emulator_harness import data_of, handle_of, loopback_emulator, open_camera, scenario
from ptpip_client import connect_session, split_packets
from sony_pm_alt.cli import main
from sony_pm_alt.emulator import BodyConfig, Card, EmulatorConfig
from sony_pm_alt.emulator.body import SONY_OPERATIONS
from sony_pm_alt.emulator.camera import Reply
from sony_pm_alt.emulator.card import FileSlice
from sony_pm_alt.ptpip.codes import OperationCode as Op
from sony_pm_alt.ptpip.codes import PacketType, ResponseCode
from sony_pm_alt.ptpip.datasets import DeviceInfo, ObjectInfo, decode_u32_array

FOUR_GIB = 1 << 32
BIG_SIZE = FOUR_GIB + 8192
STORAGE = 0x00010001
ROOT = 0xFFFFFFFF
# The real bytes of the sparse file, by offset; everything else reads as zeros.
WRITTEN: dict[int, bytes] = {
    0: b"head of the clip",
    FOUR_GIB - 1000: b"just below 4 GiB",
    FOUR_GIB - 8: b"across the line!",  # 8 bytes below, 8 bytes above
    FOUR_GIB + 1000: b"just above 4 GiB",
    BIG_SIZE - 10: b"last bytes",
}
# (offset, max bytes): each written range, ranges that take zeros on either side of one, the
# end (fewer bytes than asked) and 32-bit-only offsets in a 64-bit request.
RANGES = [
    (0, 16),
    (FOUR_GIB - 1000, 16),
    (FOUR_GIB - 8, 16),
    (FOUR_GIB - 4, 8),
    (FOUR_GIB, 8),
    (FOUR_GIB + 1000, 16),
    (FOUR_GIB + 995, 26),
    (FOUR_GIB - 1005, 1030),
    (BIG_SIZE - 10, 10),
    (BIG_SIZE - 10, 1000),
    (BIG_SIZE - 1, 0xFFFFFFFF),
]
PAST_THE_END = [BIG_SIZE, BIG_SIZE + 1, FOUR_GIB << 1, (1 << 64) - 1]


def expected(offset: int, max_bytes: int) -> bytes:
    """What the sparse file holds at ``offset``, at most ``max_bytes`` of it."""
    out = bytearray(max(0, min(max_bytes, BIG_SIZE - offset)))
    for at, data in WRITTEN.items():
        for i, byte in enumerate(data):
            if 0 <= at + i - offset < len(out):
                out[at + i - offset] = byte
    return bytes(out)


def split(offset: int) -> tuple[int, int]:
    """The request's (offset low 32 bits, offset high 32 bits)."""
    return offset & 0xFFFFFFFF, offset >> 32


@pytest.fixture
def big_card(tmp_path: Path) -> Path:
    root = tmp_path / "card"
    root.mkdir()
    (root / "A.JPG").write_bytes(bytes(range(256)) * 20)
    clip = root / "C0001.MP4"
    clip.touch()
    os.truncate(clip, BIG_SIZE)  # sparse: only the bytes written below take disk space
    with clip.open("r+b") as f:
        for at, data in WRITTEN.items():
            f.seek(at)
            f.write(data)
    assert clip.stat().st_size == BIG_SIZE
    return root


# --- Camera (no sockets) ------------------------------------------------------------------------


def test_disabled_by_default_not_listed_and_not_supported(big_card: Path) -> None:
    assert BodyConfig().partial_object_64 is False
    assert int(Op.GET_PARTIAL_OBJECT_64) == 0x95C1
    assert 0x95C1 not in DeviceInfo.decode(BodyConfig().device_info().encode()).operations_supported
    card = Card.scan(big_card)
    drive = open_camera(card, body=BodyConfig())
    reply = drive(Op.GET_PARTIAL_OBJECT_64, handle_of(card, "C0001.MP4"), 0, 1, 16)
    assert reply == Reply(ResponseCode.OPERATION_NOT_SUPPORTED)


def test_enabled_it_is_listed_after_the_sony_operations() -> None:
    body = BodyConfig(partial_object_64=True)
    info = DeviceInfo.decode(body.device_info().encode())
    assert info.operations_supported == (*SONY_OPERATIONS, 0x95C1)
    assert body.supports(0x95C1)
    # --without-op still takes it away.
    assert not BodyConfig(partial_object_64=True, without_operations=frozenset({0x95C1})).supports(
        0x95C1
    )


@pytest.mark.parametrize(("offset", "max_bytes"), RANGES)
def test_reads_from_a_64_bit_offset(big_card: Path, offset: int, max_bytes: int) -> None:
    card = Card.scan(big_card)
    drive = open_camera(card, body=BodyConfig(partial_object_64=True))
    reply = drive(Op.GET_PARTIAL_OBJECT_64, handle_of(card, "C0001.MP4"), *split(offset), max_bytes)
    want = expected(offset, max_bytes)
    assert (reply.code, reply.params) == (ResponseCode.OK, (len(want),))  # Param1 = bytes sent
    # A slice for the server to stream from disk, not bytes read here.
    assert isinstance(reply.data, FileSlice)
    assert reply.data == FileSlice(big_card / "C0001.MP4", offset, len(want))
    assert data_of(reply) == want


@pytest.mark.parametrize("offset", PAST_THE_END)
def test_past_the_end_sends_nothing(big_card: Path, offset: int) -> None:
    card = Card.scan(big_card)
    drive = open_camera(card, body=BodyConfig(partial_object_64=True))
    reply = drive(Op.GET_PARTIAL_OBJECT_64, handle_of(card, "C0001.MP4"), *split(offset), 100)
    assert (reply.code, reply.params) == (ResponseCode.OK, (0,))
    # Nothing to stream, from a position the server can seek to.
    assert reply.data == FileSlice(big_card / "C0001.MP4", BIG_SIZE, 0)


@pytest.mark.parametrize(("offset", "max_bytes"), [(0, 10), (100, 4000), (5000, 200), (6000, 1)])
def test_below_4_gib_it_answers_as_get_partial_object(
    big_card: Path, offset: int, max_bytes: int
) -> None:
    card = Card.scan(big_card)
    drive = open_camera(card, body=BodyConfig(partial_object_64=True))
    jpg = handle_of(card, "A.JPG")
    wide = drive(Op.GET_PARTIAL_OBJECT_64, jpg, offset, 0, max_bytes)
    narrow = drive(Op.GET_PARTIAL_OBJECT, jpg, offset, max_bytes)
    assert wide == narrow


def test_errors(big_card: Path) -> None:
    card = Card.scan(big_card)
    drive = open_camera(card, body=BodyConfig(partial_object_64=True))
    clip = handle_of(card, "C0001.MP4")
    assert drive(Op.GET_PARTIAL_OBJECT_64, clip, 0, 1).code == ResponseCode.INVALID_PARAMETER
    assert drive(Op.GET_PARTIAL_OBJECT_64, 0x0BADBAD0, 0, 0, 10).code == (
        ResponseCode.INVALID_OBJECT_HANDLE
    )


def test_a_folder_has_no_bytes(tmp_path: Path) -> None:
    (tmp_path / "DCIM").mkdir()
    card = Card.scan(tmp_path)
    drive = open_camera(card, body=BodyConfig(partial_object_64=True))
    reply = drive(Op.GET_PARTIAL_OBJECT_64, handle_of(card, "DCIM"), 0, 0, 10)
    assert reply.code == ResponseCode.INVALID_PARAMETER


# --- over loopback ------------------------------------------------------------------------------


@pytest.mark.integration
def test_64_bit_reads_over_the_wire(big_card: Path) -> None:
    async def run() -> None:
        async with loopback_emulator(
            EmulatorConfig(card_dir=big_card, body=BodyConfig(partial_object_64=True))
        ) as running:
            session = await connect_session(running.port)
            try:
                command = session.command
                info = DeviceInfo.decode(await command.call_ok(Op.GET_DEVICE_INFO))
                assert info.operations_supported[-1] == 0x95C1
                handles = decode_u32_array(
                    await command.call_ok(Op.GET_OBJECT_HANDLES, [STORAGE, 0, ROOT])
                )
                names = {
                    ObjectInfo.decode(await command.call_ok(Op.GET_OBJECT_INFO, [h])).filename: h
                    for h in handles
                }
                clip = names["C0001.MP4"]
                for offset, max_bytes in RANGES:
                    done = await command.call(
                        Op.GET_PARTIAL_OBJECT_64, [clip, *split(offset), max_bytes]
                    )
                    want = expected(offset, max_bytes)
                    assert done.response.code == ResponseCode.OK
                    assert done.response.params == (len(want),)
                    assert done.data == want
                for offset in PAST_THE_END:
                    before = len(command.raw)
                    past = await command.call(Op.GET_PARTIAL_OBJECT_64, [clip, *split(offset), 9])
                    assert (past.response.code, past.response.params, past.data) == (
                        ResponseCode.OK,
                        (0,),
                        b"",
                    )
                    packets, _ = split_packets(bytes(command.raw[before:]))
                    assert [p.type for p in packets] == [
                        PacketType.START_DATA,
                        PacketType.END_DATA,
                        PacketType.OPERATION_RESPONSE,
                    ]
            finally:
                await session.close()

    scenario(run())


@pytest.mark.integration
def test_disabled_over_the_wire(big_card: Path) -> None:
    async def run() -> None:
        async with loopback_emulator(
            EmulatorConfig(card_dir=big_card, body=BodyConfig())
        ) as running:
            session = await connect_session(running.port)
            try:
                command = session.command
                info = DeviceInfo.decode(await command.call_ok(Op.GET_DEVICE_INFO))
                assert 0x95C1 not in info.operations_supported
                (first, *_) = decode_u32_array(
                    await command.call_ok(Op.GET_OBJECT_HANDLES, [STORAGE, 0, ROOT])
                )
                refused = await command.call(Op.GET_PARTIAL_OBJECT_64, [first, 0, 1, 16])
                assert refused.response.code == ResponseCode.OPERATION_NOT_SUPPORTED
                assert refused.data == b""
                await command.call_ok(Op.GET_STORAGE_IDS)  # the session goes on
            finally:
                await session.close()

    scenario(run())


# --- the emulate command ------------------------------------------------------------------------


def test_emulate_help_offers_partial64_and_says_it_is_not_sony() -> None:
    result = CliRunner().invoke(main, ["emulate", "--help"])
    assert result.exit_code == 0
    text = " ".join(result.output.split())  # as click wrapped it
    assert "--partial64" in text
    assert "GetPartialObject64 (0x95C1" in text
    assert "no real Sony body is known to offer it" in text
