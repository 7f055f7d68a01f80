"""The errors sony-pm-alt raises, in one place. Each message says what happened and what to do."""

from __future__ import annotations

from .ptpip.codes import OperationCode, ResponseCode, code_name

# libgphoto2 reports transport failures as PTP_ERROR_* pseudo response codes (ptp.h).
TRANSPORT_ERRORS = {
    0x02F8: "the camera sent more data than asked for; refused (PTP_ERROR_DATA_OVERRUN)",
    0x02F9: "no device (PTP_ERROR_NODEVICE)",
    0x02FA: "timeout (PTP_ERROR_TIMEOUT)",
    0x02FB: "cancelled (PTP_ERROR_CANCEL)",
    0x02FC: "bad parameter (PTP_ERROR_BADPARAM)",
    0x02FD: "a response came where data was expected (PTP_ERROR_RESP_EXPECTED)",
    0x02FE: "data expected but none came (PTP_ERROR_DATA_EXPECTED)",
    0x02FF: "I/O error: the connection failed (PTP_ERROR_IO)",
}


class SonyPmAltError(Exception):
    """Base class of every error sony-pm-alt raises on purpose."""


class CameraRefusedGuid(SonyPmAltError):
    """The camera answered Init Fail: it was not paired with the GUID we sent."""

    def __init__(self, guid: bytes, reason: int) -> None:
        self.guid = guid
        self.reason = reason
        text = ":".join(f"{b:02x}" for b in guid)
        why = {1: "it was not paired with it", 2: "it is busy"}.get(reason, f"reason {reason}")
        super().__init__(
            f"the camera refused our GUID {text} ({why}); set the GUID your camera was paired "
            "with (the one PlayMemories registered), e.g. with --guid"
        )


class PTPResponseError(SonyPmAltError):
    """An operation answered with a response code other than OK."""

    def __init__(self, opcode: int, code: int) -> None:
        self.opcode = opcode
        self.code = code
        op = code_name(opcode, OperationCode)
        if code in TRANSPORT_ERRORS:
            super().__init__(f"{op} failed: {TRANSPORT_ERRORS[code]}")
        else:
            super().__init__(f"{op} failed: the camera answered {code_name(code, ResponseCode)}")


class VendorStepFailed(SonyPmAltError):
    """A step of the vendor profile failed and is marked to abort the session."""

    def __init__(self, block: str, index: int, description: str, code: int) -> None:
        self.block, self.index, self.code = block, index, code
        super().__init__(
            f"vendor profile {block} step {index} ({description}) failed: "
            f"{code_name(code, ResponseCode)}; choose another profile with --profile"
        )


class CameraSentTooMuch(SonyPmAltError):
    """A partial read came back longer than asked for: refused, nothing of it is kept."""

    def __init__(self, name: str, offset: int, asked: int) -> None:
        self.name, self.offset, self.asked = name, offset, asked
        super().__init__(
            f"{name}: the camera sent more than the {asked} bytes asked for at offset {offset}; "
            "refused (a faulty or hostile camera: see docs/security.md)"
        )


class NativeLayerUnavailable(SonyPmAltError):
    """The patched camlib and shim are not built (or built for another libgphoto2)."""


def raise_for_response(opcode: int, code: int) -> None:
    if code != ResponseCode.OK:
        raise PTPResponseError(opcode, code)
