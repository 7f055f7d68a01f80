"""Tests for running a vendor profile's steps over a (fake) transport."""

from __future__ import annotations

import logging

import pytest

import fakes
from fakes import Call
from golden import SENDING
from sony_pm_alt.engine.vendor import StepResult, run_steps
from sony_pm_alt.errors import (
    CameraTransportError,
    SonyPmAltError,
    VendorStepFailed,
)
from sony_pm_alt.profiles import Step, load_profile
from sony_pm_alt.ptpip.codes import ResponseCode

OK = ResponseCode.OK
BUSY = ResponseCode.DEVICE_BUSY
NOT_SUPPORTED = ResponseCode.PARAMETER_NOT_SUPPORTED
BLOB = bytes(8192)


def FakeTransport(codes: list[int] | None = None) -> fakes.FakeTransport:  # noqa: N802
    """Answers each transaction with the next code of ``codes`` (OK once they run out)."""
    return fakes.FakeTransport(fakes.answers(codes or [], BLOB))


def test_steps_go_out_in_order_with_their_data_phase() -> None:
    steps = [
        Step(0x9280, (4,), SENDING),
        Step(0x9281, (4,), data_in=True),
        Step(0x1016, (0xD406,)),
        Step(0x9802, (0xDC86, 0xB301), data_in=True, abort_on_failure=False),
    ]
    fake = FakeTransport()
    results = run_steps(fake, "start", steps)
    assert fake.calls == [
        Call(0x9280, (4,), SENDING, False),
        Call(0x9281, (4,), None, True),
        Call(0x1016, (0xD406,), None, False),
        Call(0x9802, (0xDC86, 0xB301), None, True),
    ]
    assert results == [StepResult(step, OK) for step in steps]
    assert all(r.ok for r in results)
    # The runner judges the codes itself, so the transport must not raise for them.
    assert [c.check for c in fake.calls] == [False] * len(steps)


def test_empty_block_sends_nothing() -> None:
    fake = FakeTransport()
    assert run_steps(fake, "end", []) == []
    assert fake.calls == []


def test_upstream_profile_on_the_wire() -> None:
    profile = load_profile("upstream")
    fake = FakeTransport()
    run_steps(fake, "start", profile.start)
    run_steps(fake, "end", profile.end)
    assert fake.calls == [
        Call(0x9280, (4,), SENDING, False),
        Call(0x9281, (4,), None, True),
        Call(0x9280, (4,), bytes.fromhex("00000000050000000000000000000000"), False),
        Call(0x9281, (4,), None, True),
    ]


def test_abort_step_failure_raises_and_stops() -> None:
    steps = [
        Step(0x9280, (4,), SENDING, note="show Sending…"),
        Step(0x9281, (4,), data_in=True, note="pair it"),
        Step(0x1001, data_in=True),
    ]
    fake = FakeTransport([OK, BUSY])
    with pytest.raises(VendorStepFailed) as info:
        run_steps(fake, "start", steps)
    error = info.value
    assert isinstance(error, SonyPmAltError)
    assert (error.block, error.index, error.code) == ("start", 2, BUSY)
    message = str(error)
    assert "start step 2" in message
    assert "0x9281(0x4) — pair it" in message
    assert "DEVICE_BUSY (0x2019)" in message
    assert "--profile" in message
    # The third step never went out.
    assert [c.opcode for c in fake.calls] == [0x9280, 0x9281]


def test_first_step_failing_in_end_block() -> None:
    fake = FakeTransport([ResponseCode.OPERATION_NOT_SUPPORTED])
    with pytest.raises(VendorStepFailed, match=r"end step 1 \(0x9281\(0x4\)\)") as info:
        run_steps(fake, "end", [Step(0x9281, (4,), data_in=True), Step(0x9280)])
    assert "OPERATION_NOT_SUPPORTED (0x2005)" in str(info.value)
    assert len(fake.calls) == 1


def test_unknown_response_code_is_named_by_hex() -> None:
    fake = FakeTransport([0x2FFE])
    with pytest.raises(VendorStepFailed, match="failed: 0x2FFE") as info:
        run_steps(fake, "start", [Step(0x9280, (4,))])
    assert info.value.code == 0x2FFE


@pytest.mark.parametrize("skip", [False, True])
def test_a_lost_connection_is_not_a_refused_step(skip: bool) -> None:
    """A dropped start pair is a transport failure: another profile would not help."""
    fake = FakeTransport([0x02FF])
    steps = [Step(0x9280, (4,), SENDING, abort_on_failure=not skip), Step(0x9281, (4,))]
    with pytest.raises(CameraTransportError) as info:
        run_steps(fake, "start", steps)
    message = str(info.value)
    assert "connection to the camera was lost" in message
    assert "start step 1" in message
    assert "--profile" not in message
    assert len(fake.calls) == 1


def test_skip_step_failure_is_logged_and_the_next_step_runs(
    caplog: pytest.LogCaptureFixture,
) -> None:
    steps = [
        Step(0x1016, (0xD406,), abort_on_failure=False, note="no data phase"),
        Step(0x9280, (5,), b"\x00\x01", abort_on_failure=False),
        Step(0x9280, (4,), SENDING),
    ]
    fake = FakeTransport([ResponseCode.GENERAL_ERROR, NOT_SUPPORTED, OK])
    with caplog.at_level(logging.DEBUG, logger="sony_pm_alt.vendor"):
        results = run_steps(fake, "start", steps)
    assert [c.opcode for c in fake.calls] == [0x1016, 0x9280, 0x9280]
    assert [r.code for r in results] == [ResponseCode.GENERAL_ERROR, NOT_SUPPORTED, OK]
    assert [r.ok for r in results] == [False, False, True]
    assert [r.step for r in results] == steps
    assert [c.check for c in fake.calls] == [False, False, False]

    skipped = [r for r in caplog.records if r.levelno == logging.INFO]
    assert [r.name for r in skipped] == ["sony_pm_alt.vendor"] * 2
    first, second = (r.getMessage() for r in skipped)
    assert "start step 1" in first
    assert "0x1016(0xD406) — no data phase" in first
    assert "GENERAL_ERROR (0x2002)" in first
    assert "skipped" in first
    assert "start step 2" in second
    assert "PARAMETER_NOT_SUPPORTED (0x2006)" in second
    assert "data 0001" in second
    # The step that worked is logged at DEBUG only.
    ok_records = [r for r in caplog.records if r.levelno == logging.DEBUG]
    assert [r.getMessage() for r in ok_records] == [f"start step 3: {steps[2].describe()} OK"]


def test_skip_then_abort() -> None:
    steps = [Step(0x9802, abort_on_failure=False), Step(0x9280), Step(0x9281)]
    fake = FakeTransport([NOT_SUPPORTED, BUSY])
    with pytest.raises(VendorStepFailed) as info:
        run_steps(fake, "start", steps)
    assert info.value.index == 2
    assert len(fake.calls) == 2


def test_playmemories_profile_survives_its_refused_steps() -> None:
    """The camera's known refusals (docs/protocol.md §11) do not end the session."""
    profile = load_profile("playmemories")
    codes = [NOT_SUPPORTED if not step.abort_on_failure else OK for step in profile.start]
    fake = FakeTransport(list(codes))
    results = run_steps(fake, "start", profile.start)
    assert [r.code for r in results] == codes
    assert len(fake.calls) == len(profile.start)
