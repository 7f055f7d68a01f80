"""The memory card: a directory tree served as one PTP storage.

Folders become associations, files become objects with a format from their extension, a size
and a capture time from their modification time. Nothing is read until an object is
downloaded, and then only the requested range (see :class:`FileSlice`).
"""

from __future__ import annotations

import logging
import os
import stat
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path

from ..ptpip.codes import AssociationType, ObjectFormat
from ..ptpip.datasets import ObjectInfo
from ..ptpip.primitives import format_datetime

log = logging.getLogger("sony_pm_alt.emulator.card")

# Sony handles look like 0x00040000 (folder) and 0x00040005 (file) in real logs.
HANDLE_BASE = 0x00040000
# A PTP String holds at most 254 UTF-16 units plus the NUL.
MAX_NAME_UNITS = 254

FORMAT_BY_EXTENSION: dict[str, int] = {
    ".jpg": ObjectFormat.EXIF_JPEG,
    ".jpeg": ObjectFormat.EXIF_JPEG,
    ".arw": ObjectFormat.SONY_ARW,
    ".hif": ObjectFormat.SONY_HEIF,
    ".heif": ObjectFormat.SONY_HEIF,
    ".mpo": ObjectFormat.SONY_MPO,
    ".mp4": ObjectFormat.MTP_MP4,
    ".mts": ObjectFormat.MPEG,
    ".m2ts": ObjectFormat.MPEG,
    ".mpg": ObjectFormat.MPEG,
    ".mov": ObjectFormat.QUICKTIME,
    ".3gp": ObjectFormat.MTP_3GP,
    ".txt": ObjectFormat.TEXT,
}

# What the hostile-names fault reports files as (faults.py), in card order, cycling. Each is
# still a valid PTP String (1–254 UTF-16 units, no NUL); each breaks a naive "join the camera's
# name onto a folder": traversal, absolute paths, Windows separators, a terminal escape, a tab,
# dot names, a name near the length limit, a combining accent (NFD "café") and a leading space.
HOSTILE_NAMES: tuple[str, ...] = (
    "../../escape.JPG",
    "/etc/passwd.JPG",
    "..\\..\\win.JPG",
    "a/b/c.JPG",
    "\x1b[31mred.JPG",
    "tab\tname.JPG",
    "..JPG",
    ".",
    "..",
    "x" * 240 + ".JPG",
    "cafe\u0301.JPG",
    " .JPG",
)


# What the bad-dates fault reports as capture dates (faults.py), in card order, cycling: a body
# whose clock was never set, the far end of the format, and text that is no date at all.
BAD_DATES: tuple[str, ...] = (
    "00010101T000000",
    "99991231T235959",
    "garbage, not a date",
    "20241399T996161",
    "00000000T000000",
)


@dataclass(frozen=True, slots=True)
class CardObject:
    handle: int
    parent: int  # 0 = root of the storage
    name: str
    location: str  # the file's path (a Path costs more to build than the rest of the scan)
    is_folder: bool
    size: int
    mtime: float
    alias: str | None = None  # reported instead of ``name`` (the hostile-names fault)
    date_text: str | None = None  # reported as the capture date (the bad-dates fault)
    size_skew: int = 0  # added to the reported size, not the data (listing-size-mismatch)

    @property
    def path(self) -> Path:
        return Path(self.location)

    @property
    def reported_size(self) -> int:
        """The size the listing reports: ObjectInfo and ObjectSize (0xDC04)."""
        return max(0, self.size + self.size_skew)

    @property
    def reported_name(self) -> str:
        """The name the camera reports: ObjectInfo Filename and ObjectFileName (0xDC07)."""
        return self.name if self.alias is None else self.alias

    @property
    def object_format(self) -> int:
        if self.is_folder:
            return ObjectFormat.ASSOCIATION
        dot = self.name.rfind(".")  # Path.suffix: none for ".jpg" or "x.", ".jpg" for "..jpg"
        suffix = self.name[dot:] if 0 < dot < len(self.name) - 1 else ""
        return FORMAT_BY_EXTENSION.get(suffix.lower(), ObjectFormat.UNDEFINED)

    @property
    def capture_date(self) -> str:
        """PTP DateTime in local time; folders carry none, as on a Sony body."""
        if self.is_folder:
            return ""
        if self.date_text is not None:
            return self.date_text
        return format_datetime(datetime.fromtimestamp(self.mtime))

    def object_info(self, storage_id: int) -> ObjectInfo:
        # ObjectCompressedSize is 32-bit; 0xFFFFFFFF means "4 GiB or more, ask ObjectSize".
        compressed = 0 if self.is_folder else min(self.reported_size, 0xFFFFFFFF)
        return ObjectInfo(
            storage_id=storage_id,
            object_format=self.object_format,
            protection_status=0,
            compressed_size=compressed,
            parent_object=self.parent,
            association_type=AssociationType.GENERIC_FOLDER if self.is_folder else 0,
            filename=self.reported_name,
            capture_date=self.capture_date,
            modification_date=self.capture_date,
        )


@dataclass(frozen=True, slots=True)
class FileSlice:
    """Bytes of a card file to stream without loading them: ``length`` bytes from ``offset``."""

    path: Path
    offset: int
    length: int


def _encodable(name: str) -> bool:
    try:
        units = len(name.encode("utf-16-le", errors="strict")) // 2
    except UnicodeEncodeError:  # undecodable bytes in the on-disk name (surrogate escapes)
        return False
    return 0 < units <= MAX_NAME_UNITS and "\x00" not in name


class Card:
    """A snapshot of a directory tree. Rescan (``Card.scan``) to see changes on disk."""

    def __init__(self, objects: list[CardObject]) -> None:
        self._objects = {o.handle: o for o in objects}
        self._children: dict[int, list[int]] = {}
        for o in objects:
            self._children.setdefault(o.parent, []).append(o.handle)

    @classmethod
    def scan(cls, root: Path) -> Card:
        """Walk ``root`` in name order. Symlinks and special files are skipped: a card holds
        neither, and following links could serve files from outside the card."""
        root = root.resolve()
        if not root.is_dir():
            raise FileNotFoundError(f"card directory {root} does not exist or is not a directory")
        objects: list[CardObject] = []

        def walk(directory: Path, parent: int) -> None:
            try:
                entries = sorted(os.scandir(directory), key=lambda e: e.name)
            except OSError as exc:
                log.warning("card: cannot list %s: %s", directory, exc)
                return
            for entry in entries:
                st = entry.stat(follow_symlinks=False)
                if not (stat.S_ISDIR(st.st_mode) or stat.S_ISREG(st.st_mode)):
                    log.info("card: skipping %s (not a regular file or folder)", entry.path)
                    continue
                if not _encodable(entry.name):
                    log.warning(
                        "card: skipping %r: name not representable as a PTP string", entry.path
                    )
                    continue
                is_dir = stat.S_ISDIR(st.st_mode)
                handle = HANDLE_BASE + len(objects)
                objects.append(
                    CardObject(
                        handle,
                        parent,
                        entry.name,
                        entry.path,
                        is_dir,
                        0 if is_dir else st.st_size,
                        st.st_mtime,
                    )
                )
                if is_dir:
                    walk(Path(entry.path), handle)

        walk(root, 0)
        return cls(objects)

    def with_hostile_names(self) -> Card:
        """The same card, its files reported under :data:`HOSTILE_NAMES` in card (handle)
        order, cycling; folders keep their names and every file keeps its data."""
        return self._files_replaced(
            lambda obj, n: replace(obj, alias=HOSTILE_NAMES[n % len(HOSTILE_NAMES)])
        )

    def with_bad_dates(self) -> Card:
        """The same card, its files dated :data:`BAD_DATES` in card order, cycling."""
        return self._files_replaced(
            lambda obj, n: replace(obj, date_text=BAD_DATES[n % len(BAD_DATES)])
        )

    def with_size_skew(self, skew: int) -> Card:
        """The same card, each file listed ``skew`` bytes larger (or smaller) than its data."""
        return self._files_replaced(lambda obj, n: replace(obj, size_skew=skew))

    def _files_replaced(self, change: Callable[[CardObject, int], CardObject]) -> Card:
        objects, files = [], 0
        for obj in self:
            if not obj.is_folder:
                obj = change(obj, files)
                files += 1
            objects.append(obj)
        return Card(objects)

    def __len__(self) -> int:
        return len(self._objects)

    def __iter__(self) -> Iterator[CardObject]:
        return iter(self._objects.values())

    def get(self, handle: int) -> CardObject | None:
        return self._objects.get(handle)

    def children(self, parent: int) -> list[CardObject]:
        return [self._objects[h] for h in self._children.get(parent, [])]

    def subtree(self, handle: int) -> list[CardObject]:
        """Every object below ``handle`` (0 = the whole card), parents before children."""
        out: list[CardObject] = []
        stack = list(reversed(self.children(handle)))
        while stack:
            obj = stack.pop()
            out.append(obj)
            stack.extend(reversed(self.children(obj.handle)))
        return out
