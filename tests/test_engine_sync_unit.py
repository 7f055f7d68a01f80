"""engine.sync without a camera: connect() retries, plan() decisions, and the session's
policies (power off only if nothing failed, a camera that is gone ends the session) through
the camera seam with ``tests/fakes.py``'s FakeCamera. Nothing is monkeypatched; tenacity's
waits are recorded, never slept.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest

from fakes import FakeCamera
from sony_pm_alt.engine import session as session_module
from sony_pm_alt.engine import sync as sync_module
from sony_pm_alt.engine.camera import Camera, KeepAlive
from sony_pm_alt.engine.events import FileDone, FileFailed, SessionEnded, SyncEvent
from sony_pm_alt.engine.filters import Filters
from sony_pm_alt.engine.listing import Listing
from sony_pm_alt.engine.model import CameraInfo, CameraObject, Kind
from sony_pm_alt.engine.session import CameraTarget, connect
from sony_pm_alt.engine.state import StateStore
from sony_pm_alt.engine.sync import SyncOptions, plan, sync
from sony_pm_alt.errors import (
    CameraConnectError,
    CameraRefusedGuid,
    CameraResponseError,
    CameraTimedOut,
    CameraTransportError,
    NativeLayerUnavailable,
    SyncCancelled,
)
from sony_pm_alt.identity import Identity
from sony_pm_alt.profiles import load_profile
from sony_pm_alt.ptpip.codes import ObjectFormat

IDENTITY = Identity(bytes(range(16)), "sony-pm-alt-test")
HOST = "192.0.2.10"  # never contacted: the fakes stand in for the camera
PORT = 15740
TARGET = CameraTarget(HOST, IDENTITY, PORT, "upstream", None)


class Opener:
    """Stands in for open_session: each call raises the next queued error, or returns a
    fresh camera once the queue is empty."""

    def __init__(self, errors: list[BaseException]) -> None:
        self.errors = list(errors)
        self.targets: list[CameraTarget] = []
        self.opened: list[Camera] = []

    def __call__(self, target: CameraTarget) -> Camera:
        self.targets.append(target)
        if self.errors:
            raise self.errors.pop(0)
        camera = FakeCamera({})
        self.opened.append(camera)
        return camera


def options(tmp_path: Path, **kwargs: Any) -> SyncOptions:
    return SyncOptions(dest=tmp_path / "photos", **kwargs)


def not_yet(n: int) -> list[BaseException]:
    return [CameraConnectError("ptpip:x", f"attempt {i + 1}: connection refused") for i in range(n)]


def attempt(opener: Opener, naps: list[float], attempts: int = 4) -> Camera:
    return connect(TARGET, attempts=attempts, opener=opener, sleep=naps.append)


# --- connect ---------------------------------------------------------------------------------


def test_connect_opens_once_when_the_camera_accepts() -> None:
    naps: list[float] = []
    opener = Opener([])
    camera = attempt(opener, naps)
    assert camera is opener.opened[0]
    assert opener.targets == [TARGET]
    assert naps == []


def test_connect_retries_a_camera_that_does_not_accept_yet() -> None:
    naps: list[float] = []
    opener = Opener(not_yet(2))
    camera = attempt(opener, naps, attempts=4)
    assert len(opener.targets) == 3
    assert camera is opener.opened[0]  # a fresh session per attempt: only the last opened
    assert naps == [0.5, 1.0]  # exponential back-off between attempts


def test_connect_gives_up_after_connect_attempts() -> None:
    naps: list[float] = []
    opener = Opener(not_yet(10))
    with pytest.raises(CameraConnectError, match="attempt 5"):
        attempt(opener, naps, attempts=5)
    assert len(opener.targets) == 5
    assert naps == [0.5, 1.0, 2.0, 4.0]  # capped at 4 s


def test_connect_succeeds_on_the_last_allowed_attempt() -> None:
    naps: list[float] = []
    opener = Opener(not_yet(3))
    camera = attempt(opener, naps, attempts=4)
    assert camera is opener.opened[-1]
    assert len(opener.targets) == 4


def test_the_default_number_of_attempts() -> None:
    naps: list[float] = []
    opener = Opener(not_yet(100))
    with pytest.raises(CameraConnectError):
        connect(TARGET, opener=opener, sleep=naps.append)
    assert len(opener.targets) == session_module.CONNECT_ATTEMPTS


@pytest.mark.parametrize("attempts", [0, 1, -3])
def test_at_least_one_attempt_is_made(attempts: int) -> None:
    naps: list[float] = []
    opener = Opener(not_yet(5))
    with pytest.raises(CameraConnectError):
        attempt(opener, naps, attempts=attempts)
    assert len(opener.targets) == 1
    assert naps == []


def test_a_refused_guid_is_never_retried() -> None:
    refused = CameraRefusedGuid(IDENTITY.guid, 1)
    naps: list[float] = []
    opener = Opener([refused])
    with pytest.raises(CameraRefusedGuid) as caught:
        attempt(opener, naps)
    assert caught.value is refused
    assert len(opener.targets) == 1
    assert naps == []


def test_a_refused_guid_after_a_retry_ends_the_retries() -> None:
    naps: list[float] = []
    opener = Opener([*not_yet(1), CameraRefusedGuid(IDENTITY.guid, 1)])
    with pytest.raises(CameraRefusedGuid):
        attempt(opener, naps)
    assert len(opener.targets) == 2


@pytest.mark.parametrize(
    "error", [NativeLayerUnavailable("run make build"), ValueError("bad port"), KeyboardInterrupt()]
)
def test_other_errors_are_not_retried(error: BaseException) -> None:
    naps: list[float] = []
    opener = Opener([error])
    with pytest.raises(type(error)):
        attempt(opener, naps)
    assert len(opener.targets) == 1


def test_without_an_opener_sync_connects_with_the_session_settings(tmp_path: Path) -> None:
    chosen = options(tmp_path, profile="none", connect_attempts=7)
    opener = sync_module.camera_opener(HOST, IDENTITY, chosen, 15999, native=True)
    assert opener.func is connect
    assert opener.args == (CameraTarget(HOST, IDENTITY, 15999, "none", True),)
    assert opener.keywords == {"attempts": 7, "cancel": None}


# --- plan ------------------------------------------------------------------------------------

A7 = CameraInfo("ILCE-7M3", "00000001")
RX100 = CameraInfo("DSC-RX100M7", "00000002")
DCIM = "/store_00010001/DCIM/100MSDCF"
DCIM2 = "/store_00010001/DCIM/101MSDCF"
DIGEST = "0" * 64


def obj(
    name: str,
    folder: str = DCIM,
    size: int = 1000,
    when: datetime | None = datetime(2024, 5, 1, 12, 0),
    fmt: int = ObjectFormat.EXIF_JPEG,
) -> CameraObject:
    return CameraObject(folder, name, size, when, fmt)


JPG1 = obj("DSC00001.JPG")
ARW1 = obj("DSC00001.ARW", size=25_000_000, fmt=ObjectFormat.SONY_ARW)
JPG2 = obj("DSC00002.JPG", when=datetime(2024, 6, 1, 9, 0))
MP4 = obj("C0001.MP4", folder="/store_00010001/PRIVATE/M4ROOT/CLIP", fmt=ObjectFormat.MTP_MP4)
OTHER_FOLDER = obj("DSC00001.JPG", folder=DCIM2)
UNDATED = obj("DSC00003.JPG", when=None)
CARD = [JPG1, ARW1, JPG2, MP4, OTHER_FOLDER, UNDATED]


@pytest.fixture
def store(tmp_path: Path) -> Iterator[StateStore]:
    with StateStore(tmp_path / "state" / "state.sqlite3") as opened:
        yield opened


def record(store: StateStore, camera: CameraInfo, *objects: CameraObject) -> None:
    session = store.start_session(camera, len(objects))
    for o in objects:
        store.record_transfer(session, camera, o, Path("/photos") / o.name, DIGEST)
    store.end_session(session, transferred=len(objects), failed=0, bytes=0, result="ok")


def listing(objects: list[CameraObject], camera: CameraInfo = A7) -> Listing:
    return Listing(camera, objects, "bulk")


def test_plan_of_a_fresh_store_is_everything_in_listing_order(
    tmp_path: Path, store: StateStore
) -> None:
    assert plan(listing(CARD), options(tmp_path), store) == CARD


def test_plan_leaves_out_what_was_transferred(tmp_path: Path, store: StateStore) -> None:
    record(store, A7, JPG1, MP4)
    assert plan(listing(CARD), options(tmp_path), store) == [ARW1, JPG2, OTHER_FOLDER, UNDATED]


def test_plan_of_a_fully_transferred_card_is_empty(tmp_path: Path, store: StateStore) -> None:
    record(store, A7, *CARD)
    assert plan(listing(CARD), options(tmp_path), store) == []


def test_plan_is_per_camera(tmp_path: Path, store: StateStore) -> None:
    record(store, RX100, *CARD)
    assert plan(listing(CARD, A7), options(tmp_path), store) == CARD
    assert plan(listing(CARD, RX100), options(tmp_path), store) == []


def test_another_size_or_capture_time_is_another_object(tmp_path: Path, store: StateStore) -> None:
    record(store, A7, JPG1)
    refilled = [obj("DSC00001.JPG", size=999), obj("DSC00001.JPG", when=datetime(2025, 1, 1))]
    assert plan(listing(refilled), options(tmp_path), store) == refilled


def test_plan_does_not_record_anything(tmp_path: Path, store: StateStore) -> None:
    plan(listing(CARD), options(tmp_path), store)
    assert store.transfers() == []
    assert plan(listing(CARD), options(tmp_path), store) == CARD


def test_redownload_plans_transferred_files_again(tmp_path: Path, store: StateStore) -> None:
    record(store, A7, *CARD)
    assert plan(listing(CARD), options(tmp_path, redownload=True), store) == CARD


def test_filters_by_extension(tmp_path: Path, store: StateStore) -> None:
    filters = Filters(extensions=frozenset({"arw", "mp4"}))
    assert plan(listing(CARD), options(tmp_path, filters=filters), store) == [ARW1, MP4]


def test_filters_by_kind(tmp_path: Path, store: StateStore) -> None:
    filters = Filters(kinds=frozenset({Kind.VIDEO}))
    assert plan(listing(CARD), options(tmp_path, filters=filters), store) == [MP4]


def test_filters_by_date_leave_out_undated_files(tmp_path: Path, store: StateStore) -> None:
    filters = Filters(since=date(2024, 5, 15))
    assert plan(listing(CARD), options(tmp_path, filters=filters), store) == [JPG2]


def test_filters_and_state_together(tmp_path: Path, store: StateStore) -> None:
    record(store, A7, JPG1)
    filters = Filters(extensions=frozenset({"jpg"}))
    assert plan(listing(CARD), options(tmp_path, filters=filters), store) == [
        JPG2,
        OTHER_FOLDER,
        UNDATED,
    ]


def test_redownload_still_honours_filters(tmp_path: Path, store: StateStore) -> None:
    record(store, A7, *CARD)
    filters = Filters(kinds=frozenset({Kind.RAW}))
    chosen = options(tmp_path, filters=filters, redownload=True)
    assert plan(listing(CARD), chosen, store) == [ARW1]


def test_plan_of_an_empty_card(tmp_path: Path, store: StateStore) -> None:
    assert plan(listing([]), options(tmp_path), store) == []
    assert plan(listing([]), options(tmp_path, redownload=True), store) == []


# --- _release: powered off only when the camera answered every power-off step ----------------


OK, BUSY, IO = 0x2001, 0x2019, 0x02FF


@pytest.mark.parametrize(
    ("profile", "codes", "native", "left_on", "expected"),
    [
        ("upstream", [OK, OK], True, None, (True, "")),
        ("playmemories", [OK, OK, OK], True, None, (True, "")),
        ("upstream", [BUSY], True, None, (False, "the camera refused the power-off (DEVICE_BUSY")),
        (
            "upstream",
            [OK, IO],
            True,
            None,
            (
                False,
                "the camera accepted the power-off but not the step after it (I/O error: the "
                "connection failed",
            ),
        ),
        ("playmemories", [OK, OK, IO], True, None, (False, "the camera accepted the power-off")),
        ("playmemories", [BUSY], True, None, (False, "the power-off was not sent (vendor")),
        ("none", [], True, None, (False, "the 'none' profile sends no power-off")),
        ("upstream", [OK, OK], False, None, (False, "this libgphoto2 cannot power the camera")),
        ("upstream", [OK, OK], True, "dry run", (False, "dry run")),
    ],
)
def test_release_claims_only_a_confirmed_power_off(
    profile: str,
    codes: list[int],
    native: bool,
    left_on: str | None,
    expected: tuple[bool, str],
) -> None:
    session = FakeCamera({}, load_profile(profile), end_codes=codes, uses_native_layer=native)
    powered_off, why = sync_module._release(session, left_on=left_on)
    assert powered_off is expected[0]
    assert why.startswith(expected[1])
    # The end steps run only when a power-off is due and can be done.
    assert session.closed_with is (left_on is None and native and profile != "none")


# --- the session's policies, through the camera seam -----------------------------------------


def card(*names: str) -> dict[CameraObject, bytes]:
    return {obj(name, size=len(name) * 100): name.encode() * 100 for name in names}


def run(tmp_path: Path, store: StateStore, camera: FakeCamera, **kwargs: Any) -> list[SyncEvent]:
    events: list[SyncEvent] = []
    sync(
        HOST,
        identity=IDENTITY,
        options=options(tmp_path, **kwargs),
        state=store,
        on_event=events.append,
        camera=lambda: camera,
    )
    return events


def summary_of(events: list[SyncEvent]) -> Any:
    (ended,) = [e for e in events if isinstance(e, SessionEnded)]
    return ended.summary


def test_a_clean_session_saves_every_file_and_powers_off(tmp_path: Path, store: StateStore) -> None:
    camera = FakeCamera(card("A.JPG", "B.JPG", "C.JPG"))
    events = run(tmp_path, store, camera)
    done = [e for e in events if isinstance(e, FileDone)]
    assert [e.path.read_bytes() for e in done] == [
        data for _, data in sorted(camera.files.items(), key=lambda item: item[0].name)
    ]
    summary = summary_of(events)
    assert (summary.transferred, summary.failed, summary.powered_off) == (3, [], True)
    assert camera.closed_with is True


def test_power_off_only_if_nothing_failed(tmp_path: Path, store: StateStore) -> None:
    """A camera that answered "no" to one file is still there: the rest is fetched, and the
    camera stays on so the failed file can be asked for again."""
    refused = CameraResponseError(0x101B, 0x2009)  # InvalidObjectHandle
    camera = FakeCamera(card("A.JPG", "B.JPG", "C.JPG"), fail={"B.JPG": refused})
    summary = summary_of(run(tmp_path, store, camera))
    assert summary.transferred == 2
    assert [f.split(": ", 1)[0] for f in summary.failed] == [f"{DCIM}/B.JPG"]
    assert "INVALID_OBJECT_HANDLE" in summary.failed[0]
    assert sorted(set(camera.read_names)) == ["A.JPG", "B.JPG", "C.JPG"]
    assert camera.closed_with is False  # the end steps were not sent
    assert (summary.powered_off, summary.camera_left_on) == (
        False,
        "some files failed (retried next time)",
    )
    assert summary.stopped == ""


@pytest.mark.parametrize(
    ("error", "what"),
    [
        (
            CameraTransportError("running GET_PARTIAL_OBJECT", "I/O error", code=0x02FF),
            "the connection to the camera was lost",
        ),
        (
            CameraTimedOut("running GET_PARTIAL_OBJECT", "timeout", code=0x02FA),
            "the camera stopped answering",
        ),
    ],
    ids=["lost", "timed-out"],
)
def test_a_camera_that_is_gone_ends_the_session_and_the_rest_is_not_attempted(
    tmp_path: Path, store: StateStore, error: CameraTransportError, what: str
) -> None:
    camera = FakeCamera(card("A.JPG", "B.JPG", "C.JPG", "D.JPG"), fail={"B.JPG": error})
    events = run(tmp_path, store, camera)
    summary = summary_of(events)
    assert camera.read_names[-1] == "B.JPG"  # nothing after it was asked for
    assert "C.JPG" not in camera.read_names
    assert camera.pings == 0  # the error type said it: the camera is not asked again
    assert summary.transferred == 1
    failures = [e.error for e in events if isinstance(e, FileFailed)]
    assert failures[0] == str(error)
    assert failures[1:] == [f"not attempted: {what}"] * 2
    assert summary.stopped.startswith(f"{what} during B.JPG; files not fetched yet stay")
    assert camera.closed_with is False


def test_a_file_the_camera_cannot_serve_fails_alone(tmp_path: Path, store: StateStore) -> None:
    camera = FakeCamera(card("A.JPG", "B.JPG"), unreadable={"A.JPG": "4 GiB or more, and …"})
    summary = summary_of(run(tmp_path, store, camera))
    assert summary.transferred == 1
    assert summary.failed == [f"{DCIM}/A.JPG: 4 GiB or more, and …"]
    assert camera.closed_with is False


def test_an_incomplete_listing_leaves_the_camera_on(tmp_path: Path, store: StateStore) -> None:
    camera = FakeCamera(card("A.JPG"), problems=("the camera counts 9 files and folders …",))
    summary = summary_of(run(tmp_path, store, camera))
    assert (summary.transferred, summary.failed) == (1, [])
    assert (summary.powered_off, summary.camera_left_on) == (False, "the listing is incomplete")
    assert camera.closed_with is False


def test_a_dry_run_reads_nothing_and_leaves_the_camera_on(
    tmp_path: Path, store: StateStore
) -> None:
    camera = FakeCamera(card("A.JPG", "B.JPG"))
    summary = summary_of(run(tmp_path, store, camera, dry_run=True))
    assert camera.read_names == []
    assert (summary.skipped, summary.powered_off, summary.camera_left_on) == (2, False, "dry run")
    assert not (tmp_path / "photos").exists()


def test_a_camera_that_cannot_be_opened_is_raised_and_nothing_is_written(
    tmp_path: Path, store: StateStore
) -> None:
    def refuse() -> Camera:
        raise CameraRefusedGuid(IDENTITY.guid, 1)

    with pytest.raises(CameraRefusedGuid):
        sync(HOST, identity=IDENTITY, options=options(tmp_path), state=store, camera=refuse)
    assert store.transfers() == []


def test_a_stop_request_ends_the_retries() -> None:
    """Ctrl-C while the camera does not accept yet: no further attempt, no back-off wait."""
    cancel = threading.Event()
    tried: list[CameraTarget] = []

    def refuse_and_stop(target: CameraTarget) -> Camera:
        tried.append(target)
        cancel.set()  # the signal arrives while the attempt fails
        raise CameraConnectError("ptpip:x", "connection refused")

    with pytest.raises(CameraConnectError):
        connect(TARGET, attempts=4, opener=refuse_and_stop, cancel=cancel)
    assert tried == [TARGET]


def test_a_camera_error_after_a_stop_request_is_the_stop(tmp_path: Path, store: StateStore) -> None:
    """The signal breaks libgphoto2's waits (EINTR): what it then reports is the stop, not a
    lost camera."""
    cancel = threading.Event()

    def interrupted_open() -> Camera:
        cancel.set()
        raise CameraConnectError("ptpip:x", "timeout (GP_ERROR_TIMEOUT)")

    with pytest.raises(SyncCancelled):
        sync(
            HOST,
            identity=IDENTITY,
            options=options(tmp_path),
            state=store,
            camera=interrupted_open,
            cancel=cancel,
        )


def test_without_a_stop_request_the_camera_error_is_raised(
    tmp_path: Path, store: StateStore
) -> None:
    def unreachable() -> Camera:
        raise CameraConnectError("ptpip:x", "timeout (GP_ERROR_TIMEOUT)")

    with pytest.raises(CameraConnectError):
        sync(HOST, identity=IDENTITY, options=options(tmp_path), state=store, camera=unreachable)


def test_the_keepalive_pings_an_idle_camera_and_outlives_a_failed_ping() -> None:
    lost = CameraTransportError("running GET_DEVICE_INFO", "I/O error", code=0x02FF)
    camera = FakeCamera({}, idle=60.0, ping_errors=[lost])
    with KeepAlive(camera, interval=0.01) as keepalive:
        assert camera.pinged.wait(30)  # the second ping, after the failed one
    assert camera.ping_errors == []
    assert keepalive.pings == camera.pings >= 1
