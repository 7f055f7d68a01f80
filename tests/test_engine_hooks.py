"""engine.hooks: user hook commands run through the shell, never stopping the transfer.

Real tiny shell commands; each writes what it received into tmp_path for the test to read.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import select
import shlex
import signal
import subprocess
from pathlib import Path
from typing import Any

import pytest

from sony_pm_alt.engine import hooks
from sony_pm_alt.engine.hooks import run_hook

LOGGER = "sony_pm_alt.hooks"


def q(path: Path) -> str:
    return shlex.quote(str(path))


def warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == LOGGER and r.levelno >= 30]


# --- what the hook receives ----------------------------------------------------------------


def test_action_and_argument_are_in_the_environment(tmp_path: Path) -> None:
    out = tmp_path / "env.txt"
    command = f'printf "%s|%s\\n" "$ACTION" "$ARGUMENT" > {q(out)}'
    assert run_hook(command, "download", "/photos/2024/DSC 0001.JPG") is True
    assert out.read_text() == "download|/photos/2024/DSC 0001.JPG\n"


def test_the_argument_is_empty_unless_given(tmp_path: Path) -> None:
    out = tmp_path / "env.txt"
    command = f'printf "%s|%s|%s\\n" "$ACTION" "${{ARGUMENT-unset}}" "${{#ARGUMENT}}" > {q(out)}'
    assert run_hook(command, "init") is True
    assert out.read_text() == "init||0\n"  # set, and empty


def test_the_rest_of_the_environment_is_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SPA_HOOK_TEST_MARK", "kept")
    out = tmp_path / "env.txt"
    assert run_hook(f'printf "%s" "$SPA_HOOK_TEST_MARK" > {q(out)}', "start") is True
    assert out.read_text() == "kept"


def test_the_callers_environment_is_not_changed(tmp_path: Path) -> None:
    before = {k: os.environ.get(k) for k in ("ACTION", "ARGUMENT")}
    run_hook("true", "download", "/x.jpg")
    assert {k: os.environ.get(k) for k in ("ACTION", "ARGUMENT")} == before


def test_a_json_description_arrives_on_stdin(tmp_path: Path) -> None:
    out = tmp_path / "stdin.json"
    ok = run_hook(
        f"cat > {q(out)}",
        "download",
        "/photos/DSC00001.JPG",
        camera="ILCE-7M3",
        name="DSC00001.JPG",
        folder="/store_00010001/DCIM/100MSDCF",
        size=5 << 32,
        path=Path("/photos/DSC00001.JPG"),  # not JSON: sent as its text
    )
    assert ok is True
    assert json.loads(out.read_text()) == {
        "action": "download",
        "argument": "/photos/DSC00001.JPG",
        "camera": "ILCE-7M3",
        "name": "DSC00001.JPG",
        "folder": "/store_00010001/DCIM/100MSDCF",
        "size": 5 << 32,
        "path": "/photos/DSC00001.JPG",
    }


def test_stdin_json_is_one_document_for_every_action(tmp_path: Path) -> None:
    for action in ("init", "start", "download", "stop"):
        out = tmp_path / f"{action}.json"
        assert run_hook(f"cat > {q(out)}", action, transferred=3, failed=0) is True
        record = json.loads(out.read_text())
        assert record["action"] == action
        assert record["argument"] == ""


def test_non_ascii_details_arrive_intact(tmp_path: Path) -> None:
    out = tmp_path / "stdin.json"
    assert run_hook(f"cat > {q(out)}", "download", "/p/é.jpg", name="写真.JPG") is True
    record = json.loads(out.read_text())
    assert record["argument"] == "/p/é.jpg"
    assert record["name"] == "写真.JPG"


def test_a_hook_that_ignores_a_large_stdin_still_succeeds() -> None:
    assert run_hook("exit 0", "download", "/x", blob="x" * (4 << 20)) is True


def test_the_command_goes_through_the_shell(tmp_path: Path) -> None:
    out = tmp_path / "out.txt"
    assert run_hook(f"echo one | tr a-z A-Z > {q(out)} && echo two >> {q(out)}", "stop")
    assert out.read_text() == "ONE\ntwo\n"


# --- outcomes --------------------------------------------------------------------------------


@pytest.mark.parametrize("command", [None, ""])
def test_no_command_is_success(command: str | None, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG, logger=LOGGER):
        assert run_hook(command, "download", "/x.jpg", size=1) is True
    assert warnings(caplog) == []


def test_exit_zero_is_success_even_with_stderr(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        assert run_hook("echo chatter >&2; exit 0", "start") is True
    assert warnings(caplog) == []


def test_a_non_zero_exit_is_logged_and_false(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        ok = run_hook("echo first >&2; echo 'disk is full' >&2; exit 3", "download", "/x.jpg")
    assert ok is False
    (message,) = warnings(caplog)
    assert "(download)" in message
    assert "exited 3" in message
    assert message.partition("exited 3")[2] == ": disk is full; carrying on"  # last stderr line


def test_a_non_zero_exit_without_stderr(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        assert run_hook("exit 1", "stop") is False
    (message,) = warnings(caplog)
    assert "(stop)" in message
    assert message.rstrip().endswith("exited 1; carrying on")


def test_a_missing_program_is_logged_and_false(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    missing = tmp_path / "no-such-hook"
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        assert run_hook(str(missing), "init") is False
    (message,) = warnings(caplog)
    assert "(init)" in message
    assert "127" in message  # the shell's "command not found"
    assert "not found" in message


def test_a_program_that_is_not_executable_is_logged_and_false(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    script = tmp_path / "hook.sh"
    script.write_text("#!/bin/sh\nexit 0\n")
    script.chmod(0o644)
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        assert run_hook(q(script), "start") is False
    (message,) = warnings(caplog)
    assert "(start)" in message
    assert "126" in message


def test_a_shell_that_cannot_start_is_logged_and_false(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def no_shell(*args: Any, **kwargs: Any) -> subprocess.Popen[str]:
        raise FileNotFoundError(2, "No such file or directory", "/bin/sh")

    monkeypatch.setattr(subprocess, "Popen", no_shell)  # hooks starts the shell with Popen
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        assert run_hook("anything", "download", "/x.jpg") is False
    (message,) = warnings(caplog)
    assert "(download)" in message
    assert "could not run" in message
    assert "/bin/sh" in message


# --- hanging hooks ---------------------------------------------------------------------------


def test_a_hook_that_hangs_times_out_promptly(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(hooks, "HOOK_TIMEOUT", 0.2)
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        ok = run_hook("exec sleep 5", "download", "/x.jpg")  # the slow hook under test
    assert ok is False  # stopped: a completed `sleep` would have exited 0
    (message,) = warnings(caplog)
    assert "(download)" in message
    assert "did not finish" in message


def _wait_for_exit(pid: int, seconds: float) -> bool:
    """True once ``pid`` has exited (or is gone), waiting at most ``seconds`` on a pidfd —
    an event, not a sleep."""
    try:
        fd = os.pidfd_open(pid)
    except ProcessLookupError:
        return True
    try:
        readable, _, _ = select.select([fd], [], [], seconds)
        return bool(readable)
    finally:
        os.close(fd)


def test_a_timed_out_hook_leaves_no_process_running(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The timeout must stop the hook, not only the shell that started it: dash forks even
    for a plain ``sleep 5``, so killing /bin/sh alone leaves the hanging program running
    (one more for every downloaded file)."""
    monkeypatch.setattr(hooks, "HOOK_TIMEOUT", 1.0)  # ample time to write the pid file
    pidfile = tmp_path / "pid"
    assert run_hook(f"sleep 30 & echo $! > {q(pidfile)}; wait", "download", "/x.jpg") is False
    pid = int(pidfile.read_text())
    try:
        assert _wait_for_exit(pid, 2.0), f"the hook's process {pid} is still running"
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)  # our own hook's child; nothing else
