"""Every failure of a session ends with one clear line and the right exit status, never a
traceback: a connection lost during the listing or the start pair is reported as a lost
connection (not as a camera's answer, not as "choose another profile"), a camera busy at
OpenSession is asked again on the same connection and, if it stays busy, the user is told what
to do; Ctrl-C stops cleanly."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from emulator_proc import (
    PAIRED_GUID,
    gphoto2_cli,
    gphoto2_home,
    json_lines,
    operations,
    run,
    run_sync,
    running_emulator,
    sync_command,
)
from sony_pm_alt.cli.errors import ExitCode
from sony_pm_alt.emulator import build_demo_card
from sony_pm_alt.emulator.process import EmulatorProcess

pytestmark = pytest.mark.integration

LOST = "sony-pm-alt: the connection to the camera was lost while"


@pytest.fixture(scope="module")
def card(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_demo_card(tmp_path_factory.mktemp("card"), photos=3)


def one_line(stderr: str) -> str:
    """The whole of standard error: exactly one line, no traceback."""
    assert "Traceback" not in stderr
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    return lines[0]


@pytest.mark.parametrize(
    ("fault", "extra"),
    [
        ("drop-at=0x9805:1", ()),  # the bulk listing
        ("drop-at=0x1007:1", ()),  # GetObjectHandles, inside libgphoto2's own start-up
        ("drop-at=0x1007:2", ("--no-bulk-listing",)),  # the folder-by-folder listing
        ("drop-at=0x1008:2", ("--no-bulk-listing",)),  # GetObjectInfo of the second file
    ],
    ids=["bulk-listing", "handles-at-start", "folder-listing", "object-info"],
)
def test_a_connection_lost_during_the_listing_is_one_clear_line(
    tmp_path: Path, card: Path, fault: str, extra: tuple[str, ...]
) -> None:
    with running_emulator(tmp_path, "--guid", PAIRED_GUID, "--fault", fault, card=card) as emu:
        code, _lines, stderr = run_sync(emu, tmp_path, *extra, timeout=120)
        assert emu.events("fault")  # the drop happened
        assert emu.events("power_off") == []
    assert code == 3
    line = one_line(stderr)
    assert line.startswith(LOST), line
    assert "camera answered" not in line
    assert "GET_DEVICE_INFO" not in line
    assert 'choose "Send to Computer" on the camera again' in line
    assert not [p for p in (tmp_path / "dest").rglob("*") if p.is_file()]


@pytest.mark.parametrize("opcode", [0x9805, 0x1007])
def test_a_camera_that_stalls_during_the_listing_is_one_clear_line(
    tmp_path: Path, card: Path, opcode: int
) -> None:
    """Beyond libgphoto2's PTP/IP timeout (2.5 s) a silent camera is a failure, not a hang."""
    with running_emulator(
        tmp_path, "--guid", PAIRED_GUID, "--fault", f"latency=0x{opcode:04X}:8", card=card
    ) as emu:
        code, _, stderr = run_sync(emu, tmp_path, timeout=120)
        assert emu.events("power_off") == []
    assert code == 3
    line = one_line(stderr)
    assert line.startswith("sony-pm-alt: the camera stopped answering while listing"), line


def test_a_connection_lost_in_the_end_steps_keeps_the_files_and_says_so(
    tmp_path: Path, card: Path
) -> None:
    with running_emulator(
        tmp_path, "--guid", PAIRED_GUID, "--fault", "drop-at=0x9280:2", card=card
    ) as emu:
        code, lines, stderr = run_sync(emu, tmp_path, timeout=120)
    (summary,) = [line for line in lines if line["event"] == "summary"]
    assert code == 4  # every file is safe; the power-off was due but not confirmed
    assert (summary["transferred"], summary["powered_off"]) == (summary["planned"], False)
    assert summary["camera_left_on"].startswith("the power-off was not answered (I/O error")
    line = one_line(stderr)
    assert "the power-off was not confirmed: the connection was lost" in line
    assert "Traceback" not in stderr


def test_a_dropped_start_pair_is_a_lost_connection_not_a_refusal(
    tmp_path: Path, card: Path
) -> None:
    with running_emulator(
        tmp_path, "--guid", PAIRED_GUID, "--fault", "drop-at=0x9280:1", card=card
    ) as emu:
        code, _, stderr = run_sync(emu, tmp_path, "--profile", "upstream", timeout=120)
    assert code == 3
    line = one_line(stderr)
    assert line.startswith(LOST), line
    assert "vendor profile start step 1" in line
    assert "--profile" not in line
    assert "another profile" not in line


def test_a_camera_busy_for_a_moment_at_open_session_is_asked_again(
    tmp_path: Path, card: Path
) -> None:
    """libgphoto2 alone asks three times back to back; a busy body needs a moment."""
    with running_emulator(
        tmp_path, "--guid", PAIRED_GUID, "--fault", "busy-open-session=4", card=card
    ) as emu:
        code, lines, stderr = run_sync(emu, tmp_path, timeout=120)
        busy = [r for r in emu.events("fault") if r["kind"] == "busy_open_session"]
        connections = emu.events("init")
    assert code == 0, stderr
    assert len(busy) == 4
    assert len(connections) == 1  # asked again on the same connection
    (summary,) = [line for line in lines if line["event"] == "summary"]
    assert (summary["transferred"], summary["powered_off"]) == (summary["planned"], True)


def test_a_camera_that_stays_busy_tells_the_user_what_to_do(tmp_path: Path, card: Path) -> None:
    with running_emulator(
        tmp_path, "--guid", PAIRED_GUID, "--fault", "busy-open-session=1000", card=card
    ) as emu:
        code, _, stderr = run_sync(emu, tmp_path, timeout=120)
        connections = emu.events("init")
    assert code == 3
    line = one_line(stderr)
    assert "busy" in line
    assert "DeviceBusy" in line
    assert 'choose "Send to Computer" on the camera again' in line
    assert "I/O problem" not in line
    # A new connection would be ignored by a camera that took one already: none is tried.
    assert len(connections) == 1


def test_ctrl_c_stops_with_one_line(tmp_path: Path, card: Path) -> None:
    with running_emulator(
        tmp_path, "--guid", PAIRED_GUID, "--fault", "latency=0x101B:0.5", card=card
    ) as emu:
        with subprocess.Popen(
            sync_command(emu, tmp_path), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        ) as proc:
            assert proc.stdout is not None
            started = json_lines(proc.stdout.readline())  # the session's plan
            assert started[0]["event"] == "session"
            first = proc.stdout.readline()  # the first file is saved; the next one is slow
            assert json_lines(first)[0]["event"] == "saved"
            proc.send_signal(signal.SIGINT)
            stdout, stderr = proc.communicate(timeout=60)
        assert emu.events("power_off") == []
    assert proc.returncode == 130
    line = one_line(stderr)
    assert line.startswith("sony-pm-alt: interrupted")
    assert "summary" not in stdout  # nothing claims the session ended normally
    visible = [p for p in (tmp_path / "dest").rglob("*") if p.is_file()]
    assert all(p.name.endswith(".sony-pm-alt-partial") or p.stat().st_size for p in visible)


@pytest.mark.parametrize(("busy", "works"), [(2, True), (3, False)])
def test_busy_open_session_as_debians_gphoto2_sees_it(
    tmp_path: Path, card: Path, busy: int, works: bool
) -> None:
    """Fidelity check with a third-party client: stock libgphoto2 asks OpenSession three
    times back to back, so two Busy answers are survived and three are not, as "busy"."""
    env = gphoto2_home(tmp_path)
    env.pop("CAMLIBS", None)  # set by the native layer if this process loaded it: stock camlib
    with running_emulator(
        tmp_path, "--guid", PAIRED_GUID, "--fault", f"busy-open-session={busy}", card=card
    ) as emu:
        base = [gphoto2_cli(), "--port", emu.gphoto2_port, "--camera", "PTP/IP Camera"]
        result = run([*base, "-L"], env=env, cwd=tmp_path)
        assert len(emu.events("session_start")) == int(works)
    if works:
        assert result.returncode == 0, result.stderr
        assert "DSC00001.JPG" in result.stdout
    else:
        assert result.returncode != 0
        assert "busy" in result.stderr.lower()


# --- each libgphoto2 failure a user can meet: one line that says what happened and what to do


def wait_for_init(emu: EmulatorProcess, limit: float = 60.0) -> None:
    """Until the emulator has taken the client's Init Command Request (bounded)."""
    deadline = time.monotonic() + limit
    while not emu.events("init"):
        assert time.monotonic() < deadline, "the client never connected"
        threading.Event().wait(0.05)


def no_raw_libgphoto2_text(line: str) -> None:
    """libgphoto2's own texts ("[-7] I/O problem", "[-1] Unspecified error") never alone."""
    for raw in ("[-1] Unspecified error", "[-2] Bad parameters", "[-7] I/O problem"):
        assert raw not in line, line
    assert not line.removeprefix("sony-pm-alt: ").startswith("[")


def test_a_refused_guid_is_one_line(tmp_path: Path, card: Path) -> None:
    with running_emulator(tmp_path, "--guid", PAIRED_GUID, card=card) as emu:
        command = sync_command(emu, tmp_path)
        command[command.index("--guid") + 1] = "00:11:22:33:44:55:66:77:88:99:aa:bb:cc:dd:ee:ff"
        result = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
        assert emu.events("session_start") == []
    assert result.returncode == ExitCode.NO_SESSION
    line = one_line(result.stderr)
    assert line.startswith("sony-pm-alt: the camera refused our GUID 00:11:22:33"), line
    assert "set the GUID your camera was paired with" in line
    no_raw_libgphoto2_text(line)


def test_no_camera_at_the_address_is_one_line(tmp_path: Path) -> None:
    with socket.socket() as closed:  # a loopback port nothing listens on
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    command = [
        sys.executable, "-m", "sony_pm_alt", "sync", "--host", "127.0.0.1", "--port", str(port),
        "--guid", PAIRED_GUID, "--dest", str(tmp_path / "dest"),
        "--state", str(tmp_path / "state.sqlite3"), "--json",
    ]  # fmt: skip
    result = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == ExitCode.NO_SESSION
    line = one_line(result.stderr)
    assert line.startswith(f"sony-pm-alt: cannot open the camera at 127.0.0.1:{port}: "), line
    assert "no PTP/IP answer" in line
    assert 'check that the camera shows "Send to Computer" at that address' in line
    no_raw_libgphoto2_text(line)


def test_a_camera_that_does_not_answer_at_open_session_is_one_line(
    tmp_path: Path, card: Path
) -> None:
    with running_emulator(
        tmp_path, "--guid", PAIRED_GUID, "--fault", "latency=0x1002:8", card=card
    ) as emu:
        code, lines, stderr = run_sync(emu, tmp_path, timeout=120)
    assert code == ExitCode.NO_SESSION
    line = one_line(stderr)
    assert line.startswith(f"sony-pm-alt: cannot open the camera at 127.0.0.1:{emu.port}: "), line
    assert "timeout" in line
    assert "check that the camera shows" in line
    no_raw_libgphoto2_text(line)
    assert lines == []


def test_a_connection_dropped_during_a_download_is_one_line_and_the_rest_is_not_attempted(
    tmp_path: Path, card: Path
) -> None:
    with running_emulator(
        tmp_path, "--guid", PAIRED_GUID, "--fault", "drop-at=0x101B:1", card=card
    ) as emu:
        code, lines, stderr = run_sync(emu, tmp_path, timeout=120)
        reads = [op for op, _ in operations(emu) if op == 0x101B]
        assert len(emu.events("fault")) == 1  # the first read of the first file
        assert emu.events("power_off") == []
    assert code == ExitCode.FAILED
    (summary,) = [line for line in lines if line["event"] == "summary"]
    assert summary["transferred"] == 0
    assert reads == []  # the camera was not asked for another file
    first, *rest = summary["failed"]
    assert "the connection to the camera was lost while downloading" in first
    assert rest
    assert all(f.endswith("not attempted: the connection to the camera was lost") for f in rest)
    line = one_line(stderr)
    assert line.startswith("sony-pm-alt: the connection to the camera was lost during "), line
    assert 'choose "Send to Computer" on the camera again' in line
    no_raw_libgphoto2_text(line)


@pytest.mark.parametrize("signals", [1, 2], ids=["once", "twice"])
def test_ctrl_c_while_the_camera_is_opened_is_one_line(
    tmp_path: Path, card: Path, signals: int
) -> None:
    """The signal breaks libgphoto2's wait for OpenSession: that is the stop, not a camera
    that timed out; a second Ctrl-C ends at once, without a traceback from python-gphoto2's
    log callback."""
    with (
        running_emulator(
            tmp_path, "--guid", PAIRED_GUID, "--fault", "latency=0x1002:5", card=card
        ) as emu,
        subprocess.Popen(
            sync_command(emu, tmp_path), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        ) as proc,
    ):
        wait_for_init(emu)  # the session is being opened: OpenSession is held 5 s
        for _ in range(signals):
            proc.send_signal(signal.SIGINT)
        stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode == ExitCode.INTERRUPTED
    line = one_line(stderr)
    assert line.startswith("sony-pm-alt: interrupted"), line
    assert stdout == ""
