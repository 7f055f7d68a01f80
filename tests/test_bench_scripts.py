"""The stand-alone bench scripts do not rot: each runs once on a tiny card and prints every
piece it times. No timing is asserted; the scripts themselves check what they measured
(plan_cost: the emulator answered the whole-card listing and a store holding every file plans
nothing; startup_floor: every client exits cleanly and our session planned nothing)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

SCRIPTS = {
    "plan_cost": (
        ["30", "--runs", "1"],
        "30 objects:",
        r"  (.+?) +\d+\.\d ms",
        [
            "emulator: card scan",
            "emulator: object table (per activation)",
            "emulator: whole-card reply",
            "client: decode",
            "client: files",
            "client: what is new",
        ],
    ),
    "startup_floor": (
        ["20", "--runs", "1"],
        "20 objects on loopback, 1 runs each (s):",
        r"  (.+?) +best \d+\.\d{3}  median \d+\.\d{3}",
        [
            "bare python -c pass",
            "import gphoto2",
            "python-gphoto2: open and close",
            "sony-pm-alt sync, nothing new",
        ],
    ),
}


@pytest.mark.parametrize("script", SCRIPTS)
def test_bench_script_times_every_piece_of_a_tiny_card(script: str) -> None:
    args, first, line, pieces = SCRIPTS[script]
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / f"{script}.py"), *args],
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    lines = done.stdout.splitlines()
    assert lines[0] == first
    timed = [re.fullmatch(line, text) for text in lines[1:]]
    assert [m[1] for m in timed if m is not None] == pieces
