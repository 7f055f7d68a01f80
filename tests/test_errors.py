"""Tests for the error types: each message says what happened and what to do."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from golden import SETTER_GUID
from sony_pm_alt import profiles
from sony_pm_alt.engine import naming
from sony_pm_alt.engine.state import StateError
from sony_pm_alt.errors import (
    TRANSPORT_ERRORS,
    CameraBusy,
    CameraConnectError,
    CameraError,
    CameraRefusedGuid,
    CameraResponseError,
    CameraSentTooMuch,
    CameraTimedOut,
    CameraTransportError,
    DestinationFull,
    NativeLayerUnavailable,
    ProfileError,
    SonyPmAltError,
    SyncCancelled,
    TemplateError,
    VendorStepFailed,
    describe_code,
    from_gphoto2,
    raise_for_response,
)
from sony_pm_alt.identity import format_guid
from sony_pm_alt.ptpip.codes import OperationCode, ResponseCode

GUID = SETTER_GUID


@pytest.mark.parametrize(
    "cls", [CameraRefusedGuid, CameraResponseError, VendorStepFailed, NativeLayerUnavailable]
)
def test_every_error_is_a_sony_pm_alt_error(cls: type[Exception]) -> None:
    assert issubclass(cls, SonyPmAltError)


# --- CameraRefusedGuid ------------------------------------------------------------------------


def test_refused_guid_message() -> None:
    error = CameraRefusedGuid(GUID, 1)
    message = str(error)
    assert (error.guid, error.reason) == (GUID, 1)
    assert "ff:ff:52:54:00:b6:fd:a9:ff:ff:52:3c:28:07:a9:3a" in message
    assert "not paired" in message
    # ... and how to fix it.
    assert "set the GUID your camera was paired with" in message
    assert "--guid" in message
    assert "\n" not in message


def test_refused_guid_busy() -> None:
    message = str(CameraRefusedGuid(GUID, 2))
    assert "busy" in message
    assert "not paired" not in message


@pytest.mark.parametrize("reason", [0, 3, 0xFFFFFFFF])
def test_refused_guid_other_reason(reason: int) -> None:
    assert f"(reason {reason})" in str(CameraRefusedGuid(GUID, reason))


@given(st.binary(min_size=16, max_size=16), st.integers(0, 0xFFFFFFFF))
def test_refused_guid_shows_the_settings_spelling(guid: bytes, reason: int) -> None:
    assert format_guid(guid) in str(CameraRefusedGuid(guid, reason))


# --- CameraResponseError -------------------------------------------------------------------------


def test_response_error_names_operation_and_response() -> None:
    error = CameraResponseError(OperationCode.GET_OBJECT, ResponseCode.DEVICE_BUSY)
    assert (error.opcode, error.code) == (0x1009, 0x2019)
    assert str(error) == "GET_OBJECT (0x1009) failed: the camera answered DEVICE_BUSY (0x2019)"


def test_response_error_with_unknown_codes() -> None:
    assert str(CameraResponseError(0x9999, 0x2FFF)) == "0x9999 failed: the camera answered 0x2FFF"


# libgphoto2 2.5.31 camlibs/ptp2/ptp.h, lines 1167-1173.
PTP_H_ERRORS = {
    0x02F8: "PTP_ERROR_DATA_OVERRUN",  # added by vendor/libgphoto2-patches/0007
    0x02F9: "PTP_ERROR_NODEVICE",
    0x02FA: "PTP_ERROR_TIMEOUT",
    0x02FB: "PTP_ERROR_CANCEL",
    0x02FC: "PTP_ERROR_BADPARAM",
    0x02FD: "PTP_ERROR_RESP_EXPECTED",
    0x02FE: "PTP_ERROR_DATA_EXPECTED",
    0x02FF: "PTP_ERROR_IO",
}


def test_transport_error_table_covers_the_ptp_error_range() -> None:
    assert sorted(TRANSPORT_ERRORS) == sorted(PTP_H_ERRORS)


@pytest.mark.parametrize(
    ("code", "explanation"),
    sorted(TRANSPORT_ERRORS.items()),
    ids=[f"0x{c:04X}" for c in sorted(TRANSPORT_ERRORS)],
)
def test_transport_errors_are_explained(code: int, explanation: str) -> None:
    with pytest.raises(CameraTransportError) as info:
        raise_for_response(OperationCode.GET_OBJECT_HANDLES, code)
    assert f"while running GET_OBJECT_HANDLES (0x1007) ({explanation})" in str(info.value)
    assert describe_code(code) == explanation
    assert "camera answered" not in str(info.value)


@pytest.mark.parametrize(
    ("code", "name"), sorted(PTP_H_ERRORS.items()), ids=[f"0x{c:04X}" for c in sorted(PTP_H_ERRORS)]
)
def test_transport_errors_match_libgphoto2(code: int, name: str) -> None:
    """Each pseudo response code is explained as the PTP_ERROR_* libgphoto2 gives it."""
    assert f"({name})" in describe_code(code)


def test_io_error_text() -> None:
    with pytest.raises(CameraTransportError) as info:
        raise_for_response(0x1009, 0x02FF)
    message = str(info.value)
    assert message.startswith("the connection to the camera was lost while running GET_OBJECT ")
    assert "I/O error" in message
    assert "PTP_ERROR_IO" in message


def test_timeout_text() -> None:
    with pytest.raises(CameraTimedOut) as info:
        raise_for_response(0x1009, 0x02FA)
    assert str(info.value).startswith("the camera stopped answering while running GET_OBJECT")
    assert describe_code(0x2019) == "DEVICE_BUSY (0x2019)"


# --- VendorStepFailed -------------------------------------------------------------------------


def test_vendor_step_failed_message() -> None:
    error = VendorStepFailed("end", 3, "0x9280(0x4) data 00", ResponseCode.PARAMETER_NOT_SUPPORTED)
    assert (error.block, error.index, error.code) == ("end", 3, 0x2006)
    assert str(error) == (
        "vendor profile end step 3 (0x9280(0x4) data 00) failed: "
        "PARAMETER_NOT_SUPPORTED (0x2006); choose another profile with --profile"
    )


# --- raise_for_response -----------------------------------------------------------------------


def test_raise_for_response_ok() -> None:
    raise_for_response(OperationCode.OPEN_SESSION, ResponseCode.OK)  # OK passes through
    raise_for_response(0x1002, 0x2001)
    with pytest.raises(CameraError):  # the same call with any other code does not
        raise_for_response(0x1002, 0x2002)


@given(st.integers(0, 0xFFFF), st.integers(0, 0xFFFF).filter(lambda c: c != 0x2001))
def test_raise_for_response_raises_for_everything_else(opcode: int, code: int) -> None:
    expected = CameraTransportError if code in TRANSPORT_ERRORS else CameraResponseError
    with pytest.raises(CameraError) as info:
        raise_for_response(opcode, code)
    assert isinstance(info.value, expected)
    assert (getattr(info.value, "opcode", None), getattr(info.value, "code", None)) == (
        opcode,
        code,
    )
    assert f"0x{opcode:04X}" in str(info.value)
    assert f"0x{code:04X}" in str(info.value) or code in TRANSPORT_ERRORS


@pytest.mark.parametrize("code", sorted(TRANSPORT_ERRORS))
def test_a_transport_code_is_a_lost_connection_not_an_answer(code: int) -> None:
    """libgphoto2's PTP_ERROR_* codes mean no answer came: never "the camera answered"."""
    with pytest.raises(CameraTransportError) as info:
        raise_for_response(OperationCode.GET_OBJECT_HANDLES, code)
    message = str(info.value)
    if code == 0x02FA:  # PTP_ERROR_TIMEOUT
        assert message.startswith("the camera stopped answering while running")
    elif code == 0x02F8:  # PTP_ERROR_DATA_OVERRUN: patch 0007 refused the reply
        assert message.startswith("the camera sent more data than asked for (refused")
    else:
        assert message.startswith("the connection to the camera was lost while running")
    assert "camera answered" not in message
    assert "Send to Computer" in message
    assert not isinstance(info.value, CameraResponseError)


class FakeGPhoto2Error(Exception):
    def __init__(self, code: int, text: str) -> None:
        super().__init__(f"[{code}] {text}")
        self.code = code


# python-gphoto2's GPhoto2Error codes (gphoto2-port-result.h, gphoto2-result.h) and what each
# is on a PTP/IP connection through the (patched) ptp2 camlib.
GP_CODES = [
    (-1, CameraError, "gave no reason"),  # "Unspecified error": any code the camlib cannot name
    (-2, CameraError, "gave no reason"),  # "Bad parameters": also PTP_ERROR_BADPARAM
    (-6, CameraResponseError, "the camera answered OPERATION_NOT_SUPPORTED"),
    (-7, CameraTransportError, "the connection to the camera was lost"),
    (-10, CameraTimedOut, "the camera stopped answering"),
    (-34, CameraTransportError, "the connection to the camera was lost"),
    (-35, CameraTransportError, "the connection to the camera was lost"),
    (-52, CameraTransportError, "the connection to the camera was lost"),
    (-53, CameraTransportError, "another program"),
    (-102, CameraSentTooMuch, "the camera sent more data than asked for"),
    (-110, CameraBusy, "the camera stayed busy"),
]


@pytest.mark.parametrize(("code", "expected", "words"), GP_CODES, ids=[str(c[0]) for c in GP_CODES])
def test_libgphoto2_errors_become_what_they_are(
    code: int, expected: type[Exception], words: str
) -> None:
    error = from_gphoto2(FakeGPhoto2Error(code, "libgphoto2's own text"), "listing folder /")
    assert type(error) is expected
    assert isinstance(error, SonyPmAltError)
    message = str(error)
    assert words in message
    assert "listing folder /" in message
    assert not message.startswith("[")  # never libgphoto2's text alone
    assert "\n" not in message


@pytest.mark.parametrize("code", [-1, -2, -6, -7, -10, -53, -102, -110])
def test_only_a_transport_code_says_the_camera_is_gone(code: int) -> None:
    """What the sync reads to stop: no ping, the type says whether the camera answered."""
    error = from_gphoto2(FakeGPhoto2Error(code, "text"), "downloading X")
    gone = isinstance(error, CameraTransportError)
    assert gone is (code in (-7, -10, -53, -102))
    assert isinstance(error, CameraResponseError) is (code in (-6, -110))


def test_a_transport_error_told_as_part_of_a_wider_step_keeps_its_kind() -> None:
    with pytest.raises(CameraTimedOut) as info:
        raise_for_response(0x9805, 0x02FA)
    wider = info.value.while_doing("listing the camera's files")
    assert type(wider) is CameraTimedOut
    assert (wider.opcode, wider.code) == (0x9805, 0x02FA)
    assert str(wider).startswith("the camera stopped answering while listing the camera's files")


@pytest.mark.parametrize(
    "cls",
    [
        TemplateError,
        ProfileError,
        SyncCancelled,
        StateError,
        DestinationFull,
    ],
)
def test_every_error_a_user_meets_is_a_sony_pm_alt_error(cls: type[Exception]) -> None:
    assert issubclass(cls, SonyPmAltError)


def test_settings_errors_stay_value_errors() -> None:
    """Callers that validate settings catch ValueError."""
    assert issubclass(TemplateError, ValueError)
    assert issubclass(ProfileError, ValueError)
    assert naming.TemplateError is TemplateError
    assert profiles.ProfileError is ProfileError


def test_a_failed_open_told_as_part_of_a_wider_step_stays_as_it_was() -> None:
    error = CameraConnectError("127.0.0.1:1", "no PTP/IP answer")
    assert error.while_doing("listing the camera's files") is error
    assert str(error) == "cannot open the camera at 127.0.0.1:1: no PTP/IP answer"
