"""Which camera files a sync considers at all: by extension, by kind, by capture date."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import TypeVar

from .model import CameraObject, Kind

# Every spelling ``Filters.parse`` accepts for a kind: the enum value and its plural.
KIND_NAMES: dict[str, Kind] = {
    **{kind.value: kind for kind in Kind},
    **{kind.value + "s": kind for kind in Kind},
}

_EXTENSION = re.compile(r"[a-z0-9_+-]+")
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}", re.ASCII)
_DATE_FORMAT = "YYYY-MM-DD, e.g. 2024-05-01"
T = TypeVar("T")


def _normalise_extension(text: str) -> str:
    return text.strip().lower().removeprefix("*").removeprefix(".")


@dataclass(frozen=True)
class Filters:
    """What to consider; every empty field means "no constraint", so ``Filters()`` accepts all.

    ``extensions`` are lower case without the dot (``{"jpg", "arw"}``; other spellings given
    here are normalised). ``kinds`` selects by :class:`~.model.Kind`. ``since`` and ``until``
    bound the capture date, both inclusive. An object without a capture time passes the date
    filter only when neither bound is set: a file of unknown date is not in any date range.
    """

    extensions: frozenset[str] = frozenset()
    kinds: frozenset[Kind] = frozenset()
    since: date | None = None
    until: date | None = None

    def __post_init__(self) -> None:
        object.__setattr__(
            self, "extensions", frozenset(_normalise_extension(e) for e in self.extensions)
        )
        object.__setattr__(self, "kinds", frozenset(self.kinds))
        if self.since is not None and self.until is not None and self.since > self.until:
            raise ValueError(
                f"since {self.since.isoformat()} is after until {self.until.isoformat()}: "
                "no file could match"
            )

    def accepts(self, obj: CameraObject) -> bool:
        """Whether ``obj`` passes every filter."""
        if self.extensions and obj.extension.lower().removeprefix(".") not in self.extensions:
            return False
        if self.kinds and obj.kind not in self.kinds:
            return False
        if self.since is None and self.until is None:
            return True
        if obj.capture_time is None:
            return False
        day = obj.capture_time.date()
        if self.since is not None and day < self.since:
            return False
        return self.until is None or day <= self.until

    @classmethod
    def parse(
        cls, extensions: str | None, kinds: str | None, since: str | None, until: str | None
    ) -> Filters:
        """Filters from command-line text; ``None`` or blank text means "no constraint".

        ``extensions``: comma-separated, case and a leading ``.`` or ``*.`` ignored
        (``"jpg,arw"``, ``".JPG"``). ``kinds``: comma-separated ``photo``, ``raw``, ``video``,
        ``other``, singular or plural (``"photos,videos,raw"``). ``since``/``until``:
        ``YYYY-MM-DD``. Raises ``ValueError`` with a one-line message for anything else, or
        when ``since`` is after ``until``.
        """
        return cls(
            extensions=_parse_list(extensions, _extension, "file extension", "jpg,arw"),
            kinds=_parse_list(kinds, _kind, "kind", "photos,raw"),
            since=_parse_date("since", since),
            until=_parse_date("until", until),
        )


def _parse_list(text: str | None, item_of: Callable[[str], T], noun: str, eg: str) -> frozenset[T]:
    if text is None or not text.strip():
        return frozenset()
    items = [item.strip() for item in text.split(",") if item.strip()]
    if not items:
        raise ValueError(f"no {noun} in {text!r}; expected a list such as {eg!r}")
    return frozenset(item_of(item) for item in items)


def _extension(item: str) -> str:
    extension = _normalise_extension(item)
    if not _EXTENSION.fullmatch(extension):
        raise ValueError(f"{item!r} is not a file extension; expected a list such as 'jpg,arw'")
    return extension


def _kind(item: str) -> Kind:
    kind = KIND_NAMES.get(item.lower())
    if kind is None:
        known = ", ".join(kind.value for kind in Kind)
        raise ValueError(f"unknown kind {item!r}; known kinds: {known} (plural forms work too)")
    return kind


def _parse_date(label: str, text: str | None) -> date | None:
    if text is None or not text.strip():
        return None
    stripped = text.strip()
    if not _ISO_DATE.fullmatch(stripped):
        raise ValueError(f"bad {label} date {text!r}: expected {_DATE_FORMAT}")
    try:
        return date.fromisoformat(stripped)
    except ValueError as exc:
        raise ValueError(f"bad {label} date {text!r} ({exc}): expected {_DATE_FORMAT}") from None
