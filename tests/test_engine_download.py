"""engine.download: one file to disk through a resumable partial file, against a fake camera.

The camera is a ``read(offset, buffer)`` function over bytes in memory; nothing here opens a
socket or sleeps.
"""

from __future__ import annotations

import errno
import hashlib
import os
import tempfile
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

import fakes
from sony_pm_alt.engine import download as dl
from sony_pm_alt.engine import writeback
from sony_pm_alt.engine.download import (
    PARTIAL_SUFFIX,
    fetch,
    partial64_reader,
    partial_path,
)
from sony_pm_alt.engine.model import CameraObject
from sony_pm_alt.native import TransactionResult
from sony_pm_alt.ptpip.codes import ObjectFormat

FOLDER = "/store_00010001/DCIM/100MSDCF"
SHOT = datetime(2024, 5, 1, 12, 30, 15)
CAMERA = "00000001"
SMALL_CHUNK = 1000  # patched in for multi-chunk tests, so they stay small and fast


def payload(size: int, seed: int = 0) -> bytes:
    """Bytes that differ at every offset of interest (no accidental matches across chunks)."""
    return bytes((i * 31 + i // 251 + seed) % 256 for i in range(size))


def camera_object(
    size: int, name: str = "DSC00001.JPG", folder: str = FOLDER, when: datetime | None = SHOT
) -> CameraObject:
    return CameraObject(folder, name, size, when, ObjectFormat.EXIF_JPEG, handle=0x42)


class CameraGone(OSError):
    pass


@dataclass
class FakeCamera:
    """``read(offset, buffer)`` over ``data``: at most ``max_read`` bytes per call; the call at
    an offset of ``fail_from`` or more raises; ``zero_from`` makes it return 0 from there."""

    data: bytes
    max_read: int | None = None
    fail_from: int | None = None
    zero_from: int | None = None
    offsets: list[int] = field(default_factory=list)
    asked: list[int] = field(default_factory=list)

    def read(self, offset: int, buffer: memoryview) -> int:
        self.offsets.append(offset)
        self.asked.append(len(buffer))
        if self.fail_from is not None and offset >= self.fail_from:
            raise CameraGone(f"connection lost at {offset}")
        if self.zero_from is not None and offset >= self.zero_from:
            return 0
        count = min(len(buffer), len(self.data) - offset)
        if self.max_read is not None:
            count = min(count, self.max_read)
        buffer[:count] = self.data[offset : offset + count]
        return count


def no_read(offset: int, buffer: memoryview) -> int:
    raise AssertionError(f"read({offset}, {len(buffer)} bytes) was not expected")


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def names_in(folder: Path) -> set[str]:
    return {p.name for p in folder.iterdir()}


@pytest.fixture
def small_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(dl, "CHUNK", SMALL_CHUNK)


@pytest.fixture
def final(tmp_path: Path) -> Path:
    return tmp_path / "out" / "2024" / "DSC00001.JPG"


def partial_for(final: Path, obj: CameraObject) -> Path:
    return partial_path(final, CAMERA, obj)


# --- complete downloads ------------------------------------------------------------------


def test_a_file_arrives_complete_and_byte_identical(final: Path) -> None:
    data = payload(2 * dl.CHUNK + 12345)  # three real 1 MiB requests
    obj = camera_object(len(data))
    camera = FakeCamera(data)
    result = fetch(obj, final, partial_for(final, obj), camera.read)
    assert result.path == final
    assert final.read_bytes() == data
    assert result.sha256 == sha(data)
    assert result.size == len(data)
    assert result.already_there is False
    assert result.resumed_from == 0
    assert camera.offsets == [0, dl.CHUNK, 2 * dl.CHUNK]
    assert camera.asked == [dl.CHUNK, dl.CHUNK, 12345]  # never past the end of the object


def test_only_the_final_file_is_left(final: Path) -> None:
    data = payload(5000)
    obj = camera_object(len(data))
    fetch(obj, final, partial_for(final, obj), FakeCamera(data).read)
    assert names_in(final.parent) == {final.name}


def test_destination_folders_are_created(tmp_path: Path) -> None:
    final = tmp_path / "a" / "b" / "c" / "X.JPG"
    obj = camera_object(3)
    fetch(obj, final, partial_for(final, obj), FakeCamera(b"abc").read)
    assert final.read_bytes() == b"abc"


def test_progress_reports_the_bytes_done_after_each_read(final: Path, small_chunks: None) -> None:
    data = payload(2500)
    obj = camera_object(len(data))
    seen: list[int] = []
    fetch(obj, final, partial_for(final, obj), FakeCamera(data).read, seen.append)
    assert seen == [1000, 2000, 2500]


def test_mtime_is_the_capture_time(final: Path) -> None:
    obj = camera_object(10)
    result = fetch(obj, final, partial_for(final, obj), FakeCamera(payload(10)).read)
    assert os.stat(result.path).st_mtime == pytest.approx(SHOT.timestamp())


def test_no_capture_time_leaves_the_mtime_alone(final: Path) -> None:
    obj = camera_object(10, when=None)
    result = fetch(obj, final, partial_for(final, obj), FakeCamera(payload(10)).read)
    assert abs(os.stat(result.path).st_mtime - SHOT.timestamp()) > 86400


def test_short_reads_are_followed_by_reads_at_the_next_offset(
    final: Path, small_chunks: None
) -> None:
    data = payload(2500)
    obj = camera_object(len(data))
    camera = FakeCamera(data, max_read=333)
    seen: list[int] = []
    result = fetch(obj, final, partial_for(final, obj), camera.read, seen.append)
    assert final.read_bytes() == data
    assert result.sha256 == sha(data)
    assert camera.offsets == list(range(0, 2500, 333))
    assert seen == [*range(333, 2500, 333), 2500]
    assert all(asked <= SMALL_CHUNK for asked in camera.asked)


@given(
    size=st.integers(0, 5000),
    max_read=st.integers(1, 1500),
    chunk=st.integers(1, 1200),
)
def test_any_read_pattern_gives_the_exact_file(size: int, max_read: int, chunk: int) -> None:
    data = payload(size, seed=size)
    obj = camera_object(size)
    original = dl.CHUNK
    dl.CHUNK = chunk  # hypothesis and function-scoped fixtures do not mix; restored below
    try:
        with tempfile.TemporaryDirectory() as tmp:
            final = Path(tmp) / "X.JPG"
            camera = FakeCamera(data, max_read=max_read)
            result = fetch(obj, final, partial_for(final, obj), camera.read)
            assert final.read_bytes() == data
            assert result.sha256 == sha(data)
            assert names_in(final.parent) == {"X.JPG"}
            assert all(0 < asked <= chunk for asked in camera.asked)
    finally:
        dl.CHUNK = original


def test_a_zero_size_object_makes_an_empty_file_without_reading(final: Path) -> None:
    obj = camera_object(0)
    result = fetch(obj, final, partial_for(final, obj), no_read)
    assert final.read_bytes() == b""
    assert result.sha256 == sha(b"")
    assert result.size == 0
    assert names_in(final.parent) == {final.name}
    assert os.stat(final).st_mtime == pytest.approx(SHOT.timestamp())


# --- failures ------------------------------------------------------------------------------


def test_a_read_of_zero_bytes_is_an_error(final: Path, small_chunks: None) -> None:
    data = payload(2500)
    obj = camera_object(len(data))
    camera = FakeCamera(data, zero_from=1000)
    with pytest.raises(OSError, match="its data ends at") as caught:
        fetch(obj, final, partial_for(final, obj), camera.read)
    assert caught.type is OSError  # not the fake's own error
    assert "1000" in str(caught.value)
    assert not final.exists()
    # Data shorter than listed can never complete: no partial kept to resume.
    assert not partial_for(final, obj).exists()


def test_a_first_read_of_zero_bytes_leaves_no_final_file(final: Path) -> None:
    obj = camera_object(10)
    with pytest.raises(OSError, match="its data ends at 0"):
        fetch(obj, final, partial_for(final, obj), FakeCamera(b"", zero_from=0).read)
    assert not final.exists()
    assert not any(p.name == final.name for p in final.parent.iterdir())


def test_data_beyond_the_listed_size_places_nothing(final: Path) -> None:
    """A camera that listed fewer bytes than it has: the listed bytes alone are a truncated
    file, so nothing is placed and no partial is kept."""
    data = payload(2500)
    obj = camera_object(2000)
    with pytest.raises(OSError, match=r"more data for DSC00001\.JPG than the 2000 bytes"):
        fetch(obj, final, partial_for(final, obj), FakeCamera(data).read, None, lambda: True)
    assert not final.exists()
    assert not partial_for(final, obj).exists()
    placed = fetch(obj, final, partial_for(final, obj), FakeCamera(data).read, None, lambda: False)
    assert placed.size == 2000  # the check is the caller's: asked, and answered "no more"


def test_a_camera_that_fails_at_once_leaves_nothing(final: Path) -> None:
    obj = camera_object(10)
    with pytest.raises(CameraGone):
        fetch(obj, final, partial_for(final, obj), FakeCamera(payload(10), fail_from=0).read)
    assert not final.exists()
    assert not partial_for(final, obj).exists()


def test_an_error_midway_leaves_only_the_partial_file(final: Path, small_chunks: None) -> None:
    data = payload(4321)
    obj = camera_object(len(data))
    partial = partial_for(final, obj)
    with pytest.raises(CameraGone):
        fetch(obj, final, partial, FakeCamera(data, fail_from=2500).read)
    assert names_in(final.parent) == {partial.name}
    assert partial.read_bytes() == data[:3000]  # the reads at 0, 1000 and 2000 arrived


@pytest.mark.parametrize("hashed", ["as it arrives", "when durable"])
def test_a_second_fetch_resumes_from_the_partial_file(
    final: Path, small_chunks: None, hashed: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = payload(4321)
    # Files above HASHED_WHEN_DURABLE are hashed chunk by chunk, smaller ones by finalize.
    monkeypatch.setattr(dl, "HASHED_WHEN_DURABLE", 0 if hashed == "as it arrives" else len(data))
    obj = camera_object(len(data))
    partial = partial_for(final, obj)
    with pytest.raises(CameraGone):
        fetch(obj, final, partial, FakeCamera(data, fail_from=2500).read)

    camera = FakeCamera(data)
    seen: list[int] = []
    result = fetch(obj, final, partial, camera.read, seen.append)
    # 3000 bytes were kept; the last chunk of them is fetched again (a power cut may have
    # left junk there), so the transfer resumes at 2000.
    assert camera.offsets == [2000, 3000, 4000]
    assert seen == [3000, 4000, 4321]
    assert result.resumed_from == 2000
    assert result.sha256 == sha(data)  # the hash covers the bytes from the first attempt too
    assert final.read_bytes() == data
    assert names_in(final.parent) == {final.name}


def test_resuming_after_a_short_read_boundary(final: Path, small_chunks: None) -> None:
    data = payload(2000)
    obj = camera_object(len(data))
    partial = partial_for(final, obj)
    with pytest.raises(CameraGone):
        fetch(obj, final, partial, FakeCamera(data, max_read=700, fail_from=1400).read)
    assert partial.stat().st_size == 1400

    camera = FakeCamera(data)
    result = fetch(obj, final, partial, camera.read)
    assert camera.offsets == [400, 1400]  # the kept 1400 bytes minus one chunk of 1000
    assert result.sha256 == sha(data)


def test_a_complete_partial_file_fetches_only_its_last_chunk_again(
    final: Path, small_chunks: None
) -> None:
    data = payload(3000)
    obj = camera_object(len(data))
    partial = partial_for(final, obj)
    partial.parent.mkdir(parents=True)
    partial.write_bytes(data[:2000] + b"\x00" * 1000)  # junk at the end, as after a power cut
    camera = FakeCamera(data)
    result = fetch(obj, final, partial, camera.read)
    assert camera.offsets == [2000]
    assert result.resumed_from == 2000
    assert result.sha256 == sha(data)
    assert final.read_bytes() == data
    assert not partial.exists()


def test_a_partial_file_larger_than_the_object_restarts_from_zero(
    final: Path, small_chunks: None
) -> None:
    data = payload(2500)
    obj = camera_object(len(data))
    partial = partial_for(final, obj)
    partial.parent.mkdir(parents=True)
    partial.write_bytes(b"\xff" * 4000)
    camera = FakeCamera(data)
    result = fetch(obj, final, partial, camera.read)
    assert camera.offsets == [0, 1000, 2000]
    assert result.resumed_from == 0
    assert result.sha256 == sha(data)
    assert final.read_bytes() == data


# --- the final name ------------------------------------------------------------------------


def test_a_different_file_at_the_final_name_is_kept(final: Path) -> None:
    final.parent.mkdir(parents=True)
    final.write_bytes(b"someone else's photo")
    data = payload(100)
    obj = camera_object(len(data))
    result = fetch(obj, final, partial_for(final, obj), FakeCamera(data).read)
    assert result.path == final.with_name("DSC00001-1.JPG")
    assert result.path.read_bytes() == data
    assert result.already_there is False
    assert final.read_bytes() == b"someone else's photo"
    assert names_in(final.parent) == {"DSC00001.JPG", "DSC00001-1.JPG"}


def test_a_same_size_different_file_is_not_taken_for_the_download(final: Path) -> None:
    data = payload(100)
    final.parent.mkdir(parents=True)
    final.write_bytes(bytes(100))
    obj = camera_object(len(data))
    result = fetch(obj, final, partial_for(final, obj), FakeCamera(data).read)
    assert result.path.name == "DSC00001-1.JPG"
    assert final.read_bytes() == bytes(100)


def test_numbered_names_continue(final: Path) -> None:
    final.parent.mkdir(parents=True)
    final.write_bytes(b"one")
    final.with_name("DSC00001-1.JPG").write_bytes(b"two")
    obj = camera_object(5)
    result = fetch(obj, final, partial_for(final, obj), FakeCamera(b"three").read)
    assert result.path.name == "DSC00001-2.JPG"
    assert result.path.read_bytes() == b"three"


def test_an_identical_file_at_the_final_name_is_already_there(final: Path) -> None:
    data = payload(3000)
    final.parent.mkdir(parents=True)
    final.write_bytes(data)
    before = final.stat()
    obj = camera_object(len(data))
    partial = partial_for(final, obj)
    result = fetch(obj, final, partial, FakeCamera(data).read)
    assert result.already_there is True
    assert result.path == final
    assert result.sha256 == sha(data)
    assert names_in(final.parent) == {final.name}  # no duplicate, no partial
    assert final.stat().st_ino == before.st_ino


def test_downloading_the_same_object_twice_gives_one_file(final: Path) -> None:
    data = payload(100)
    obj = camera_object(len(data))
    first = fetch(obj, final, partial_for(final, obj), FakeCamera(data).read)
    second = fetch(obj, final, partial_for(final, obj), FakeCamera(data).read)
    assert (first.already_there, second.already_there) == (False, True)
    assert names_in(final.parent) == {final.name}


# --- partial file names --------------------------------------------------------------------


def test_partial_path_is_stable_and_hidden_beside_the_target(final: Path) -> None:
    obj = camera_object(100)
    first = partial_path(final, CAMERA, obj)
    assert first == partial_path(final, CAMERA, camera_object(100))
    assert first.parent == final.parent
    assert first.name.startswith(".")
    assert first.name.endswith(PARTIAL_SUFFIX)


def test_partial_path_differs_for_the_same_name_in_another_folder(final: Path) -> None:
    here = partial_path(final, CAMERA, camera_object(100))
    there = partial_path(final, CAMERA, camera_object(100, folder="/store_00010001/DCIM/101MSDCF"))
    assert here != there


@pytest.mark.parametrize(
    "other",
    [
        camera_object(101),
        camera_object(100, when=datetime(2024, 5, 1, 12, 30, 16)),
        camera_object(100, when=None),
        camera_object(100, name="DSC00002.JPG"),
    ],
)
def test_partial_path_differs_for_another_object(final: Path, other: CameraObject) -> None:
    assert partial_path(final, CAMERA, camera_object(100)) != partial_path(final, CAMERA, other)


def test_partial_path_differs_per_camera(final: Path) -> None:
    obj = camera_object(100)
    assert partial_path(final, CAMERA, obj) != partial_path(final, "00000002", obj)


def test_partial_path_ignores_the_handle(final: Path) -> None:
    """Handles change between sessions; a resume must find the same partial file."""
    obj = camera_object(100)
    renumbered = CameraObject(
        obj.folder, obj.name, obj.size, obj.capture_time, obj.object_format, 7
    )
    assert partial_path(final, CAMERA, obj) == partial_path(final, CAMERA, renumbered)


# --- GetPartialObject64 ----------------------------------------------------------------------


def FakeTransport(data: bytes = b"", base: int = 0, extra: bytes = b"") -> fakes.FakeTransport:  # noqa: N802
    """Answers GetPartialObject64 with ``data``, the object's content from offset ``base`` on,
    and ``extra`` appended to every answer (a camera sending more than asked)."""

    def partial64(call: fakes.Call) -> TransactionResult:
        _handle, low, high, length = call.params
        start = (low | high << 32) - base
        return TransactionResult(0x2001, (), data[start : start + length] + extra)

    return fakes.FakeTransport(partial64)


def calls(transport: fakes.FakeTransport) -> list[tuple[int, tuple[int, ...], bool]]:
    return [(c.opcode, c.params, c.data_in) for c in transport.calls]


def test_partial64_reader_sends_0x95c1_with_the_offset_in_two_words() -> None:
    offset = (5 << 32) + 0x12345678  # 0x5_1234_5678
    transport = FakeTransport(payload(64), base=offset)
    read = partial64_reader(transport, camera_object(6 << 32))
    buffer = memoryview(bytearray(16))
    assert read(offset, buffer) == 16
    assert calls(transport) == [(0x95C1, (0x42, 0x12345678, 5, 16), True)]
    assert bytes(buffer) == payload(64)[:16]


def test_partial64_reader_at_exactly_4_gib() -> None:
    transport = FakeTransport(b"x" * 8, base=1 << 32)
    read = partial64_reader(transport, camera_object((1 << 32) + 8))
    assert read(1 << 32, memoryview(bytearray(8))) == 8
    assert transport.calls[0].params == (0x42, 0, 1, 8)


def test_partial64_reader_just_below_4_gib() -> None:
    transport = FakeTransport(b"x" * 8, base=(1 << 32) - 1)
    read = partial64_reader(transport, camera_object((1 << 32) + 8))
    assert read((1 << 32) - 1, memoryview(bytearray(8))) == 8
    assert transport.calls[0].params == (0x42, 0xFFFFFFFF, 0, 8)


def test_partial64_reader_below_4_gib_has_a_zero_high_word() -> None:
    transport = FakeTransport(payload(64))
    read = partial64_reader(transport, camera_object(64))
    buffer = memoryview(bytearray(10))
    assert read(7, buffer) == 10
    assert calls(transport) == [(0x95C1, (0x42, 7, 0, 10), True)]
    assert bytes(buffer) == payload(64)[7:17]


def test_partial64_reader_copies_no_more_than_the_buffer_holds() -> None:
    transport = FakeTransport(b"0123456789", extra=b"EXTRA")
    read = partial64_reader(transport, camera_object(10))
    backing = bytearray(b"." * 14)
    assert read(0, memoryview(backing)[:12]) == 12
    assert bytes(backing) == b"0123456789EX.."


def test_partial64_reader_reports_a_short_answer() -> None:
    transport = FakeTransport(b"0123")
    read = partial64_reader(transport, camera_object(4))
    buffer = memoryview(bytearray(10))
    assert read(1, buffer) == 3
    assert bytes(buffer[:3]) == b"123"


def test_fetch_through_partial64(final: Path, small_chunks: None) -> None:
    data = payload(2500)
    obj = camera_object(len(data))
    transport = FakeTransport(data)
    result = fetch(obj, final, partial_for(final, obj), partial64_reader(transport, obj))
    assert final.read_bytes() == data
    assert result.sha256 == sha(data)
    assert [params for _, params, _ in calls(transport)] == [
        (0x42, 0, 0, 1000),
        (0x42, 1000, 0, 1000),
        (0x42, 2000, 0, 500),
    ]


def test_a_file_system_without_hard_links_gets_a_rename_and_still_no_clobber(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """exFAT, FAT and many SMB shares refuse hard links; the file must still land, and an
    existing different file at the target name must still be kept."""

    def no_links(src: object, dst: object) -> None:
        raise PermissionError(errno.EPERM, "Operation not permitted")

    monkeypatch.setattr(os, "link", no_links)
    data = payload(25_600)
    obj = camera_object(len(data))
    final = tmp_path / "dest" / "DSC00001.JPG"
    final.parent.mkdir()
    final.write_bytes(b"someone else's photo")
    partial = tmp_path / "dest" / ".p.sony-pm-alt-partial"
    result = dl.fetch(obj, final, partial, FakeCamera(data).read)
    assert result.path == final.with_name("DSC00001-1.JPG")
    assert result.path.read_bytes() == data
    assert final.read_bytes() == b"someone else's photo"
    assert not partial.exists()


def test_an_identical_copy_at_a_suffixed_name_is_recognised(final: Path) -> None:
    """A session that placed DSC00001-1.JPG and died before recording it: the next one finds
    that copy instead of adding DSC00001-2.JPG, and gives it the capture time."""
    final.parent.mkdir(parents=True)
    final.write_bytes(b"someone else's photo")
    data = payload(500)
    copy = final.with_name("DSC00001-1.JPG")
    copy.write_bytes(data)
    obj = camera_object(len(data))
    result = fetch(obj, final, partial_for(final, obj), FakeCamera(data).read)
    assert (result.path, result.already_there) == (copy, True)
    assert names_in(final.parent) == {"DSC00001.JPG", "DSC00001-1.JPG"}
    assert copy.stat().st_mtime == SHOT.timestamp()


def test_without_hard_links_two_writers_never_replace_each_other(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The name was free when checked but taken before the move: the move must not replace
    it (renameat2 RENAME_NOREPLACE, or an exclusive create)."""

    def no_links(src: object, dst: object) -> None:
        raise PermissionError(errno.EPERM, "Operation not permitted")

    monkeypatch.setattr(os, "link", no_links)
    source = tmp_path / ".partial"
    source.write_bytes(b"camera B")
    taken = tmp_path / "DSC00001.JPG"
    taken.write_bytes(b"camera A")
    with pytest.raises(FileExistsError):
        dl._move_noreplace(source, taken)
    assert taken.read_bytes() == b"camera A"
    assert source.read_bytes() == b"camera B"


def test_a_large_download_starts_its_write_back_while_it_arrives(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Write-back of each 8 MiB starts as it arrives (the final fsync has little left);
    the bytes at the final name are the camera's."""
    started: list[tuple[int, int]] = []
    real = writeback.start_writeback

    def spy(fd: int, start: int, end: int) -> None:
        assert os.fstat(fd).st_size == end  # everything up to ``end`` is in the file
        started.append((start, end))
        real(fd, start, end)

    monkeypatch.setattr(writeback, "start_writeback", spy)
    step = writeback.WRITEBACK_STEP
    data = os.urandom(2 * step + 12345)
    obj = camera_object(len(data))
    final = tmp_path / "dest" / obj.name
    done = dl.fetch(
        obj, final, dl.partial_path(final, "cam", obj), FakeCamera(data).read, None, None
    )
    assert started == [(0, step), (step, 2 * step)]
    assert done.path.read_bytes() == data
