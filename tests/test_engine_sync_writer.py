"""The writer thread of a sync (engine.sync): file N is fsynced, placed and recorded while
file N+1 arrives, and the rules stay as they were without it — the camera is powered off only
once every planned file is durable and recorded; a writer failure is that file's failure and
the rest is still tried; a stop request or a lost camera mid-file leaves nothing partial at a
final name and records nothing unconfirmed; at most one received file waits for the writer.

Through the camera seam (tests/fakes.py). The writer's step, ``download.finalize``, is wrapped
to observe it or to make it fail; events only order the threads, they never stand in for time.
"""

from __future__ import annotations

import errno
import threading
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from fakes import FakeCamera
from sony_pm_alt.engine import download as dl
from sony_pm_alt.engine.camera import Reader
from sony_pm_alt.engine.events import FileDone, FileFailed, SessionEnded, SyncEvent
from sony_pm_alt.engine.listing import Listing
from sony_pm_alt.engine.model import CameraObject
from sony_pm_alt.engine.naming import Template
from sony_pm_alt.engine.state import StateStore
from sony_pm_alt.engine.sync import SyncOptions, sync
from sony_pm_alt.errors import CameraTransportError, SyncCancelled
from sony_pm_alt.identity import Identity
from sony_pm_alt.ptpip.codes import ObjectFormat

IDENTITY = Identity(bytes(range(16)), "sony-pm-alt-test")
HOST = "192.0.2.10"  # never contacted: the fake stands in for the camera
DCIM = "/store_00010001/DCIM/100MSDCF"
TWO_CHUNKS = dl.CHUNK + 1000  # read in two calls: something can happen between them
GUARD = 30.0  # seconds: only ever reached if the code under test deadlocks

ReadHook = Callable[[CameraObject, int], None]


def obj(name: str, size: int) -> CameraObject:
    return CameraObject(DCIM, name, size, datetime(2024, 5, 1, 12, 0), ObjectFormat.EXIF_JPEG)


def card(*names: str, size: int = TWO_CHUNKS) -> dict[CameraObject, bytes]:
    return {obj(n, size): (n.encode() * (size // len(n) + 1))[:size] for n in names}


class HookedCamera(FakeCamera):
    """A FakeCamera that calls ``on_read(object, offset)`` before serving each chunk and
    notes, at close(), which files the state store held and which were at a final name."""

    on_read: ReadHook | None = None
    store: StateStore | None = None
    dest: Path | None = None
    at_close: tuple[list[str], list[str]] | None = None

    def reader(self, o: CameraObject, listing: Listing) -> Reader:
        inner = super().reader(o, listing)

        def read(offset: int, buffer: memoryview) -> int:
            if self.on_read is not None:
                self.on_read(o, offset)
            return inner.read(offset, buffer)

        return Reader(read, inner.resumable, inner.probe)

    def close(self, *, power_off: bool) -> None:
        assert self.store is not None
        assert self.dest is not None
        recorded = sorted(t.name for t in self.store.transfers())
        self.at_close = (recorded, final_names(self.dest))
        super().close(power_off=power_off)


def final_names(root: Path) -> list[str]:
    return sorted(p.name for p in root.rglob("*") if p.is_file() and not p.name.startswith("."))


def partials(*roots: Path) -> list[Path]:
    return [p for r in roots for p in r.rglob(f"*{dl.PARTIAL_SUFFIX}")]


@pytest.fixture
def store(tmp_path: Path) -> Iterator[StateStore]:
    with StateStore(tmp_path / "state" / "state.sqlite3") as opened:
        yield opened


@pytest.fixture
def finalized(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The writer's step, wrapped: the names it finished, in order, and on which thread."""
    done: list[str] = []
    real = dl.finalize

    def spy(received: dl.Received, destination: dl.Destination | None = None) -> dl.Downloaded:
        result = real(received, destination)
        done.append(received.obj.name)
        assert threading.current_thread().name.startswith("sony-pm-alt-writer")
        return result

    monkeypatch.setattr(dl, "finalize", spy)
    return done


def run_sync(
    tmp_path: Path,
    store: StateStore,
    camera: HookedCamera,
    cancel: threading.Event | None = None,
    **kwargs: Any,
) -> list[SyncEvent]:
    camera.store, camera.dest = store, tmp_path / "photos"
    events: list[SyncEvent] = []
    sync(
        HOST,
        identity=IDENTITY,
        options=SyncOptions(dest=tmp_path / "photos", template=Template("{filename}"), **kwargs),
        state=store,
        on_event=events.append,
        camera=lambda: camera,
        cancel=cancel,
    )
    return events


def summary_of(events: list[SyncEvent]) -> Any:
    (ended,) = [e for e in events if isinstance(e, SessionEnded)]
    return ended.summary


def outcomes(events: list[SyncEvent]) -> list[tuple[str, str]]:
    """("done" | the error, name) per file, in the order they were reported."""
    return [
        ("done" if isinstance(e, FileDone) else e.error, e.obj.name)
        for e in events
        if isinstance(e, FileDone | FileFailed)
    ]


def test_file_n_is_made_durable_while_file_n_plus_1_arrives(
    tmp_path: Path, store: StateStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A.JPG's finalize waits until B.JPG is being read: without the overlap it would wait
    forever (the guard fails the test instead)."""
    b_reading = threading.Event()
    overlapped: list[bool] = []
    real = dl.finalize

    def finalize(received: dl.Received, destination: dl.Destination | None = None) -> Any:
        if received.obj.name == "A.JPG":
            overlapped.append(b_reading.wait(GUARD))
        return real(received, destination)

    def on_read(o: CameraObject, offset: int) -> None:
        if o.name == "B.JPG":
            b_reading.set()

    monkeypatch.setattr(dl, "finalize", finalize)
    camera = HookedCamera(card("A.JPG", "B.JPG", "C.JPG"))
    camera.on_read = on_read
    events = run_sync(tmp_path, store, camera)
    assert overlapped == [True]
    assert outcomes(events) == [("done", "A.JPG"), ("done", "B.JPG"), ("done", "C.JPG")]
    # Recorded in the plan's order, each with the bytes the camera sent.
    assert [t.name for t in reversed(store.transfers())] == ["A.JPG", "B.JPG", "C.JPG"]
    for o, data in camera.files.items():
        assert (tmp_path / "photos" / o.name).read_bytes() == data
    assert partials(tmp_path) == []
    assert summary_of(events).powered_off is True


def test_the_camera_is_powered_off_only_after_every_file_is_durable_and_recorded(
    tmp_path: Path, store: StateStore, finalized: list[str]
) -> None:
    camera = HookedCamera(card("A.JPG", "B.JPG", "C.JPG"))
    events = run_sync(tmp_path, store, camera)
    assert camera.closed_with is True
    names = ["A.JPG", "B.JPG", "C.JPG"]
    assert camera.at_close == (names, names)  # all recorded and placed before close()
    assert finalized == names  # each went through the writer's fsync and placement
    assert summary_of(events).transferred == 3


def test_a_writer_failure_is_that_files_failure_and_the_rest_is_still_tried(
    tmp_path: Path, store: StateStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = dl.finalize

    def finalize(received: dl.Received, destination: dl.Destination | None = None) -> Any:
        if received.obj.name == "B.JPG":  # e.g. the disk's write-back failed: fsync says EIO
            received.close()
            raise OSError(errno.EIO, "Input/output error")
        return real(received, destination)

    monkeypatch.setattr(dl, "finalize", finalize)
    camera = HookedCamera(card("A.JPG", "B.JPG", "C.JPG"))
    events = run_sync(tmp_path, store, camera)
    assert outcomes(events) == [
        ("done", "A.JPG"),
        ("[Errno 5] Input/output error", "B.JPG"),
        ("done", "C.JPG"),
    ]
    assert sorted(t.name for t in store.transfers()) == ["A.JPG", "C.JPG"]
    assert final_names(tmp_path / "photos") == ["A.JPG", "C.JPG"]
    summary = summary_of(events)
    assert (summary.transferred, len(summary.failed), summary.powered_off) == (2, 1, False)
    assert camera.closed_with is False


def test_a_destination_moved_away_before_the_writer_places_a_file(
    tmp_path: Path, store: StateStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """B.JPG has fully arrived (into the folder, which moved away with its partial file) when
    the writer finds the destination gone: B fails, C is not attempted, nothing is recorded
    that is not at its final name, no partial file is left in the moved folder, and the
    destination is not created again."""
    dest, moved = tmp_path / "photos", tmp_path / "moved-away"
    a_placed = threading.Event()
    real = dl.finalize

    def finalize(received: dl.Received, destination: dl.Destination | None = None) -> Any:
        try:
            return real(received, destination)
        finally:
            a_placed.set()

    def on_read(o: CameraObject, offset: int) -> None:
        if o.name == "B.JPG" and offset > 0 and not moved.exists():
            assert a_placed.wait(GUARD)
            dest.rename(moved)  # after B's partial file exists, before the writer has it

    monkeypatch.setattr(dl, "finalize", finalize)

    camera = HookedCamera(card("A.JPG", "B.JPG", "C.JPG"))
    camera.on_read = on_read
    events = run_sync(tmp_path, store, camera)
    assert outcomes(events) == [
        ("done", "A.JPG"),
        ("not saved: the destination cannot take it", "B.JPG"),
        ("not attempted: the destination cannot take it", "C.JPG"),
    ]
    assert "removed or unmounted" in summary_of(events).stopped
    assert camera.read_names.count("C.JPG") == 0
    assert [t.name for t in store.transfers()] == ["A.JPG"]
    assert final_names(moved) == ["A.JPG"]  # placed before the move, moved with the folder
    assert partials(moved) == []
    assert not dest.exists()
    assert camera.closed_with is False


def test_a_stop_request_mid_file_finishes_the_file_before_and_keeps_this_one_partial(
    tmp_path: Path, store: StateStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The stop comes while A.JPG is still with the writer: A is still made durable, recorded
    and reported; B stays a hidden partial file (resumed next time), unrecorded."""
    cancel = threading.Event()
    real = dl.finalize

    def finalize(received: dl.Received, destination: dl.Destination | None = None) -> Any:
        if received.obj.name == "A.JPG":
            assert cancel.wait(GUARD)  # the stop request is already there
        return real(received, destination)

    def on_read(o: CameraObject, offset: int) -> None:
        if o.name == "B.JPG":
            cancel.set()  # seen before B's next chunk is asked for

    monkeypatch.setattr(dl, "finalize", finalize)
    camera = HookedCamera(card("A.JPG", "B.JPG", "C.JPG"))
    camera.on_read = on_read
    camera.store, camera.dest = store, tmp_path / "photos"
    events: list[SyncEvent] = []
    with pytest.raises(SyncCancelled):
        sync(
            HOST,
            identity=IDENTITY,
            options=SyncOptions(dest=tmp_path / "photos", template=Template("{filename}")),
            state=store,
            on_event=events.append,
            camera=lambda: camera,
            cancel=cancel,
        )
    assert outcomes(events) == [("done", "A.JPG")]
    assert [t.name for t in store.transfers()] == ["A.JPG"]
    assert final_names(tmp_path / "photos") == ["A.JPG"]
    (left,) = partials(tmp_path / "photos")
    assert left.stat().st_size == dl.CHUNK  # B's first chunk, to resume from
    assert camera.closed_with is False
    (session,) = store.sessions()
    assert (session.transferred, session.result) == (1, "incomplete")


def test_a_camera_lost_mid_file_reports_the_file_before_first(
    tmp_path: Path, store: StateStore, finalized: list[str]
) -> None:
    lost = CameraTransportError("running GET_PARTIAL_OBJECT", "I/O error", code=0x02FF)

    def on_read(o: CameraObject, offset: int) -> None:
        if o.name == "B.JPG" and offset > 0:
            raise lost

    camera = HookedCamera(card("A.JPG", "B.JPG", "C.JPG"))
    camera.on_read = on_read
    events = run_sync(tmp_path, store, camera)
    what = "the connection to the camera was lost"
    assert outcomes(events) == [
        ("done", "A.JPG"),
        (str(lost), "B.JPG"),
        (f"not attempted: {what}", "C.JPG"),
    ]
    assert finalized == ["A.JPG"]
    assert [t.name for t in store.transfers()] == ["A.JPG"]
    assert final_names(tmp_path / "photos") == ["A.JPG"]
    assert summary_of(events).stopped.startswith(f"{what} during B.JPG")
    assert camera.closed_with is False


def test_at_most_one_received_file_waits_for_the_writer(
    tmp_path: Path, store: StateStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Memory stays bounded: while a file arrives, at most one file before it is not yet
    durable (the writer never queues files)."""
    waiting: set[str] = set()
    most: list[int] = []
    real_receive, real_finalize = dl.receive, dl.finalize
    lock = threading.Lock()

    def receive(o: CameraObject, *args: Any, **kwargs: Any) -> dl.Received:
        received = real_receive(o, *args, **kwargs)
        with lock:
            waiting.add(o.name)
        return received

    def finalize(received: dl.Received, destination: dl.Destination | None = None) -> Any:
        try:
            return real_finalize(received, destination)
        finally:
            with lock:
                waiting.discard(received.obj.name)

    def on_read(o: CameraObject, offset: int) -> None:
        with lock:
            most.append(len(waiting))

    monkeypatch.setattr(dl, "receive", receive)
    monkeypatch.setattr(dl, "finalize", finalize)
    camera = HookedCamera(card(*(f"{c}.JPG" for c in "ABCDEF"), size=5000))
    camera.on_read = on_read
    events = run_sync(tmp_path, store, camera)
    assert summary_of(events).transferred == 6
    assert max(most) <= 1
    assert waiting == set()


def test_with_a_hook_each_file_is_safe_before_the_next_one_starts(
    tmp_path: Path, store: StateStore, finalized: list[str]
) -> None:
    """A hook may act on the destination between two files, as it always could: no overlap."""
    started: list[tuple[str, list[str]]] = []

    def on_read(o: CameraObject, offset: int) -> None:
        if offset == 0:
            started.append((o.name, list(finalized)))

    camera = HookedCamera(card("A.JPG", "B.JPG", "C.JPG"))
    camera.on_read = on_read
    events = run_sync(tmp_path, store, camera, hook="true")
    assert started == [
        ("A.JPG", []),
        ("B.JPG", ["A.JPG"]),
        ("C.JPG", ["A.JPG", "B.JPG"]),
    ]
    assert summary_of(events).powered_off is True
