"""What `sony-pm-alt sync` tells the user is what the camera confirmed: a power-off only when
every power-off step was answered OK (newer bodies need the trailing 0x9281, libgphoto2 PR
#1220), "Sending…" only when its steps were, and never a power-off without the native layer.
Each profile against both body behaviours of the emulator, and the stock camlib."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest

from emulator_proc import (
    PAIRED_GUID,
    gphoto2_home,
    run_sync,
    running_emulator,
    sync_command,
)
from sony_pm_alt.emulator import build_demo_card
from sony_pm_alt.emulator.process import EmulatorProcess

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def card(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_demo_card(tmp_path_factory.mktemp("card"), photos=2)


def sync(
    emu: EmulatorProcess, work: Path, *extra: str, env: dict[str, str] | None = None
) -> tuple[int, dict[str, Any], str]:
    """One `sync --json` in a private HOME: exit status, summary record, standard error."""
    code, lines, stderr = run_sync(emu, work, *extra, timeout=300, env=env or gphoto2_home(work))
    (summary,) = [r for r in lines if r["event"] == "summary"]
    return code, summary, stderr


@pytest.mark.parametrize(
    ("profile", "legacy", "powered_off", "exit_status"),
    [
        ("upstream", False, True, 0),
        # The old body switches off on the power-off 0x9280 and drops the connection, so the
        # trailing 0x9281 is never answered: not confirmed, and said so.
        ("upstream", True, False, 4),
        ("playmemories", False, True, 0),
        ("playmemories", True, False, 4),
        ("none", False, False, 0),
        ("none", True, False, 0),
    ],
)
def test_powered_off_only_when_the_camera_answered_every_power_off_step(
    tmp_path: Path, card: Path, profile: str, legacy: bool, powered_off: bool, exit_status: int
) -> None:
    body = ("--legacy-power-off",) if legacy else ()
    with running_emulator(tmp_path, "--guid", PAIRED_GUID, *body, card=card) as emu:
        code, summary, err = sync(emu, tmp_path, "--profile", profile)
        assert code == exit_status, err
        assert summary["transferred"] == 4
        assert summary["powered_off"] is powered_off
        camera_off = bool(emu.events("power_off"))
        if powered_off:
            assert summary["camera_left_on"] is None
            assert camera_off
        elif profile == "none":
            assert summary["camera_left_on"] == "the 'none' profile sends no power-off"
            assert not camera_off
        else:
            assert "accepted the power-off but not the step after it" in summary["camera_left_on"]
            assert camera_off  # the old body is off; we could not know, and did not claim it
        screens = [s["state"] for s in emu.events("screen")]
        assert summary["sending"] is (profile != "none")
        assert ("sending" in screens) is (profile != "none")


def test_a_newer_body_is_not_called_off_while_its_power_off_is_only_armed(
    tmp_path: Path, card: Path
) -> None:
    """A profile whose close block stops at the power-off 0x9280 (playmemories before the
    trailing 0x9281): the newer body arms the power-off and stays on; so does our summary."""
    text = Path(__file__).parent.parent / "src/sony_pm_alt/vendor_profiles/playmemories.toml"
    lines = text.read_text().split("\n[[end]]")
    short = tmp_path / "short.toml"
    short.write_text("\n[[end]]".join(lines[:-1]) + "\n")
    with running_emulator(tmp_path, "--guid", PAIRED_GUID, card=card) as emu:
        code, summary, err = sync(emu, tmp_path, "--profile", str(short))
        effects = [c.get("effect") for c in emu.events("sony_command")]
        assert "power_off_armed" in effects
        assert emu.events("power_off") == []
    assert summary["powered_off"] is False
    assert code == 4, err
    assert "accepted the power-off but not the step after it" in summary["camera_left_on"]


def test_without_the_native_layer_the_camera_is_said_to_stay_on(tmp_path: Path, card: Path) -> None:
    env = gphoto2_home(tmp_path)
    env["SONY_PM_ALT_NATIVE_DIR"] = str(tmp_path / "not-built")
    with running_emulator(tmp_path, "--guid", PAIRED_GUID, card=card) as emu:
        code, summary, err = sync(emu, tmp_path, env=env)
        assert emu.events("power_off") == []  # the emulator confirms: never powered off
        assert [s["state"] for s in emu.events("screen")] == ["sending"]
    assert summary["transferred"] == 4
    assert summary["powered_off"] is False
    assert summary["sending"] is False  # libgphoto2's own start pair: not ours to confirm
    assert "this libgphoto2 cannot power the camera off" in summary["camera_left_on"]
    assert "the camera stays on" in summary["camera_left_on"]
    assert code == 4, err


def test_the_plain_summary_says_the_camera_stays_on_without_the_native_layer(
    tmp_path: Path, card: Path
) -> None:
    env = gphoto2_home(tmp_path)
    env["SONY_PM_ALT_NATIVE_DIR"] = str(tmp_path / "not-built")
    with running_emulator(tmp_path, "--guid", PAIRED_GUID, card=card) as emu:
        argv = [a for a in sync_command(emu, tmp_path) if a != "--json"]
        result = subprocess.run(
            argv, env=env, capture_output=True, text=True, timeout=300, check=False
        )
    last = result.stderr.strip().splitlines()[-1]
    assert "camera powered off" not in result.stderr
    assert last.endswith(
        "power-off not confirmed: this libgphoto2 cannot power the camera off (the native layer "
        "is not built: sony-pm-alt doctor); the camera stays on"
    )
    assert result.returncode == 4
