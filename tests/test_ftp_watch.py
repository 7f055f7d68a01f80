"""Acceptance: `sony-pm-alt watch` with [ftp] enabled and one camera account receives what
the FTP camera emulator uploads — 30 files with hierarchy "Standard", then 30 with "Same as in
Camera" over TLS — byte-identical at the template's paths, two sessions in the history, the
hook run per file; a drop mid-upload and a retransmission leave nothing partial at a final
name and one record.

`watch` also listens for SSDP, so the scenario runs in a private network namespace
(tests/netns.py) like tests/test_watch.py; it prints one JSON line the test asserts on.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import IO, Any

import pytest

from netns import netns_python

pytestmark = pytest.mark.integration

SERIAL = "00000000000000003282651203392641"
WAIT = 120.0


def scenario(tmp_path: Path, name: str) -> dict[str, Any]:
    proc = netns_python(Path(__file__), name, str(tmp_path), timeout=300)
    assert proc.returncode == 0, proc.stderr.decode(errors="replace")[-4000:]
    result: dict[str, Any] = json.loads(proc.stdout.decode().strip().splitlines()[-1])
    return result


def test_watch_receives_standard_then_same_as_in_camera_over_tls(tmp_path: Path) -> None:
    result = scenario(tmp_path, "acceptance")
    assert result["emulator_exits"] == [0, 0]
    assert result["watch_exit"] == 0
    assert result["sent"] == 60
    assert result["missing_or_different"] == []
    assert result["visible"] == 60
    assert result["kinds"] == {"JPG": 20, "ARW": 20, "MP4": 20}
    assert result["ftp_sessions"] == 2
    assert result["history_rows"] == 60
    assert result["time_sources"] == ["exif", "metadata"]
    assert result["history_sessions"] == 2
    assert result["hook_downloads"] == 60
    assert result["partials_left"] == 0


def test_watch_drop_mid_upload_then_retransmit(tmp_path: Path) -> None:
    result = scenario(tmp_path, "drop")
    assert result["emulator_exits"] == [0, 0]
    assert result["missing_or_different"] == []
    assert result["visible"] == 4
    assert result["history_rows"] == 4  # the retransmitted file is recorded once
    assert result["incomplete_at_final_name"] == []
    # The same files sent again: no second copy, no new record.
    assert result["visible_after_resend"] == 4
    assert result["history_rows_after_resend"] == 4


# --- inside the namespace ----------------------------------------------------------------


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "sony_pm_alt", *args]


def _wait_for(stream: IO[str], event: str, count: int = 1) -> list[dict[str, Any]]:
    seen: list[dict[str, Any]] = []
    for line in stream:  # off a terminal every line of watch's standard output is JSON
        record = json.loads(line)
        if record.get("event") == event:
            seen.append(record)
            if len(seen) == count:
                return seen
    raise AssertionError(f"watch ended before {count} {event!r} lines")


def _config(work: Path) -> Path:
    hook = work / "hook.sh"
    hook.write_text(
        '#!/bin/sh\n[ "$ACTION" = download ] && echo "$ARGUMENT" >> "$HOOK_LOG"\nexit 0\n'
    )
    hook.chmod(0o755)
    config = work / "config.toml"
    config.write_text(
        f"""
[defaults]
dest = "{work / "photos"}"
template = "{{year}}/{{year}}-{{month}}-{{day}}/{{folder}}/{{filename}}"
hook = "{hook}"

[ftp]
enabled = true
listen = "127.0.0.1"
tls = true
certfile = "{work / "cert.pem"}"
keyfile = "{work / "key.pem"}"

[[camera]]
match = "{SERIAL}"
ftp_user = "a7iv"
ftp_password = "s3cret pass"
"""
    )
    from sony_pm_alt.ftp.tls import ensure_self_signed

    ensure_self_signed(work / "cert.pem", work / "key.pem", ("127.0.0.1",))
    return config


def _watch(work: Path) -> tuple[subprocess.Popen[str], int]:
    env = {**os.environ, "HOOK_LOG": str(work / "hook.log"),
           "XDG_DATA_HOME": str(work / "data")}  # fmt: skip
    proc = subprocess.Popen(
        _cli(
            "watch",
            "--config",
            str(_config(work)),
            "--state",
            str(work / "state.sqlite3"),
            "--ftp-port",
            "0",
        ),
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=env,
    )
    assert proc.stdout is not None
    port = int(_wait_for(proc.stdout, "ftp_listening")[0]["port"])
    return proc, port


def _emulate(port: int, *args: str) -> tuple[int, list[dict[str, Any]]]:
    proc = subprocess.run(
        _cli(
            "emulate-ftp",
            "--ftp",
            f"127.0.0.1:{port}",
            "--user",
            "a7iv",
            "--password",
            "s3cret pass",
            "--json",
            *args,
        ),
        capture_output=True,
        text=True,
        timeout=WAIT,
    )
    sent = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
    if proc.returncode != 0:
        sys.stderr.write(proc.stderr)
    return proc.returncode, sent


def _visible(dest: Path) -> list[Path]:
    return sorted(p for p in dest.rglob("*") if p.is_file() and not p.name.startswith("."))


def _expected(count: int, first: int, seed: int, mp4_bytes: int) -> dict[str, str]:
    from sony_pm_alt.emulator.ftp_media import card

    files = card(count, first_number=first, seed=seed, mp4_bytes=mp4_bytes)
    return {f"{m.captured:%Y/%Y-%m-%d}/{_folder(m)}/{m.name}": _sha(m.data()) for m in files}


def _folder(media: Any) -> str:
    return str(media.folder).rsplit("/", 1)[-1]


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _compare(dest: Path, expected: dict[str, str], folders: dict[str, str]) -> list[str]:
    bad = []
    for relative, digest in expected.items():
        year_day, folder, name = relative.rsplit("/", 2)
        path = dest / year_day / folders.get(folder, folder) / name
        if not path.is_file() or _sha(path.read_bytes()) != digest:
            bad.append(relative)
    return bad


def _history(work: Path) -> list[dict[str, Any]]:
    out = subprocess.run(
        _cli("history", "--json", "--limit", "1000", "--state", str(work / "state.sqlite3")),
        capture_output=True,
        text=True,
        timeout=WAIT,
        check=True,
    )
    rows: list[dict[str, Any]] = json.loads(out.stdout)
    return rows


def _stop(proc: subprocess.Popen[str]) -> int:
    proc.send_signal(signal.SIGTERM)
    return proc.wait(timeout=WAIT)


def _scenario_acceptance(work: Path) -> dict[str, Any]:
    watch, port = _watch(work)
    assert watch.stdout is not None
    exits = []
    code, first = _emulate(port, "--files", "30", "--hierarchy", "standard", "--directory",
                           "sony", "--seed", "1")  # fmt: skip
    exits.append(code)
    saved = _wait_for(watch.stdout, "saved", 30)
    _wait_for(watch.stdout, "summary")
    code, second = _emulate(port, "--files", "30", "--first-number", "31", "--hierarchy",
                            "camera", "--secure", "--cafile", str(work / "cert.pem"),
                            "--seed", "2", "--active")  # fmt: skip
    exits.append(code)
    _wait_for(watch.stdout, "summary")
    watch_exit = _stop(watch)
    dest = work / "photos"
    # "Standard": every file's {folder} is the specified directory's last component.
    bad = _compare(dest, _expected(30, 1, 1, 200_000), {"100MSDCF": "sony", "CLIP": "sony"})
    bad += _compare(dest, _expected(30, 31, 2, 200_000), {})
    visible = _visible(dest)
    kinds: dict[str, int] = {}
    for path in visible:
        kinds[path.suffix[1:]] = kinds.get(path.suffix[1:], 0) + 1
    with sqlite3.connect(work / "state.sqlite3") as db:
        sessions = db.execute("SELECT count(*) FROM sessions WHERE model = 'FTP Transfer'"
                              " AND result = 'ok'").fetchone()[0]  # fmt: skip
        transfer_sessions = db.execute(
            "SELECT count(DISTINCT session_id) FROM transfers"
        ).fetchone()[0]
    hook_log = (work / "hook.log").read_text().splitlines()
    return {
        "emulator_exits": exits,
        "watch_exit": watch_exit,
        "sent": len(first) + len(second),
        "missing_or_different": bad,
        "visible": len(visible),
        "kinds": kinds,
        "ftp_sessions": sessions,
        "time_sources": sorted({r["time_source"] for r in saved}),
        "history_rows": len(_history(work)),
        "history_sessions": transfer_sessions,
        "hook_downloads": len(set(hook_log)),
        "partials_left": len(list(dest.rglob("*.sony-pm-alt-partial"))),
    }


def _scenario_drop(work: Path) -> dict[str, Any]:
    watch, port = _watch(work)
    assert watch.stdout is not None
    args = ("--files", "4", "--hierarchy", "camera", "--seed", "3", "--mp4-bytes", "3000000")
    exits = []
    code, _ = _emulate(port, *args, "--fault", "drop-mid-upload=3")
    exits.append(code)
    _wait_for(watch.stdout, "summary")
    dest = work / "photos"
    visible = _visible(dest)
    incomplete = [str(p) for p in visible if p.stat().st_size < 1000]
    bad = _compare(dest, _expected(4, 1, 3, 3_000_000), {})
    rows = len(_history(work))
    code, _ = _emulate(port, *args)
    exits.append(code)
    _wait_for(watch.stdout, "summary")
    _stop(watch)
    return {
        "emulator_exits": exits,
        "missing_or_different": bad,
        "visible": len(visible),
        "history_rows": rows,
        "incomplete_at_final_name": incomplete,
        "visible_after_resend": len(_visible(dest)),
        "history_rows_after_resend": len(_history(work)),
    }


if __name__ == "__main__":
    scenarios = {"acceptance": _scenario_acceptance, "drop": _scenario_drop}
    print(json.dumps(scenarios[sys.argv[1]](Path(sys.argv[2]))))
