"""A camera session closes only the file descriptors it opened, and all of them.

`make soak` found both directions broken in the PTP/IP code of libgphoto2's ptp2 camlib:
``camera_exit`` → ``ptp_ptpip_disconnect`` closed ``params->jpgfd``, which only the Fuji code
ever sets, so it closed descriptor 0 — stdin at first, then whatever the process opened next
under that number (in `watch`: another session's socket or file). And a ``camera_init`` that
failed after connecting (DeviceBusy, a dropped handshake) never closed its two sockets.
Patch 0008 (vendor/libgphoto2-patches) fixes both. Each check runs in a child process whose
descriptor 0 is a pipe of its own.
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


def test_a_session_leaves_descriptor_0_alone(tmp_path: Path) -> None:
    result = _session(tmp_path)
    assert result["error"] is None
    assert result["fd0_intact"] is True
    assert result["new_fds"] == []


# Each fault makes camera_init fail after both sockets exist. Init Fail was already closed by
# stock ptp_ptpip_connect (it stays here because 0008 rewrote that path); the others leaked.
FAILED_OPENS = [
    pytest.param("busy-first=2", "CameraBusy", id="busy-at-getdeviceinfo"),
    pytest.param("busy-open-session=99", "CameraBusy", id="busy-at-opensession"),
    pytest.param("drop-handshake=1", "CameraConnectError", id="dropped-event-handshake"),
    pytest.param("refuse-init=2", "CameraConnectError", id="init-fail"),
    pytest.param("drop-at=0x1002:1", "CameraConnectError", id="dropped-at-opensession"),
]


@pytest.mark.parametrize(("fault", "error"), FAILED_OPENS)
def test_a_failed_open_leaves_no_descriptor_behind(tmp_path: Path, fault: str, error: str) -> None:
    result = _session(tmp_path, "--fault", fault)
    assert result["error"] == error
    assert result["fd0_intact"] is True
    assert result["new_fds"] == []
