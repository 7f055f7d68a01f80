"""The command line's one error boundary (cli/errors.py): named exit statuses and one line
for an error no command handled itself, Ctrl-C included."""

from __future__ import annotations

import click
import pytest
from click.testing import CliRunner

from sony_pm_alt.cli import main
from sony_pm_alt.cli.errors import ExitCode, Group, exit_code
from sony_pm_alt.engine.state import StateError
from sony_pm_alt.errors import (
    CameraConnectError,
    CameraRefusedGuid,
    DestinationFull,
    SonyPmAltError,
    SyncCancelled,
)


def test_the_documented_numbers() -> None:
    """README "Exit statuses" and docs/errors.md list these; 2 is click's usage error too."""
    assert [(c.name, int(c)) for c in ExitCode] == [
        ("OK", 0),
        ("FAILED", 1),
        ("BAD_INPUT", 2),
        ("NO_SESSION", 3),
        ("POWER_OFF_UNCONFIRMED", 4),
        ("INTERRUPTED", 130),
    ]
    result = CliRunner().invoke(main, ["sync", "--no-such-option"])
    assert result.exit_code == ExitCode.BAD_INPUT


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (KeyboardInterrupt(), ExitCode.INTERRUPTED),
        (SyncCancelled("stopped on request"), ExitCode.INTERRUPTED),
        (StateError("state file x is corrupt"), ExitCode.BAD_INPUT),
        (CameraRefusedGuid(bytes(16), 1), ExitCode.NO_SESSION),
        (CameraConnectError("ptpip:127.0.0.1:1:1", "no PTP/IP answer"), ExitCode.NO_SESSION),
        (DestinationFull("/photos", "A.JPG", 10, 1, 10), ExitCode.NO_SESSION),
    ],
)
def test_each_error_has_its_exit_status(error: BaseException, code: ExitCode) -> None:
    assert exit_code(error) is code


def failing(error: BaseException) -> click.Group:
    @click.group(cls=Group)
    def group() -> None:
        pass

    @group.command()
    def run() -> None:
        raise error

    return group


@pytest.mark.parametrize(
    ("error", "code", "line"),
    [
        (
            CameraRefusedGuid(bytes(16), 1),
            ExitCode.NO_SESSION,
            "sony-pm-alt: the camera refused our GUID 00:00",
        ),
        (StateError("state file x is corrupt"), ExitCode.BAD_INPUT, "sony-pm-alt: state file x"),
        (KeyboardInterrupt(), ExitCode.INTERRUPTED, "sony-pm-alt: interrupted"),
    ],
    ids=["camera", "state", "ctrl-c"],
)
def test_an_error_no_command_handled_is_one_line(
    error: BaseException, code: ExitCode, line: str
) -> None:
    result = CliRunner().invoke(failing(error), ["run"])
    assert result.exit_code == code
    (only,) = result.output.splitlines()  # click's runner mixes stderr in
    assert only.startswith(line)
    assert "Traceback" not in result.output
    assert "Aborted!" not in result.output  # click's own Ctrl-C line


def test_a_bug_is_not_dressed_as_a_user_error() -> None:
    """Only our errors get a one-line message: anything else is a bug and keeps its trace."""
    result = CliRunner().invoke(failing(ZeroDivisionError()), ["run"])
    assert isinstance(result.exception, ZeroDivisionError)
    assert not isinstance(result.exception, SonyPmAltError)
