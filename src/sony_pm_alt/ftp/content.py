"""What an upload's own bytes say: is it whole, and when was it taken (docs/ftp.md, "The
pipeline" steps 3 and 4, and "Capture time of a HEIF").

FTP has no length for an upload: a client that closes early looks like one that finished, so
the formats a Sony body sends are checked for their own end. Every reader here reads a few
headers with seeks: memory stays flat for any size.
"""

from __future__ import annotations

import logging
import struct
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, BinaryIO

log = logging.getLogger("sony_pm_alt.ftp")

_MP4_EPOCH = datetime(1904, 1, 1, tzinfo=UTC)
# A hostile TIFF can chain IFDs in a loop or declare millions of entries; real ARWs have a
# handful of IFDs with fewer than a hundred entries each.
MAX_IFDS = 32
MAX_IFD_ENTRIES = 1024
MAX_BOXES = 100_000
# HEIF: a photo has a handful of items (image, thumbnail, Exif, XMP; a grid a few hundred
# tiles); its EXIF is tens of kilobytes.
MAX_ITEMS = 4096
MAX_EXIF_BYTES = 1 << 20
# ISO/IEC 23008-12: every HEIF image file lists one of these as a compatible brand.
HEIF_BRANDS = frozenset({b"mif1", b"msf1"})

_EXIF_IFD = 0x8769
_DATETIME_ORIGINAL = 0x9003
_DATETIME = 0x0132


class Incomplete(ValueError):
    """The file ends before its own structure does: the upload was cut short."""


def _kind(head: bytes) -> str:
    if head[:3] == b"\xff\xd8\xff":
        return "jpeg"
    if head[:4] in (b"II*\x00", b"MM\x00*"):
        return "tiff"
    if head[4:8] == b"ftyp":
        return "mp4"
    return ""


def _is_heif(f: BinaryIO) -> bool:
    f.seek(0)
    length, kind = struct.unpack(">I4s", f.read(8))
    if kind != b"ftyp" or not 16 <= length <= 4096:
        return False
    brands = f.read(length - 8)
    names = {brands[i : i + 4] for i in range(0, len(brands), 4)} - {brands[4:8]}  # not minor
    return bool(names & HEIF_BRANDS)


def check_complete(path: Path) -> str:
    """Raise :class:`Incomplete` when the file is cut short; return the format checked
    (``jpeg``, ``tiff``, ``heif``, ``mp4``) or ``""`` when it is none of them (not checkable)."""
    size = path.stat().st_size
    with path.open("rb") as f:
        kind = _kind(f.read(12))
        if kind == "jpeg":
            f.seek(max(0, size - 2))
            if f.read(2) != b"\xff\xd9":
                raise Incomplete("the JPEG does not end with its end-of-image marker")
        elif kind == "mp4":
            _boxes(f, 0, size)
            if _is_heif(f):
                return "heif"
        elif kind == "tiff":
            _check_tiff(f, size)
    return kind


def _boxes(f: BinaryIO, start: int, end: int) -> list[tuple[bytes, int, int]]:
    """(type, payload offset, box end) of the boxes from ``start`` to ``end``."""
    boxes: list[tuple[bytes, int, int]] = []
    offset = start
    while offset < end:
        if len(boxes) >= MAX_BOXES:
            raise Incomplete(f"more than {MAX_BOXES} boxes")
        f.seek(offset)
        header = f.read(16)
        if len(header) < 8:
            raise Incomplete(f"a box header at {offset} is cut short")
        length, kind = struct.unpack(">I4s", header[:8])
        payload = offset + 8
        if length == 1:
            if len(header) < 16:
                raise Incomplete(f"a box header at {offset} is cut short")
            length = struct.unpack(">Q", header[8:16])[0]
            payload = offset + 16
        elif length == 0:
            length = end - offset
        if length < payload - offset:
            raise Incomplete(f"a box at {offset} declares an impossible length {length}")
        boxes.append((kind, payload, offset + length))
        offset += length
    if offset != end:
        raise Incomplete(f"the last box ends at {offset}, the file at {end}")
    return boxes


def _check_tiff(f: BinaryIO, size: int) -> None:
    f.seek(0)
    order = "<" if f.read(2) == b"II" else ">"
    f.seek(4)
    todo = [struct.unpack(order + "I", f.read(4))[0]]
    seen: set[int] = set()
    while todo:
        ifd = todo.pop()
        if ifd == 0 or ifd in seen:
            continue
        if len(seen) >= MAX_IFDS:
            raise Incomplete(f"more than {MAX_IFDS} IFDs")
        seen.add(ifd)
        if ifd + 2 > size:
            raise Incomplete(f"an IFD at {ifd} lies beyond the end ({size})")
        f.seek(ifd)
        (count,) = struct.unpack(order + "H", f.read(2))
        if count > MAX_IFD_ENTRIES or ifd + 2 + 12 * count + 4 > size:
            raise Incomplete(f"the IFD at {ifd} is cut short")
        entries = f.read(12 * count)
        (next_ifd,) = struct.unpack(order + "I", f.read(4))
        todo.append(next_ifd)
        tags: dict[int, list[int]] = {}
        for i in range(count):
            tag, typ, n = struct.unpack(order + "HHI", entries[12 * i : 12 * i + 8])
            width = {3: 2, 4: 4, 13: 4}.get(typ)
            if width is None or n == 0 or n > 65536:
                continue
            raw = entries[12 * i + 8 : 12 * i + 12]
            if width * n > 4:
                (where,) = struct.unpack(order + "I", raw)
                if where + width * n > size:
                    raise Incomplete(f"tag {tag:#x} points beyond the end ({size})")
                f.seek(where)
                raw = f.read(width * n)
            fmt = order + ("H" if width == 2 else "I") * n
            tags[tag] = list(struct.unpack(fmt, raw[: width * n]))
        for offsets, counts in ((0x0111, 0x0117), (0x0201, 0x0202)):
            for start, length in zip(tags.get(offsets, []), tags.get(counts, []), strict=False):
                if start + length > size:
                    raise Incomplete(f"image data at {start}+{length} lies beyond the end ({size})")
        todo.extend(tags.get(0x014A, []))  # SubIFDs: the raw data of an ARW


def capture_time(path: Path) -> datetime | None:
    """The capture time the file records (naive local time, as the camera's clock), or None."""
    try:
        with path.open("rb") as f:
            kind = _kind(f.read(12))
            if kind == "mp4":
                if _is_heif(f):
                    return _heif_time(f, path.stat().st_size)
                return _mp4_time(f, path.stat().st_size)
        return _exif_time(path)
    except Exception as exc:  # hostile or unusual files: no capture time, never a failure
        log.debug("no capture time in %s: %s", path, exc)
        return None


def _exif_time(path: Path) -> datetime | None:
    from PIL import Image

    with Image.open(path) as image:  # lazy: reads headers, never decodes pixels here
        return _exif_datetime(image.getexif())


def _heif_time(f: BinaryIO, size: int) -> datetime | None:
    payload = _heif_exif(f, size)
    if payload is None or len(payload) < 4:
        return None
    from PIL import Image

    (skip,) = struct.unpack(">I", payload[:4])  # exif_tiff_header_offset
    exif = Image.Exif()
    exif.load(payload[4 + skip :])
    return _exif_datetime(exif)


def _heif_exif(f: BinaryIO, size: int) -> bytes | None:
    """The payload of a HEIF's ``Exif`` item (ISO/IEC 14496-12 8.11: ``meta`` holds ``iinf``,
    which names each item's type, and ``iloc``, which says where its bytes are)."""
    meta = next(((p, e) for kind, p, e in _boxes(f, 0, size) if kind == b"meta"), None)
    if meta is None:
        return None
    children = {kind: (p, e) for kind, p, e in _boxes(f, meta[0] + 4, meta[1])}  # full box
    if b"iinf" not in children or b"iloc" not in children:
        return None
    item = _exif_item(f, *children[b"iinf"])
    if item is None:
        return None
    extents = _item_extents(f, *children[b"iloc"], item)
    if not extents or sum(n for _, n in extents) > MAX_EXIF_BYTES:
        return None
    data = b""
    for offset, length in extents:
        if offset + length > size:
            return None
        f.seek(offset)
        data += f.read(length)
    return data


def _exif_item(f: BinaryIO, start: int, end: int) -> int | None:
    f.seek(start)
    version = f.read(4)[0]
    count_size = 2 if version == 0 else 4
    (count,) = struct.unpack(">H" if count_size == 2 else ">I", f.read(count_size))
    if count > MAX_ITEMS:
        return None
    for kind, payload, _end in _boxes(f, start + 4 + count_size, end):
        if kind != b"infe":
            continue
        f.seek(payload)
        head = f.read(12)
        if head[0] == 2:
            item, item_type = struct.unpack(">H2x4s", head[4:12])
        elif head[0] == 3:
            (item,) = struct.unpack(">I", head[4:8])
            f.seek(payload + 10)
            item_type = f.read(4)
        else:  # versions 0 and 1 have no item type
            continue
        if item_type == b"Exif":
            return int(item)
    return None


def _item_extents(f: BinaryIO, start: int, end: int, wanted: int) -> list[tuple[int, int]]:
    """(file offset, length) of each extent of item ``wanted``; [] when it has none in the
    file itself (construction methods 1 and 2 point into ``idat`` or other items)."""
    f.seek(start)
    version = f.read(4)[0]
    sizes = f.read(2)
    offset_size, length_size = sizes[0] >> 4, sizes[0] & 15
    base_size, index_size = sizes[1] >> 4, (sizes[1] & 15 if version in (1, 2) else 0)
    if any(n not in (0, 4, 8) for n in (offset_size, length_size, base_size, index_size)):
        raise Incomplete("an iloc box with impossible field sizes")
    wide = version == 2
    (count,) = struct.unpack(">I" if wide else ">H", f.read(4 if wide else 2))
    if count > MAX_ITEMS:
        return []

    def number(width: int) -> int:
        return int.from_bytes(f.read(width), "big") if width else 0

    for _ in range(count):
        if f.tell() >= end:
            break
        item = number(4 if wide else 2)
        method = number(2) & 15 if version in (1, 2) else 0
        number(2)  # data_reference_index: 0, this file
        base = number(base_size)
        extents = []
        for _ in range(min(number(2), MAX_ITEMS)):
            number(index_size)
            extents.append((base + number(offset_size), number(length_size)))
        if item == wanted:
            return extents if method == 0 else []
    return []


def _exif_datetime(exif: Any) -> datetime | None:
    text = exif.get_ifd(_EXIF_IFD).get(_DATETIME_ORIGINAL) or exif.get(_DATETIME)
    if not isinstance(text, str):
        return None
    try:
        when = datetime.strptime(text.strip("\x00 ")[:19], "%Y:%m:%d %H:%M:%S")
    except ValueError:
        return None
    return when if 1990 <= when.year <= 2100 else None


def _mp4_time(f: BinaryIO, size: int) -> datetime | None:
    for kind, payload, end in _boxes(f, 0, size):
        if kind != b"moov":
            continue
        for inner, start, _end in _boxes(f, payload, end):
            if inner != b"mvhd":
                continue
            f.seek(start)
            version = f.read(1)
            f.seek(start + 4)
            if version == b"\x01":
                (seconds,) = struct.unpack(">Q", f.read(8))
            else:
                (seconds,) = struct.unpack(">I", f.read(4))
            if seconds == 0:
                return None
            # mvhd holds UTC; the engine's capture times are the camera's local time.
            when = (_MP4_EPOCH + timedelta(seconds=seconds)).astimezone().replace(tzinfo=None)
            return when if 1990 <= when.year <= 2100 else None
    return None
