"""Presentation of a sync: rich progress bars on a terminal, plain log lines otherwise."""

from __future__ import annotations

import json
import sys
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)

from .engine.events import (
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


def _size(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1000:
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n:.1f} TB"


def summary_line(summary: SyncSummary) -> str:
    text = (
        f"{summary.transferred} of {summary.planned} files, {_size(summary.bytes)} in "
        f"{summary.seconds:.2f} s ({_size(summary.rate)}/s)"
    )
    if summary.skipped:
        text += f", {summary.skipped} skipped"
    if summary.failed:
        text += f", {len(summary.failed)} failed (retried next time; camera left on)"
    elif summary.camera is not None:
        text += ", camera powered off" if summary.powered_off else ""
    return text


def summary_json(summary: SyncSummary) -> dict[str, Any]:
    return {
        "camera": None
        if summary.camera is None
        else {"model": summary.camera.model, "serial": summary.camera.serial},
        "planned": summary.planned,
        "transferred": summary.transferred,
        "bytes": summary.bytes,
        "seconds": round(summary.seconds, 3),
        "skipped": summary.skipped,
        "failed": summary.failed,
        "powered_off": summary.powered_off,
        "listing": summary.listing_method,
        "ok": summary.ok,
    }


def start_line(event: SessionStarted) -> str:
    return (
        f"{event.camera.model} ({event.camera.serial}): {event.listed} files on the camera, "
        f"{event.planned} new ({_size(event.planned_bytes)}), listed by {event.listing_method}"
    )


class PlainView:
    """One line per event, for logs and pipes."""

    def __init__(self, stream: Any = None) -> None:
        self._out = stream or sys.stderr

    def __call__(self, event: SyncEvent) -> None:
        line = None
        if isinstance(event, SessionStarted):
            line = start_line(event)
        elif isinstance(event, FileDone):
            state = "already there" if event.already_there else _size(event.bytes)
            line = f"saved {event.path} ({state})"
        elif isinstance(event, FileSkipped):
            line = f"skipped {event.obj.folder}/{event.obj.name}: {event.reason}"
        elif isinstance(event, FileFailed):
            line = f"FAILED {event.obj.folder}/{event.obj.name}: {event.error}"
        elif isinstance(event, SessionEnded):
            line = summary_line(event.summary)
        if line:
            print(line, file=self._out, flush=True)


class JsonView:
    """JSON lines of the events that matter to a script (``--json``)."""

    def __call__(self, event: SyncEvent) -> None:
        record: dict[str, Any] | None = None
        if isinstance(event, FileDone):
            record = {
                "event": "saved",
                "path": str(event.path),
                "bytes": event.bytes,
                "already_there": event.already_there,
            }
        elif isinstance(event, FileFailed):
            record = {
                "event": "failed",
                "file": f"{event.obj.folder}/{event.obj.name}",
                "error": event.error,
            }
        elif isinstance(event, FileSkipped):
            record = {
                "event": "skipped",
                "file": f"{event.obj.folder}/{event.obj.name}",
                "size": event.obj.size,
                "reason": event.reason,
                "capture_time": event.obj.capture_time.isoformat()
                if event.obj.capture_time
                else None,
            }
        elif isinstance(event, FileStarted) and event.resumed_from:
            record = {
                "event": "resumed",
                "file": f"{event.obj.folder}/{event.obj.name}",
                "from": event.resumed_from,
            }
        elif isinstance(event, SessionEnded):
            record = {"event": "summary", **summary_json(event.summary)}
        if record is not None:
            print(json.dumps(record), flush=True)


class RichView:
    """Overall and per-file progress bars with rate and ETA, for a terminal."""

    def __init__(self, console: Console | None = None) -> None:
        self._console = console or Console(stderr=True)
        self._progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            DownloadColumn(),
            TransferSpeedColumn(),
            TimeRemainingColumn(),
            console=self._console,
        )
        self._overall: TaskID | None = None
        self._file: TaskID | None = None
        self._base = 0

    def __call__(self, event: SyncEvent) -> None:
        progress = self._progress
        if isinstance(event, SessionStarted):
            progress.start()
            progress.console.print(escape(start_line(event)))
            self._overall = progress.add_task("all files", total=event.planned_bytes)
        elif isinstance(event, FileStarted):
            if self._file is not None:
                progress.remove_task(self._file)
            self._file = progress.add_task(
                escape(event.obj.name), total=event.obj.size, completed=event.resumed_from
            )
        elif isinstance(event, FileProgress) and self._file is not None:
            progress.update(self._file, completed=event.done)
            if self._overall is not None:
                progress.update(self._overall, completed=self._base + event.done)
        elif isinstance(event, FileDone):
            self._base += event.bytes
            progress.console.print(escape(f"saved {event.path}"))
        elif isinstance(event, FileFailed):
            progress.console.print(
                f"[red]FAILED[/red] {escape(event.obj.name)}: {escape(event.error)}"
            )
        elif isinstance(event, SessionEnded):
            progress.stop()
            self._console.print(escape(summary_line(event.summary)))
