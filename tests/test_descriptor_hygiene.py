"""A camera session closes only the file descriptors it opened, and all of them.

`make soak` found both directions broken in the PTP/IP code of libgphoto2's ptp2 camlib:
``camera_exit`` → ``ptp_ptpip_disconnect`` closes ``params->jpgfd``, which only the Fuji code
ever sets, so it closes descriptor 0 — stdin at first, then whatever the process opened next
under that number (in `watch`: another session's socket or file). And a ``camera_init`` that
fails after connecting (DeviceBusy) never closes its two sockets. Each check runs in a child
process whose descriptor 0 is a pipe of its own.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from emulator_proc import PAIRED_GUID, running_emulator

pytestmark = pytest.mark.integration

_CHILD = """
import json, os, sys
from sony_pm_alt.engine.session import CameraSession
from sony_pm_alt.identity import Identity

read_end, write_end = os.pipe()
os.dup2(read_end, 0)  # descriptor 0 is ours: a session must leave it alone
before = os.fstat(0).st_ino
fds_before = sorted(os.listdir("/proc/self/fd"))
error = None
try:
    CameraSession("127.0.0.1", identity=Identity.from_text(sys.argv[2], "hygiene"),
                  port=int(sys.argv[1])).open().close()
except Exception as exc:
    error = type(exc).__name__
try:
    fd0 = os.fstat(0).st_ino == before
except OSError:
    fd0 = False
print(json.dumps({"error": error, "fd0_intact": fd0,
                  "new_fds": sorted(set(os.listdir("/proc/self/fd")) - set(fds_before))}))
"""

LIBGPHOTO2_BUG = (
    "libgphoto2 ptp2: camera_exit closes descriptor 0 (jpgfd is never set to -1 outside the "
    "Fuji code) and a failed camera_init leaks its sockets; the fix belongs in "
    "vendor/libgphoto2-patches"
)


def _session(tmp_path: Path, *fault: str) -> dict[str, object]:
    with running_emulator(tmp_path, "--guid", PAIRED_GUID, *fault) as emu:
        proc = subprocess.run(
            [sys.executable, "-c", _CHILD, str(emu.port), PAIRED_GUID],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
            env={**os.environ, "LANG": "C"},
        )
    assert proc.returncode == 0, proc.stderr[-2000:]
    result: dict[str, object] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


@pytest.mark.xfail(strict=True, reason=LIBGPHOTO2_BUG)
def test_a_session_leaves_descriptor_0_alone(tmp_path: Path) -> None:
    result = _session(tmp_path)
    assert result["error"] is None
    assert result["fd0_intact"] is True


@pytest.mark.xfail(strict=True, reason=LIBGPHOTO2_BUG)
def test_a_failed_open_leaves_no_descriptor_behind(tmp_path: Path) -> None:
    result = _session(tmp_path, "--fault", "busy-first=2")
    assert result["error"] == "CameraConnectError"
    assert result["new_fds"] == []
