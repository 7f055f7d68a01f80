"""Sessions whose process died (killed hard, a crash, a power cut) are marked "interrupted" when
the next session starts, and the history shows it; a session still running is left alone, and
so are other machines' sessions in a shared state file. A state file of schema 1 is upgraded
with its history intact."""

from __future__ import annotations

import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from emulator_proc import PAIRED_GUID, json_lines, run_sync, running_emulator, sync_command
from sony_pm_alt.cli import main
from sony_pm_alt.emulator import build_demo_card
from sony_pm_alt.engine import state as state_module
from sony_pm_alt.engine.model import CameraInfo
from sony_pm_alt.engine.state import SCHEMA_VERSION, StateStore

A7 = CameraInfo(model="ILCE-7M3", serial="00000001")

START_IN_CHILD = """
import sys
from pathlib import Path
from sony_pm_alt.engine.model import CameraInfo
from sony_pm_alt.engine.state import StateStore
store = StateStore(Path(sys.argv[1]))
store.start_session(CameraInfo("ILCE-7M3", "00000001"), 3)
"""  # and exits without end_session, as a process killed mid-session does


def test_a_session_whose_process_is_gone_is_marked_interrupted(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite3"
    subprocess.run([sys.executable, "-c", START_IN_CHILD, str(path)], check=True, timeout=60)
    with StateStore(path) as store:
        live = store.start_session(A7, 1)  # this process: still running
        (dead,) = [s for s in store.sessions() if s.id != live]
        assert dead.result == "running"
        marked = store.mark_interrupted()
        assert [s.id for s in marked] == [dead.id]
        results = {s.id: s.result for s in store.sessions()}
        assert results == {dead.id: "interrupted", live: "running"}
        assert store.mark_interrupted() == []  # once


def test_other_machines_sessions_are_left_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with StateStore(tmp_path / "state.sqlite3") as store:
        monkeypatch.setattr(socket, "gethostname", lambda: "nas-client-2")
        monkeypatch.setattr(os, "getpid", lambda: 999_999_999)
        other = store.start_session(A7, 1)
        monkeypatch.undo()
        assert store.mark_interrupted() == []
        assert store.sessions()[0].id == other
        assert store.sessions()[0].result == "running"


def test_a_schema_1_state_file_is_upgraded_with_its_history(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite3"
    db = sqlite3.connect(path, isolation_level=None)
    for statement in state_module._MIGRATIONS[0].split(";"):
        if statement.strip():
            db.execute(statement)
    db.execute(
        "INSERT INTO sessions (camera, model, started_at, planned, result)"
        " VALUES ('Sony-1', 'ILCE-7M3', '2025-01-01T00:00:00.000000+00:00', 2, 'running')"
    )
    db.execute(
        "INSERT INTO transfers VALUES (1, 'Sony-1', '/d', 'a.jpg', 5, '', '/x/a.jpg', ?,"
        " '2025-01-01T00:00:01.000000+00:00', 1)",
        ("0" * 64,),
    )
    db.execute(f"PRAGMA application_id = {state_module.APPLICATION_ID}")
    db.execute("PRAGMA user_version = 1")
    db.close()
    with StateStore(path) as store:
        (session,) = store.sessions()
        assert (session.id, session.result, session.planned) == (1, "running", 2)
        assert [t.name for t in store.transfers()] == ["a.jpg"]
        assert [s.id for s in store.mark_interrupted()] == [1]  # from before sessions named a pid
        store.end_session(store.start_session(A7, 0), transferred=0, failed=0, bytes=0, result="ok")
    check = sqlite3.connect(path)
    assert check.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == 2
    assert check.execute("PRAGMA foreign_key_check").fetchall() == []
    check.close()


@pytest.mark.integration
def test_a_sync_killed_hard_shows_as_interrupted_in_the_history(tmp_path: Path) -> None:
    card = build_demo_card(tmp_path / "card", photos=3)
    (tmp_path / "first").mkdir()
    with (
        running_emulator(
            tmp_path / "first", "--guid", PAIRED_GUID, "--fault", "latency=0x101B:0.5", card=card
        ) as emu,
        subprocess.Popen(
            sync_command(emu, tmp_path), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        ) as proc,
    ):
        assert proc.stdout is not None
        assert json_lines(proc.stdout.readline())[0]["event"] == "session"
        assert json_lines(proc.stdout.readline())[0]["event"] == "saved"
        proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=60)
    (tmp_path / "second").mkdir()
    with running_emulator(tmp_path / "second", "--guid", PAIRED_GUID, card=card) as emu:
        code, _, stderr = run_sync(emu, tmp_path, timeout=300)
    assert code == 0, stderr
    assert "was interrupted" in stderr

    state = str(tmp_path / "state.sqlite3")
    result = CliRunner().invoke(main, ["history", "--sessions", "--state", state, "--json"])
    assert result.exit_code == 0, result.output
    newest, killed = json.loads(result.output)
    assert (killed["result"], killed["transferred"]) == ("interrupted", 1)
    assert newest["result"] == "ok"
    text = CliRunner().invoke(main, ["history", "--sessions", "--state", state]).output
    assert "interrupted: 1 of" in text
