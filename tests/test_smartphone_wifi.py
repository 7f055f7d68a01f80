"""Joining the camera's Wi-Fi through a stand-in ``nmcli`` that records its calls (no radio)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from phone_helpers import fake_nmcli, files_under, phone
from sony_pm_alt.cli import main

pytestmark = pytest.mark.integration


def _setup(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, active: str) -> Path:
    log = fake_nmcli(tmp_path, monkeypatch, active=active)
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
