"""One JSON shape for every event: the lines of ``sync --json``, ``watch`` (off a terminal),
``receive-ftp --json`` and ``smartphone --json``. README "JSON lines" documents each record
(``event``, ``message``, and raw values in the other fields); a test holds the two together."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, cast

from ..engine.events import (
    FileDone,
    FileFailed,
    FileSkipped,
    FileStarted,
    SessionEnded,
    SessionStarted,
    SyncEvent,
    SyncSummary,
)
from ..engine.model import CameraInfo, CameraObject
from .text import sentence, shown, summary_line

if TYPE_CHECKING:
    from ..discovery import DiscoveredCamera
    from ..engine.state import SessionRecord, Transfer
    from ..watcher import WatchEvent

Record = dict[str, Any]


def _file(obj: CameraObject) -> str:
    return f"{obj.folder}/{obj.name}"


def _camera(camera: CameraInfo | None) -> dict[str, str] | None:
    return None if camera is None else {"model": camera.model, "serial": camera.serial}


def summary_fields(summary: SyncSummary) -> Record:
    """What a session confirmed: the fields of a ``summary`` record."""
    return {
        "camera": _camera(summary.camera),
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


def summary_message(summary: SyncSummary) -> str:
    """The summary line, and why the session stopped early if it did."""
    stopped = f"; stopped: {shown(summary.stopped)}" if summary.stopped else ""
    return summary_line(summary) + stopped


def _fields(event: SyncEvent) -> tuple[str, Record] | None:
    if isinstance(event, SessionStarted):
        return "session", {
            "camera": _camera(event.camera),
            "listed": event.listed,
            "planned": event.planned,
            "planned_bytes": event.planned_bytes,
            "listing": event.listing_method,
            "sending": event.sending,
        }
    if isinstance(event, FileStarted) and event.resumed_from:
        return "resumed", {
            "file": _file(event.obj),
            "path": str(event.path),
            "from": event.resumed_from,
        }
    if isinstance(event, FileDone):
        return "saved", {
            "file": _file(event.obj),
            "path": str(event.path),
            "bytes": event.bytes,
            "seconds": round(event.seconds, 3),
            "already_there": event.already_there,
            "time_source": event.time_source or None,
        }
    if isinstance(event, FileSkipped):
        obj = event.obj
        return "skipped", {
            "file": _file(obj),
            "size": obj.size,
            "reason": event.reason,
            "capture_time": obj.capture_time.isoformat() if obj.capture_time else None,
        }
    if isinstance(event, FileFailed):
        return "failed", {"file": _file(event.obj), "error": event.error}
    if isinstance(event, SessionEnded):
        return "summary", summary_fields(event.summary)
    return None  # FileProgress, and FileStarted not resumed: bars show them, not lines


def sync_record(event: SyncEvent) -> Record | None:
    """The record of one sync event, or None for those that get no line (progress, and the
    start of a file that is not resumed)."""
    found = _fields(event)
    if found is None:
        return None
    name, fields = found
    message = summary_message(event.summary) if isinstance(event, SessionEnded) else sentence(event)
    return {"event": name, "message": message or "", **fields}


def watch_record(event: WatchEvent) -> Record | None:
    """The record of one thing ``watch`` reports; the sync events of a camera's session are
    the records of :func:`sync_record` with the camera's ``host`` added."""
    camera, kind, detail = event.camera, event.kind, event.detail
    who = f"{shown(camera.model)} at {shown(camera.host)}: " if camera is not None else ""
    host: Record = {"host": camera.host} if camera is not None else {}
    # a session's SessionEnded gets no record: the worker's "finished" carries the summary, once
    if kind == "sync" and not isinstance(detail, SessionEnded):
        inner = sync_record(cast("SyncEvent", detail))
        return None if inner is None else {**inner, "message": who + inner["message"], **host}
    if kind == "finished":
        summary = cast("SyncSummary", detail)
        message = who + summary_message(summary)
        return {"event": "summary", "message": message, **host, **summary_fields(summary)}
    if kind == "found" and camera is not None:
        found = {"udn": camera.udn, "serial": camera.serial, "model": camera.model}
        return {"event": "found", "message": f"{who}found", **host, **found}
    if kind == "ignored":
        message = f"{who}announced again, ignored ({detail})"
        return {"event": "ignored", "message": message, **host, "reason": str(detail)}
    if kind == "failed":
        error = str(detail)
        return {"event": "session_failed", "message": who + shown(error), **host, "error": error}
    if kind == "cancelled":
        message = f"{who}stopped mid-session; the rest follows next time"
        return {"event": "cancelled", "message": message, **host}
    if kind == "stopped":
        return {"event": "stopped", "message": "stopped"}
    if kind == "ftp":
        address, port, tls = cast("tuple[str, int, str]", detail)
        return ftp_listening_record(address, port, tls)
    return None  # "started": the session's own "session" record follows


def ftp_listening_record(host: str, port: int, tls: str, users: str = "") -> Record:
    """The FTP receiver is listening (``watch`` with [ftp] enabled, ``receive-ftp``)."""
    message = f"FTP receiver on {host}:{port}" + (f" for {users}" if users else "")
    message += f"; TLS: {tls}" if tls else "; TLS off"
    return {
        "event": "ftp_listening",
        "message": message,
        "host": host,
        "port": port,
        "tls": tls or None,
    }


def transfer_end_record(sent: bool, root: str, missing: list[str]) -> Record:
    """The end of a ``smartphone`` import: ``sent`` when the camera confirmed X_TransferEnd."""
    message = (
        "the camera confirmed X_TransferEnd and left the transfer mode"
        if sent
        else f"the camera stays in the transfer mode: {len(missing)} file(s) missing"
    )
    return {
        "event": "transfer_end",
        "message": message,
        "sent": sent,
        "root": root,
        "missing": missing,
    }


def waiting_record(interface: str | None) -> Record:
    where = interface or "all interfaces"
    return {
        "event": "waiting",
        "message": f"waiting for cameras in Send to Computer mode on {where}",
        "interface": interface,
    }


def log_record(record: logging.LogRecord) -> Record:
    """A log record (a warning, an error) as a line of its own among the events."""
    line: Record = {
        "event": "log",
        "message": shown(record.getMessage()),
        "level": record.levelname.lower(),
        "logger": record.name,
    }
    if record.exc_info and record.exc_info[1] is not None:
        line["exception"] = logging.Formatter().formatException(record.exc_info)
    return line


# --- the JSON arrays of `discover --json` and `history --json` (one object per row) ---------


def camera_row(camera: DiscoveredCamera) -> Record:
    return {
        "host": camera.host,
        "model": camera.model,
        "friendly_name": camera.friendly_name,
        "udn": camera.udn,
        "serial": camera.serial,
        "location": camera.location,
    }


def transfer_row(transfer: Transfer) -> Record:
    return {
        "camera": transfer.camera,
        "folder": transfer.folder,
        "name": transfer.name,
        "size": transfer.size,
        "path": transfer.path,
        "transferred_at": transfer.transferred_at.isoformat(),
        "camera_date": transfer.camera_date,
    }


def session_row(session: SessionRecord) -> Record:
    return {
        "id": session.id,
        "camera": session.camera,
        "model": session.model,
        "started_at": session.started_at.isoformat(),
        "ended_at": session.ended_at.isoformat() if session.ended_at else None,
        "planned": session.planned,
        "transferred": session.transferred,
        "failed": session.failed,
        "bytes": session.bytes,
        "result": session.result,
    }
