"""Rate limits shared by every SSDP role: a token bucket, and log lines through one.

Sans-IO: neither reads the clock; the caller passes ``now`` (seconds, monotonic), so tests
drive time by hand and a flood costs the same whatever the wall clock does.
"""

from __future__ import annotations

import logging
import threading


class TokenBucket:
    """``burst`` tokens, refilled at ``rate`` per second; :meth:`take` gets the time.

    A ``now`` earlier than the last one (two threads racing to a shared bucket) refills
    nothing and never moves the stamp back.
    """

    def __init__(self, rate: float, burst: float, now: float) -> None:
        self._rate = rate
        self._burst = burst
        self._tokens = burst
        self._stamp = now

    def take(self, now: float) -> bool:
        """Take one token if there is one."""
        elapsed = max(0.0, now - self._stamp)
        self._tokens = min(self._burst, self._tokens + elapsed * self._rate)
        self._stamp = max(self._stamp, now)
        if self._tokens < 1.0:
            return False
        self._tokens -= 1.0
        return True


class LimitedLog:
    """Log lines of INFO and above through a token bucket; the ones held back are counted
    and the count is appended to the next line that gets through. DEBUG lines are opt-in and
    never limited. Safe to call from several threads (it has its own lock, so callers need
    not hold theirs while logging)."""

    def __init__(self, logger: logging.Logger, per_second: float, burst: float, now: float) -> None:
        self._logger = logger
        self._lock = threading.Lock()
        self._bucket = TokenBucket(per_second, burst, now)
        self._suppressed = 0

    def log(self, level: int, message: str, now: float) -> None:
        if level < logging.INFO:
            self._logger.log(level, "%s", message)
            return
        if not self._logger.isEnabledFor(level):
            return
        with self._lock:
            if not self._bucket.take(now):
                self._suppressed += 1
                return
            suppressed, self._suppressed = self._suppressed, 0
        if suppressed:
            message += f" ({suppressed} similar messages suppressed)"
        self._logger.log(level, "%s", message)
