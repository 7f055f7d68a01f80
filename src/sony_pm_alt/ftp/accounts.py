"""FTP accounts, one per camera: passwords, their hashes, and wrong-password rate limiting.

A hash is ``scrypt$N$r$p$salt$digest`` (salt and digest in base64): scrypt from the standard
library, so no extra dependency, with OWASP's minimum parameters (N=2**17, r=8, p=1).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from ..engine.download import PARTIAL_MAX_AGE_DAYS
from ..engine.filters import Filters

SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**17, 8, 1
_SCRYPT_MAXMEM = 256 * 1024 * 1024

# Wrong passwords: after this many failures from one address within the window, every login
# from it is refused until the window has passed (a camera that is merely misconfigured fails
# a few times per retry cycle; a guesser fails thousands of times).
MAX_FAILURES = 5
FAILURE_WINDOW = 60.0


class PasswordHashError(ValueError):
    """A ``ftp_password_hash`` that is not ours."""


def hash_password(password: str, *, n: int = SCRYPT_N) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(
        password.encode(), salt=salt, n=n, r=SCRYPT_R, p=SCRYPT_P, maxmem=_SCRYPT_MAXMEM
    )
    b64 = base64.b64encode
    return f"scrypt${n}${SCRYPT_R}${SCRYPT_P}${b64(salt).decode()}${b64(digest).decode()}"


def check_hash_format(text: str) -> None:
    """Raise :class:`PasswordHashError` unless ``text`` is a hash :func:`hash_password` made."""
    parts = text.split("$")
    try:
        if len(parts) != 6 or parts[0] != "scrypt":
            raise ValueError
        n, r, p = (int(x) for x in parts[1:4])
        if n < 2 or n & (n - 1) or not 1 <= r <= 64 or not 1 <= p <= 16:
            raise ValueError
        base64.b64decode(parts[4], validate=True)
        base64.b64decode(parts[5], validate=True)
    except ValueError:
        raise PasswordHashError(
            "not a password hash made by `sony-pm-alt ftp-password-hash` (scrypt$N$r$p$salt$hash)"
        ) from None


def verify_password(password: str, stored_hash: str) -> bool:
    check_hash_format(stored_hash)
    _, n, r, p, salt, digest = stored_hash.split("$")
    expected = base64.b64decode(digest)
    actual = hashlib.scrypt(
        password.encode(),
        salt=base64.b64decode(salt),
        n=int(n),
        r=int(r),
        p=int(p),
        maxmem=_SCRYPT_MAXMEM,
        dklen=len(expected),
    )
    return hmac.compare_digest(actual, expected)


@dataclass(frozen=True)
class Account:
    """One camera's login and where its files go. ``camera`` is the ``[[camera]]`` match (the
    body's serial number or UDN): the state store's key, shared with its PTP/IP sessions."""

    user: str
    camera: str
    dest: Path
    template: str
    password: str | None = field(default=None, repr=False)
    password_hash: str | None = field(default=None, repr=False)
    hook: str | None = None
    filters: Filters = field(default_factory=Filters)
    partial_max_age_days: float = PARTIAL_MAX_AGE_DAYS  # 0: keep unfinished uploads forever

    def accepts(self, password: str) -> bool:
        if self.password_hash is not None:
            return verify_password(password, self.password_hash)
        if self.password is not None:
            return hmac.compare_digest(password.encode(), self.password.encode())
        return False  # never anonymous, never a camera without a password


class FailureLimiter:
    """Counts wrong passwords per client address; thread-safe."""

    def __init__(self, max_failures: int = MAX_FAILURES, window: float = FAILURE_WINDOW) -> None:
        self._max = max_failures
        self._window = window
        self._lock = threading.Lock()
        self._failures: dict[str, list[float]] = {}

    def _recent(self, address: str, now: float) -> list[float]:
        kept = [t for t in self._failures.get(address, []) if now - t < self._window]
        if kept:
            self._failures[address] = kept
        else:
            self._failures.pop(address, None)
        return kept

    def blocked(self, address: str) -> bool:
        with self._lock:
            return len(self._recent(address, time.monotonic())) >= self._max

    def failed(self, address: str) -> None:
        with self._lock:
            now = time.monotonic()
            self._failures[address] = [*self._recent(address, now), now]
