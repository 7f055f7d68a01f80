"""engine.sync without a camera: connect() retries and plan() decisions.

``CameraSession`` is replaced by a fake class; tenacity's waits are recorded, never slept.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path
from typing import Any, cast

import pytest
import tenacity

from sony_pm_alt.engine import sync as sync_module
from sony_pm_alt.engine.filters import Filters
from sony_pm_alt.engine.listing import Listing
from sony_pm_alt.engine.model import CameraInfo, CameraObject, Kind
from sony_pm_alt.engine.session import CameraConnectError, CameraSession
from sony_pm_alt.engine.state import StateStore
from sony_pm_alt.engine.sync import KeepAlive, SyncOptions, connect, plan
from sony_pm_alt.engine.vendor import StepResult
from sony_pm_alt.errors import (
    CameraRefusedGuid,
    NativeLayerUnavailable,
    PTPResponseError,
    TransportError,
    VendorStepFailed,
)
from sony_pm_alt.identity import Identity
from sony_pm_alt.profiles import load_profile
from sony_pm_alt.ptpip.codes import ObjectFormat

IDENTITY = Identity(bytes(range(16)), "sony-pm-alt-test")
HOST = "192.0.2.10"
PORT = 15740


class FakeSessions:
    """A stand-in for the CameraSession class: each instance's ``open()`` raises the next
    queued error, or returns the instance once the queue is empty."""

    def __init__(self, errors: list[BaseException]) -> None:
        self.errors = list(errors)
        self.created: list[FakeSession] = []
        self.opened: list[FakeSession] = []

    def __call__(self, host: str, **kwargs: Any) -> FakeSession:
        session = FakeSession(self, host, kwargs)
        self.created.append(session)
        return session


class FakeSession:
    def __init__(self, factory: FakeSessions, host: str, kwargs: dict[str, Any]) -> None:
        self.factory = factory
        self.host = host
        self.kwargs = kwargs

    def open(self) -> FakeSession:
        self.factory.opened.append(self)
        if self.factory.errors:
            raise self.factory.errors.pop(0)
        return self


@pytest.fixture
def naps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The waits tenacity would have slept between attempts (none is slept)."""
    recorded: list[float] = []
    monkeypatch.setattr(
        sync_module, "Retrying", functools.partial(tenacity.Retrying, sleep=recorded.append)
    )
    return recorded


def install(monkeypatch: pytest.MonkeyPatch, errors: list[BaseException]) -> FakeSessions:
    factory = FakeSessions(errors)
    monkeypatch.setattr(sync_module, "CameraSession", factory)
    return factory


def options(tmp_path: Path, **kwargs: Any) -> SyncOptions:
    return SyncOptions(dest=tmp_path / "photos", **kwargs)


def not_yet(n: int) -> list[BaseException]:
    return [CameraConnectError(f"attempt {i + 1}: connection refused") for i in range(n)]


# --- connect ---------------------------------------------------------------------------------


def test_connect_opens_once_when_the_camera_accepts(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, naps: list[float]
) -> None:
    factory = install(monkeypatch, [])
    session: object = connect(HOST, PORT, IDENTITY, options(tmp_path), native=False)
    assert session is factory.created[0]
    assert len(factory.opened) == 1
    assert naps == []


def test_connect_passes_the_session_settings(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, naps: list[float]
) -> None:
    factory = install(monkeypatch, [])
    connect(HOST, 15999, IDENTITY, options(tmp_path, profile=load_profile("none")), native=True)
    (session,) = factory.created
    assert session.host == HOST
    assert session.kwargs == {
        "port": 15999,
        "identity": IDENTITY,
        "profile": load_profile("none"),
        "native": True,
    }


def test_connect_retries_a_camera_that_does_not_accept_yet(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, naps: list[float]
) -> None:
    factory = install(monkeypatch, not_yet(2))
    session: object = connect(
        HOST, PORT, IDENTITY, options(tmp_path, connect_attempts=4), native=None
    )
    assert len(factory.opened) == 3
    assert session is factory.created[2]  # a fresh session per attempt
    assert len({id(s) for s in factory.created}) == 3
    assert naps == [0.5, 1.0]  # exponential back-off between attempts


def test_connect_gives_up_after_connect_attempts(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, naps: list[float]
) -> None:
    factory = install(monkeypatch, not_yet(10))
    with pytest.raises(CameraConnectError, match="attempt 5"):
        connect(HOST, PORT, IDENTITY, options(tmp_path, connect_attempts=5), native=None)
    assert len(factory.opened) == 5
    assert naps == [0.5, 1.0, 2.0, 4.0]  # capped at 4 s


def test_connect_succeeds_on_the_last_allowed_attempt(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, naps: list[float]
) -> None:
    factory = install(monkeypatch, not_yet(3))
    session: object = connect(
        HOST, PORT, IDENTITY, options(tmp_path, connect_attempts=4), native=None
    )
    assert session is factory.created[-1]
    assert len(factory.opened) == 4


def test_the_default_number_of_attempts(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, naps: list[float]
) -> None:
    factory = install(monkeypatch, not_yet(100))
    with pytest.raises(CameraConnectError):
        connect(HOST, PORT, IDENTITY, options(tmp_path), native=None)
    assert len(factory.opened) == sync_module.CONNECT_ATTEMPTS


@pytest.mark.parametrize("attempts", [0, 1, -3])
def test_at_least_one_attempt_is_made(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, naps: list[float], attempts: int
) -> None:
    factory = install(monkeypatch, not_yet(5))
    with pytest.raises(CameraConnectError):
        connect(HOST, PORT, IDENTITY, options(tmp_path, connect_attempts=attempts), native=None)
    assert len(factory.opened) == 1
    assert naps == []


def test_a_refused_guid_is_never_retried(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, naps: list[float]
) -> None:
    refused = CameraRefusedGuid(IDENTITY.guid, 1)
    factory = install(monkeypatch, [refused])
    with pytest.raises(CameraRefusedGuid) as caught:
        connect(HOST, PORT, IDENTITY, options(tmp_path, connect_attempts=4), native=None)
    assert caught.value is refused
    assert len(factory.opened) == 1
    assert naps == []


def test_a_refused_guid_after_a_retry_ends_the_retries(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, naps: list[float]
) -> None:
    factory = install(monkeypatch, [*not_yet(1), CameraRefusedGuid(IDENTITY.guid, 1)])
    with pytest.raises(CameraRefusedGuid):
        connect(HOST, PORT, IDENTITY, options(tmp_path, connect_attempts=4), native=None)
    assert len(factory.opened) == 2


@pytest.mark.parametrize(
    "error", [NativeLayerUnavailable("run make build"), ValueError("bad port"), KeyboardInterrupt()]
)
def test_other_errors_are_not_retried(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, naps: list[float], error: BaseException
) -> None:
    factory = install(monkeypatch, [error])
    with pytest.raises(type(error)):
        connect(HOST, PORT, IDENTITY, options(tmp_path, connect_attempts=4), native=None)
    assert len(factory.opened) == 1


def test_connect_without_patched_waits_uses_wait_exponential(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The other way to keep tests fast: replace the wait strategy itself."""
    monkeypatch.setattr(sync_module, "wait_exponential", lambda **_: tenacity.wait_none())
    factory = install(monkeypatch, not_yet(2))
    connect(HOST, PORT, IDENTITY, options(tmp_path, connect_attempts=3), native=None)
    assert len(factory.opened) == 3


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


# --- _release: powered off only when the camera answered every power-off step -------------------


class ClosingSession:
    """What _release uses of a CameraSession: the profile, the layer in use, and close(),
    which 'answers' the end steps with ``codes`` (an abort stops there and raises)."""

    def __init__(self, profile: str, codes: list[int], native: bool = True) -> None:
        from sony_pm_alt.profiles import load_profile

        self.profile = load_profile(profile)
        self.uses_native_layer = native
        self.codes = codes
        self.end_results: list[StepResult] = []
        self.closed_with: bool | None = None

    def close(self, *, power_off: bool = True) -> None:
        self.closed_with = power_off
        if not power_off:
            return
        for step, code in zip(self.profile.end, self.codes, strict=False):
            self.end_results.append(StepResult(step, code))
            if code != 0x2001 and step.abort_on_failure:
                raise VendorStepFailed("end", len(self.end_results), step.describe(), code)

    @property
    def power_off_confirmed(self) -> bool:
        return CameraSession.power_off_confirmed.fget(self)  # type: ignore[attr-defined,no-any-return]


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
    session = ClosingSession(profile, codes, native)
    powered_off, why = sync_module._release(session, left_on=left_on)  # type: ignore[arg-type]
    assert powered_off is expected[0]
    assert why.startswith(expected[1])
    # The end steps run only when a power-off is due and can be done.
    assert session.closed_with is (left_on is None and native and profile != "none")


class PingTransport:
    def __init__(self, error: Exception | None) -> None:
        self.error = error

    def transaction(self, *args: object, **kwargs: object) -> None:
        if self.error is not None:
            raise self.error


class PingSession:
    uses_native_layer = True

    def __init__(self, error: Exception | None) -> None:
        self._transport = PingTransport(error)

    def transport(self) -> PingTransport:
        return self._transport


@pytest.mark.parametrize(
    ("error", "there"),
    [
        (None, True),
        (PTPResponseError(0x1001, 0x2019), True),  # DeviceBusy is an answer
        (TransportError("running GET_DEVICE_INFO", "I/O error", code=0x02FF), False),
    ],
    ids=["ok", "answered-busy", "connection-lost"],
)
def test_the_ping_tells_a_camera_that_answers_from_one_that_is_gone(
    error: Exception | None, there: bool
) -> None:
    keepalive = KeepAlive(cast(CameraSession, PingSession(error)), 60.0)
    assert keepalive.ping() is there
