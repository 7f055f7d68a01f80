"""console.records: one JSON shape for every event, the same in `sync --json` and `watch`, and
every event the engine and the watcher emit documented in the README's "JSON lines" table."""

from __future__ import annotations

import json
import logging
import re
import sys
import typing
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from sony_pm_alt.console.records import (
    Record,
    ftp_listening_record,
    log_record,
    sync_record,
    transfer_end_record,
    waiting_record,
    watch_record,
)
from sony_pm_alt.discovery import DiscoveredCamera
from sony_pm_alt.engine.events import (
    FileDone,
    FileFailed,
    FileProgress,
    FileSkipped,
    FileStarted,
    SessionEnded,
    SessionStarted,
    SyncEvent,
    SyncSummary,
)
from sony_pm_alt.engine.model import CameraInfo, CameraObject
from sony_pm_alt.ptpip.codes import ObjectFormat
from sony_pm_alt.watcher import WatchEvent, WatchKind

README = Path(__file__).parent.parent / "README.md"
A7 = CameraInfo("ILCE-7M3", "00000001")
JPG = CameraObject(
    "/store_00010001/DCIM/100MSDCF", "DSC00001.JPG", 4_000_000, datetime(2024, 5, 1),
    ObjectFormat.EXIF_JPEG, 1,
)  # fmt: skip
PATH = Path("/photos/2024/DSC00001.JPG")
SUMMARY = SyncSummary(A7, 2, 1, 4_000_000, 2.0, failed=["x: gone"], listing_method="bulk")
CAMERA = DiscoveredCamera("192.0.2.7", "http://192.0.2.7:64321/dd.xml", "uuid:1", "0001",
                          "ILCE-6000", "ILCE-6000", "Sony Corporation")  # fmt: skip

# One instance of every sync event type, the resumed start apart from a fresh one.
SYNC_SAMPLES: dict[type, list[Any]] = {
    SessionStarted: [SessionStarted(A7, 5, 2, 6_500_000, "bulk", sending=True)],
    FileStarted: [FileStarted(JPG, PATH, 1), FileStarted(JPG, PATH, 1, resumed_from=1000)],
    FileProgress: [FileProgress(JPG, 10, JPG.size)],
    FileDone: [FileDone(JPG, PATH, JPG.size, 1.25, time_source="exif")],
    FileSkipped: [FileSkipped(JPG, "dry run")],
    FileFailed: [FileFailed(JPG, "the connection was lost")],
    SessionEnded: [SessionEnded(SUMMARY)],
}
# Every kind the watcher (and the smartphone watcher) reports.
WATCH_SAMPLES = [
    WatchEvent("found", CAMERA),
    WatchEvent("ignored", CAMERA, "cooldown"),
    WatchEvent("started", CAMERA),
    *(WatchEvent("sync", CAMERA, e) for samples in SYNC_SAMPLES.values() for e in samples),
    WatchEvent("finished", CAMERA, SUMMARY),
    WatchEvent("failed", CAMERA, "no GUID configured for ILCE-6000"),
    WatchEvent("cancelled", CAMERA, "stopped"),
    WatchEvent("stopped"),
    WatchEvent("ftp", None, ("127.0.0.1", 2121, "self-signed certificate")),
]
COMMON = {"event", "message"}


def documented() -> dict[str, set[str]]:
    """The README's JSON lines table: event → the fields it names."""
    text = README.read_text()
    section = text[text.index("\n## JSON lines\n") :]
    section = section[: section.index("\n## ", 1)]
    table: dict[str, set[str]] = {}
    for row in re.findall(r"^\| `(\w+)` \| ([^|]*) \|", section, re.MULTILINE):
        table[row[0]] = set(re.findall(r"`(\w+)`", row[1]))
    return table


def other_records() -> list[Record]:
    logged = logging.LogRecord("sony_pm_alt.engine.state", logging.WARNING, __file__, 1,
                               "a session %s was interrupted", ("7",), None)  # fmt: skip
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        failed = logging.LogRecord("sony_pm_alt.watch", logging.ERROR, __file__, 1,
                                   "unexpected error", (), sys.exc_info())  # fmt: skip
    return [
        ftp_listening_record("0.0.0.0", 21, ""),
        transfer_end_record(False, "PushRoot", ["DSC00002.JPG"]),
        waiting_record(None),
        log_record(logged),
        log_record(failed),
    ]


def all_records() -> list[Record]:
    records = [sync_record(e) for samples in SYNC_SAMPLES.values() for e in samples]
    records += [watch_record(e) for e in WATCH_SAMPLES]
    return [r for r in records if r is not None] + other_records()


def test_every_engine_event_type_has_a_sample() -> None:
    # A new event class in the engine's SyncEvent union fails here until it is serialised,
    # documented and sampled above.
    assert set(SYNC_SAMPLES) == set(typing.get_args(SyncEvent))


def test_every_watch_kind_has_a_sample() -> None:
    assert {e.kind for e in WATCH_SAMPLES} == set(typing.get_args(WatchKind))


def test_every_record_is_documented_with_all_its_fields() -> None:
    table = documented()
    for record in all_records():
        assert record["event"] in table, record
        assert set(record) - COMMON - {"host"} <= table[record["event"]], record
        assert isinstance(record["message"], str), record
        assert record["message"], record
        json.dumps(record)  # serialisable as it is


def test_every_documented_event_is_emitted() -> None:
    assert {r["event"] for r in all_records()} == set(documented())


def test_only_progress_and_fresh_starts_have_no_record() -> None:
    silent = [e for samples in SYNC_SAMPLES.values() for e in samples if sync_record(e) is None]
    assert silent == [FileStarted(JPG, PATH, 1), FileProgress(JPG, 10, JPG.size)]


@pytest.mark.parametrize(
    "event", [e for samples in SYNC_SAMPLES.values() for e in samples], ids=repr
)
def test_watch_and_sync_share_one_record_per_sync_event(event: SyncEvent) -> None:
    alone = sync_record(event)
    relayed = watch_record(WatchEvent("sync", CAMERA, event))
    if alone is None or isinstance(event, SessionEnded):  # the summary: "finished", once
        assert relayed is None
        return
    assert relayed == {**alone, "host": "192.0.2.7",
                       "message": f"ILCE-6000 at 192.0.2.7: {alone['message']}"}  # fmt: skip


def test_a_failed_file_is_failed_in_both_and_a_failed_session_is_apart() -> None:
    file_failed = watch_record(WatchEvent("sync", CAMERA, FileFailed(JPG, "gone")))
    assert file_failed is not None
    assert file_failed["event"] == "failed"
    assert file_failed["file"] == "/store_00010001/DCIM/100MSDCF/DSC00001.JPG"
    session_failed = watch_record(WatchEvent("failed", CAMERA, "GUID refused"))
    assert session_failed == {"event": "session_failed", "host": "192.0.2.7",
                              "message": "ILCE-6000 at 192.0.2.7: GUID refused",
                              "error": "GUID refused"}  # fmt: skip


def test_the_summary_has_the_same_fields_in_sync_and_watch() -> None:
    alone = sync_record(SessionEnded(SUMMARY))
    finished = watch_record(WatchEvent("finished", CAMERA, SUMMARY))
    assert alone is not None
    assert finished is not None
    assert finished["event"] == alone["event"] == "summary"
    assert {k: v for k, v in finished.items() if k not in ("host", "message")} == {
        k: v for k, v in alone.items() if k != "message"
    }
    for honest in ("powered_off", "power_off_unconfirmed", "camera_left_on", "unlisted",
                   "stopped", "sending", "ok"):  # fmt: skip
        assert honest in alone


def test_log_records_carry_level_logger_and_traceback() -> None:
    plain, failed = other_records()[-2:]
    assert plain == {"event": "log", "message": "a session 7 was interrupted",
                     "level": "warning", "logger": "sony_pm_alt.engine.state"}  # fmt: skip
    assert failed["level"] == "error"
    assert "RuntimeError: boom" in failed["exception"]


def test_messages_keep_slashes_but_lose_control_characters() -> None:
    hostile = CameraObject("/store/DCIM", "a\x1b[31mb\u202e.JPG", 1, None, 0)
    record = sync_record(FileFailed(hostile, "bad\rname"))
    assert record is not None
    assert record["message"] == "FAILED /store/DCIM/a[31mb.JPG: badname"
    assert record["file"] == "/store/DCIM/a\x1b[31mb\u202e.JPG"  # the raw value, JSON-escaped
    assert record["error"] == "bad\rname"
