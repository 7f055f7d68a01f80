"""`sony-pm-alt receive-ftp` and `emulate-ftp` as processes, and `ftp-password-hash`."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from sony_pm_alt.ftp.accounts import verify_password

pytestmark = pytest.mark.integration


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "sony_pm_alt", *args]


def test_receive_ftp_once_idle_with_the_emulator(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text(f"""
[defaults]
dest = "{tmp_path / "photos"}"
template = "{{folder}}/{{filename}}"
[[camera]]
match = "SERIAL"
ftp_user = "cam"
ftp_password = "pw"
""")  # fmt: skip
    receiver = subprocess.Popen(
        _cli(
            "receive-ftp",
            "--config",
            str(config),
            "--listen",
            "127.0.0.1",
            "--port",
            "0",
            "--json",
            "--once-idle",
            "10",
            "--state",
            str(tmp_path / "state.sqlite3"),
        ),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert receiver.stdout is not None
    listening = json.loads(receiver.stdout.readline())
    assert listening["event"] == "ftp_listening"
    emulator = subprocess.run(
        _cli(
            "emulate-ftp",
            "--ftp",
            f"127.0.0.1:{listening['port']}",
            "--user",
            "cam",
            "--password",
            "pw",
            "--files",
            "6",
            "--hierarchy",
            "camera",
        ),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert emulator.returncode == 0, emulator.stderr
    out, err = receiver.communicate(timeout=120)
    assert receiver.returncode == 0, err
    records = [json.loads(line) for line in out.splitlines()]
    saved = [r for r in records if r["event"] == "saved"]
    assert len(saved) == 6
    assert {r["time_source"] for r in saved} == {"exif", "metadata"}
    assert {Path(r["path"]).parent.name for r in saved} == {"100MSDCF", "CLIP"}
    summary = [r for r in records if r["event"] == "summary"]
    assert [(s["transferred"], s["ok"]) for s in summary] == [(6, True)]
    history = subprocess.run(
        _cli("history", "--json", "--state", str(tmp_path / "state.sqlite3")),
        capture_output=True, text=True, check=True, timeout=60,
    )  # fmt: skip
    assert len(json.loads(history.stdout)) == 6


def test_receive_ftp_without_accounts_says_what_to_set(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text("[ftp]\nenabled = true\n")
    proc = subprocess.run(
        _cli("receive-ftp", "--config", str(config), "--port", "0", "--listen", "127.0.0.1"),
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert proc.returncode == 2
    assert "ftp_user and ftp_password" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


def test_emulate_ftp_refuses_a_bad_target(tmp_path: Path) -> None:
    proc = subprocess.run(
        _cli("emulate-ftp", "--ftp", "not-a-target", "--user", "u", "--password", "p"),
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert proc.returncode == 2
    assert "is not HOST:PORT" in proc.stderr


def test_ftp_password_hash_reads_standard_input() -> None:
    proc = subprocess.run(
        _cli("ftp-password-hash"), input="s3cret\n", capture_output=True, text=True,
        timeout=60, check=True,
    )  # fmt: skip
    assert verify_password("s3cret", proc.stdout.strip())


def test_watch_with_ftp_enabled_but_no_account_says_what_to_set(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text('[defaults]\ndest = "photos"\n[ftp]\nenabled = true\n')  # never binds
    proc = subprocess.run(
        _cli("watch", "--config", str(config), "--state", str(tmp_path / "state.sqlite3")),
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines()[-1].startswith("sony-pm-alt: no FTP accounts")
