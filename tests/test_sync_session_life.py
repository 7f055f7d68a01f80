"""A session outlives the camera's idle window thanks to the keep-alive, and user hooks run
with gphoto2's environment without ever being fatal."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from emulator_proc import PAIRED_GUID, run_sync, running_emulator
from sony_pm_alt.emulator import build_demo_card

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def card(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_demo_card(tmp_path_factory.mktemp("card"), photos=1)  # a photo and a clip


# The hook below is slow on purpose: it is the user's slow post-processing under test.
SLOW_HOOK = 'if [ "$ACTION" = download ]; then sleep 2.5; fi'


@pytest.mark.parametrize("keepalive", [0.3, 600.0])
def test_keepalive_holds_the_session_through_slow_hooks(
    tmp_path: Path, card: Path, keepalive: float
) -> None:
    with running_emulator(
        tmp_path, "--guid", PAIRED_GUID, "--inactivity-timeout", "1.5", card=card
    ) as emu:
        code, lines, _ = run_sync(
            emu, tmp_path, "--hook", SLOW_HOOK, "--keepalive", str(keepalive), timeout=300
        )
        (summary,) = [line for line in lines if line["event"] == "summary"]
        pings = [r for r in emu.events("operation") if r["opcode"] == 0x1001][1:]
        timeouts = emu.events("timeout")
    if keepalive < 1.5:
        assert code == 0
        assert (summary["transferred"], summary["powered_off"]) == (2, True)
        assert pings  # GetDeviceInfo kept the camera awake while the hook ran
        assert timeouts == []
    else:  # the control: without keep-alive the camera's idle timer ends the session
        assert code == 1
        assert timeouts
        assert summary["powered_off"] is False


def test_hooks_get_gphoto2_environment_and_json_and_are_never_fatal(
    tmp_path: Path, card: Path
) -> None:
    record = tmp_path / "hook.log"
    hook = (
        f'printf "%s|%s|" "$ACTION" "$ARGUMENT" >> {record}; cat >> {record}; '
        f"echo >> {record}; exit 3"
    )
    with running_emulator(tmp_path, "--guid", PAIRED_GUID, card=card) as emu:
        code, lines, _ = run_sync(emu, tmp_path, "--hook", hook, timeout=300)
    assert code == 0  # a failing hook does not fail the transfer
    saved = [line["path"] for line in lines if line["event"] == "saved"]
    calls = [line.split("|", 2) for line in record.read_text().splitlines()]
    assert [c[0] for c in calls] == ["init", "start", "download", "download", "stop"]
    assert [c[1] for c in calls if c[0] == "download"] == saved
    payloads = [json.loads(c[2]) for c in calls]
    assert all(p["action"] == c[0] for p, c in zip(payloads, calls, strict=True))
    assert payloads[1]["planned"] == 2
    assert payloads[-1]["transferred"] == 2
