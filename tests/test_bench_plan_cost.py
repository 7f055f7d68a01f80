"""bench/plan_cost.py does not rot: it runs once on a tiny card and times every piece. No
timing is asserted; the script itself checks that the emulator answered the whole-card listing
and that a store holding every file plans nothing."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PIECES = (
    "emulator: card scan",
    "emulator: object table (per activation)",
    "emulator: whole-card reply",
    "client: decode",
    "client: files",
    "client: what is new",
)


def test_plan_cost_times_every_piece_of_a_tiny_card() -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "plan_cost.py"), "30", "--runs", "1"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    lines = done.stdout.splitlines()
    assert lines[0] == "30 objects:"
    timed = [re.fullmatch(r"  (.+?) +(\d+\.\d) ms", line) for line in lines[1:]]
    assert [m[1] for m in timed if m is not None] == list(PIECES)
