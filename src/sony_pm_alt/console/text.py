"""What we say about each event, in words: one sentence per event for every view.

Names, models, serials and error texts come from the camera or the LAN (untrusted), so each
one is passed through :func:`shown` where it enters a sentence — never the whole sentence, whose
own parts (our paths, rates such as ``52.8 MB/s``) must keep their ``/``.
"""

from __future__ import annotations

import re

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
from ..engine.model import CameraObject

# C0 and C1 controls (ESC starts a terminal escape sequence) and the bidirectional overrides
# and isolates, which can make a name read backwards on a terminal ("Trojan Source").
_UNSHOWABLE = re.compile("[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
_SURROGATE = re.compile("[\ud800-\udfff]")


def shown(text: str) -> str:
    """``text`` from the camera or the LAN, safe to print on a terminal: control and
    bidirectional-override characters dropped, lone surrogates as U+FFFD; ``/`` is kept."""
    return _SURROGATE.sub("\ufffd", _UNSHOWABLE.sub("", text))


def size(n: float) -> str:
    """A byte count in SI units, spelled as rich's progress bars spell them (kB, MB, GB)."""
    for unit in ("B", "kB", "MB", "GB"):
        if n < 1000:
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n:.1f} TB"


def file_name(obj: CameraObject) -> str:
    """The camera's folder and name of a file, as shown (the JSON ``file`` field is raw)."""
    return shown(f"{obj.folder}/{obj.name}")


def start_line(event: SessionStarted) -> str:
    camera = event.camera
    if event.listing_method == "ftp":  # the camera pushes: nothing is listed or planned
        return f"{shown(camera.name)} ({shown(camera.serial)}): FTP uploads started"
    return (
        f"{shown(camera.model)} ({shown(camera.serial)}): {event.listed} files on the camera, "
        f"{event.planned} new ({size(event.planned_bytes)}), listed by {event.listing_method}"
        + (", camera showing “Sending…”" if event.sending else "")
    )


def summary_line(summary: SyncSummary) -> str:
    text = (
        f"{summary.transferred} of {summary.planned} files, {size(summary.bytes)} in "
        f"{summary.seconds:.2f} s ({size(summary.rate)}/s)"
    )
    if summary.skipped:
        text += f", {summary.skipped} skipped"
    if summary.unlisted:
        text += f"; listing incomplete: {shown('; '.join(summary.unlisted))}"
    if summary.failed:
        text += f", {len(summary.failed)} failed (retried next time; camera left on)"
    elif summary.camera is not None and summary.powered_off:
        text += ", camera powered off"
    elif summary.camera is not None and summary.power_off_failed:
        # sent, but not answered as the profile asks: an older body may be off, a newer one on
        text += f", power-off not confirmed: {shown(summary.camera_left_on)}"
    elif summary.camera is not None and summary.camera_left_on:
        text += f", camera left on: {shown(summary.camera_left_on)}"
    return text


def saved_line(event: FileDone) -> str:
    state = "already there" if event.already_there else size(event.bytes)
    if event.time_source:
        state += f", capture time from {event.time_source}"
    return f"saved {shown(str(event.path))} ({state})"


def sentence(event: SyncEvent) -> str | None:
    """The one line that tells a person about ``event``; None for progress and for the start
    of a file that is not resumed (a bar shows those, a line would be noise)."""
    if isinstance(event, SessionStarted):
        return start_line(event)
    if isinstance(event, FileStarted) and event.resumed_from:
        return f"resuming {file_name(event.obj)} from {size(event.resumed_from)}"
    if isinstance(event, FileDone):
        return saved_line(event)
    if isinstance(event, FileSkipped):
        return f"skipped {file_name(event.obj)}: {shown(event.reason)}"
    if isinstance(event, FileFailed):
        return f"FAILED {file_name(event.obj)}: {shown(event.error)}"
    if isinstance(event, SessionEnded):
        return summary_line(event.summary)
    return None
