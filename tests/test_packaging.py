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


def test_the_dockerfile_installs_only_the_wheelhouse() -> None:
    """The image is built and run by `make test-image` (tests/test_image.py); this checks what
    a docker user building the same Dockerfile gets: no index, no compiler, no source tree."""
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert re.search(r"^FROM \$\{BASE\}$", dockerfile, re.MULTILINE)
    assert "ARG BASE=debian:bookworm-slim" in dockerfile
    assert "--no-index" in dockerfile
    assert "--find-links /tmp/dist/wheelhouse" in dockerfile
    instructions = "\n".join(line for line in dockerfile.splitlines() if not line.startswith("#"))
    for absent in ("build-essential", "gphoto2 ", "tshark", "setup.sh", "COPY . "):
        assert absent not in instructions
    assert 'CMD ["sony-pm-alt", "watch"]' in dockerfile
    assert "--net=host" in dockerfile
    assert 'VOLUME ["/photos", "/state"]' in dockerfile
    ignore = (ROOT / ".dockerignore").read_text().split()
    assert ignore[ignore.index("*") :] == [
        "*",
        "!dist/sony_pm_alt-*.whl",
        "!dist/wheelhouse/",
        "!contrib/container/entrypoint.sh",
    ]


def test_the_compose_example_uses_the_host_network() -> None:
    compose = (ROOT / "contrib" / "compose.yaml").read_text()
    assert re.search(r"^    network_mode: host$", compose, re.MULTILINE)
    assert "image: localhost/sony-pm-alt:latest" in compose
    for needed in ('PUID: "1000"', 'PGID: "1000"', ":/photos", "sony-pm-alt-state:/state"):
        assert needed in compose


def test_the_systemd_unit_runs_watch() -> None:
    unit = (ROOT / "contrib" / "systemd" / "sony-pm-alt.service").read_text()
    sections = re.findall(r"^\[(\w+)\]$", unit, re.MULTILINE)
    assert sections == ["Unit", "Service", "Install"]
    (exec_start,) = re.findall(r"^ExecStart=(.*)$", unit, re.MULTILINE)
    assert exec_start.startswith("%h/") or exec_start.startswith("/")
    assert exec_start.endswith("sony-pm-alt watch")
    assert "KillSignal=SIGTERM" in unit
    assert "WantedBy=default.target" in unit
