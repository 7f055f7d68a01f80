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
    powered_off: bool = False
    listing_method: str = ""
    stopped: str = ""  # why the session stopped before its last file, if it did

    @property
    def ok(self) -> bool:
        """Every planned file is safe on disk."""
        return not self.failed

    @property
    def rate(self) -> float:
        return self.bytes / self.seconds if self.seconds > 0 else 0.0


@dataclass(frozen=True)
class SessionEnded:
    summary: SyncSummary


SyncEvent = (
    SessionStarted | FileStarted | FileProgress | FileDone | FileSkipped | FileFailed | SessionEnded
)
