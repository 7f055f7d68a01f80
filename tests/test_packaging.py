"""The ways people run sony-pm-alt: `make demo`, the container and the systemd unit."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.integration
def test_make_demo_shows_the_whole_flow(tmp_path: Path) -> None:
    """The demo runs in a private network namespace it creates itself."""
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "demo.py"), str(tmp_path / "photos")],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "camera screen: Connecting… → Sending… → (powered off)" in result.stdout
    assert "6 files in" in result.stdout
    files = [p for p in (tmp_path / "photos").rglob("*") if p.is_file() and p.name[0] != "."]
    assert len(files) == 6


def test_the_dockerfile_builds_with_the_makefile_s_setup_script() -> None:
    """No Docker engine runs here: the container must be built by the same script `make`
    runs (and `make test` therefore exercises), and run `watch` with host networking."""
    dockerfile = (ROOT / "Dockerfile").read_text()
    makefile = (ROOT / "Makefile").read_text()
    assert re.search(r"^FROM debian:", dockerfile, re.MULTILINE)
    assert "scripts/setup.sh all" in dockerfile
    for step in ("scripts/setup.sh system", "scripts/setup.sh python", "scripts/setup.sh native"):
        assert step in makefile
    assert 'CMD ["sony-pm-alt", "watch"]' in dockerfile
    assert "--net=host" in dockerfile
    assert "VOLUME /photos" in dockerfile


def test_the_systemd_unit_runs_watch() -> None:
    unit = (ROOT / "contrib" / "systemd" / "sony-pm-alt.service").read_text()
    sections = re.findall(r"^\[(\w+)\]$", unit, re.MULTILINE)
    assert sections == ["Unit", "Service", "Install"]
    (exec_start,) = re.findall(r"^ExecStart=(.*)$", unit, re.MULTILINE)
    assert exec_start.startswith("%h/") or exec_start.startswith("/")
    assert exec_start.endswith("sony-pm-alt watch")
    assert "KillSignal=SIGTERM" in unit
    assert "WantedBy=default.target" in unit
