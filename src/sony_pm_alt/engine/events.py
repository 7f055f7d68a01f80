"""What a sync reports while it runs, delivered to a callback or an iterator."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from .model import CameraInfo, CameraObject


@dataclass(frozen=True)
class SessionStarted:
    camera: CameraInfo
    listed: int
    planned: int
    planned_bytes: int
    listing_method: str
    sending: bool = False  # the camera answered OK to the profile's "Sending…" steps


@dataclass(frozen=True)
class FileStarted:
    obj: CameraObject
    path: Path
    index: int  # 1-based position in the plan
    resumed_from: int = 0


@dataclass(frozen=True)
class FileProgress:
    obj: CameraObject
    done: int
    total: int


@dataclass(frozen=True)
class FileDone:
    obj: CameraObject
    path: Path
    bytes: int
    seconds: float
    already_there: bool = False  # an identical file was already at the target name
    # Where the capture time used for naming came from (FTP uploads: exif, metadata, mfmt or
    # received); empty for PTP/IP downloads, whose times come from the camera's listing.
    time_source: str = ""


@dataclass(frozen=True)
class FileSkipped:
    obj: CameraObject
    reason: str


@dataclass(frozen=True)
class FileFailed:
    obj: CameraObject
    error: str


@dataclass(frozen=True)
class SyncSummary:
    camera: CameraInfo | None
    planned: int = 0
    transferred: int = 0
    bytes: int = 0
    seconds: float = 0.0
    skipped: int = 0
    failed: list[str] = field(default_factory=list)
    powered_off: bool = False  # only when every power-off step was answered OK
    listing_method: str = ""
    camera_left_on: str = ""  # why the camera was not (confirmed) powered off
    power_off_failed: bool = False  # the profile's power-off was due but not confirmed
    unlisted: list[str] = field(default_factory=list)  # what the listing could not vouch for
    sending: bool = False  # the camera answered OK to the profile's "Sending…" steps
    stopped: str = ""  # why the session stopped before its last file, if it did

    @property
    def ok(self) -> bool:
        """Every planned file is safe on disk and the listing was complete."""
        return not self.failed and not self.unlisted

    @property
    def rate(self) -> float:
        return self.bytes / self.seconds if self.seconds > 0 else 0.0


@dataclass(frozen=True)
class SessionEnded:
    summary: SyncSummary


SyncEvent = (
    SessionStarted | FileStarted | FileProgress | FileDone | FileSkipped | FileFailed | SessionEnded
)
