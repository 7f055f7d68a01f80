"""Fault injection for reliability tests: how the emulated camera misbehaves on purpose.

Spelled on the command line as ``--fault KIND=VALUE`` (repeatable):

========================  ==========================================================
``drop-after-bytes=N``    close the connection once N bytes of object data were sent
``drop-at=OPCODE:K``      close the connection when the K-th request of OPCODE arrives
``latency=SECONDS``       wait before answering every operation
``latency=OPCODE:SECS``   wait before answering that operation only (repeatable)
``busy-first=N``          answer DeviceBusy to the first N operations (not Open/CloseSession)
``refuse-init=REASON``    answer every Init Command Request with Init Fail REASON (1–3)
``drop-handshake=1``      close the event connection when its Init Event Request arrives
                          (the second half of the PTP/IP handshake)
``hostile-names=1``       report files under nasty but valid names (``card.HOSTILE_NAMES``,
                          in card order, cycling): ``../../escape.JPG``, ``/etc/passwd.JPG``,
                          ``.``, ``..``, a terminal escape, a tab, …; their data is unchanged
========================  ==========================================================
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace


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
    drop_handshake: bool = False

    def latency_for(self, opcode: int) -> float:
        return self.latency.get(opcode, self.latency_all)


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
        if kind == "drop-after-bytes":
            faults = replace(faults, drop_after_bytes=_int(value, kind))
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
        elif kind == "busy-first":
            faults = replace(faults, busy_first=_int(value, kind))
        elif kind == "refuse-init":
            reason = _int(value, kind)
            if reason not in (1, 2, 3):
                raise FaultSpecError(f"{kind}: reason must be 1 (rejected), 2 (busy) or 3")
            faults = replace(faults, refuse_init=reason)
        elif kind == "hostile-names":
            if value not in ("0", "1"):
                raise FaultSpecError(f"{kind}: expected 1 (on) or 0 (off), got {value!r}")
            faults = replace(faults, hostile_names=value == "1")
        elif kind == "drop-handshake":
            if value not in ("0", "1"):
                raise FaultSpecError(f"{kind}: expected 1 (on) or 0 (off), got {value!r}")
            faults = replace(faults, drop_handshake=value == "1")
        else:
            raise FaultSpecError(
                f"unknown fault {kind!r}; known: drop-after-bytes, drop-at, latency, busy-first, "
                "refuse-init, hostile-names, drop-handshake"
            )
    return replace(faults, latency=latency)
