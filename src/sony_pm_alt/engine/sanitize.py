"""Turning untrusted names into safe local paths (docs/security.md).

Everything the camera says about a file arrives from a device we do not control, so none of it
may choose where a file lands: :func:`safe_component` makes one name one harmless path
component, :func:`contained_path` refuses any path that would land outside the destination
(symlinks included). Both raise :class:`UnsafeName`, whose one-line message names the input
with ``repr`` so that control characters stay visible in logs.
"""

from __future__ import annotations

import os
import unicodedata
from pathlib import Path, PurePosixPath

# ext4, XFS, btrfs and most Linux file systems limit one path component (not the whole path)
# to 255 bytes; we count UTF-8 bytes because that is how the name reaches the kernel.
MAX_COMPONENT_BYTES = 255

# An extension longer than this is not an extension but part of a long name: truncation keeps
# the last ``.xyz`` only when it is at most this long (camera extensions are 3-4 characters).
MAX_KEPT_EXTENSION_BYTES = 16

# clean_text's table: C0 controls (NUL included), DEL and the C1 controls (category Cc) go,
# lone surrogates (which cannot be stored as UTF-8) become U+FFFD, separators become "_".
_CLEAN: dict[int, str | None] = {
    **dict.fromkeys([*range(0x20), *range(0x7F, 0xA0)]),
    **dict.fromkeys(range(0xD800, 0xE000), "\ufffd"),
    ord("/"): "_",
    ord("\\"): "_",
}


class UnsafeName(ValueError):
    """A name or path from the camera (or rendered from a template) cannot be used safely."""


def clean_text(text: str) -> str:
    """The cleaning half of :func:`safe_component`, which never refuses and never truncates.

    Control characters are dropped, lone surrogates become U+FFFD, ``/`` and ``\\`` become
    ``_`` and the text is normalised to NFC. Used for token values before they are substituted
    into a template, so that a value can never add a directory level.
    """
    # NFC last, so that removing a control character between a letter and its accent cannot
    # leave a decomposed pair behind; NFC maps nothing onto a control character or a separator.
    return unicodedata.normalize("NFC", text.translate(_CLEAN))


def truncate_utf8(text: str, max_bytes: int) -> str:
    """The longest prefix of ``text`` whose UTF-8 encoding fits in ``max_bytes``.

    Never cuts a multi-byte character, and steps back over trailing combining marks so that a
    base letter does not lose its accent half-way (``e`` + U+0301 is dropped as a whole).
    """
    if max_bytes <= 0:
        return ""
    encoded = text.encode("utf-8")
    if len(encoded) <= max_bytes:
        return text
    prefix = encoded[:max_bytes].decode("utf-8", errors="ignore")
    cut = len(prefix)
    # When the first dropped character is a combining mark, its base character would keep
    # only part of its accents: drop the base (and the marks kept so far) too, unless that
    # would leave nothing, in which case a plain code point boundary has to do.
    if cut < len(text) and unicodedata.combining(text[cut]):
        back = cut
        while back > 0 and unicodedata.combining(text[back - 1]):
            back -= 1
        if back > 1:
            cut = back - 1
    return text[:cut]


def safe_component(name: str) -> str:
    """One untrusted name as one safe path component.

    Cleans with :func:`clean_text` (NFC, no control characters, separators become ``_``),
    strips leading spaces and trailing dots and spaces, and truncates to
    :data:`MAX_COMPONENT_BYTES` UTF-8 bytes, keeping a short extension (``.ARW``) intact.
    Leading dashes are kept: these paths never reach a shell or an argument list.

    Raises :class:`UnsafeName` when nothing usable is left: an empty name, ``.``, ``..`` or a
    name made only of dots and spaces (after cleaning).
    """
    cleaned = clean_text(name)
    if not cleaned:
        raise UnsafeName(f"refusing name {name!r}: empty once control characters are removed")
    if cleaned in (".", ".."):
        raise UnsafeName(f"refusing name {name!r}: it is a relative directory reference")
    if not cleaned.strip(". "):
        raise UnsafeName(f"refusing name {name!r}: it consists only of dots and spaces")
    result = unicodedata.normalize("NFC", cleaned.lstrip(" ").rstrip(". "))
    if len(result.encode("utf-8")) > MAX_COMPONENT_BYTES:
        result = _truncate_keeping_extension(result)
    return result


def _truncate_keeping_extension(name: str) -> str:
    stem, dot, ext = name.rpartition(".")
    ext = dot + ext  # ".JPG" kept; not .hidden (no stem) nor a long one; no trailing dot here
    if not stem or len(ext.encode("utf-8")) > MAX_KEPT_EXTENSION_BYTES:
        stem, ext = name, ""
    budget = MAX_COMPONENT_BYTES - len(ext.encode("utf-8"))
    while True:
        cut = truncate_utf8(stem, budget)
        if not ext:  # the cut is the end of the name: no trailing dots or spaces there
            cut = cut.rstrip(". ")
        # Re-normalising a cut string could in principle change its length: repeat until the
        # result is stable and fits.
        result = unicodedata.normalize("NFC", cut + ext)
        if len(result.encode("utf-8")) <= MAX_COMPONENT_BYTES:
            break
        budget -= 1
    if not result.strip(". "):
        raise UnsafeName(
            f"refusing name {name!r}: only dots and spaces are left after truncating it to "
            f"{MAX_COMPONENT_BYTES} bytes"
        )
    return result


def contained_path(root: Path, relative: PurePosixPath | str) -> Path:
    """``root`` joined with ``relative``, refusing anything that would not land inside ``root``.

    ``relative`` is what a template rendered (its components already passed through
    :func:`safe_component`); this is the last line of defence, so it checks again. Raises
    :class:`UnsafeName` for an absolute path, an empty path or empty component (``a//b``), a
    ``.`` or ``..`` component, a NUL byte, a component longer than :data:`MAX_COMPONENT_BYTES`,
    a lexically normalised result outside ``root``, and any existing path below ``root``
    (directories on the way, or the file itself) that is a symlink resolving outside ``root``.

    The result is ``root`` joined with the components, not resolved: the caller's spelling of
    ``root`` is kept. Symlinks inside ``root`` that stay inside it are allowed.
    """
    text = str(relative)
    if isinstance(relative, str) and not relative:
        raise UnsafeName("refusing an empty relative path")
    if text.startswith("/"):
        raise UnsafeName(f"refusing absolute path {text!r}: files must land under {str(root)!r}")
    parts = text.split("/")
    if parts == ["."]:
        raise UnsafeName("refusing an empty relative path")
    for part in parts:
        if not part:
            raise UnsafeName(f"refusing path {text!r}: it has an empty component")
        if part in (".", ".."):
            raise UnsafeName(f"refusing path {text!r}: it has a {part!r} component")
        if "\0" in part:
            raise UnsafeName(f"refusing path {text!r}: it contains a NUL byte")
        try:
            encoded = os.fsencode(part)
        except UnicodeEncodeError:
            raise UnsafeName(
                f"refusing path {text!r}: it cannot be encoded as a file name"
            ) from None
        if len(encoded) > MAX_COMPONENT_BYTES:
            raise UnsafeName(
                f"refusing path {text!r}: a component is longer than {MAX_COMPONENT_BYTES} bytes"
            )
    base = os.path.abspath(root)
    joined = os.path.normpath(os.path.join(base, *parts))
    if joined == base or os.path.commonpath([base, joined]) != base:
        raise UnsafeName(f"refusing path {text!r}: it does not stay inside {str(root)!r}")

    resolved_root = Path(base).resolve()
    current = Path(base)
    for part in parts:
        current = current / part
        if not os.path.lexists(current):
            break  # nothing below a missing component exists either
        try:
            target = current.resolve()
        except (OSError, RuntimeError) as exc:  # a symlink loop (RuntimeError before 3.13)
            raise UnsafeName(
                f"refusing path {text!r}: cannot resolve {str(current)!r}: {exc}"
            ) from exc
        if not target.is_relative_to(resolved_root):
            raise UnsafeName(
                f"refusing path {text!r}: {str(current)!r} is a symlink leading outside "
                f"{str(root)!r}"
            )
    return Path(root).joinpath(*parts)
