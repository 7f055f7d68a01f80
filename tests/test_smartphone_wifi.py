"""Joining the camera's Wi-Fi through a stand-in ``nmcli`` that records its calls (no radio)."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest
from click.testing import CliRunner

from phone_helpers import files_under, phone
from sony_pm_alt.cli import main

pytestmark = pytest.mark.integration

FAKE_NMCLI = """#!/bin/sh
printf '%s\\n' "$*" >> "$NMCLI_LOG"
case "$*" in
  *"connection show --active"*) printf '%s\\n' "$NMCLI_ACTIVE" ;;
  *"wifi connect"*) [ -n "$NMCLI_FAIL_JOIN" ] && { echo "Error: no such SSID" >&2; exit 10; } ;;
esac
exit 0
"""


def _setup(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, active: str) -> Path:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    nmcli = bin_dir / "nmcli"
    nmcli.write_text(FAKE_NMCLI)
    nmcli.chmod(nmcli.stat().st_mode | stat.S_IXUSR)
    log = tmp_path / "nmcli.log"
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("NMCLI_LOG", str(log))
    monkeypatch.setenv("NMCLI_ACTIVE", active)
    config = tmp_path / "config.toml"
    config.write_text(
        "[[camera]]\n"
        'match = "A7C"\n'
        f"dest = {json.dumps(str(tmp_path / 'out'))}\n"
        'wifi_ssid = "DIRECT-ab12:ILCE-7C"\n'
        'wifi_password = "s3cretPW"\n'
    )
    return log


def _run(tmp_path: Path, port: int) -> int:
    result = CliRunner().invoke(
        main,
        [
            "smartphone", "--address", "127.0.0.1", "--port", str(port), "--camera", "A7C",
            "--config", str(tmp_path / "config.toml"), "--state", str(tmp_path / "state.db"),
        ],
    )  # fmt: skip
    return result.exit_code


def test_joins_imports_and_returns_to_the_previous_network(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    log = _setup(tmp_path, monkeypatch, r"Home\:5G:802-11-wireless:wlan0")
    with phone(shots=2) as emulator:
        assert _run(tmp_path, emulator.port) == 0
    calls = log.read_text().splitlines()
    assert calls[0] == "-t -f NAME,TYPE,DEVICE connection show --active"
    assert calls[1].endswith("device wifi connect DIRECT-ab12:ILCE-7C password s3cretPW")
    assert calls[-1].endswith("connection up id Home:5G")
    assert len(files_under(tmp_path / "out")) == 2


def test_returns_even_when_the_import_fails(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    log = _setup(tmp_path, monkeypatch, "")
    with phone(shots=1) as emulator:
        port = emulator.port
    assert _run(tmp_path, port) == 3  # the camera is gone: nothing listens there any more
    calls = log.read_text().splitlines()
    assert any("wifi connect" in call for call in calls)
    # No Wi-Fi was active before: leave the camera's network instead.
    assert calls[-1] == "connection down id DIRECT-ab12:ILCE-7C"


def test_a_failed_join_is_one_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _setup(tmp_path, monkeypatch, "")
    monkeypatch.setenv("NMCLI_FAIL_JOIN", "1")
    result = CliRunner().invoke(
        main,
        [
            "smartphone", "--address", "127.0.0.1", "--port", "9", "--camera", "A7C",
            "--config", str(tmp_path / "config.toml"), "--state", str(tmp_path / "state.db"),
        ],
    )  # fmt: skip
    assert result.exit_code == 3
    assert "cannot join the camera's Wi-Fi 'DIRECT-ab12:ILCE-7C'" in result.output
