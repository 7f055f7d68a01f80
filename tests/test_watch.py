"""`sony-pm-alt watch`, the main job, against emulated cameras announcing over SSDP inside a
private network namespace: discover, sync, power off, ignore re-announcements within the
cooldown; two cameras at once; SIGTERM mid-transfer leaves nothing half-done.

Each test runs this file as a script in a fresh namespace (tests/netns.py). The scenario
drives real processes (`sony-pm-alt emulate --ssdp`, `sony-pm-alt watch`), waits on their
output lines, and prints one JSON line that the test asserts on. Nothing leaves the namespace.
"""

from __future__ import annotations

import json
import os
import re
import select
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import pytest

from netns import netns_python

pytestmark = pytest.mark.integration

GUID_A = "ff:ff:52:54:00:b6:fd:a9:ff:ff:52:3c:28:07:a9:3a"
GUID_B = "00:00:00:00:00:00:00:00:ff:ff:08:00:27:f5:16:4f"
SERIAL_A = "00000000000000003282651203392641"
SERIAL_B = "00000000000000000000000000000042"
WAIT = 60.0  # bound on any single scenario step


def scenario(tmp_path: Path, name: str) -> dict[str, Any]:
    proc = netns_python(Path(__file__), name, str(tmp_path), timeout=240)
    assert proc.returncode == 0, proc.stderr.decode(errors="replace")[-4000:]
    result: dict[str, Any] = json.loads(proc.stdout.decode().strip().splitlines()[-1])
    return result


def test_watch_syncs_once_and_respects_the_cooldown(tmp_path: Path) -> None:
    result = scenario(tmp_path, "cooldown")
    assert result["watch_exit"] == 0
    assert result["sessions"] == 1  # the re-announcing camera did not start a second session
    assert result["ignored"] >= 1
    assert result["activations"] == 2  # the camera did announce again after powering off
    assert result["screens"][:2] == ["sending", "powered_off"]
    assert result["files"] == 6
    assert result["same_bytes"] is True


def test_watch_on_a_terminal_prints_paths_and_rates_as_they_are(tmp_path: Path) -> None:
    """Through a pseudo-terminal: readable lines (not JSON), paths with their ``/`` and rates as
    ``MB/s`` — only the camera's own text is cleaned, never the whole line."""
    result = scenario(tmp_path, "terminal")
    assert result["watch_exit"] == 0
    lines: list[str] = result["lines"]
    dest = result["dest"]
    assert not [line for line in lines if line.startswith("{")]
    saved = [line for line in lines if ": saved " in line]
    assert len(saved) == result["files"] > 0
    assert all(line.startswith(f"ILCE-6000 at 127.0.0.1: saved {dest}/") for line in saved)
    (summary,) = [line for line in lines if " files, " in line]
    assert re.search(r" in \d+\.\d\d s \(\d+(\.\d)? (B|kB|MB|GB)/s\), camera powered off$", summary)
    assert dest.replace("/", "_") not in "\n".join(lines)


def test_watch_off_a_terminal_writes_only_json_lines_warnings_included(tmp_path: Path) -> None:
    result = scenario(tmp_path, "json_only")
    assert result["watch_exit"] == 0
    assert result["not_json"] == []
    assert [r["event"] for r in result["records"]] == ["waiting", "log", "stopped"]
    warning = result["records"][1]
    assert warning["level"] == "warning"
    assert warning["message"].startswith("no GUID configured")
    assert result["stderr"] == ""  # the warning is not repeated as a plain line


def test_two_cameras_at_once(tmp_path: Path) -> None:
    result = scenario(tmp_path, "two_cameras")
    assert result["watch_exit"] == 0
    assert result["init_guids"] == {"a": [GUID_A], "b": [GUID_B]}
    assert result["files"] == {"a": 6, "b": 6}
    assert result["powered_off"] == {"a": True, "b": True}


def test_sigterm_mid_transfer_then_the_next_run_completes(tmp_path: Path) -> None:
    result = scenario(tmp_path, "sigterm")
    assert result["first_exit"] == 0  # SIGTERM is a clean stop
    assert result["cancelled"] is True
    # Only complete files were ever visible at a final name.
    assert result["after_sigterm_incomplete_visible"] == []
    assert result["after_sigterm_visible"] < 6
    assert result["second_exit"] == 0
    assert result["final_visible"] == 6
    assert result["same_bytes"] is True
    assert result["partials_left"] == 0


# --- inside the namespace ----------------------------------------------------------------


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "sony_pm_alt", *args]


def _lines(stream: IO[str]) -> Iterator[dict[str, Any]]:
    """The records of watch's standard output: off a terminal every line is JSON."""
    for line in stream:
        yield json.loads(line)


def _emulator(work: Path, name: str, *args: str) -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        _cli(
            "emulate",
            "--ssdp",
            "--port",
            "15740",
            "--notify-interval",
            "0.3",
            "--log",
            str(work / f"{name}.jsonl"),
            *args,
        ),
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "15740"
    return proc


def _watch(work: Path, *args: str) -> subprocess.Popen[str]:
    env = {
        **os.environ,
        "XDG_CONFIG_HOME": str(work / "config"),
        "XDG_DATA_HOME": str(work / "data"),
    }
    return subprocess.Popen(
        _cli("watch", "--state", str(work / "state.sqlite3"), *args),
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=env,
    )


def _records(work: Path, name: str) -> list[dict[str, Any]]:
    with (work / f"{name}.jsonl").open() as f:
        return [json.loads(line) for line in f if line.strip()]


def _visible(dest: Path) -> list[Path]:
    if not dest.exists():
        return []
    return sorted(p for p in dest.rglob("*") if p.is_file() and not p.name.startswith("."))


def _same_bytes(card: Path, dest: Path) -> bool:
    want = sorted(p.read_bytes() for p in card.rglob("*") if p.is_file())
    return want == sorted(p.read_bytes() for p in _visible(dest))


def _stop(proc: subprocess.Popen[str]) -> int:
    proc.send_signal(signal.SIGTERM)
    return proc.wait(timeout=WAIT)


def _demo_card(work: Path) -> Path:
    from sony_pm_alt.emulator import build_demo_card

    return build_demo_card(work / "card")


def _scenario_cooldown(work: Path) -> dict[str, Any]:
    card = _demo_card(work)
    emulator = _emulator(
        work, "camera", "--guid", GUID_A, "--activations", "2", "--card", str(card)
    )
    watch = _watch(work, "--guid", GUID_A, "--dest", str(work / "dest"), "--cooldown", "600")
    assert watch.stdout is not None
    events = []
    for record in _lines(watch.stdout):
        events.append(record["event"])
        if record["event"] == "ignored":  # the camera announced again within the cooldown
            break
    code = _stop(watch)
    emulator_code = _stop(emulator)
    records = _records(work, "camera")
    return {
        "watch_exit": code,
        "emulator_exit": emulator_code,
        "sessions": sum(r["event"] == "session_start" for r in records),
        "activations": sum(r["event"] == "activation_start" for r in records),
        "ignored": events.count("ignored"),
        "screens": [r["state"] for r in records if r["event"] == "screen"],
        "files": len(_visible(work / "dest")),
        "same_bytes": _same_bytes(card, work / "dest"),
    }


def _scenario_two_cameras(work: Path) -> dict[str, Any]:
    card = _demo_card(work)
    a = _emulator(
        work,
        "a",
        "--guid",
        GUID_A,
        "--serial",
        SERIAL_A,
        "--mac",
        "0a0000000001",
        "--card",
        str(card),
    )
    b = _emulator(
        work,
        "b",
        "--guid",
        GUID_B,
        "--serial",
        SERIAL_B,
        "--mac",
        "0a0000000002",
        "--host",
        "127.0.0.2",
        "--ssdp-interface",
        "127.0.0.2",
        "--card",
        str(card),
    )
    config = work / "config" / "sony-pm-alt" / "config.toml"
    config.parent.mkdir(parents=True)
    config.write_text(
        f'[defaults]\ndest = "{work / "unused"}"\n\n'
        f'[[camera]]\nmatch = "{SERIAL_A}"\nguid = "{GUID_A}"\ndest = "{work / "dest-a"}"\n\n'
        f'[[camera]]\nmatch = "{SERIAL_B}"\nguid = "{GUID_B}"\ndest = "{work / "dest-b"}"\n'
    )
    watch = _watch(work)
    assert watch.stdout is not None
    finished: dict[str, bool] = {}
    for record in _lines(watch.stdout):
        if record["event"] == "summary":
            finished[record["host"]] = record["powered_off"]
            if len(finished) == 2:
                break
    code = _stop(watch)
    for emulator in (a, b):
        emulator.wait(timeout=WAIT)  # powered off: they exit by themselves
    return {
        "watch_exit": code,
        "init_guids": {
            n: [r["guid"] for r in _records(work, n) if r["event"] == "init"] for n in ("a", "b")
        },
        "files": {n: len(_visible(work / f"dest-{n}")) for n in ("a", "b")},
        "powered_off": {"a": finished.get("127.0.0.1"), "b": finished.get("127.0.0.2")},
    }


def _scenario_sigterm(work: Path) -> dict[str, Any]:
    card = _demo_card(work)
    dest = work / "dest"
    # Slow partial reads keep a transfer in progress when the signal comes; the camera's idle
    # timer then ends the first activation and it announces again for the second run.
    emulator = _emulator(
        work,
        "camera",
        "--guid",
        GUID_A,
        "--activations",
        "2",
        "--fault",
        "latency=0x101B:0.2",
        "--inactivity-timeout",
        "2",
        "--card",
        str(card),
    )
    first = _watch(work, "--guid", GUID_A, "--dest", str(dest))
    assert first.stdout is not None
    for record in _lines(first.stdout):
        if record["event"] == "saved":  # one file done, the next one is being transferred
            break
    first.send_signal(signal.SIGTERM)
    cancelled = any(r["event"] == "cancelled" for r in _lines(first.stdout))
    first_exit = first.wait(timeout=WAIT)
    complete = {p.read_bytes() for p in card.rglob("*") if p.is_file()}
    after = _visible(dest)
    incomplete = [str(p) for p in after if p.read_bytes() not in complete]
    second = _watch(work, "--guid", GUID_A, "--dest", str(dest), "--once")
    second_exit = second.wait(timeout=WAIT * 2)
    emulator.wait(timeout=WAIT)
    return {
        "first_exit": first_exit,
        "cancelled": cancelled,
        "after_sigterm_visible": len(after),
        "after_sigterm_incomplete_visible": incomplete,
        "second_exit": second_exit,
        "final_visible": len(_visible(dest)),
        "same_bytes": _same_bytes(card, dest),
        "partials_left": len(list(dest.rglob("*.sony-pm-alt-partial"))),
    }


def _read_terminal(fd: int, proc: subprocess.Popen[bytes]) -> str:
    """Everything written to the pseudo-terminal until ``proc`` exits (bounded by WAIT)."""
    chunks: list[bytes] = []
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.5)
        if ready:
            try:
                chunk = os.read(fd, 65536)
            except OSError:  # EIO: every writer closed the terminal
                break
            if not chunk:
                break
            chunks.append(chunk)
        elif proc.poll() is not None:
            break
    return b"".join(chunks).decode(errors="replace")


def _scenario_json_only(work: Path) -> dict[str, Any]:
    env = {**os.environ, "XDG_CONFIG_HOME": str(work / "config")}
    watch = subprocess.Popen(
        _cli("watch", "--state", str(work / "state.sqlite3"), "--dest", str(work / "dest")),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )  # fmt: skip
    assert watch.stdout is not None
    first = [watch.stdout.readline(), watch.stdout.readline()]  # waiting, then the warning
    watch.send_signal(signal.SIGTERM)
    rest, stderr = watch.communicate(timeout=WAIT)
    lines = [line for line in first + rest.splitlines() if line.strip()]
    return {
        "watch_exit": watch.returncode,
        "not_json": [line for line in lines if not line.startswith("{")],
        "records": [json.loads(line) for line in lines if line.startswith("{")],
        "stderr": stderr,
    }


def _scenario_terminal(work: Path) -> dict[str, Any]:
    card = _demo_card(work)
    emulator = _emulator(work, "camera", "--guid", GUID_A, "--card", str(card))
    dest = work / "dest"
    env = {**os.environ, "XDG_CONFIG_HOME": str(work / "config")}
    controller, terminal = os.openpty()
    with (work / "watch.stderr").open("w") as stderr:
        watch = subprocess.Popen(
            _cli("watch", "--state", str(work / "state.sqlite3"), "--guid", GUID_A,
                 "--dest", str(dest), "--once"),
            stdin=subprocess.DEVNULL, stdout=terminal, stderr=stderr, env=env,
        )  # fmt: skip
    os.close(terminal)
    try:
        text = _read_terminal(controller, watch)
    finally:
        os.close(controller)
    code = watch.wait(timeout=WAIT)
    emulator.wait(timeout=WAIT)  # powered off: it exits by itself
    return {
        "watch_exit": code,
        "lines": [line.rstrip("\r") for line in text.split("\n") if line.strip()],
        "dest": str(dest),
        "files": len(_visible(dest)),
    }


if __name__ == "__main__":
    scenarios = {
        "cooldown": _scenario_cooldown,
        "two_cameras": _scenario_two_cameras,
        "sigterm": _scenario_sigterm,
        "terminal": _scenario_terminal,
        "json_only": _scenario_json_only,
    }
    print(json.dumps(scenarios[sys.argv[1]](Path(sys.argv[2]))))
