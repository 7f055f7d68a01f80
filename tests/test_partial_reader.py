"""engine.download.partial_reader: GetPartialObject through the native layer, one transaction
per chunk, the last chunk asking one byte more than listed (a fake transport, no camera)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest

from fakes import Answer, Call, FakeTransport
from sony_pm_alt.engine import download as dl
from sony_pm_alt.engine.model import CameraObject
from sony_pm_alt.errors import DATA_OVERRUN, CameraSentTooMuch, CameraTransportError
from sony_pm_alt.native import TransactionResult
from sony_pm_alt.ptpip.codes import ObjectFormat, OperationCode, ResponseCode

INVALID_PARAMETER = 0x201D
PTP_ERROR_IO = 0x02FF


def card(data: bytes, *, past_end: int = ResponseCode.OK, overrun: bool = False) -> FakeTransport:
    """GetPartialObject over ``data``; ``past_end`` answers a request reaching past the end."""

    def handle(call: Call) -> Answer:
        assert call.opcode == OperationCode.GET_PARTIAL_OBJECT
        assert call.data_in
        _handle, offset, count = call.params
        if overrun:  # what patch 0007 reports for a reply longer than asked
            return DATA_OVERRUN
        if offset + count > len(data) and past_end != ResponseCode.OK:
            return past_end
        chunk = data[offset : offset + count]
        return TransactionResult(ResponseCode.OK, (len(chunk),), chunk)

    return FakeTransport(handle)


def asked(transport: FakeTransport) -> list[tuple[int, int]]:
    return [(call.params[1], call.params[2]) for call in transport.calls]


def obj(size: int) -> CameraObject:
    return CameraObject(
        "/store_00010001/DCIM/100MSDCF",
        "DSC00001.JPG",
        size,
        datetime(2024, 5, 1, 12),
        ObjectFormat.EXIF_JPEG,
        handle=0x42,
    )


def fetch(tmp_path: Path, transport: FakeTransport, listed: int, probes: list[int]) -> Path:
    final = tmp_path / "dest" / "DSC00001.JPG"
    o = obj(listed)

    def probe() -> bool:
        probes.append(1)
        return False

    reader, more = dl.partial_reader(transport, o, probe)
    return dl.fetch(o, final, dl.partial_path(final, "cam", o), reader, None, more).path


def test_one_transaction_per_chunk_and_no_separate_probe(tmp_path: Path) -> None:
    data = bytes(range(256)) * 5000  # 1.28 MB: two chunks
    transport, probes = card(data), list[int]()
    path = fetch(tmp_path, transport, len(data), probes)
    assert path.read_bytes() == data
    assert asked(transport) == [(0, dl.CHUNK), (dl.CHUNK, len(data) - dl.CHUNK + 1)]
    assert probes == []


def test_a_camera_with_more_data_than_listed_places_nothing(tmp_path: Path) -> None:
    data = b"x" * 40_000
    with pytest.raises(OSError, match=r"more data for DSC00001\.JPG than the 39999 bytes"):
        fetch(tmp_path, card(data), 39_999, [])
    assert not [p for p in (tmp_path / "dest").iterdir() if p.is_file()]


def test_a_camera_that_refuses_reads_past_the_end_is_asked_exactly_then_probed(
    tmp_path: Path,
) -> None:
    data = b"y" * 40_000
    transport, probes = card(data, past_end=INVALID_PARAMETER), list[int]()
    path = fetch(tmp_path, transport, len(data), probes)
    assert path.read_bytes() == data
    assert asked(transport) == [(0, 40_001), (0, 40_000)]
    assert probes == [1]


def test_a_reply_longer_than_asked_is_refused_as_before(tmp_path: Path) -> None:
    with pytest.raises(CameraSentTooMuch, match="more than the 40000 bytes asked for at offset 0"):
        fetch(tmp_path, card(b"z" * 40_000, overrun=True), 40_000, [])
    assert not list((tmp_path / "dest").rglob("*.JPG"))


def test_a_dropped_connection_is_a_transport_error_not_a_refusal(tmp_path: Path) -> None:
    transport = card(b"w" * 40_000, past_end=PTP_ERROR_IO)
    with pytest.raises(CameraTransportError):
        fetch(tmp_path, transport, 40_000, [])
    assert asked(transport) == [(0, 40_001)]  # not asked again as if it had refused
    assert not list((tmp_path / "dest").rglob("*.JPG"))


def test_a_large_file_is_read_raw_into_the_buffer_and_needs_no_probe(tmp_path: Path) -> None:
    """Every chunk of a file of several chunks by the raw read, the last one asking one byte
    past the end: no separate round trip checks for unlisted data."""
    data = bytes(range(256)) * (dl.CHUNK // 256 * 2 + 100)  # two chunks and a bit
    transport, probes = card(data), list[int]()
    path = fetch(tmp_path, transport, len(data), probes)
    assert path.read_bytes() == data
    assert asked(transport) == [
        (0, dl.CHUNK),
        (dl.CHUNK, dl.CHUNK),
        (2 * dl.CHUNK, len(data) - 2 * dl.CHUNK + 1),
    ]
    assert probes == []


def test_data_past_the_end_of_a_large_file_places_nothing(tmp_path: Path) -> None:
    data = bytes(range(256)) * (dl.CHUNK // 256 + 100)
    with pytest.raises(OSError, match=r"more data for DSC00001\.JPG than the"):
        fetch(tmp_path, card(data), len(data) - 1, [])  # listed one byte short
    assert not [p for p in (tmp_path / "dest").iterdir() if p.is_file()]


def test_a_chunk_longer_than_asked_writes_nothing_past_the_buffer() -> None:
    """A camlib without patch 0007 could hand back more than asked: the native layer copies
    at most the buffer's length, and the read refuses the chunk."""
    data = b"q" * 5000
    transport = FakeTransport(lambda call: TransactionResult(ResponseCode.OK, (), data))
    read, _more = dl.partial_reader(transport, obj(10_000), lambda: False)
    buffer = memoryview(bytearray(b"-" * 2000))
    with pytest.raises(CameraSentTooMuch):
        read(0, buffer[:1000])
    assert bytes(buffer[1000:]) == b"-" * 1000


def test_a_result_built_from_its_data_says_how_much_came() -> None:
    assert TransactionResult(ResponseCode.OK, (), b"abc").length == 3
    assert TransactionResult(ResponseCode.OK, (), b"", 1_048_576).length == 1_048_576  # into=
