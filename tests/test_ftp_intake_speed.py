"""The upload write path made faster (issue 11): hashing on a helper thread into pooled
blocks filled by several reads, write-back started during the upload. Same bytes, same
digest, flat memory."""

from __future__ import annotations

import hashlib
import itertools
import os
import random
from pathlib import Path
from typing import Any

import pytest

from sony_pm_alt.engine import writeback
from sony_pm_alt.engine.writeback import (
    CACHE_BEHIND,
    WRITEBACK_STEP,
    forget_written,
    start_writeback,
)
from sony_pm_alt.ftp import hashing
from sony_pm_alt.ftp.hashing import BackgroundHash
from sony_pm_alt.ftp.intake import HASH_BLOCK, READ_BUFFER, Upload


class _Link:
    def __init__(self) -> None:
        self.progress_calls = 0

    def progress(self, upload: Upload) -> None:
        self.progress_calls += 1


def _pieces(total: int, seed: int = 1) -> list[bytes]:
    rng = random.Random(seed)
    pieces, left = [], total
    while left:
        size = min(left, rng.randint(1, 300_000))
        pieces.append(rng.randbytes(size))
        left -= size
    return pieces


def test_background_hash_digests_bytes_and_pooled_buffers_in_order() -> None:
    pieces = _pieces(3_000_000)
    hasher = BackgroundHash(300_000)
    for i, piece in enumerate(pieces):
        if i % 3 == 0:
            hasher.feed(piece)
        else:
            buffer = hasher.buffer()
            buffer[: len(piece)] = piece
            hasher.feed(buffer[: len(piece)], buffer)
    assert hasher.hexdigest() == hashlib.sha256(b"".join(pieces)).hexdigest()
    assert hasher._made <= hashing.DEPTH  # buffers are reused, not made per piece


def _upload(tmp_path: Path, link: Any) -> Upload:
    return Upload(link, "/DCIM", "C0001.MP4", tmp_path / "x.partial", "wb")


def test_upload_through_buffers_is_byte_identical_with_its_digest(tmp_path: Path) -> None:
    data = b"".join(_pieces(3 * WRITEBACK_STEP + 12345, seed=2))  # several write-back steps
    link = _Link()
    upload = _upload(tmp_path, link)
    view, sent = memoryview(data), 0
    while sent < len(data):
        buffer = upload.buffer()
        count = min(len(buffer), len(data) - sent, 200_000)
        buffer[:count] = view[sent : sent + count]
        upload.write_buffer(buffer, count)
        sent += count
    upload.write_buffer(upload.buffer(), 0)  # the end of the data: the buffer goes back
    upload.close()
    assert upload.partial.read_bytes() == data
    assert upload.size == len(data)
    assert upload.sha256() == hashlib.sha256(data).hexdigest()
    assert link.progress_calls == len(data) // (8 * 1024 * 1024)


def test_reads_fill_whole_blocks_before_the_hashing_thread_takes_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fed: list[int] = []
    feed = BackgroundHash.feed

    def counting_feed(self: BackgroundHash, data: Any, buffer: Any = None) -> None:
        fed.append(len(data))
        feed(self, data, buffer)

    monkeypatch.setattr(BackgroundHash, "feed", counting_feed)
    data = b"".join(_pieces(2 * HASH_BLOCK + 54321, seed=3))
    upload = _upload(tmp_path, _Link())
    view, sent = memoryview(data), 0
    while sent < len(data):
        buffer = upload.buffer()
        assert len(buffer) <= READ_BUFFER  # one read at a time, as large as before
        count = min(len(buffer), len(data) - sent, 100_000)
        buffer[:count] = view[sent : sent + count]
        upload.write_buffer(buffer, count)
        sent += count
    upload.write_buffer(upload.buffer(), 0)  # the end of the data
    upload.close()  # hands over the last, partly filled block
    assert fed == [HASH_BLOCK, HASH_BLOCK, 54321]  # one hand-over per block, not per read
    assert upload.sha256() == hashlib.sha256(data).hexdigest()
    assert upload.partial.read_bytes() == data


def test_superseded_upload_drops_late_buffers_and_its_hashing_thread_ends(
    tmp_path: Path,
) -> None:
    upload = _upload(tmp_path, _Link())
    buffer = upload.buffer()
    buffer[:5] = b"early"
    upload.write_buffer(buffer, 5)
    upload.supersede()
    for _ in range(3 * hashing.DEPTH):  # more than the pool: buffers still come back
        late = upload.buffer()
        late[:4] = b"late"
        upload.write_buffer(late, 4)
    assert upload.partial.read_bytes() == b"early"
    assert upload._hash is not None
    upload._hash._thread.join(10)
    assert not upload._hash._thread.is_alive()


def test_start_writeback_keeps_the_data_and_ignores_an_empty_range(tmp_path: Path) -> None:
    path = tmp_path / "f"
    data = os.urandom(WRITEBACK_STEP + 10)
    with path.open("wb", buffering=0) as f:
        f.write(data)
        start_writeback(f.fileno(), 0, len(data))
        start_writeback(f.fileno(), 5, 5)
        os.fsync(f.fileno())
    assert path.read_bytes() == data


def test_buffers_of_a_finished_upload_serve_the_next_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(hashing, "_pool", [])  # none left by other tests
    link: Any = _Link()
    first = Upload(link, "/DCIM", "A.MP4", tmp_path / "a.partial", "wb")
    buffer = first.buffer()
    buffer[:3] = b"abc"
    first.write_buffer(buffer, 3)
    first.close()
    assert first.sha256() == hashlib.sha256(b"abc").hexdigest()
    first.release()
    second = Upload(link, "/DCIM", "B.MP4", tmp_path / "b.partial", "wb")
    again = second.buffer()
    assert again.obj is buffer.obj  # the same memory, not a fresh (zeroed) allocation
    again[:2] = b"xy"
    second.write_buffer(again, 2)
    second.close()
    assert second.sha256() == hashlib.sha256(b"xy").hexdigest()
    second.release()


def test_cached_pages_are_dropped_behind_the_write_back_and_the_data_stays(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    dropped: list[tuple[int, int]] = []
    started: list[tuple[int, int]] = []

    def record_drop(fd: int, start: int, end: int) -> None:
        dropped.append((start, end))
        forget_written(fd, start, end)

    def record_start(fd: int, start: int, end: int) -> None:
        started.append((start, end))
        start_writeback(fd, start, end)

    monkeypatch.setattr(writeback, "forget_written", record_drop)
    monkeypatch.setattr(writeback, "start_writeback", record_start)
    data = b"".join(_pieces(6 * WRITEBACK_STEP + 777, seed=4))
    upload = _upload(tmp_path, _Link())
    view, sent = memoryview(data), 0
    while sent < len(data):
        buffer = upload.buffer()
        count = min(len(buffer), len(data) - sent)
        buffer[:count] = view[sent : sent + count]
        upload.write_buffer(buffer, count)
        sent += count
    upload.close()
    # Each drop covers what was left behind, from the start, and only what had its
    # write-back started CACHE_BEHIND ago.
    ranges = [(a, b) for a, b in dropped if b > a]
    assert ranges
    assert ranges[0][0] == 0
    assert all(b == c for (_, b), (c, _) in itertools.pairwise(ranges))
    for (_, end), (begun, _) in zip(dropped, started, strict=True):
        assert end <= max(0, begun - CACHE_BEHIND)
    assert ranges[-1][1] >= len(data) - 2 * CACHE_BEHIND
    assert upload.partial.read_bytes() == data  # dropping cache never loses a byte
    assert upload.sha256() == hashlib.sha256(data).hexdigest()


def test_forget_written_ignores_what_it_cannot_do(tmp_path: Path) -> None:
    path = tmp_path / "f"
    path.write_bytes(b"kept")
    with path.open("rb") as f:
        forget_written(f.fileno(), 0, 4)
        forget_written(f.fileno(), 3, 1)  # an empty range
    forget_written(-1, 0, 4)  # not a file: a cache hint only, never an error
    assert path.read_bytes() == b"kept"
