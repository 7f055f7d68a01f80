"""Presentation of a sync: rich progress bars on a terminal, plain log lines otherwise."""

from __future__ import annotations

import json
import sys
import threading
from typing import TYPE_CHECKING, Any

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
from .engine.sanitize import clean_text
from .identity import GUID_HOWTO, NO_GUID, guid_configured

if TYPE_CHECKING:  # rich is imported by RichView only: JSON and plain output start faster
    from rich.console import Console
    from rich.progress import TaskID


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
    if summary.unlisted:
        text += f"; listing incomplete: {'; '.join(summary.unlisted)}"
    if summary.failed:
        text += f", {len(summary.failed)} failed (retried next time; camera left on)"
    elif summary.camera is not None and summary.powered_off:
        text += ", camera powered off"
    elif summary.camera is not None and summary.power_off_failed:
        # sent, but not answered as the profile asks: an older body may be off, a newer one on
        text += f", power-off not confirmed: {summary.camera_left_on}"
    elif summary.camera is not None and summary.camera_left_on:
        text += f", camera left on: {summary.camera_left_on}"
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
        "power_off_unconfirmed": summary.power_off_failed,
        "camera_left_on": summary.camera_left_on or None,
        "sending": summary.sending,
        "listing": summary.listing_method,
        "unlisted": summary.unlisted,
        "stopped": summary.stopped or None,
        "ok": summary.ok,
    }


def start_line(event: SessionStarted) -> str:
    if event.listing_method == "ftp":  # the camera pushes: nothing is listed or planned
        return f"{event.camera.name} ({event.camera.serial}): FTP uploads started"
    return (
        f"{event.camera.model} ({event.camera.serial}): {event.listed} files on the camera, "
        f"{event.planned} new ({_size(event.planned_bytes)}), listed by {event.listing_method}"
        + (", camera showing “Sending…”" if event.sending else "")
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
            if event.time_source:
                state += f", capture time from {event.time_source}"
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
            if event.time_source:
                record["time_source"] = event.time_source
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
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            DownloadColumn,
            Progress,
            TextColumn,
            TimeRemainingColumn,
            TransferSpeedColumn,
        )

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
        from rich.markup import escape

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


class WatchView:
    """What `sony-pm-alt watch` shows: concise lines on a terminal, JSON lines otherwise
    (structured logs for journald, Docker and log collectors)."""

    def __init__(self, terminal: bool, stream: Any = None) -> None:
        self._terminal = terminal
        self._out = stream or sys.stderr
        self._lock = threading.Lock()
        self.failures = 0

    def _say(self, text: str, **fields: Any) -> None:
        if self._terminal:  # names come from the LAN: no control characters on a terminal
            line = clean_text(text)
        else:
            line = json.dumps({"message": text, **fields}, default=str)
        # One write per line under a lock: a worker thread per camera reports here, and
        # print() writes the text and its newline separately, so lines could interleave.
        with self._lock:
            self._out.write(line + "\n")
            self._out.flush()

    def waiting(self, config: Any) -> None:
        where = config.discovery.interface or "all interfaces"
        self._say(f"waiting for cameras in Send to Computer mode on {where}", event="waiting")
        if not guid_configured(config):
            self._say(f"{NO_GUID}: cameras will be refused; {GUID_HOWTO}", event="warning")

    def __call__(self, event: Any) -> None:
        camera = event.camera
        who = f"{camera.model} at {camera.host}" if camera is not None else ""
        if event.kind == "found":
            self._say(
                f"{who}: found",
                event="found",
                host=camera.host,
                udn=camera.udn,
                serial=camera.serial,
                model=camera.model,
            )
        elif event.kind == "ignored":
            self._say(
                f"{who}: announced again, ignored ({event.detail})",
                event="ignored",
                host=camera.host,
                reason=event.detail,
            )
        elif event.kind == "sync":
            inner = event.detail
            if isinstance(inner, FileDone):
                source = {"time_source": inner.time_source} if inner.time_source else {}
                self._say(
                    f"{who}: saved {inner.path}"
                    + (f" (capture time from {inner.time_source})" if source else ""),
                    event="saved",
                    host=camera.host,
                    path=str(inner.path),
                    bytes=inner.bytes,
                    **source,
                )
            elif isinstance(inner, FileFailed):
                self._say(
                    f"{who}: FAILED {inner.obj.name}: {inner.error}",
                    event="file_failed",
                    host=camera.host,
                    file=inner.obj.name,
                    error=inner.error,
                )
            elif isinstance(inner, SessionStarted):
                self._say(
                    f"{who}: {start_line(inner)}",
                    event="session",
                    host=camera.host,
                    planned=inner.planned,
                    listing=inner.listing_method,
                )
        elif event.kind == "finished":
            summary = event.detail
            if not summary.ok:
                self.failures += 1
            stopped = f"; stopped: {summary.stopped}" if summary.stopped else ""
            self._say(
                f"{who}: {summary_line(summary)}{stopped}",
                event="finished",
                host=camera.host,
                **summary_json(summary),
            )
        elif event.kind == "failed":
            self.failures += 1
            self._say(
                f"{who}: {event.detail}", event="failed", host=camera.host, error=event.detail
            )
        elif event.kind == "cancelled":
            self._say(
                f"{who}: stopped mid-session; the rest follows next time",
                event="cancelled",
                host=camera.host,
            )
        elif event.kind == "stopped":
            self._say("stopped", event="stopped")
        elif event.kind == "ftp":
            host, port, tls = event.detail
            self._say(
                f"FTP receiver on {host}:{port}" + (f"; TLS: {tls}" if tls else "; TLS off"),
                event="ftp_listening",
                host=host,
                port=port,
                tls=tls,
            )
