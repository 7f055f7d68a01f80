"""The emulator as real third-party PTP/IP clients see it: Debian's gphoto2 CLI and
python-gphoto2 in two releases (the project's pinned 2.6.1 and the 2.6.4 reference)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from emulator_proc import (
    PAIRED_GUID,
    card_files,
    gphoto2_cli,
    gphoto2_home,
    operations,
    reference_python,
    run,
    running_emulator,
)
from sony_pm_alt.emulator import build_demo_card
from sony_pm_alt.emulator.process import EmulatorProcess

pytestmark = pytest.mark.integration

START_PAIR = [
    (0x9280, [4], "020000000200000000000000000000000101"),
    (0x9281, [4], None),
]
END_PAIR = [
    (0x9280, [4], "00000000050000000000000000000000"),
    (0x9281, [4], None),
]
CLIENT = Path(__file__).parent / "clients" / "pygphoto2_download.py"


@pytest.fixture(scope="module")
def card(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_demo_card(tmp_path_factory.mktemp("card"), photos=3)


def sony_ops(proc: EmulatorProcess) -> list[tuple[int, list[int], str | None]]:
    return [
        (r["opcode"], r["params"], r["data"])
        for r in proc.events("operation")
        if r["opcode"] in (0x9280, 0x9281)
    ]


def assert_downloaded(card: Path, files: dict[str, Path]) -> None:
    """Every card file arrived byte-identical, with its capture time as modification time."""
    expected = card_files(card)
    assert sorted(Path(k).name for k in expected) == sorted(files)
    for rel, source in expected.items():
        got = files[Path(rel).name]
        assert got.read_bytes() == source.read_bytes(), rel
        assert int(got.stat().st_mtime) == int(source.stat().st_mtime), rel


def test_gphoto2_cli_lists_and_downloads_every_file(tmp_path: Path, card: Path) -> None:
    env = gphoto2_home(tmp_path)
    dest = tmp_path / "dest"
    dest.mkdir()
    with running_emulator(tmp_path, "--guid", PAIRED_GUID, card=card) as emu:
        base = [gphoto2_cli(), "--port", emu.gphoto2_port, "--camera", "PTP/IP Camera"]
        listing = run([*base, "-L"], env=env, cwd=dest)
        assert listing.returncode == 0, listing.stderr
        for rel in card_files(card):
            assert Path(rel).name in listing.stdout
        assert "DCIM/100MSDCF" in listing.stdout
        assert "PRIVATE/M4ROOT/CLIP" in listing.stdout

    with running_emulator(tmp_path, "--guid", PAIRED_GUID, card=card) as emu:
        base = [gphoto2_cli(), "--port", emu.gphoto2_port, "--camera", "PTP/IP Camera"]
        download = run([*base, "-P"], env=env, cwd=dest)
        assert download.returncode == 0, download.stderr
        assert_downloaded(card, {p.name: p for p in dest.iterdir()})
        # libgphoto2 2.5.30 treats the body as Sony and sends the start pair.
        assert sony_ops(emu)[:2] == START_PAIR
        assert emu.events("screen")[0]["state"] == "sending"
        # Files above 1 MiB came with GetPartialObject, as gphoto2 does against a real body.
        assert any(op == 0x101B for op, _ in operations(emu))


def test_gphoto2_cli_with_a_wrong_guid_is_refused(tmp_path: Path, card: Path) -> None:
    env = gphoto2_home(tmp_path, guid="00:11:22:33:44:55:66:77:88:99:00:00:00:00:00:00")
    with running_emulator(tmp_path, "--guid", PAIRED_GUID, card=card) as emu:
        result = run(
            [
                gphoto2_cli(),
                "--debug",
                "--port",
                emu.gphoto2_port,
                "--camera",
                "PTP/IP Camera",
                "-L",
            ],
            env=env,
            cwd=tmp_path,
        )
        # libgphoto2 turns the Init Fail into a generic error; only its debug log names it.
        assert result.returncode != 0
        assert "Unspecified error" in result.stderr
        assert "bad type returned 5" in result.stderr
        fails = emu.events("init_fail")
        assert [(f["guid"], f["reason"]) for f in fails] == [
            ("00:11:22:33:44:55:66:77:88:99:00:00:00:00:00:00", 1)
        ]
        assert not emu.events("session_start")


def run_python_client(
    python: str, emu: EmulatorProcess, home: Path, dest: Path
) -> dict[str, object]:
    result = subprocess.run(
        [python, str(CLIENT), emu.gphoto2_port, str(dest)],
        env=gphoto2_home(home),
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    summary: dict[str, object] = json.loads(result.stdout.splitlines()[-1])
    return summary


def downloaded(summary: dict[str, object]) -> dict[str, Path]:
    files = summary["files"]
    assert isinstance(files, list)
    return {Path(f["path"]).name: Path(f["path"]) for f in files}


def test_python_gphoto2_pinned_sends_start_pair_only(tmp_path: Path, card: Path) -> None:
    dest = tmp_path / "dest"
    with running_emulator(tmp_path, "--guid", PAIRED_GUID, card=card) as emu:
        summary = run_python_client(sys.executable, emu, tmp_path, dest)
        assert summary["python_gphoto2"] == "2.6.1"
        assert summary["libgphoto2"] == "2.5.31"
        assert_downloaded(card, downloaded(summary))
        # 2.5.31 has the power-off call disabled: the camera stays on "Sending…".
        assert sony_ops(emu) == START_PAIR
        assert [s["state"] for s in emu.events("screen")] == ["sending"]
        assert emu.events("session_end")
        assert not emu.events("power_off")


def test_python_gphoto2_264_sends_both_pairs_and_powers_the_camera_off(
    tmp_path: Path, card: Path
) -> None:
    dest = tmp_path / "dest"
    with running_emulator(tmp_path, "--guid", PAIRED_GUID, card=card) as emu:
        summary = run_python_client(reference_python(), emu, tmp_path, dest)
        assert summary["python_gphoto2"] == "2.6.4"
        assert summary["libgphoto2"] == "2.5.34"
        assert_downloaded(card, downloaded(summary))
        ops = operations(emu)
        assert [op for op, _ in ops[:2]] == [0x1002, 0x1001]
        assert sony_ops(emu) == START_PAIR + END_PAIR
        # The start pair follows OpenSession/GetDeviceInfo, the end pair precedes CloseSession.
        assert [op for op, _ in ops[2:4]] == [0x9280, 0x9281]
        assert [op for op, _ in ops[-3:]] == [0x9280, 0x9281, 0x1003]
        assert [s["state"] for s in emu.events("screen")] == ["sending", "powered_off"]
        assert emu.events("power_off")
        # A powered-off camera is gone: the emulator exits by itself.
        assert emu.wait(timeout=30) == 0
        assert emu.events("activation_end")[0]["reason"] == "power_off"
