"""The stand-alone bench scripts do not rot: each runs once on a tiny card and prints every
piece it times. No timing is asserted; the scripts themselves check what they measured
(plan_cost: the emulator answered the whole-card listing and a store holding every file plans
nothing; startup_floor: every client exits cleanly and our session planned nothing); ftp.py
runs every server on a few small uploads and prints both of its tables."""

from __future__ import annotations

import json
import os
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


def test_bench_ftp_runs_every_server_on_tiny_uploads() -> None:
    env = {
        **os.environ,
        "BENCH_FTP_BATCH_FILES": "2",
        "BENCH_FTP_BATCH_MIB": "1",
        "BENCH_FTP_BIG_GIB": "0.004",
        "BENCH_FTP_REPEATS": "1",
    }
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "ftp.py")],
        capture_output=True,
        text=True,
        timeout=180,
        env=env,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    runs = json.loads(done.stdout.splitlines()[-1])["ftp"]
    assert set(runs) == {"plain", "plain+fsync", "receiver"}
    for (result,) in runs.values():  # one round each
        assert result["batch_disk_mbps"] <= result["batch_mbps"]
        assert result["clip_disk_mbps"] <= result["clip_mbps"]
    until_on_disk = done.stdout.split("\nUntil on disk", 1)[1].split("\n\n", 1)[0]
    rows = [line for line in until_on_disk.splitlines()[2:] if line]
    assert [row[:20].strip() for row in rows] == ["pyftpdlib", "pyftpdlib + fsync", "receiver"]
