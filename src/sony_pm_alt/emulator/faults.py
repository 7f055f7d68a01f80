"""Fault injection for reliability tests: how the emulated camera misbehaves on purpose.

Spelled on the command line as ``--fault KIND=VALUE`` (repeatable); every kind and what it
does: the README's "Emulator faults" table.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from typing import Any

# What the oversize and endless faults send beyond the object's bytes: easy to spot in a file.
FILLER = 0xEE
MAX_OVERSIZE = 1 << 30  # enough to overrun any buffer, small enough to send


KINDS = (
    "drop-after-bytes", "drop-at", "latency", "busy-first", "refuse-init", "hostile-names",
    "folder-cycle", "huge-counts", "bad-dates", "listing-size-mismatch", "busy-open-session",
    "oversize-data", "undersize-data", "endless-data", "lying-length", "stale-reply",
    "refuse-push-root", "missing-scpd", "gone-file", "drop-handshake",
)  # fmt: skip


class FaultSpecError(ValueError):
    """A ``--fault`` value that cannot be understood."""


@dataclass(frozen=True)
class Faults:
    drop_after_bytes: int | None = None
    drop_at: tuple[int, int] | None = None  # (opcode, k-th occurrence, 1-based)
    latency_all: float = 0.0
    latency: dict[int, float] = field(default_factory=dict)
    busy_first: int = 0
    refuse_init: int | None = None
    hostile_names: bool = False
    folder_cycle: bool = False
    huge_counts: bool = False
    bad_dates: bool = False
    listing_size_mismatch: int = 0
    refuse_push_root: bool = False
    missing_scpd: bool = False
    gone_file: int = 0
    busy_open_session: int = 0
    oversize_data: int = 0
    undersize_data: int = 0
    endless_data: bool = False
    lying_length: int = 0
    stale_reply: bool = False
    drop_handshake: bool = False

    def latency_for(self, opcode: int) -> float:
        return self.latency.get(opcode, self.latency_all)


NO_FAULTS = Faults()


def _int(text: str, what: str) -> int:
    try:
        value = int(text, 0)
    except ValueError:
        raise FaultSpecError(f"{what}: {text!r} is not a number") from None
    if value < 0:
        raise FaultSpecError(f"{what}: {text!r} must not be negative")
    return value


def _float(text: str, what: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise FaultSpecError(f"{what}: {text!r} is not a number of seconds") from None
    if not 0 <= value <= 3600:
        raise FaultSpecError(f"{what}: {value} s is outside 0–3600 s")
    return value


def _flag(text: str, what: str) -> bool:
    if text not in ("0", "1"):
        raise FaultSpecError(f"{what}: expected 1 (on) or 0 (off), got {text!r}")
    return text == "1"


# Faults whose value is a plain flag (0/1) or count (≥ 0): kind → (Faults field, parser).
_SIMPLE: dict[str, tuple[str, Callable[[str, str], Any]]] = {
    "drop-after-bytes": ("drop_after_bytes", _int),
    "busy-first": ("busy_first", _int),
    "hostile-names": ("hostile_names", _flag),
    "folder-cycle": ("folder_cycle", _flag),
    "huge-counts": ("huge_counts", _flag),
    "bad-dates": ("bad_dates", _flag),
    "refuse-push-root": ("refuse_push_root", _flag),
    "missing-scpd": ("missing_scpd", _flag),
    "gone-file": ("gone_file", _int),
    "busy-open-session": ("busy_open_session", _int),
    "undersize-data": ("undersize_data", _int),
    "endless-data": ("endless_data", _flag),
    "stale-reply": ("stale_reply", _flag),
    "drop-handshake": ("drop_handshake", _flag),
}


def parse_faults(specs: Iterable[str]) -> Faults:
    """Build :class:`Faults` from ``KIND=VALUE`` strings; raises :class:`FaultSpecError`."""
    faults = Faults()
    latency: dict[int, float] = {}
    for spec in specs:
        kind, sep, value = spec.partition("=")
        if not sep:
            raise FaultSpecError(
                f"fault {spec!r}: expected KIND=VALUE, e.g. drop-after-bytes=100000"
            )
        if kind in _SIMPLE:
            field_name, parse = _SIMPLE[kind]
            faults = replace(faults, **{field_name: parse(value, kind)})
        elif kind == "drop-at":
            op, colon, k = value.partition(":")
            if not colon:
                raise FaultSpecError(f"{kind}: expected OPCODE:K, e.g. drop-at=0x1009:2")
            occurrence = _int(k, kind)
            if occurrence < 1:
                raise FaultSpecError(f"{kind}: K counts from 1")
            faults = replace(faults, drop_at=(_int(op, kind), occurrence))
        elif kind == "latency":
            op, colon, secs = value.rpartition(":")
            if colon:
                latency[_int(op, kind)] = _float(secs, kind)
            else:
                faults = replace(faults, latency_all=_float(value, kind))
        elif kind == "refuse-init":
            reason = _int(value, kind)
            if reason not in (1, 2, 3):
                raise FaultSpecError(f"{kind}: reason must be 1 (rejected), 2 (busy) or 3")
            faults = replace(faults, refuse_init=reason)
        elif kind == "listing-size-mismatch":
            try:
                skew = int(value, 0)
            except ValueError:
                raise FaultSpecError(f"{kind}: {value!r} is not a number of bytes") from None
            faults = replace(faults, listing_size_mismatch=skew)
        elif kind == "oversize-data":
            extra = _int(value, kind)
            if extra > MAX_OVERSIZE:
                raise FaultSpecError(f"{kind}: at most {MAX_OVERSIZE} extra bytes")
            faults = replace(faults, oversize_data=extra)
        elif kind == "lying-length":
            # The PTP/IP length field is 32 bits; the lie must fit in it.
            extra = _int(value, kind)
            if extra > 0xFFFF0000:
                raise FaultSpecError(f"{kind}: {extra} does not fit a 32-bit length field")
            faults = replace(faults, lying_length=extra)
        else:
            raise FaultSpecError(f"unknown fault {kind!r}; known: {', '.join(KINDS)}")
    return replace(faults, latency=latency)
