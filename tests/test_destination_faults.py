"""A destination that cannot take the files stops the session cleanly: a full disk (a 6 MB
tmpfs in a private mount namespace against 26 MB on the card), a read-only one, one removed
mid-run. Each time: a clear line, at most one file read from the camera once there is no room,
no empty or partial file left, the camera left on; once there is room the next session
completes and powers the camera off."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from emulator_proc import PAIRED_GUID, run_sync, running_emulator

pytestmark = pytest.mark.integration

TESTS = Path(__file__).resolve().parent
MB = 1_000_000
PARTIAL = ".sony-pm-alt-partial"

# Runs inside `unshare -rm` (a private mount namespace, the host's loopback network): mounts a
# tmpfs of argv[3] as the destination, then for each session in argv[4] (comma-separated
# actions) runs one sync against a fresh emulator activation and prints what happened as JSON.
DRIVER = """
import json, subprocess, sys
from pathlib import Path
from emulator_proc import PAIRED_GUID, run_sync, running_emulator

work, card, size, actions = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3], sys.argv[4]
dest = work / "dest"
dest.mkdir()
subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(dest)], check=True)
results = []
for n, action in enumerate(actions.split(",")):
    if action.startswith("remount:"):
        options = action.split(":", 1)[1]
        subprocess.run(["mount", "-o", f"remount,{options}", str(dest)], check=True)
    (work / f"s{n}").mkdir()
    with running_emulator(work / f"s{n}", "--guid", PAIRED_GUID, card=card) as emu:
        code, lines, stderr = run_sync(emu, work, timeout=300)
        results.append({
            "code": code,
            "lines": lines,
            "stderr": stderr,
            "reads": [r["params"][0] for r in emu.events("operation")
                      if r["opcode"] in (0x1009, 0x101B, 0x95C1)],
            "inits": len(emu.events("init")),
            "power_off": bool(emu.events("power_off")),
            "files": sorted((str(p.relative_to(dest)), p.stat().st_size)
                            for p in dest.rglob("*") if p.is_file()),
        })
print(json.dumps(results))
"""


def make_card(root: Path, files: int = 13, size: int = 2 * MB) -> Path:
    """``files`` photos of ``size`` bytes each (13 × 2 MB = 26 MB)."""
    folder = root / "DCIM" / "100MSDCF"
    folder.mkdir(parents=True)
    for n in range(files):
        path = folder / f"DSC{n + 1:05d}.JPG"
        path.write_bytes(os.urandom(size))
        stamp = 1714557600 + 60 * n
        os.utime(path, (stamp, stamp))
    return root


def in_mount_namespace(work: Path, card: Path, size: str, actions: str) -> list[dict[str, Any]]:
    unshare = shutil.which("unshare")
    assert unshare is not None, "these tests need unshare (util-linux)"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(TESTS), *sys.path])}
    result = subprocess.run(
        [unshare, "-rm", sys.executable, "-c", DRIVER, str(work), str(card), size, actions],
        capture_output=True,
        text=True,
        timeout=600,
        env=env,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    runs: list[dict[str, Any]] = json.loads(result.stdout)
    return runs


def summary(run: dict[str, Any]) -> dict[str, Any]:
    (last,) = [line for line in run["lines"] if line["event"] == "summary"]
    return dict(last)


def test_a_full_destination_stops_the_session_and_the_next_one_completes(
    tmp_path: Path,
) -> None:
    card = make_card(tmp_path / "card")
    full, roomy = in_mount_namespace(tmp_path, card, "6m", "first,remount:size=64m")

    assert full["code"] == 1
    first = summary(full)
    assert first["transferred"] >= 1
    assert first["powered_off"] is False
    assert full["power_off"] is False  # the camera stays on
    # At most one file read from the camera once the disk had no room for it.
    assert len(set(full["reads"])) <= first["transferred"] + 1
    assert all(size > 0 for _, size in full["files"])  # no empty file, visible or hidden
    assert not [name for name, _ in full["files"] if name.endswith(PARTIAL)]
    stopped = first["stopped"]
    assert "is full" in stopped
    assert "free at least" in stopped
    assert full["stderr"].strip().splitlines() == [f"sony-pm-alt: {stopped}"]

    assert roomy["code"] == 0, roomy["stderr"]
    second = summary(roomy)
    assert second["transferred"] == 13 - first["transferred"]
    assert second["powered_off"] is True
    assert roomy["power_off"] is True
    visible = [(n, s) for n, s in roomy["files"] if not Path(n).name.startswith(".")]
    assert len(visible) == 13
    assert {s for _, s in visible} == {2 * MB}


def test_a_read_only_destination_is_refused_before_the_camera_is_used(tmp_path: Path) -> None:
    card = make_card(tmp_path / "card", files=2)
    (refused,) = in_mount_namespace(tmp_path, card, "6m", "remount:ro")
    assert refused["code"] == 3
    assert refused["inits"] == 0  # the camera's one connection is still there for a retry
    lines = refused["stderr"].strip().splitlines()
    assert len(lines) == 1
    assert "read-only" in lines[0]
    assert refused["files"] == []


def test_a_destination_removed_mid_run_is_not_recreated(tmp_path: Path) -> None:
    card = make_card(tmp_path / "card", files=4, size=300_000)
    dest, moved = tmp_path / "dest", tmp_path / "moved-away"
    hook = f'if [ "$ACTION" = download ] && [ -d {dest} ]; then mv {dest} {moved}; fi'
    with running_emulator(tmp_path, "--guid", PAIRED_GUID, card=card) as emu:
        code, lines, stderr = run_sync(emu, tmp_path, "--hook", hook, timeout=120)
        assert emu.events("power_off") == []
    assert code == 1
    (last,) = [line for line in lines if line["event"] == "summary"]
    assert last["transferred"] == 1
    assert "removed or unmounted" in last["stopped"]
    assert stderr.strip().splitlines() == [f"sony-pm-alt: {last['stopped']}"]
    assert not dest.exists()  # not silently recreated (e.g. under an unmounted disk's mount point)
    assert [p.name for p in moved.rglob("*") if p.is_file()] == ["DSC00001.JPG"]
    assert len(last["failed"]) == 3


# Inside `unshare -rm`: a 4 MB tmpfs that another writer fills while a 3 MB file streams in.
ENOSPC_DRIVER = """
import json, os, subprocess, sys
from datetime import datetime
from pathlib import Path
from sony_pm_alt.engine.download import fetch
from sony_pm_alt.engine.model import CameraObject
from sony_pm_alt.errors import DestinationFull

dest = Path(sys.argv[1])
dest.mkdir()
subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(dest)], check=True)
obj = CameraObject("/store_00010001/DCIM", "DSC00001.JPG", 3_000_000, datetime(2024, 5, 1), 0x3801)
calls = []

def read(offset, buffer):
    calls.append(offset)
    if len(calls) == 2:  # someone else takes the rest of the disk meanwhile
        with open(dest / "other-program.bin", "wb") as f:
            try:
                while True:
                    f.write(b"x" * 65536)
                    f.flush()
            except OSError:
                pass
    buffer[:] = b"y" * len(buffer)
    return len(buffer)

try:
    fetch(obj, dest / "DSC00001.JPG", dest / ".p.sony-pm-alt-partial", read)
    outcome = "no error"
except DestinationFull as exc:
    outcome = str(exc)
print(json.dumps({
    "outcome": outcome,
    "reads": len(calls),
    "files": sorted(p.name for p in dest.iterdir() if p.name != "other-program.bin"),
}))
"""


def test_enospc_while_writing_removes_the_partial_file(tmp_path: Path) -> None:
    unshare = shutil.which("unshare")
    assert unshare is not None, "this test needs unshare (util-linux)"
    result = subprocess.run(
        [unshare, "-rm", sys.executable, "-c", ENOSPC_DRIVER, str(tmp_path / "dest")],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert "is full" in report["outcome"]
    assert "DSC00001.JPG needs" in report["outcome"]
    assert report["files"] == []  # neither the partial file nor a final one
    assert report["reads"] <= 3  # it stopped at the first failed write
