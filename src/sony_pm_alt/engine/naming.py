"""Where a downloaded file goes: path templates and free names.

A template is ``str.format`` text with named fields only (:data:`KNOWN_TOKENS`; what each one
gives: the README's "Naming templates"). ``/`` in the template's own text separates
directories; a token value never does. Date and time tokens come from the object's capture
time, else from the ``fallback_time`` passed to :meth:`Template.render` (the sync engine sets
the download time).
"""

from __future__ import annotations

import os
import re
import string
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path, PurePosixPath

from ..errors import TemplateError as TemplateError  # defined with every other error
from .model import CameraInfo, CameraObject
from .sanitize import MAX_COMPONENT_BYTES, UnsafeName, clean_text, safe_component, truncate_utf8

DEFAULT_TEMPLATE = "{year}/{year}-{month}-{day}/{filename}"

KNOWN_TOKENS: tuple[str, ...] = (
    "year", "month", "day", "hour", "minute", "second",
    "filename", "filename_lower", "stem", "stem_lower", "ext", "ext_lower",
    "model", "camera", "serial", "seq", "folder",
)  # fmt: skip

# A format spec such as ``{seq:>1000000000}`` would make every render allocate a gigabyte; no
# useful spec needs a number larger than one path component, so larger numbers are refused.
MAX_FORMAT_NUMBER = MAX_COMPONENT_BYTES

# unique_path tries ``name``, then ``name-1`` … ``name-MAX_UNIQUE_SUFFIX`` before giving up:
# ten thousand copies of one name means something is wrong, not that one more is wanted.
MAX_UNIQUE_SUFFIX = 10_000

_FORMATTER = string.Formatter()
_NUMBER = re.compile(r"\d+", re.ASCII)

# What a template is tried on when it is built. The sequence numbers span the range a session
# can reach so that a spec which fails only for some values (``{seq:c}``) fails here.
_SAMPLE_CAMERA = CameraInfo(model="ILCE-7M3", serial="3000123", name="Alpha")
_SAMPLE_FOLDER = "/store_00010001/DCIM/100MSDCF"
_SAMPLE_OBJECTS = (
    CameraObject(_SAMPLE_FOLDER, "DSC00001.JPG", 1, datetime(2024, 5, 1, 9, 8, 7), 0x3801),
    CameraObject(_SAMPLE_FOLDER, "C0001.MP4", 1, None, 0xB982),
)
_SAMPLE_SEQS = (0, 1, 2**31 - 1)
_SAMPLE_TIME = datetime(1999, 12, 31, 23, 59, 58)


# The range a memory card's FAT/exFAT file system (and DCF) can date a file in. A capture date
# outside it (0001-01-01 from a body whose clock was never set, 9999-12-31, …) is not a time
# Python or every file system can hold: the file time is clamped to it, while the state store
# keeps the camera's own text.
FILE_TIME_MIN = datetime(1980, 1, 1)
FILE_TIME_MAX = datetime(2107, 12, 31, 23, 59, 58)


def file_time(capture_time: datetime | None) -> float | None:
    """The modification time to give a downloaded file: the capture time (naive local time)
    clamped to :data:`FILE_TIME_MIN` … :data:`FILE_TIME_MAX`, as a POSIX timestamp."""
    if capture_time is None:
        return None
    return min(max(capture_time, FILE_TIME_MIN), FILE_TIME_MAX).timestamp()


def _values(
    obj: CameraObject, camera: CameraInfo, seq: int, fallback_time: datetime
) -> dict[str, str | int]:
    """Every token's value for one object, each string already cleaned of separators."""
    when = obj.capture_time if obj.capture_time is not None else fallback_time
    filename = clean_text(obj.name)
    stem, _, ext = filename.rpartition(".")
    if not stem or not ext:  # no dot, or a leading (.hidden) or trailing one: no extension
        stem, ext = filename, ""
    model = clean_text(camera.model)
    return {
        "year": f"{when.year:04d}",
        "month": f"{when.month:02d}",
        "day": f"{when.day:02d}",
        "hour": f"{when.hour:02d}",
        "minute": f"{when.minute:02d}",
        "second": f"{when.second:02d}",
        "filename": filename,
        "filename_lower": filename.lower(),
        "stem": stem,
        "stem_lower": stem.lower(),
        "ext": ext,
        "ext_lower": ext.lower(),
        "model": model,
        "camera": clean_text(camera.name) or model,
        "serial": clean_text(camera.serial),
        "seq": seq,
        "folder": clean_text(obj.folder.rstrip("/").rpartition("/")[2]),
    }


def _check_fields(text: str) -> None:
    """Refuse what ``str.format`` would accept but a template must not use."""
    known = ", ".join(f"{{{token}}}" for token in KNOWN_TOKENS)
    try:
        fields = list(_FORMATTER.parse(text))
    except ValueError as exc:  # "Single '}' encountered", "expected '}' before end of string"
        raise TemplateError(f"template {text!r} has unbalanced braces ({exc})") from None
    for _literal, field, spec, conversion in fields:
        if field is None:
            continue
        if field == "" or field.isdigit():
            raise TemplateError(
                f"template {text!r} has a positional field {{{field}}}; use named tokens: {known}"
            )
        if "." in field or "[" in field:
            raise TemplateError(
                f"template {text!r} uses attribute or index access in {{{field}}}; "
                f"only plain tokens are allowed: {known}"
            )
        if field not in KNOWN_TOKENS:
            raise TemplateError(f"unknown token {{{field}}} in template {text!r}; known: {known}")
        if conversion is not None:
            raise TemplateError(
                f"template {text!r} uses a conversion (!{conversion}) in {{{field}}}; "
                "conversions are not supported"
            )
        if spec and ("{" in spec or "}" in spec):
            raise TemplateError(
                f"template {text!r} nests a field in the format spec of {{{field}}}; "
                "format specs must be literal"
            )
        spec = spec or ""
        if "/" in spec or "\\" in spec or spec.endswith("c"):
            # A fill character or ``{seq:c}`` would let a format spec, and through it a token
            # value, decide where directory levels start.
            raise TemplateError(
                f"template {text!r} has format spec {spec!r} in {{{field}}}; a spec may not "
                "use '/' or '\\' as fill character or the 'c' type"
            )
        if spec and any(int(n) > MAX_FORMAT_NUMBER for n in _NUMBER.findall(spec)):
            raise TemplateError(
                f"template {text!r} has format spec {spec!r} in {{{field}}} with a number "
                f"above {MAX_FORMAT_NUMBER}"
            )


@dataclass(frozen=True, slots=True)
class Template:
    """A validated path template; see the module documentation for its tokens.

    ``Template(text)`` raises :class:`TemplateError` at once for an unknown token, positional
    fields, attribute or index access, conversions, unbalanced braces, a format spec that does
    not fit its token, an absolute template, an empty one (or one with an empty directory level
    such as ``a//b``), a template ending in ``/``, or ``.``/``..`` directory levels.
    """

    text: str

    def __post_init__(self) -> None:
        _check_fields(self.text)
        for obj in _SAMPLE_OBJECTS:
            for seq in _SAMPLE_SEQS:
                self._check_shape(self._format(_values(obj, _SAMPLE_CAMERA, seq, _SAMPLE_TIME)))

    def __repr__(self) -> str:
        return f"Template({self.text!r})"

    def _format(self, values: Mapping[str, str | int]) -> str:
        try:
            return self.text.format_map(values)
        except (ValueError, TypeError, OverflowError) as exc:
            raise TemplateError(f"template {self.text!r} cannot be rendered: {exc}") from None

    def _check_shape(self, rendered: str) -> None:
        """With every token non-empty, only the template's own text can make these mistakes."""
        text = self.text
        if not rendered:
            raise TemplateError(f"template {text!r} renders to an empty path")
        if text.startswith("/"):
            raise TemplateError(
                f"template {text!r} is absolute; it must be relative to the destination directory"
            )
        parts = rendered.split("/")
        if not parts[-1]:
            raise TemplateError(f"template {text!r} ends with '/'; it must end with a file name")
        for part in parts:
            if not part:
                raise TemplateError(f"template {text!r} has an empty directory level ('//')")
            if part.strip(" ") in (".", ".."):
                raise TemplateError(
                    f"template {text!r} has a {part.strip()!r} level; it must stay inside the "
                    "destination directory"
                )
        try:
            for part in parts:
                safe_component(part)
        except UnsafeName as exc:
            raise TemplateError(f"template {text!r} renders an unusable level: {exc}") from None

    def render(
        self, obj: CameraObject, camera: CameraInfo, seq: int, fallback_time: datetime
    ) -> PurePosixPath:
        """The relative path for ``obj``: components split on the template's ``/``, each made
        safe with :func:`~.sanitize.safe_component`.

        ``seq`` is the file's number in this session (``{seq}``); ``fallback_time`` supplies the
        date and time tokens when the object has no capture time (pass the download time).

        A directory level that renders empty because its tokens are empty (``{serial}`` for a
        body that reports no serial) is left out rather than creating a nameless folder. Raises
        :class:`~.sanitize.UnsafeName` when the file name renders empty or a level is refused
        (for instance a camera model ``..`` under ``{model}/…``).
        """
        rendered = self._format(_values(obj, camera, seq, fallback_time))
        parts = rendered.split("/")
        *directories, name = parts
        kept = [safe_component(part) for part in directories if part.strip(" ")]
        if not name.strip(" "):
            raise UnsafeName(
                f"refusing {obj.name!r}: template {self.text!r} renders an empty file name"
            )
        kept.append(safe_component(name))
        return PurePosixPath(*kept)


def unique_path(path: Path) -> Path:
    """The first of ``path``, ``stem-1.ext``, ``stem-2.ext`` … that does not exist yet.

    A dangling symlink counts as existing. The stem is shortened when a suffix would push the
    name past :data:`~.sanitize.MAX_COMPONENT_BYTES`. This only looks: another writer can take
    the name before the caller does, so create the file exclusively (``os.link``,
    ``O_EXCL``) and come back here on ``FileExistsError``. Gives up with ``FileExistsError``
    after ``stem-10000.ext``.
    """
    if not os.path.lexists(path):
        return path
    stem, suffix = path.stem, path.suffix
    for number in range(1, MAX_UNIQUE_SUFFIX + 1):
        name = f"{stem}-{number}{suffix}"
        if len(os.fsencode(name)) > MAX_COMPONENT_BYTES:
            tail = f"-{number}{suffix}"
            name = truncate_utf8(stem, MAX_COMPONENT_BYTES - len(os.fsencode(tail))) + tail
        candidate = path.with_name(name)
        if not os.path.lexists(candidate):
            return candidate
    raise FileExistsError(
        f"no free name beside {str(path)!r}: {path.name!r} and {MAX_UNIQUE_SUFFIX} numbered "
        "variants all exist"
    )
