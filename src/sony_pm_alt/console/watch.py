"""What ``sony-pm-alt watch`` shows, on standard output: one readable line per event on a
terminal, otherwise JSON lines and nothing else — log records (warnings, errors) included, as
``log`` records, so that journald, Docker and log collectors get one structured stream."""

from __future__ import annotations

import json
import logging
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, cast

from ..identity import GUID_HOWTO, NO_GUID, guid_configured
from .records import Record, log_record, waiting_record, watch_record

if TYPE_CHECKING:
    from ..config import Config
    from ..engine.events import SyncSummary
    from ..watcher import WatchEvent

log = logging.getLogger("sony_pm_alt.watch")


class WatchView:
    """Reports of a watcher (and of the smartphone watcher beside it), from any thread."""

    def __init__(self, terminal: bool, stream: Any = None) -> None:
        self._terminal = terminal
        self._out = stream or sys.stdout
        self._lock = threading.Lock()
        self.failures = 0

    def _write(self, record: Record) -> None:
        line = record["message"] if self._terminal else json.dumps(record, default=str)
        # One write per line under a lock: a worker thread per camera reports here, and
        # print() writes the text and its newline separately, so lines could interleave.
        with self._lock:
            self._out.write(line + "\n")
            self._out.flush()

    def waiting(self, config: Config) -> None:
        self._write(waiting_record(config.discovery.interface))
        if not guid_configured(config):
            log.warning("%s: cameras will be refused; %s", NO_GUID, GUID_HOWTO)

    def __call__(self, event: WatchEvent) -> None:
        if event.kind == "failed" or (
            event.kind == "finished" and not cast("SyncSummary", event.detail).ok
        ):
            self.failures += 1
        record = watch_record(event)
        if record is not None:
            self._write(record)

    @contextmanager
    def logs_as_records(self) -> Iterator[None]:
        """Off a terminal, log records become ``log`` records among the events while this is
        entered (the root logger's handlers are set aside); on a terminal they stay plain
        lines on standard error."""
        if self._terminal:
            yield
            return
        root = logging.getLogger()
        kept = root.handlers[:]
        handler = _RecordHandler(self)
        root.handlers[:] = [handler]
        try:
            yield
        finally:
            root.handlers[:] = kept


class _RecordHandler(logging.Handler):
    def __init__(self, view: WatchView) -> None:
        super().__init__()
        self._view = view

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self._view._write(log_record(record))
        except Exception:  # a log line must never take a worker down
            self.handleError(record)
