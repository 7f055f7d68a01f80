"""The library example in the README runs as-is against `sony-pm-alt emulate`."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from emulator_proc import PAIRED_GUID, running_emulator
from sony_pm_alt.emulator import build_demo_card

README = Path(__file__).resolve().parent.parent / "README.md"


def library_example() -> str:
    text = README.read_text()
    match = re.search(r"<!-- library-example:[^>]*-->\n```python\n(.*?)```", text, re.DOTALL)
    assert match, "README lost its library example"
    return match[1]


@pytest.mark.integration
def test_the_readme_library_example_runs(tmp_path: Path) -> None:
    card = build_demo_card(tmp_path / "card", photos=2)
    with running_emulator(tmp_path, "--guid", PAIRED_GUID, card=card) as emu:
        env = {**os.environ, "CAMERA_PORT": str(emu.port), "XDG_DATA_HOME": str(tmp_path / "data")}
        env.pop("SONY_PM_ALT_STATE", None)
        result = subprocess.run(
            [sys.executable, "-c", library_example()],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert result.returncode == 0, result.stderr
        assert emu.wait(timeout=30) == 0  # it powered the camera off
    assert result.stdout.count("saved ") == 4
    assert result.stdout.strip().endswith("4 new files; camera powered off: True")
    assert len([p for p in (tmp_path / "photos").rglob("*") if p.is_file()]) == 4
    assert (tmp_path / "data" / "sony-pm-alt" / "state.sqlite3").is_file()
