"""bench/startup_floor.py does not rot: one run of each client on a tiny card. No timing is
asserted; the script itself checks that every client exits cleanly and that the sony-pm-alt
session planned nothing."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CLIENTS = (
    "bare python -c pass",
    "import gphoto2",
    "python-gphoto2: open and close",
    "sony-pm-alt sync, nothing new",
)


def test_startup_floor_times_every_client_on_a_tiny_card() -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "startup_floor.py"), "20", "--runs", "1"],
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    lines = done.stdout.splitlines()
    assert lines[0] == "20 objects on loopback, 1 runs each (s):"
    timed = [re.fullmatch(r"  (.+?) +best (\d+\.\d{3})  median (\d+\.\d{3})", x) for x in lines[1:]]
    assert [m[1] for m in timed if m is not None] == list(CLIENTS)
