"""PTP primitive types: little-endian integers, Strings, arrays and DateTime strings.

:class:`Reader` decodes from untrusted bytes and turns every overrun, hostile count or bad
UTF-16 into :class:`~sony_pm_alt.ptpip.errors.MalformedDataset` (or
:class:`~sony_pm_alt.ptpip.errors.LimitExceeded`); :class:`Writer` builds the same encodings
and raises ``ValueError`` for values the caller should never have passed.
"""

from __future__ import annotations

import codecs
import datetime
import struct
from collections.abc import Callable, Sequence
from typing import Self

from .errors import LimitExceeded, MalformedDataset

__all__ = [
    "MAX_ARRAY_COUNT",
    "MAX_STRING_UNITS",
    "Reader",
    "Writer",
    "encode_string",
    "format_datetime",
    "parse_datetime",
]

# No real card holds more than about a million objects, so no genuine handle, storage or code
# array comes near this; the cap keeps a hostile count from costing memory (a Python tuple of
# 2**20 ints is already ~40 MB).
MAX_ARRAY_COUNT = 1 << 20

# A PTP String's NumChars is a u8 that counts the terminating NUL: at most 254 characters.
MAX_STRING_UNITS = 254

# Integer kinds: sign (u or i), then width in bits -> (size in bytes, signed).
_KINDS = {
    f"{sign}{bits}": (bits // 8, sign == "i") for sign in "ui" for bits in (8, 16, 32, 64, 128)
}


def _reads(kind: str) -> Callable[..., int]:
    """The :class:`Reader` method for an integer of ``kind``, with an optional ``field`` name
    for error messages."""
    size, signed = _KINDS[kind]

    def read(self: Reader, field: str | None = None) -> int:
        return int.from_bytes(self._take(size, field or kind), "little", signed=signed)

    return read


class Reader:
    """Bounds-checked little-endian reader over one dataset.

    ``what`` names the dataset in error messages ("ObjectInfo: Filename truncated …"); each read
    method takes an optional ``field`` name for the same purpose. Every read past the end raises
    :class:`MalformedDataset`; nothing raises ``IndexError`` or ``struct.error``.
    """

    __slots__ = ("_data", "_offset", "what")

    def __init__(self, data: bytes | bytearray | memoryview, what: str = "dataset") -> None:
        self._data = bytes(data)  # a private copy: a caller's bytearray may change under us
        self._offset = 0
        self.what = what

    @property
    def remaining(self) -> int:
        """Bytes not read yet."""
        return len(self._data) - self._offset

    @property
    def offset(self) -> int:
        """Bytes read so far."""
        return self._offset

    def _malformed(self, message: str) -> MalformedDataset:
        return MalformedDataset(f"{self.what}: {message}")

    def _take(self, n: int, field: str) -> bytes:
        if n > self.remaining:
            raise self._malformed(
                f"{field} truncated at offset {self._offset}: "
                f"needs {n} bytes, {self.remaining} left"
            )
        start = self._offset
        self._offset += n
        return self._data[start : self._offset]

    u8 = _reads("u8")
    u16 = _reads("u16")
    u32 = _reads("u32")
    u64 = _reads("u64")
    u128 = _reads("u128")
    i8 = _reads("i8")
    i16 = _reads("i16")
    i32 = _reads("i32")
    i64 = _reads("i64")
    i128 = _reads("i128")

    def raw(self, n: int, field: str = "bytes") -> bytes:
        """The next ``n`` bytes; ``n`` < 0 is a caller bug (``ValueError``)."""
        if n < 0:
            raise ValueError(f"raw() length must be >= 0, got {n}")
        return self._take(n, field)

    def rest(self) -> bytes:
        """Everything not read yet (possibly ``b""``); the reader is then at the end."""
        return self._take(self.remaining, "rest")

    def string(self, field: str = "String") -> str:
        """A PTP String: ``u8 NumChars`` (counting the NUL) then NumChars UTF-16LE units.

        NumChars 0 is the empty string. The text ends at the first NUL unit, and a missing final
        NUL is tolerated (as libgphoto2 does). NumChars beyond the data or invalid UTF-16 (a
        lone surrogate) raise :class:`MalformedDataset`.
        """
        num_chars = self.u8(f"{field} length")
        if num_chars * 2 > self.remaining:
            raise self._malformed(
                f"{field} claims {num_chars} UTF-16 units at offset {self._offset}, "
                f"only {self.remaining} bytes left"
            )
        units = self._take(num_chars * 2, field)
        end = _first_nul_unit(units)
        try:
            return units[:end].decode("utf-16-le")
        except UnicodeDecodeError:
            raise self._malformed(f"{field} is invalid UTF-16") from None

    def _array(self, field: str, code: str, size: int) -> tuple[int, ...]:
        count = self.u32(f"{field} count")
        # Check against the real data first so a hostile count never allocates anything.
        if count * size > self.remaining:
            raise self._malformed(
                f"{field} count {count} needs {count * size} bytes, only {self.remaining} left"
            )
        if count > MAX_ARRAY_COUNT:
            raise LimitExceeded(
                f"{self.what}: {field} has {count} elements, more than {MAX_ARRAY_COUNT}"
            )
        return struct.unpack(f"<{count}{code}", self._take(count * size, field))

    def array_u16(self, field: str = "array") -> tuple[int, ...]:
        """A PTP Array of u16: ``u32 Count`` then Count elements.

        A count the remaining bytes cannot hold raises :class:`MalformedDataset`; a count above
        :data:`MAX_ARRAY_COUNT` raises :class:`LimitExceeded`.
        """
        return self._array(field, "H", 2)

    def array_u32(self, field: str = "array") -> tuple[int, ...]:
        """A PTP Array of u32; hostile counts are rejected as in :meth:`array_u16`."""
        return self._array(field, "I", 4)


def _first_nul_unit(units: bytes) -> int:
    """Byte index of the first all-zero UTF-16 unit (an even index), or ``len(units)``."""
    index = units.find(b"\x00\x00")
    while index != -1 and index % 2:
        index = units.find(b"\x00\x00", index + 1)
    return len(units) if index == -1 else index


def _pack(kind: str, value: int) -> bytes:
    size, signed = _KINDS[kind]
    try:
        return int.to_bytes(value, size, "little", signed=signed)
    except (OverflowError, TypeError):
        raise ValueError(f"{value!r} does not fit in {kind}") from None


def _writes(kind: str) -> Callable[[Writer, int], Writer]:
    """The :class:`Writer` method for an integer of ``kind`` (see :func:`_reads`)."""

    def write(self: Writer, value: int) -> Writer:
        return self._append(_pack(kind, value))

    return write


class Writer:
    """Builds a PTP dataset; every method returns the writer so calls chain.

    Out-of-range integers, over-long strings and strings with NUL raise ``ValueError``: they
    are caller bugs, not protocol errors.
    """

    __slots__ = ("_buf",)

    def __init__(self) -> None:
        self._buf = bytearray()

    def getvalue(self) -> bytes:
        """The bytes written so far."""
        return bytes(self._buf)

    def _append(self, data: bytes) -> Self:
        self._buf += data
        return self

    u8 = _writes("u8")
    u16 = _writes("u16")
    u32 = _writes("u32")
    u64 = _writes("u64")
    u128 = _writes("u128")
    i8 = _writes("i8")
    i16 = _writes("i16")
    i32 = _writes("i32")
    i64 = _writes("i64")
    i128 = _writes("i128")

    def raw(self, data: bytes | bytearray | memoryview) -> Self:
        return self._append(bytes(data))

    def string(self, text: str) -> Self:
        """Append a PTP String; see :func:`encode_string`."""
        return self._append(encode_string(text))

    def _array(self, kind: str, values: Sequence[int]) -> Self:
        # Pack everything before appending so a bad element leaves the writer unchanged.
        packed = _pack("u32", len(values)) + b"".join(_pack(kind, v) for v in values)
        return self._append(packed)

    def array_u16(self, values: Sequence[int]) -> Self:
        return self._array("u16", values)

    def array_u32(self, values: Sequence[int]) -> Self:
        return self._array("u32", values)


def encode_string(text: str) -> bytes:
    """Encode a PTP String: ``u8 NumChars`` (incl. NUL) + UTF-16LE units + a NUL unit.

    The empty string is the single byte ``00``. Text longer than 254 UTF-16 units (astral
    characters count as two), text containing NUL and lone surrogates raise ``ValueError``.
    """
    if not text:
        return b"\x00"
    if "\x00" in text:
        raise ValueError(f"PTP String cannot contain NUL: {text!r}")
    try:
        encoded = codecs.utf_16_le_encode(text, "strict")[0]  # text.encode() without lookup
    except UnicodeEncodeError:
        raise ValueError(f"PTP String is not valid Unicode (lone surrogate?): {text!r}") from None
    units = len(encoded) // 2
    if units > MAX_STRING_UNITS:
        raise ValueError(f"PTP String has {units} UTF-16 units, at most {MAX_STRING_UNITS} fit")
    return b"".join((_NUM_CHARS[units + 1], encoded, b"\x00\x00"))


_NUM_CHARS = tuple(bytes((n,)) for n in range(MAX_STRING_UNITS + 2))  # u8 NumChars, prebuilt


def format_datetime(dt: datetime.datetime) -> str:
    """``YYYYMMDDThhmmss`` from the wall-clock fields of ``dt``.

    No zone suffix is written and any ``tzinfo`` is ignored (not converted): PTP cameras and
    gphoto2 treat the string as local time. Microseconds are dropped.
    """
    # isoformat() pads the year to four digits too, and is faster than six format specs
    # (the emulator writes one date per file of a whole-card listing).
    return dt.isoformat(timespec="seconds")[:19].replace("-", "").replace(":", "")


# gphoto2 copies the string into a 40-byte buffer and gives up on anything that does not fit.
_GPHOTO2_MAX_DATETIME_CHARS = 39


def parse_datetime(text: str) -> datetime.datetime | None:
    """Parse a PTP DateTime the way libgphoto2 does; ``None`` means "no date".

    Year = chars 0-3, month 4-5, day 6-7, hour 9-10, minute 11-12, second 13-14; char 8 (the
    ``T``) and any suffix (tenths ``.s``, ``Z``, ``±hhmm``) are ignored, so the result is a
    naive datetime of the camera's wall clock. Strings shorter than 15 or longer than 39
    characters (gphoto2's buffer), non-digit fields and out-of-range values give ``None``;
    this function never raises.
    """
    if not 15 <= len(text) <= _GPHOTO2_MAX_DATETIME_CHARS:
        return None
    digits = text[0:8] + text[9:15]  # one check for all six fields: a listing has thousands
    if not (digits.isascii() and digits.isdigit()) or digits[8:10] >= "24":
        return None
    # fromisoformat reads exactly these 14 digits (ISO 8601 basic format) and range-checks
    # them as datetime() does, ten times faster than six int() calls; the hour is checked
    # above because newer Pythons read 24:00:00 as the next midnight.
    try:
        return datetime.datetime.fromisoformat(f"{digits[:8]}T{digits[8:]}")
    except ValueError:
        return None
