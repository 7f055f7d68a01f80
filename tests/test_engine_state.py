"""The state store: what is new, history, schema versions, bad files, atomicity, concurrency."""

from __future__ import annotations

import hashlib
import logging
import sqlite3
import tempfile
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sony_pm_alt.engine import state as state_module
from sony_pm_alt.engine.model import CameraInfo, CameraObject
from sony_pm_alt.engine.state import (
    APPLICATION_ID,
    DEFAULT_STATE_DIR,
    SCHEMA_VERSION,
    StateError,
    StateStore,
    default_state_path,
)
from sony_pm_alt.errors import SonyPmAltError
from sony_pm_alt.ptpip.codes import ObjectFormat

A7 = CameraInfo(model="ILCE-7M3", serial="00000001")
RX100 = CameraInfo(model="DSC-RX100M7", serial="00000002")
SHOT = datetime(2024, 5, 1, 12, 30, 15)
DCIM = "/store_00010001/DCIM/100MSDCF"
DCIM2 = "/store_00010001/DCIM/101MSDCF"


def obj(
    name: str = "DSC00001.JPG",
    folder: str = DCIM,
    size: int = 1000,
    capture_time: datetime | None = SHOT,
) -> CameraObject:
    return CameraObject(folder, name, size, capture_time, ObjectFormat.EXIF_JPEG)


def digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


class Clock:
    """A clock that moves one second per reading, so every stamp differs and order is known."""

    def __init__(self) -> None:
        self.now = datetime(2025, 1, 1, tzinfo=UTC)

    def __call__(self) -> datetime:
        self.now += timedelta(seconds=1)
        return self.now


@pytest.fixture
def store(tmp_path: Path) -> Iterator[StateStore]:
    with StateStore(tmp_path / "state.sqlite3", clock=Clock()) as opened:
        yield opened


def record(store: StateStore, camera: CameraInfo, *objects: CameraObject, where: Path) -> int:
    session = store.start_session(camera, len(objects))
    for o in objects:
        store.record_transfer(session, camera, o, where / o.name, digest(o.name))
    return session


# -- paths and schema ----------------------------------------------------------------------------


def test_default_path_is_in_the_xdg_data_dir(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SONY_PM_ALT_STATE", raising=False)
    assert default_state_path() == DEFAULT_STATE_DIR / "state.sqlite3"
    assert DEFAULT_STATE_DIR.name == "sony-pm-alt"


def test_environment_overrides_the_default_path(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    target = tmp_path / "elsewhere" / "my.sqlite3"
    monkeypatch.setenv("SONY_PM_ALT_STATE", str(target))
    assert default_state_path() == target
    with StateStore.open_default() as store:
        assert store.path == target
    assert target.is_file()


def test_schema_is_created_on_a_fresh_path_in_a_new_folder(tmp_path: Path) -> None:
    path = tmp_path / "new" / "deeper" / "state.sqlite3"
    with StateStore(path) as store:
        assert store.transfers() == []
        assert store.sessions() == []
    db = sqlite3.connect(path)
    try:
        assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        assert db.execute("PRAGMA application_id").fetchone()[0] == APPLICATION_ID
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master")}
        assert {"sessions", "transfers"} <= tables
    finally:
        db.close()


def test_reopening_keeps_the_data(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite3"
    with StateStore(path) as store:
        record(store, A7, obj(), where=tmp_path)
    with StateStore(path) as store:
        assert store.is_done(A7, obj())
        assert len(store.transfers()) == 1


def test_a_file_from_a_newer_version_is_refused_untouched(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite3"
    with StateStore(path) as store:
        record(store, A7, obj(), where=tmp_path)
    db = sqlite3.connect(path)
    db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    db.close()
    before = path.read_bytes()
    with pytest.raises(StateError, match="state file made by a newer sony-pm-alt") as info:
        StateStore(path)
    assert str(path) in str(info.value)
    assert path.read_bytes() == before


@pytest.mark.parametrize(
    "content",
    [b"hello, I am not a database", b"SQLite format 3\x00" + b"\xff" * 200, bytes(range(256)) * 8],
)
def test_a_corrupt_file_is_refused_with_advice_and_kept(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "state.sqlite3"
    path.write_bytes(content)
    with pytest.raises(StateError) as info:
        StateStore(path)
    message = str(info.value)
    assert str(path) in message
    assert "move it away" in message
    assert "\n" not in message
    assert isinstance(info.value, SonyPmAltError)  # the CLI reports these without a traceback
    assert path.read_bytes() == content


def test_another_programs_database_is_refused_untouched(tmp_path: Path) -> None:
    path = tmp_path / "photos.db"
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE albums (name TEXT)")
    db.commit()
    db.close()
    before = path.read_bytes()
    with pytest.raises(StateError, match="not a sony-pm-alt state file"):
        StateStore(path)
    assert path.read_bytes() == before


def test_an_empty_file_becomes_a_store(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite3"
    path.touch()
    with StateStore(path) as store:
        record(store, A7, obj(), where=tmp_path)
        assert store.is_done(A7, obj())


def test_a_folder_at_the_path_is_a_state_error(tmp_path: Path) -> None:
    (tmp_path / "state.sqlite3").mkdir()
    with pytest.raises(StateError, match=r"state\.sqlite3"):
        StateStore(tmp_path / "state.sqlite3")


def test_closed_store_refuses_use_and_closes_twice(tmp_path: Path) -> None:
    store = StateStore(tmp_path / "state.sqlite3")
    store.close()
    store.close()
    with pytest.raises(StateError, match="closed"):
        store.transfers()
    with pytest.raises(StateError, match="closed"):
        store.start_session(A7, 1)


# -- what is new -----------------------------------------------------------------------------------


def test_planning_returns_what_is_not_done_in_order(store: StateStore, tmp_path: Path) -> None:
    objects = [obj(f"DSC{n:05}.JPG") for n in range(1, 7)]
    assert store.new_objects(A7, objects) == objects
    record(store, A7, objects[1], objects[4], where=tmp_path)
    assert store.new_objects(A7, objects) == [objects[i] for i in (0, 2, 3, 5)]
    assert store.new_objects(A7, reversed(objects)) == [objects[i] for i in (5, 3, 2, 0)]
    assert [store.is_done(A7, o) for o in objects] == [i in (1, 4) for i in range(6)]
    assert store.new_objects(A7, []) == []


def test_planning_a_card_of_many_folders(store: StateStore, tmp_path: Path) -> None:
    """More folders than one query takes host parameters for (a hostile listing can have
    thousands): every folder is still asked about."""
    objects = [obj(folder=f"{DCIM}/{n:04}") for n in range(1203)]
    record(store, A7, *objects[::2], where=tmp_path)
    assert store.new_objects(A7, objects) == objects[1::2]


def test_planning_is_per_camera(store: StateStore, tmp_path: Path) -> None:
    record(store, A7, obj(), where=tmp_path)
    assert store.is_done(A7, obj())
    assert not store.is_done(RX100, obj())
    assert store.new_objects(RX100, [obj()]) == [obj()]


def test_same_name_in_different_folders_are_different_objects(
    store: StateStore, tmp_path: Path
) -> None:
    first, second = obj(folder=DCIM), obj(folder=DCIM2)
    record(store, A7, first, where=tmp_path)
    assert store.new_objects(A7, [first, second]) == [second]
    record(store, A7, second, where=tmp_path / "other")
    assert store.new_objects(A7, [first, second]) == []
    assert {t.folder for t in store.transfers()} == {DCIM, DCIM2}


@pytest.mark.parametrize(
    "other",
    [
        obj(size=1001),
        obj(capture_time=SHOT + timedelta(seconds=1)),
        obj(capture_time=None),
        obj(name="dsc00001.jpg"),
    ],
    ids=["size", "capture-time", "no-capture-time", "name-case"],
)
def test_same_name_with_another_size_or_time_is_new(
    store: StateStore, tmp_path: Path, other: CameraObject
) -> None:
    record(store, A7, obj(), where=tmp_path)
    assert store.new_objects(A7, [obj(), other]) == [other]
    assert not store.is_done(A7, other)


def test_an_object_without_capture_time_is_remembered(store: StateStore, tmp_path: Path) -> None:
    undated = obj(capture_time=None)
    record(store, A7, undated, where=tmp_path)
    assert store.is_done(A7, undated)
    assert store.transfers()[0].capture_time == ""
    assert store.new_objects(A7, [undated, obj()]) == [obj()]


def test_deleting_the_local_file_keeps_it_done(store: StateStore, tmp_path: Path) -> None:
    photo = obj()
    local = tmp_path / photo.name
    local.write_bytes(b"x" * photo.size)
    session = store.start_session(A7, 1)
    store.record_transfer(session, A7, photo, local, digest("x"))
    local.unlink()
    assert store.is_done(A7, photo)
    assert store.new_objects(A7, [photo]) == []


def test_local_files_do_not_make_objects_done(store: StateStore, tmp_path: Path) -> None:
    """Only the store decides: a file already at the destination is not "done" by itself."""
    photo = obj()
    (tmp_path / photo.name).write_bytes(b"x" * photo.size)
    assert store.new_objects(A7, [photo]) == [photo]


def test_a_redownload_replaces_the_record(store: StateStore, tmp_path: Path) -> None:
    photo, other = obj(), obj("DSC00002.JPG")
    first = record(store, A7, photo, other, where=tmp_path / "old")
    # The caller plans a redownload without new_objects; recording again replaces the record.
    second = store.start_session(A7, 1)
    again = store.record_transfer(second, A7, photo, tmp_path / "new" / photo.name, digest("new"))
    transfers = store.transfers()
    assert len(transfers) == 2
    assert transfers[0] == again
    assert (again.session_id, again.path, again.sha256) == (
        second,
        str(tmp_path / "new" / photo.name),
        digest("new"),
    )
    assert transfers[1].name == other.name
    assert transfers[1].session_id == first
    assert store.is_done(A7, photo)


# -- recording -----------------------------------------------------------------------------------


def test_record_transfer_returns_what_it_stored(store: StateStore, tmp_path: Path) -> None:
    session = store.start_session(A7, 1)
    transfer = store.record_transfer(session, A7, obj(), tmp_path / "a.jpg", digest("a"))
    assert transfer.camera == A7.key
    assert transfer.key == obj().key
    assert transfer.capture_time == SHOT.isoformat()
    assert transfer.transferred_at.tzinfo is not None
    assert transfer.transferred_at.utcoffset() == timedelta(0)
    assert store.transfers() == [transfer]


def test_relative_paths_are_stored_absolute(
    store: StateStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    session = store.start_session(A7, 1)
    transfer = store.record_transfer(session, A7, obj(), Path("photos/a.jpg"), digest("a"))
    assert transfer.path == str(tmp_path / "photos" / "a.jpg")


def test_bad_arguments_are_refused_and_write_nothing(store: StateStore, tmp_path: Path) -> None:
    session = store.start_session(A7, 1)
    with pytest.raises(ValueError, match="sha256"):
        store.record_transfer(session, A7, obj(), tmp_path / "a", "not a digest")
    with pytest.raises(ValueError, match="no session 999"):
        store.record_transfer(999, A7, obj(), tmp_path / "a", digest("a"))
    with pytest.raises(ValueError, match="not '00000002'"):
        store.record_transfer(session, RX100, obj(), tmp_path / "a", digest("a"))
    assert store.transfers() == []
    assert store.sessions()[0].transferred == 0


def test_an_error_inside_record_transfer_leaves_nothing_half_written(
    store: StateStore, tmp_path: Path
) -> None:
    photo = obj()
    session = record(store, A7, photo, where=tmp_path / "first")
    before_transfers, before_sessions = store.transfers(), store.sessions()
    # Fail the last statement of the transaction (the session counters), after the old record
    # was deleted and the new one inserted: both must be rolled back.
    db = sqlite3.connect(store.path)
    db.execute(
        "CREATE TRIGGER fail BEFORE UPDATE OF transferred ON sessions"
        " BEGIN SELECT RAISE(ABORT, 'disk on fire'); END"
    )
    db.commit()
    db.close()
    with pytest.raises(sqlite3.IntegrityError, match="disk on fire"):
        store.record_transfer(session, A7, photo, tmp_path / "second" / photo.name, digest("b"))
    with pytest.raises(sqlite3.IntegrityError, match="disk on fire"):
        store.record_transfer(session, A7, obj("NEW.JPG"), tmp_path / "NEW.JPG", digest("c"))
    assert store.transfers() == before_transfers
    assert store.sessions() == before_sessions
    assert not store.is_done(A7, obj("NEW.JPG"))
    # The store stays usable: once the fault is gone, the next write goes through.
    db = sqlite3.connect(store.path)
    db.execute("DROP TRIGGER fail")
    db.commit()
    db.close()
    store.end_session(session, transferred=1, failed=0, bytes=photo.size, result="ok")
    assert store.sessions()[0].result == "ok"


def test_an_interrupt_inside_a_transaction_rolls_back(store: StateStore) -> None:
    photo = obj()
    session = store.start_session(A7, 1)

    def interrupted_write() -> None:
        with store._write() as db:
            db.execute(
                "INSERT INTO transfers (camera, folder, name, size, capture_time, path, sha256,"
                " transferred_at, session_id) VALUES (?, ?, ?, ?, ?, 'p', 's', 't', ?)",
                (A7.key, *photo.key, session),
            )
            assert store.is_done(A7, photo)  # visible inside the transaction
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        interrupted_write()
    assert store.transfers() == []
    assert not store.is_done(A7, photo)


# -- history -------------------------------------------------------------------------------------


def test_sessions_record_their_course(store: StateStore, tmp_path: Path) -> None:
    session = store.start_session(A7, 3)
    (running,) = store.sessions()
    assert (running.id, running.camera, running.model, running.planned) == (
        session,
        A7.key,
        A7.model,
        3,
    )
    assert (running.result, running.ended_at, running.transferred, running.bytes) == (
        "running",
        None,
        0,
        0,
    )
    store.record_transfer(session, A7, obj(size=10), tmp_path / "a", digest("a"))
    store.record_transfer(session, A7, obj("B.JPG", size=20), tmp_path / "b", digest("b"))
    progress = store.sessions()[0]
    assert (progress.result, progress.transferred, progress.bytes) == ("running", 2, 30)
    store.end_session(session, transferred=2, failed=1, bytes=25, result="incomplete")
    ended = store.sessions()[0]
    assert (ended.transferred, ended.failed, ended.bytes, ended.result) == (2, 1, 25, "incomplete")
    assert ended.ended_at is not None
    assert ended.ended_at > ended.started_at
    assert ended.started_at.utcoffset() == timedelta(0)


def test_end_session_or_warn_sets_the_result_and_only_warns_when_it_cannot(
    store: StateStore, caplog: pytest.LogCaptureFixture
) -> None:
    done, short, late = (store.start_session(A7, 2) for _ in range(3))
    store.end_session_or_warn(done, 2, 0, 30, complete=True, powered_off=True)
    store.end_session_or_warn(short, 1, 1, 10, complete=False)
    by_id = {s.id: s for s in store.sessions()}
    assert (by_id[done].result, by_id[done].bytes, by_id[done].powered_off) == ("ok", 30, True)
    assert (by_id[short].result, by_id[short].failed) == ("incomplete", 1)
    store.close()
    with caplog.at_level(logging.WARNING, logger="sony_pm_alt.state"):
        store.end_session_or_warn(late, 1, 0, 10, complete=True)  # does not raise
    assert "could not close the session record" in caplog.text
    assert "is closed" in caplog.text


def test_end_session_checks_its_arguments(store: StateStore) -> None:
    session = store.start_session(A7, 0)
    with pytest.raises(ValueError, match="result"):
        store.end_session(session, transferred=0, failed=0, bytes=0, result="running")
    with pytest.raises(ValueError, match="result"):
        store.end_session(session, transferred=0, failed=0, bytes=0, result="great")
    with pytest.raises(ValueError, match="no session"):
        store.end_session(session + 1, transferred=0, failed=0, bytes=0, result="ok")
    with pytest.raises(ValueError, match="0 or more"):
        store.end_session(session, transferred=-1, failed=0, bytes=0, result="ok")
    with pytest.raises(ValueError, match="0 or more"):
        store.start_session(A7, -1)
    assert store.sessions()[0].result == "running"


def test_sessions_are_newest_first_with_filter_and_limit(store: StateStore) -> None:
    ids = [store.start_session(camera, 0) for camera in (A7, RX100, A7, RX100, A7)]
    assert [s.id for s in store.sessions()] == ids[::-1]
    assert [s.id for s in store.sessions(limit=2)] == [ids[4], ids[3]]
    assert [s.id for s in store.sessions(A7.key)] == [ids[4], ids[2], ids[0]]
    assert [s.id for s in store.sessions(RX100.key, limit=1)] == [ids[3]]
    assert store.sessions("nobody") == []
    assert store.sessions(limit=0) == []
    with pytest.raises(ValueError, match="limit"):
        store.sessions(limit=-1)


def test_transfers_are_newest_first_with_filter_and_limit(
    store: StateStore, tmp_path: Path
) -> None:
    record(store, A7, obj("1.JPG"), obj("2.JPG"), where=tmp_path)
    record(store, RX100, obj("3.JPG"), where=tmp_path)
    record(store, A7, obj("4.JPG"), where=tmp_path)
    assert [t.name for t in store.transfers()] == ["4.JPG", "3.JPG", "2.JPG", "1.JPG"]
    assert [t.name for t in store.transfers(limit=2)] == ["4.JPG", "3.JPG"]
    assert [t.name for t in store.transfers(A7.key)] == ["4.JPG", "2.JPG", "1.JPG"]
    assert [t.name for t in store.transfers(RX100.key, limit=5)] == ["3.JPG"]
    assert store.transfers(limit=0) == []
    times = [t.transferred_at for t in store.transfers()]
    assert times == sorted(times, reverse=True)
    with pytest.raises(ValueError, match="limit"):
        store.transfers(limit=-3)


def test_equal_timestamps_still_order_newest_first(tmp_path: Path) -> None:
    frozen = datetime(2025, 6, 1, tzinfo=UTC)
    with StateStore(tmp_path / "state.sqlite3", clock=lambda: frozen) as store:
        record(store, A7, *(obj(f"{n}.JPG") for n in range(5)), where=tmp_path)
        second = store.start_session(A7, 0)
        assert [t.name for t in store.transfers()] == [f"{n}.JPG" for n in reversed(range(5))]
        assert store.sessions()[0].id == second


# -- concurrency ---------------------------------------------------------------------------------


ROUNDS = 60


def test_two_stores_on_one_file_write_from_two_threads(tmp_path: Path) -> None:
    path = tmp_path / "fresh" / "state.sqlite3"  # both threads also race to create the schema
    start = threading.Barrier(2)
    turns = [threading.Semaphore(1), threading.Semaphore(0)]
    errors: list[BaseException] = []

    def worker(me: int, camera: CameraInfo) -> None:
        try:
            start.wait(timeout=30)
            with StateStore(path) as store:
                session = store.start_session(camera, ROUNDS)
                for n in range(ROUNDS):
                    # Strictly alternate half of the writes, race freely on the rest.
                    strict = n % 2 == 0
                    if strict:
                        assert turns[me].acquire(timeout=30)
                    photo = obj(f"DSC{n:05}.JPG")
                    store.record_transfer(session, camera, photo, tmp_path / photo.name, digest(""))
                    assert store.is_done(camera, photo)
                    if strict:
                        turns[1 - me].release()
                store.end_session(
                    session, transferred=ROUNDS, failed=0, bytes=ROUNDS * 1000, result="ok"
                )
        except BaseException as exc:
            errors.append(exc)
            start.abort()
            for turn in turns:
                turn.release()

    threads = [
        threading.Thread(target=worker, args=(0, A7)),
        threading.Thread(target=worker, args=(1, RX100)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors
    assert not any(thread.is_alive() for thread in threads)
    everything = [obj(f"DSC{n:05}.JPG") for n in range(ROUNDS)]
    with StateStore(path) as store:
        for camera in (A7, RX100):
            assert store.new_objects(camera, everything) == []
            assert len(store.transfers(camera.key)) == ROUNDS
            (session,) = store.sessions(camera.key)
            assert (session.result, session.transferred) == ("ok", ROUNDS)


def test_one_store_shared_between_threads(store: StateStore, tmp_path: Path) -> None:
    session = store.start_session(A7, 2 * ROUNDS)
    errors: list[BaseException] = []

    def worker(prefix: str) -> None:
        try:
            for n in range(ROUNDS):
                photo = obj(f"{prefix}{n:05}.JPG")
                store.record_transfer(session, A7, photo, tmp_path / photo.name, digest(prefix))
                assert store.new_objects(A7, [photo]) == []
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(p,)) for p in ("A", "B")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors
    assert len(store.transfers()) == 2 * ROUNDS
    assert store.sessions()[0].transferred == 2 * ROUNDS


# -- property --------------------------------------------------------------------------------------


objects_strategy = st.builds(
    obj,
    name=st.sampled_from(["DSC00001.JPG", "DSC00001.ARW", "C0001.MP4", "ÄÖ ü.jpg"]),
    folder=st.sampled_from([DCIM, DCIM2, "/store_00020001/DCIM/100MSDCF"]),
    size=st.integers(min_value=0, max_value=2**63 - 1) | st.sampled_from([0, 1000]),
    capture_time=st.none() | st.sampled_from([SHOT, SHOT + timedelta(microseconds=1)]),
)


@given(
    listing=st.lists(objects_strategy, max_size=25),
    chosen=st.lists(st.booleans(), max_size=25),
    camera=st.sampled_from([A7, RX100]),
)
def test_new_objects_are_exactly_those_not_recorded(
    listing: list[CameraObject], chosen: list[bool], camera: CameraInfo
) -> None:
    recorded = [o for o, pick in zip(listing, chosen, strict=False) if pick]
    other = RX100 if camera is A7 else A7
    with tempfile.TemporaryDirectory() as folder, StateStore(Path(folder) / "s.sqlite3") as store:
        session = store.start_session(camera, len(recorded))
        for o in recorded:
            store.record_transfer(session, camera, o, Path(folder) / o.name, digest(o.name))
        keys = {o.key for o in recorded}
        expected = [o for o in listing if o.key not in keys]
        assert store.new_objects(camera, listing) == expected
        assert [o for o in listing if not store.is_done(camera, o)] == expected
        assert store.new_objects(other, listing) == listing
        assert len(store.transfers()) == len(keys)


def test_module_exports_a_documented_api() -> None:
    for name in ("StateStore", "Transfer", "SessionRecord", "StateError", "default_state_path"):
        assert getattr(state_module, name).__doc__


# -- what the camera confirmed and what it sent --------------------------------------------------


def test_a_session_records_whether_the_camera_confirmed_its_power_off(store: StateStore) -> None:
    on = store.start_session(A7, 0)
    store.end_session(on, transferred=0, failed=0, bytes=0, result="ok")
    off = store.start_session(A7, 0)
    store.end_session(off, transferred=0, failed=0, bytes=0, result="ok", powered_off=True)
    assert {s.id: s.powered_off for s in store.sessions()} == {on: False, off: True}


def test_an_unusable_capture_date_is_kept_as_the_camera_sent_it(
    store: StateStore, tmp_path: Path
) -> None:
    year_1 = CameraObject(
        DCIM, "A.JPG", 1, datetime(1, 1, 1), ObjectFormat.EXIF_JPEG, 0, "00010101T000000"
    )
    garbage = CameraObject(DCIM, "B.JPG", 1, None, ObjectFormat.EXIF_JPEG, 0, "garbage")
    record(store, A7, year_1, garbage, where=tmp_path)
    assert {t.name: (t.capture_time, t.camera_date) for t in store.transfers()} == {
        "A.JPG": ("0001-01-01T00:00:00", "00010101T000000"),
        "B.JPG": ("", "garbage"),
    }
    assert store.new_objects(A7, [year_1, garbage]) == []  # known from now on


def test_a_version_1_file_is_upgraded_keeping_its_transfers(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite3"
    db = sqlite3.connect(path)
    for statement in state_module._MIGRATIONS[0].split(";"):
        if statement.strip():
            db.execute(statement)
    db.execute(f"PRAGMA application_id = {APPLICATION_ID}")
    db.execute("PRAGMA user_version = 1")
    db.execute(
        "INSERT INTO sessions (camera, model, started_at, planned, result)"
        " VALUES ('00000001', 'ILCE-7M3', '2025-01-01T00:00:00.000000+00:00', 1, 'ok')"
    )
    db.execute(
        "INSERT INTO transfers VALUES (1, '00000001', ?, 'DSC00001.JPG', 1000,"
        " '2024-05-01T12:30:15', '/p', ?, '2025-01-01T00:00:01.000000+00:00', 1)",
        (DCIM, digest("x")),
    )
    db.commit()
    db.close()
    with StateStore(path) as store:
        assert store.is_done(A7, obj())
        (transfer,) = store.transfers()
        assert transfer.camera_date == ""
        (session,) = store.sessions()
        assert session.powered_off is False  # older versions claimed it without asking
