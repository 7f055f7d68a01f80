"""What the distribution tests share: the artifacts of `make dist`, a clean user environment,
a small card, and what a good sync looks like in its JSON and in the emulator's log."""

from __future__ import annotations

import hashlib
import json
import os
import re
import sys
from pathlib import Path
from typing import Any

import pytest

from emulator_proc import write_card
from sony_pm_alt.emulator.process import EmulatorProcess

ROOT = Path(__file__).resolve().parent.parent
DIST = Path(os.environ.get("SONY_PM_ALT_DIST") or ROOT / "dist")
VERSION = re.search(r'^version = "([^"]+)"', (ROOT / "pyproject.toml").read_text(), re.M)[1]  # type: ignore[index]
BULK_LISTING = 0x9805  # GetObjPropList


def wheel() -> Path:
    found = sorted(DIST.glob(f"sony_pm_alt-{VERSION}-*.whl"))
    if len(found) != 1:
        pytest.fail(f"expected one wheel in {DIST}, found {found}: run `make dist` first")
    return found[0]


def sdist() -> Path:
    path = DIST / f"sony_pm_alt-{VERSION}.tar.gz"
    if not path.is_file():
        pytest.fail(f"no {path}: run `make dist` first")
    return path


def wheelhouse() -> Path:
    path = DIST / "wheelhouse"
    if not path.is_dir():
        pytest.fail(f"no {path}: run `make dist` first")
    return path


def base_python() -> str:
    """The interpreter this test venv was made from: a user's python3."""
    return str(getattr(sys, "_base_executable", sys.executable))


def user_env(home: Path, bin_dir: Path | None = None) -> dict[str, str]:
    """The environment of a user who has no checkout: a private HOME, no venv or source tree
    on the path, no SONY_PM_ALT_* settings."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("SONY_PM_ALT_", "PYTHON", "VIRTUAL_ENV", "XDG_", "CAMLIBS", "IOLIBS"))
    }
    home.mkdir(parents=True, exist_ok=True)
    path = "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin"
    env.update(HOME=str(home), LANG="C.UTF-8", PATH=f"{bin_dir}:{path}" if bin_dir else path)
    return env


def make_card(root: Path) -> Path:
    """Two photos and a video in two folders, random content, a day apart."""
    files = [
        ("DCIM/100MSDCF/DSC00001.JPG", 1_200_003),
        ("DCIM/100MSDCF/DSC00002.ARW", 2_000_017),
        ("PRIVATE/M4ROOT/CLIP/C0001.MP4", 3_100_001),
    ]
    return write_card(root, files, step=86400)


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def json_lines(output: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in output.splitlines() if line.startswith("{")]


def assert_good_sync(
    output: str,
    card: Path,
    dest: Path,
    emu: EmulatorProcess,
    home: Path,
    seen_as: Path | None = None,
) -> list[Path]:
    """Every file of the card arrived byte-identical under ``dest`` (which the sync saw as
    ``seen_as``, e.g. inside a chroot), the bulk listing was used, the upstream profile's pairs
    went out and the camera powered off (the emulator's log), and libgphoto2's settings file
    was never written. Returns the saved paths."""
    lines = json_lines(output)
    (summary,) = [line for line in lines if line["event"] == "summary"]
    assert (summary["transferred"], summary["failed"], summary["powered_off"]) == (3, [], True)
    saved = [Path(line["path"]) for line in lines if line["event"] == "saved"]
    if seen_as is not None:
        saved = [dest / p.relative_to(seen_as) for p in saved]
    assert all(p.is_relative_to(dest) for p in saved)
    originals = sorted(sha(p) for p in card.rglob("*") if p.is_file())
    assert sorted(sha(p) for p in saved) == originals
    ops = [r["opcode"] for r in emu.events("operation")]
    assert BULK_LISTING in ops
    # The upstream profile: "Sending…" (0x9280 cmd 2) after OpenSession, the power-off 0x9280
    # (cmd 5) and its 0x9281 before CloseSession; this body needs both to switch off.
    effects = [e["effect"] for e in emu.events("sony_command")]
    assert effects == ["sending", "power_off_armed"]
    assert [s["state"] for s in emu.events("screen")] == ["sending", "powered_off"]
    assert len(emu.events("power_off")) == 1
    assert not (home / ".gphoto" / "settings").exists()
    return saved
