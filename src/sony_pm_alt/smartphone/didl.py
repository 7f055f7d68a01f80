"""What a Browse page holds: containers to descend into and pictures with their URLs (sans-IO).

DIDL-Lite is parsed with defusedxml, not python-didl-lite, which silently drops objects of a
``upnp:class`` it does not know (``docs/smartphone.md``). How the original and the preview are
chosen: ``docs/smartphone.md``, step 5.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import PurePosixPath
from xml.etree.ElementTree import Element, ParseError

import defusedxml
import defusedxml.ElementTree

from ..engine.model import RAW_EXTENSIONS
from .http import PhoneError

# The real limit is the camera's card; this bounds a hostile list (and our memory) instead.
MAX_OBJECTS = 100_000
_PROFILE_RANK = {"JPEG_LRG": 3, "JPEG_MED": 2, "JPEG_SM": 1, "JPEG_TN": 0}
# Capture dates outside these years are junk (a camera clock never set, or a hostile answer).
_YEARS = range(1990, 2200)


@dataclass(frozen=True)
class Res:
    url: str
    size: int | None
    profile: str
    pixels: int


@dataclass(frozen=True)
class PhoneItem:
    """One picture as the camera lists it; ``title`` is untrusted (the template sanitises)."""

    object_id: str
    title: str
    taken: datetime | None
    original: Res | None  # None: RAW, only previews exist in this mode
    preview: Res | None  # the largest JPEG preview


@dataclass(frozen=True)
class Page:
    containers: list[str]
    items: list[PhoneItem]


def _int(text: object) -> int | None:
    try:
        value = int(str(text))
    except ValueError:
        return None
    return value if 0 <= value < 1 << 63 else None


def _pixels(resolution: object) -> int:
    width, _, height = str(resolution or "").partition("x")
    w, h = _int(width), _int(height)
    return w * h if w is not None and h is not None else 0


def parse_date(text: object) -> datetime | None:
    """``dc:date`` as naive local time (the camera's clock), or None when unusable."""
    if not isinstance(text, str) or len(text) > 64:
        return None
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        return None
    return moment.replace(tzinfo=None) if moment.year in _YEARS else None


DIDL = "{urn:schemas-upnp-org:metadata-1-0/DIDL-Lite/}"
DC = "{http://purl.org/dc/elements/1.1/}"


def _res(element: Element) -> Res:
    info = element.get("protocolInfo") or ""
    profile = info.rpartition("DLNA.ORG_PN=")[2].split(";")[0] if "DLNA.ORG_PN=" in info else ""
    return Res(
        url=(element.text or "").strip(),
        size=_int(element.get("size")),  # absent or not a number: None
        profile=profile,
        pixels=_pixels(element.get("resolution")),
    )


def _item(element: Element) -> PhoneItem:
    resources = [r for r in (_res(e) for e in element.iter(f"{DIDL}res")) if r.url]
    title = element.findtext(f"{DC}title") or ""
    raw = PurePosixPath(title).suffix.lower() in RAW_EXTENSIONS
    sized = [r for r in resources if r.size is not None and r.size > 0]
    original = None if raw or not sized else max(sized, key=lambda r: r.size or 0)
    previews = [r for r in resources if r is not original and r.profile.startswith("JPEG_")]
    preview = (
        max(previews, key=lambda r: (_PROFILE_RANK.get(r.profile, -1), r.pixels, r.size or 0))
        if previews
        else None
    )
    taken = parse_date(element.findtext(f"{DC}date"))
    return PhoneItem(element.get("id") or "", title, taken, original, preview)


def parse_page(result: str) -> Page:
    """Parse a Browse ``Result``; raise :class:`PhoneError` for XML we refuse or cannot read."""
    try:
        root = defusedxml.ElementTree.fromstring(result, forbid_dtd=True)
    except defusedxml.DefusedXmlException as exc:
        raise PhoneError(f"refusing the camera's listing: forbidden XML ({exc})") from None
    except (ParseError, ValueError, LookupError) as exc:
        raise PhoneError(f"the camera's listing is not well-formed DIDL-Lite: {exc}") from None
    if root.tag != f"{DIDL}DIDL-Lite":
        raise PhoneError(f"the camera's listing is {root.tag[:60]!r}, not DIDL-Lite")
    containers = [e.get("id") or "" for e in root.findall(f"{DIDL}container")]
    items = [_item(e) for e in root.findall(f"{DIDL}item")]
    return Page([c for c in containers if c], items)
