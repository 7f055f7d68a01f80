"""The engine's vocabulary: what the camera holds and what a sync decides and does."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum
from pathlib import PurePosixPath
from typing import TYPE_CHECKING, Any, Protocol

from ..ptpip.codes import ObjectFormat

if TYPE_CHECKING:
    from ..native import TransactionResult

RAW_EXTENSIONS = frozenset({".arw", ".srf", ".sr2", ".dng"})
VIDEO_EXTENSIONS = frozenset({".mp4", ".mts", ".m2ts", ".mov", ".avi", ".3gp", ".xavc"})
VIDEO_FORMATS = frozenset(
    {ObjectFormat.MTP_MP4, ObjectFormat.MPEG, ObjectFormat.QUICKTIME, ObjectFormat.MTP_3GP}
)


class Kind(Enum):
    PHOTO = "photo"
    RAW = "raw"
    VIDEO = "video"
    OTHER = "other"


@dataclass(frozen=True)
class CameraInfo:
    """Who the camera is: its identity key for the state store is the serial number (or the
    UDN when a body reports no serial)."""

    model: str
    serial: str
    manufacturer: str = "Sony Corporation"
    name: str = ""  # friendly name, e.g. from the UPnP description

    @property
    def key(self) -> str:
        return self.serial or self.name or self.model


@dataclass(frozen=True)
class CameraObject:
    """One file on the camera, as the listing found it.

    ``folder`` is libgphoto2's folder path (``/store_00010001/DCIM/100MSDCF``) and ``name`` the
    file name exactly as the camera sent it (untrusted: see ``engine.sanitize``). ``size`` is
    the true 64-bit size; ``capture_time`` is naive local time, or None when the camera gave no
    usable date.
    """

    folder: str
    name: str
    size: int
    capture_time: datetime | None
    object_format: int
    handle: int = 0  # PTP object handle (0 when unknown, e.g. from the fallback listing)
    # The capture date text as the camera sent it, kept even when unusable (not part of equality).
    camera_date: str = field(default="", compare=False)

    @property
    def extension(self) -> str:
        return PurePosixPath(self.name).suffix

    @property
    def kind(self) -> Kind:
        ext = self.extension.lower()
        if ext in RAW_EXTENSIONS or self.object_format == ObjectFormat.SONY_ARW:
            return Kind.RAW
        if ext in VIDEO_EXTENSIONS or self.object_format in VIDEO_FORMATS:
            return Kind.VIDEO
        if ext in (".jpg", ".jpeg", ".hif", ".heif", ".heic", ".mpo") or self.object_format in (
            ObjectFormat.EXIF_JPEG, ObjectFormat.JFIF, ObjectFormat.SONY_HEIF, ObjectFormat.SONY_MPO
        ):  # fmt: skip
            return Kind.PHOTO
        return Kind.OTHER

    @property
    def key(self) -> tuple[str, str, int, str]:
        """What identifies a file across sessions: (folder, name, size, capture time)."""
        stamp = self.capture_time.isoformat() if self.capture_time else ""
        return (self.folder, self.name, self.size, stamp)


class Transport(Protocol):
    """Raw PTP transactions on one open connection: :class:`sony_pm_alt.native.Transport`
    with the native layer, a fake in tests (``tests/fakes.py``)."""

    def transaction(
        self,
        opcode: int,
        params: Sequence[int] = (),
        data: bytes | None = None,
        *,
        data_in: bool = False,
        check: bool = True,
        into: memoryview | None = None,
    ) -> TransactionResult:
        """One operation; with ``check`` a failure raises (``errors.raise_for_response``);
        data-in goes ``into`` that buffer when given (``length`` says how much came)."""


class Connection(Protocol):
    """An open connection as the listing reads it: raw transactions when the native layer is
    in use, python-gphoto2's ``Camera`` (``camera``) always."""

    @property
    def uses_native_layer(self) -> bool: ...

    @property
    def camera(self) -> Any: ...

    def transport(self) -> Transport: ...
