"""The emulator's flight recorder: one JSON object per line for everything it receives and does.

Tests assert on these lines, so their shape is part of the emulator's interface:
``{"t": <seconds since start>, "event": "<name>", ...fields}``. Event names: ``listening``,
``activation_start``/``activation_end``, ``connection``/``disconnect``, ``init``,
``init_fail``, ``init_ignored``, ``event_channel``, ``packet`` (every packet received),
``operation`` (every operation executed: ``peer`` — the TCP connection it came on —, opcode,
params, data-out bytes in hex, response),
``screen``, ``session_start``/``session_end``, ``sony_command``, ``power_off``, ``timeout``,
``fault``, ``tid_mismatch`` and the SSDP side's ``ssdp_alive``/``ssdp_byebye``/``msearch``/
``http_get``.
"""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import IO, Any


class Recorder:
    """Append JSON lines to a file (flushed per line, so a reader sees them at once)."""

    def __init__(self, path: Path | None = None) -> None:
        self._start = time.monotonic()
        self._lock = threading.Lock()
        self._file: IO[str] | None = path.open("a", encoding="utf-8") if path else None

    def __call__(self, event: str, **fields: Any) -> None:
        if self._file is None:
            return
        line = json.dumps(
            {"t": round(time.monotonic() - self._start, 6), "event": event, **fields},
            default=str,
        )
        with self._lock:
            self._file.write(line + "\n")
            self._file.flush()

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None


def read_log(path: Path) -> list[dict[str, Any]]:
    """Parse a recorder file (for tests and tools)."""
    with path.open(encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]
