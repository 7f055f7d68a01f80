"""The capture time from a JPEG's first bytes, for items the camera lists without a usable
``dc:date``: the EXIF block sits in the APP1 segment right after the start of the file, so the
head of the download is enough (sans-IO: bytes in, a time or None out)."""

from __future__ import annotations

from datetime import datetime

from PIL import Image

HEAD_BYTES = 128 * 1024  # APP1 is at most 64 KiB; room for an APP0/JFIF before it
_DATE_TIME_ORIGINAL = 0x9003
_DATE_TIME = 0x0132
_EXIF_IFD = 0x8769
_YEARS = range(1990, 2200)


def _app1(head: bytes) -> bytes | None:
    """The EXIF APP1 payload, walking the JPEG markers from the start (bounded by ``head``)."""
    if not head.startswith(b"\xff\xd8"):
        return None
    at = 2
    while at + 4 <= len(head) and head[at] == 0xFF:
        marker = head[at + 1]
        length = int.from_bytes(head[at + 2 : at + 4], "big")
        if marker in (0xDA, 0xD9) or length < 2:  # image data or the end: no EXIF before it
            return None
        payload = head[at + 4 : at + 2 + length]
        if marker == 0xE1 and payload.startswith(b"Exif\x00\x00"):
            return payload
        at += 2 + length
    return None


def exif_capture_time(head: bytes) -> datetime | None:
    payload = _app1(head)
    if payload is None:
        return None
    exif = Image.Exif()
    try:
        exif.load(payload)
        text = exif.get_ifd(_EXIF_IFD).get(_DATE_TIME_ORIGINAL) or exif.get(_DATE_TIME)
        moment = datetime.strptime(str(text).strip("\x00 "), "%Y:%m:%d %H:%M:%S")
    except (ValueError, TypeError, OSError, SyntaxError, KeyError, IndexError):
        return None
    return moment if moment.year in _YEARS else None
