"""Tests for the error types: each message says what happened and what to do."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from golden import SETTER_GUID
from sony_pm_alt.errors import (
    TRANSPORT_ERRORS,
    CameraBusy,
    CameraError,
    CameraRefusedGuid,
    NativeLayerUnavailable,
    PTPResponseError,
    SonyPmAltError,
    TransportError,
    VendorStepFailed,
    from_gphoto2,
    raise_for_response,
)
from sony_pm_alt.identity import format_guid
from sony_pm_alt.ptpip.codes import OperationCode, ResponseCode

GUID = SETTER_GUID


@pytest.mark.parametrize(
    "cls", [CameraRefusedGuid, PTPResponseError, VendorStepFailed, NativeLayerUnavailable]
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


# --- PTPResponseError -------------------------------------------------------------------------


def test_response_error_names_operation_and_response() -> None:
    error = PTPResponseError(OperationCode.GET_OBJECT, ResponseCode.DEVICE_BUSY)
    assert (error.opcode, error.code) == (0x1009, 0x2019)
    assert str(error) == "GET_OBJECT (0x1009) failed: the camera answered DEVICE_BUSY (0x2019)"


def test_response_error_with_unknown_codes() -> None:
    assert str(PTPResponseError(0x9999, 0x2FFF)) == "0x9999 failed: the camera answered 0x2FFF"


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
    message = str(PTPResponseError(OperationCode.GET_OBJECT_HANDLES, code))
    assert message == f"GET_OBJECT_HANDLES (0x1007) failed: {explanation}"
    assert "camera answered" not in message


@pytest.mark.parametrize(
    ("code", "name"), sorted(PTP_H_ERRORS.items()), ids=[f"0x{c:04X}" for c in sorted(PTP_H_ERRORS)]
)
def test_transport_errors_match_libgphoto2(code: int, name: str) -> None:
    """Each pseudo response code is explained as the PTP_ERROR_* libgphoto2 gives it."""
    message = str(PTPResponseError(OperationCode.GET_OBJECT, code))
    assert f"({name})" in message


def test_io_error_text() -> None:
    message = str(PTPResponseError(0x1009, 0x02FF))
    assert message.startswith("GET_OBJECT (0x1009) failed: ")
    assert "I/O error" in message
    assert "PTP_ERROR_IO" in message


def test_timeout_text() -> None:
    assert "timeout" in str(PTPResponseError(0x1009, 0x02FA)).lower()


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
    expected = TransportError if code in TRANSPORT_ERRORS else PTPResponseError
    with pytest.raises(CameraError) as info:
        raise_for_response(opcode, code)
    assert type(info.value) is expected
    assert (getattr(info.value, "opcode", None), getattr(info.value, "code", None)) == (
        opcode,
        code,
    )
    assert f"0x{opcode:04X}" in str(info.value)
    assert f"0x{code:04X}" in str(info.value) or code in TRANSPORT_ERRORS


@pytest.mark.parametrize("code", sorted(TRANSPORT_ERRORS))
def test_a_transport_code_is_a_lost_connection_not_an_answer(code: int) -> None:
    """libgphoto2's PTP_ERROR_* codes mean no answer came: never "the camera answered"."""
    with pytest.raises(TransportError) as info:
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
    assert not isinstance(info.value, PTPResponseError)


class FakeGPhoto2Error(Exception):
    def __init__(self, code: int, text: str) -> None:
        super().__init__(f"[{code}] {text}")
        self.code = code


@pytest.mark.parametrize(
    ("code", "expected"),
    [(-7, TransportError), (-10, TransportError), (-110, CameraBusy), (-1, CameraError)],
)
def test_libgphoto2_errors_become_what_they_are(code: int, expected: type[Exception]) -> None:
    error = from_gphoto2(FakeGPhoto2Error(code, "text"), "listing folder /")
    assert type(error) is expected
    assert isinstance(error, SonyPmAltError)
    assert "listing folder /" in str(error)
    assert "\n" not in str(error)
