"""console: the plain, JSON and rich views of sync events, and the summary wording."""

from __future__ import annotations

import io
import json
import logging
import re
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from sony_pm_alt.console import JsonView, PlainView, RichView
from sony_pm_alt.console.records import summary_fields
from sony_pm_alt.console.text import start_line, summary_line
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

A7 = CameraInfo("ILCE-7M3", "00000001")
DCIM = "/store_00010001/DCIM/100MSDCF"
SHOT = datetime(2024, 5, 1, 12, 30, 15)
JPG = CameraObject(DCIM, "DSC00001.JPG", 4_000_000, SHOT, ObjectFormat.EXIF_JPEG, 1)
ARW = CameraObject(DCIM, "DSC00001.ARW", 2_500_000, None, ObjectFormat.SONY_ARW, 2)
DEST = Path("/photos/2024-05-01")

FAILED_SUMMARY = SyncSummary(
    camera=A7,
    planned=2,
    transferred=1,
    bytes=4_000_000,
    seconds=2.0,
    failed=[f"{DCIM}/DSC00001.ARW: camera went away"],
    powered_off=False,
    listing_method="bulk",
)


def session(*, failed: bool = True) -> list[SyncEvent]:
    """A whole sync: one file saved, one failed (or both saved), then the summary."""
    events: list[SyncEvent] = [
        SessionStarted(A7, 5, 2, 6_500_000, "bulk"),
        FileStarted(JPG, DEST / JPG.name, 1),
        FileProgress(JPG, 1_000_000, JPG.size),
        FileProgress(JPG, 4_000_000, JPG.size),
        FileDone(JPG, DEST / JPG.name, JPG.size, 1.5),
        FileStarted(ARW, DEST / ARW.name, 2, resumed_from=500_000),
        FileProgress(ARW, 1_500_000, ARW.size),
    ]
    if failed:
        events += [FileFailed(ARW, "camera went away"), SessionEnded(FAILED_SUMMARY)]
    else:
        ok = SyncSummary(A7, 2, 2, 6_000_000, 2.0, powered_off=True, listing_method="bulk")
        events += [FileDone(ARW, DEST / ARW.name, ARW.size, 2.0), SessionEnded(ok)]
    return events


# --- summary wording -------------------------------------------------------------------------


def test_summary_of_a_complete_session_says_the_camera_is_off() -> None:
    summary = SyncSummary(A7, 3, 3, 4_000_000, 2.0, powered_off=True, listing_method="bulk")
    assert summary.ok
    assert summary_line(summary) == (
        "3 of 3 files, 4.0 MB in 2.00 s (2.0 MB/s), camera powered off"
    )


def test_summary_of_a_failed_session_says_the_camera_stays_on() -> None:
    assert not FAILED_SUMMARY.ok
    assert summary_line(FAILED_SUMMARY) == (
        "1 of 2 files, 4.0 MB in 2.00 s (2.0 MB/s), 1 failed (retried next time; camera left on)"
    )


def test_summary_with_skipped_files() -> None:
    summary = SyncSummary(A7, 3, 0, 0, 0.5, skipped=3, powered_off=True)
    assert summary_line(summary) == (
        "0 of 3 files, 0 B in 0.50 s (0 B/s), 3 skipped, camera powered off"
    )


def test_summary_of_a_camera_not_powered_off_says_why_it_stays_on() -> None:
    summary = SyncSummary(
        A7, 1, 1, 999, 1.0, camera_left_on="the 'none' profile sends no power-off"
    )
    assert summary_line(summary) == (
        "1 of 1 files, 999 B in 1.00 s (999 B/s), camera left on: the 'none' profile sends no "
        "power-off"
    )


def test_summary_names_what_could_not_be_listed() -> None:
    summary = SyncSummary(
        A7, 2, 2, 999, 1.0, unlisted=["the camera counts 30 objects, the listing found 4"]
    )
    assert not summary.ok
    assert "; listing incomplete: the camera counts 30 objects, the listing found 4" in (
        summary_line(summary)
    )


def test_summary_without_a_camera_never_claims_power_off() -> None:
    summary = SyncSummary(None, powered_off=True)
    assert summary_line(summary) == "0 of 0 files, 0 B in 0.00 s (0 B/s)"


def test_summary_of_several_failures_counts_them() -> None:
    summary = SyncSummary(A7, 3, 0, 0, 1.0, failed=["a: x", "b: y", "c: z"])
    assert summary_line(summary).endswith(", 3 failed (retried next time; camera left on)")


@pytest.mark.parametrize(
    ("size", "text"),
    [
        (0, "0 B"),
        (999, "999 B"),
        (1000, "1.0 kB"),
        (1_500_000, "1.5 MB"),
        (2_000_000_000, "2.0 GB"),
        (3_000_000_000_000, "3.0 TB"),
        (4_000_000_000_000_000, "4000.0 TB"),
    ],
)
def test_sizes_are_in_decimal_units(size: int, text: str) -> None:
    summary = SyncSummary(None, 1, 1, size, 1.0)
    assert summary_line(summary) == f"1 of 1 files, {text} in 1.00 s ({text}/s)"


def test_summary_json_fields() -> None:
    assert summary_fields(FAILED_SUMMARY) == {
        "camera": {"model": "ILCE-7M3", "serial": "00000001"},
        "planned": 2,
        "transferred": 1,
        "bytes": 4_000_000,
        "seconds": 2.0,
        "skipped": 0,
        "failed": [f"{DCIM}/DSC00001.ARW: camera went away"],
        "powered_off": False,
        "power_off_unconfirmed": False,
        "camera_left_on": None,
        "sending": False,
        "listing": "bulk",
        "unlisted": [],
        "stopped": None,
        "ok": False,
    }
    assert summary_fields(SyncSummary(None, seconds=1.23456))["camera"] is None
    assert summary_fields(SyncSummary(None, seconds=1.23456))["seconds"] == 1.235


def test_start_line() -> None:
    event = SessionStarted(A7, 120, 7, 42_000_000, "gphoto2")
    assert start_line(event) == (
        "ILCE-7M3 (00000001): 120 files on the camera, 7 new (42.0 MB), listed by gphoto2"
    )


def test_start_line_claims_sending_only_when_confirmed() -> None:
    confirmed = SessionStarted(A7, 3, 1, 1000, "bulk", sending=True)
    assert start_line(confirmed).endswith("listed by bulk, camera showing “Sending…”")
    assert "Sending" not in start_line(SessionStarted(A7, 3, 1, 1000, "bulk"))


# --- PlainView -------------------------------------------------------------------------------


def test_plain_view_writes_one_line_per_event_that_matters() -> None:
    out = io.StringIO()
    view = PlainView(out)
    for event in session():
        view(event)
    assert out.getvalue().splitlines() == [
        "ILCE-7M3 (00000001): 5 files on the camera, 2 new (6.5 MB), listed by bulk",
        f"saved {DEST / JPG.name} (4.0 MB)",
        f"FAILED {DCIM}/DSC00001.ARW: camera went away",
        summary_line(FAILED_SUMMARY),
    ]


def test_plain_view_skipped_and_already_there() -> None:
    out = io.StringIO()
    view = PlainView(out)
    view(FileSkipped(JPG, "dry run"))
    view(FileDone(JPG, DEST / JPG.name, JPG.size, 0.1, already_there=True))
    assert out.getvalue().splitlines() == [
        f"skipped {DCIM}/DSC00001.JPG: dry run",
        f"saved {DEST / JPG.name} (already there)",
    ]


def test_plain_view_writes_to_stderr_by_default(capsys: pytest.CaptureFixture[str]) -> None:
    PlainView()(FileFailed(JPG, "boom"))
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == f"FAILED {DCIM}/DSC00001.JPG: boom\n"


def test_plain_view_is_silent_about_progress() -> None:
    out = io.StringIO()
    view = PlainView(out)
    view(FileStarted(JPG, DEST / JPG.name, 1))
    view(FileProgress(JPG, 10, JPG.size))
    assert out.getvalue() == ""


# --- JsonView --------------------------------------------------------------------------------


def json_lines(capsys: pytest.CaptureFixture[str], events: Sequence[SyncEvent]) -> list[Any]:
    view = JsonView()
    for event in events:
        view(event)
    captured = capsys.readouterr()
    assert captured.err == ""
    return [json.loads(line) for line in captured.out.splitlines()]


def test_json_view_one_json_document_per_line(capsys: pytest.CaptureFixture[str]) -> None:
    records = json_lines(capsys, session())
    assert [r["event"] for r in records] == ["session", "saved", "resumed", "failed", "summary"]
    started, saved, resumed, failed, summary = records
    assert started == {
        "event": "session",
        "message": "ILCE-7M3 (00000001): 5 files on the camera, 2 new (6.5 MB), listed by bulk",
        "camera": {"model": "ILCE-7M3", "serial": "00000001"},
        "listed": 5,
        "planned": 2,
        "planned_bytes": 6_500_000,
        "listing": "bulk",
        "sending": False,
    }
    assert saved == {
        "event": "saved",
        "message": f"saved {DEST / JPG.name} (4.0 MB)",
        "file": f"{DCIM}/DSC00001.JPG",
        "path": str(DEST / JPG.name),
        "bytes": 4_000_000,
        "seconds": 1.5,
        "already_there": False,
        "time_source": None,
    }
    assert resumed == {
        "event": "resumed",
        "message": f"resuming {DCIM}/DSC00001.ARW from 500.0 kB",
        "file": f"{DCIM}/DSC00001.ARW",
        "path": str(DEST / ARW.name),
        "from": 500_000,
    }
    assert failed == {
        "event": "failed",
        "message": f"FAILED {DCIM}/DSC00001.ARW: camera went away",
        "file": f"{DCIM}/DSC00001.ARW",
        "error": "camera went away",
    }
    assert summary == {
        "event": "summary",
        "message": summary_line(FAILED_SUMMARY),
        **summary_fields(FAILED_SUMMARY),
    }


def test_json_view_skipped_files_carry_size_and_capture_time(
    capsys: pytest.CaptureFixture[str],
) -> None:
    records = json_lines(capsys, [FileSkipped(JPG, "dry run"), FileSkipped(ARW, "dry run")])
    assert records == [
        {
            "event": "skipped",
            "message": f"skipped {DCIM}/DSC00001.JPG: dry run",
            "file": f"{DCIM}/DSC00001.JPG",
            "size": 4_000_000,
            "reason": "dry run",
            "capture_time": "2024-05-01T12:30:15",
        },
        {
            "event": "skipped",
            "message": f"skipped {DCIM}/DSC00001.ARW: dry run",
            "file": f"{DCIM}/DSC00001.ARW",
            "size": 2_500_000,
            "reason": "dry run",
            "capture_time": None,
        },
    ]


def test_json_view_already_there(capsys: pytest.CaptureFixture[str]) -> None:
    (record,) = json_lines(capsys, [FileDone(JPG, DEST / JPG.name, JPG.size, 0.1, True)])
    assert record["already_there"] is True


def test_json_view_is_silent_about_progress_and_files_started_afresh(
    capsys: pytest.CaptureFixture[str],
) -> None:
    events: list[SyncEvent] = [
        SessionStarted(A7, 1, 1, 10, "bulk"),
        FileStarted(JPG, DEST / JPG.name, 1),  # not resumed: nothing to say
        FileProgress(JPG, 5, 10),
    ]
    assert [r["event"] for r in json_lines(capsys, events)] == ["session"]


def test_json_view_escapes_hostile_names(capsys: pytest.CaptureFixture[str]) -> None:
    hostile = CameraObject(DCIM, 'a"\n\\b.JPG', 1, None, ObjectFormat.EXIF_JPEG)
    (record,) = json_lines(capsys, [FileFailed(hostile, "line one\nline two")])
    assert record["file"] == f'{DCIM}/a"\n\\b.JPG'
    assert record["error"] == "line one\nline two"
    assert record["message"] == f'FAILED {DCIM}/a"\\b.JPG: line oneline two'  # shown: no controls


# --- RichView --------------------------------------------------------------------------------

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\r")


def rich_run(events: Sequence[SyncEvent]) -> str:
    buffer = io.StringIO()
    view = RichView(Console(file=buffer, force_terminal=True, width=100))
    for event in events:
        view(event)
    return ANSI.sub("", buffer.getvalue())


def test_rich_view_renders_a_whole_session() -> None:
    text = rich_run(session())
    assert "ILCE-7M3 (00000001): 5 files on the camera, 2 new (6.5 MB), listed by bulk" in text
    assert f"saved {DEST / JPG.name}" in text
    assert "FAILED DSC00001.ARW: camera went away" in text
    assert summary_line(FAILED_SUMMARY) in text
    assert text.rstrip().endswith(summary_line(FAILED_SUMMARY))


def test_rich_view_renders_a_successful_session() -> None:
    text = rich_run(session(failed=False))
    assert text.rstrip().endswith("2 of 2 files, 6.0 MB in 2.00 s (3.0 MB/s), camera powered off")
    assert f"saved {DEST / ARW.name}" in text


def test_rich_view_of_an_empty_plan() -> None:
    summary = SyncSummary(A7, powered_off=True, listing_method="bulk")
    text = rich_run([SessionStarted(A7, 5, 0, 0, "bulk"), SessionEnded(summary)])
    assert text.rstrip().endswith(summary_line(summary))


def test_rich_view_shows_camera_names_literally() -> None:
    """File names come from the camera (untrusted) and errors may quote them: neither may be
    read as rich markup. A name like ``[/b]`` must not raise MarkupError — raised from the
    event callback it would abort the whole sync on a terminal."""
    odd = CameraObject(DCIM, "a[/b]c[bold].JPG", 10, None, ObjectFormat.EXIF_JPEG, 3)
    summary = SyncSummary(A7, 1, 0, 0, 1.0, failed=[f"{DCIM}/{odd.name}: [/x] gone"])
    events: list[SyncEvent] = [
        SessionStarted(A7, 1, 1, 10, "bulk"),
        FileStarted(odd, DEST / odd.name, 1),
        FileProgress(odd, 5, 10),
        FileFailed(odd, "[/x] gone"),
        SessionEnded(summary),
    ]
    buffer = io.StringIO()
    view = RichView(Console(file=buffer, force_terminal=True, width=100))
    try:
        for event in events:
            view(event)
    finally:
        view._progress.stop()  # restore stdout/stderr even when a render raised
    text = ANSI.sub("", buffer.getvalue())
    assert "FAILED a[/b]c[bold].JPG: [/x] gone" in text
    assert summary_line(summary) in text


class _CallRecorder(io.StringIO):
    """A stream that remembers each write() call apart."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[str] = []

    def write(self, text: str) -> int:
        self.calls.append(text)
        return super().write(text)


def test_watch_view_writes_each_json_line_in_one_call_from_many_threads() -> None:
    # A worker thread per camera reports through one view: a line written in two calls (text,
    # then newline) can be split by another thread's line, which breaks JSON-lines readers.
    import threading

    from sony_pm_alt.console import WatchView
    from sony_pm_alt.discovery import DiscoveredCamera
    from sony_pm_alt.watcher import WatchEvent

    stream = _CallRecorder()
    view = WatchView(terminal=False, stream=stream)

    def report(n: int) -> None:
        camera = DiscoveredCamera(f"127.0.0.{n}", "", "", "", "ILCE-6000", "", "Sony")
        for i in range(50):
            view(WatchEvent("failed", camera, f"problem {i}"))

    workers = [threading.Thread(target=report, args=(n,)) for n in range(1, 5)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert len(stream.calls) == 200
    assert all(call.endswith("\n") and call.count("\n") == 1 for call in stream.calls)
    records = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert {(r["host"], r["error"]) for r in records} == {
        (f"127.0.0.{n}", f"problem {i}") for n in range(1, 5) for i in range(50)
    }


def test_summary_of_an_unconfirmed_power_off_does_not_claim_the_camera_is_on_or_off() -> None:
    summary = SyncSummary(
        CameraInfo("ILCE-5000", "123"),
        planned=1,
        transferred=1,
        bytes=999,
        seconds=1.0,
        camera_left_on="the camera accepted the power-off but not the step after it",
        power_off_failed=True,
    )
    assert summary_line(summary).endswith(
        ", power-off not confirmed: the camera accepted the power-off but not the step after it"
    )


# --- WatchView -------------------------------------------------------------------------------


def _watch_events() -> list[Any]:
    from sony_pm_alt.discovery import DiscoveredCamera
    from sony_pm_alt.watcher import WatchEvent

    camera = DiscoveredCamera("192.0.2.7", "", "uuid:1", "0001", "ILCE-6000", "", "Sony")
    hostile = DiscoveredCamera("192.0.2.8", "", "uuid:2", "0002", "ILCE\x1b[2J-6000", "", "Sony")
    saved = Path("/tmp/sony test/2024/2024-05-01/DSC00001.JPG")
    ok = SyncSummary(A7, 1, 1, 52_800_000, 1.0, powered_off=True, listing_method="bulk")
    return [
        WatchEvent("found", camera),
        WatchEvent("sync", camera, FileDone(JPG, saved, 4_000_000, 1.0)),
        WatchEvent("finished", camera, ok),
        WatchEvent("failed", hostile, "refused our GUID ff:ff; see sony-pm-alt guid --help"),
    ]


def test_watch_view_on_a_terminal_keeps_paths_and_rates_and_cleans_camera_text() -> None:
    from sony_pm_alt.console import WatchView

    out = io.StringIO()
    view = WatchView(terminal=True, stream=out)
    for event in _watch_events():
        view(event)
    assert out.getvalue().splitlines() == [
        "ILCE-6000 at 192.0.2.7: found",
        "ILCE-6000 at 192.0.2.7: saved /tmp/sony test/2024/2024-05-01/DSC00001.JPG (4.0 MB)",
        "ILCE-6000 at 192.0.2.7: 1 of 1 files, 52.8 MB in 1.00 s (52.8 MB/s), camera powered off",
        "ILCE[2J-6000 at 192.0.2.8: refused our GUID ff:ff; see sony-pm-alt guid --help",
    ]
    assert view.failures == 1


def test_watch_view_off_a_terminal_writes_json_only_log_records_included() -> None:
    from sony_pm_alt.console import WatchView

    out = io.StringIO()
    view = WatchView(terminal=False, stream=out)
    root = logging.getLogger()
    before = root.handlers[:]
    with view.logs_as_records():
        view(_watch_events()[0])
        logging.getLogger("sony_pm_alt.engine.state").warning("session %d was interrupted", 3)
        view(_watch_events()[1])
    assert root.handlers == before  # the plain handlers are back afterwards
    records = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [r["event"] for r in records] == ["found", "log", "saved"]
    assert records[1] == {"event": "log", "message": "session 3 was interrupted",
                          "level": "warning", "logger": "sony_pm_alt.engine.state"}  # fmt: skip
    assert records[2]["path"] == "/tmp/sony test/2024/2024-05-01/DSC00001.JPG"


def test_watch_view_on_a_terminal_leaves_logging_alone() -> None:
    from sony_pm_alt.console import WatchView

    root = logging.getLogger()
    before = root.handlers[:]
    with WatchView(terminal=True, stream=io.StringIO()).logs_as_records():
        assert root.handlers == before


def test_watch_view_writes_to_standard_output_by_default(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from sony_pm_alt.console import WatchView

    WatchView(terminal=False)(_watch_events()[0])
    captured = capsys.readouterr()
    assert captured.err == ""
    assert json.loads(captured.out)["event"] == "found"


@pytest.mark.parametrize("n", [1000, 4_096, 360_100, 1_500_000, 52_800_000, 9_500_000_000])
def test_sizes_in_lines_are_spelled_as_in_the_progress_bars(n: int) -> None:
    from rich import filesize  # what DownloadColumn and TransferSpeedColumn show

    from sony_pm_alt.console.text import size

    assert size(n) == filesize.decimal(n).replace(",", "")
