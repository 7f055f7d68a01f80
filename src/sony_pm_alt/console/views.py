"""The views of a sync: rich progress bars on a terminal, plain lines otherwise, JSON lines
for scripts (``--json``)."""

from __future__ import annotations

import json
import sys
from typing import TYPE_CHECKING, Any

from ..engine.events import (
    FileDone,
    FileFailed,
    FileProgress,
    FileStarted,
    SessionEnded,
    SessionStarted,
    SyncEvent,
)
from .records import sync_record
from .text import sentence, shown, start_line, summary_line

if TYPE_CHECKING:  # rich is imported by RichView only: JSON and plain output start faster
    from rich.console import Console
    from rich.progress import TaskID


class PlainView:
    """One line per event that matters, for logs and pipes (standard error by default)."""

    def __init__(self, stream: Any = None) -> None:
        self._out = stream or sys.stderr

    def __call__(self, event: SyncEvent) -> None:
        if isinstance(event, FileStarted):
            return  # the start of a file gets no plain line, resumed or not
        line = sentence(event)
        if line:
            print(line, file=self._out, flush=True)


class JsonView:
    """JSON lines on standard output, one record per event (console.records)."""

    def __call__(self, event: SyncEvent) -> None:
        record = sync_record(event)
        if record is not None:
            print(json.dumps(record), flush=True)


class RichView:
    """Overall and per-file progress bars with rate and ETA, for a terminal."""

    def __init__(self, console: Console | None = None) -> None:
        from rich import progress as bars
        from rich.console import Console

        self._console = console or Console(stderr=True)
        self._progress = bars.Progress(
            bars.TextColumn("{task.description}"),
            bars.BarColumn(),
            bars.DownloadColumn(),
            bars.TransferSpeedColumn(),
            bars.TimeRemainingColumn(),
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
                escape(shown(event.obj.name)), total=event.obj.size, completed=event.resumed_from
            )
        elif isinstance(event, FileProgress) and self._file is not None:
            progress.update(self._file, completed=event.done)
            if self._overall is not None:
                progress.update(self._overall, completed=self._base + event.done)
        elif isinstance(event, FileDone):
            self._base += event.bytes
            progress.console.print(escape(f"saved {shown(str(event.path))}"))
        elif isinstance(event, FileFailed):
            progress.console.print(
                f"[red]FAILED[/red] {escape(shown(event.obj.name))}: {escape(shown(event.error))}"
            )
        elif isinstance(event, SessionEnded):
            progress.stop()
            self._console.print(escape(summary_line(event.summary)))
