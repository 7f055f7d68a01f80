"""Run ``sony-pm-alt emulate`` as a child process: for scripts and tests that want a camera
on loopback without an event loop of their own.

    with spawn_emulator(["--card", "photos/", "--guid", GUID], log_path=Path("emu.jsonl")) as emu:
        subprocess.run(["gphoto2", "--port", emu.gphoto2_port, "-P"])
"""

from __future__ import annotations

import signal
import subprocess
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .recorder import read_log

STOP_TIMEOUT = 30.0


@dataclass
class EmulatorProcess:
    proc: subprocess.Popen[str]
    host: str
    port: int
    log_path: Path | None

    @property
    def gphoto2_port(self) -> str:
        """libgphoto2 needs both ports spelled out, or the event port stays at 15740."""
        return f"ptpip:{self.host}:{self.port}:{self.port}"

    def records(self) -> list[dict[str, Any]]:
        """The recorder's lines so far (needs ``log_path``)."""
        if self.log_path is None:
            raise ValueError("the emulator was started without a log file")
        return read_log(self.log_path)

    def events(self, name: str) -> list[dict[str, Any]]:
        return [r for r in self.records() if r["event"] == name]

    def wait(self, timeout: float) -> int:
        return self.proc.wait(timeout=timeout)


@contextmanager
def spawn_emulator(
    args: Sequence[str] = (), *, log_path: Path | None = None, host: str = "127.0.0.1"
) -> Iterator[EmulatorProcess]:
    """Start the emulator on an ephemeral port of ``host``; SIGTERM it when the block ends."""
    argv = [sys.executable, "-m", "sony_pm_alt", "emulate", "--host", host, *args]
    if log_path is not None:
        argv += ["--log", str(log_path)]
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline().strip()  # the bound port, alone on the first line
        if not first.isdigit():
            proc.kill()
            _, err = proc.communicate(timeout=STOP_TIMEOUT)
            raise RuntimeError(f"the emulator did not start: {err.strip() or first}")
        yield EmulatorProcess(proc, host, int(first), log_path)
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
        try:
            proc.communicate(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()
