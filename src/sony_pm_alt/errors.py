"""The errors sony-pm-alt raises, in one place. Each message says what happened and what to do."""

from __future__ import annotations

from .identity import format_guid
from .ptpip.codes import OperationCode, ResponseCode, code_name

# libgphoto2 reports transport failures as PTP_ERROR_* pseudo response codes (ptp.h).
DATA_OVERRUN = 0x02F8
TRANSPORT_ERRORS = {
    DATA_OVERRUN: "the camera sent more data than asked for; refused (PTP_ERROR_DATA_OVERRUN)",
    0x02F9: "no device (PTP_ERROR_NODEVICE)",
    0x02FA: "timeout (PTP_ERROR_TIMEOUT)",
    0x02FB: "cancelled (PTP_ERROR_CANCEL)",
    0x02FC: "bad parameter (PTP_ERROR_BADPARAM)",
    0x02FD: "a response came where data was expected (PTP_ERROR_RESP_EXPECTED)",
    0x02FE: "data expected but none came (PTP_ERROR_DATA_EXPECTED)",
    0x02FF: "I/O error: the connection failed (PTP_ERROR_IO)",
}


# libgphoto2 result codes (gphoto2-port-result.h) that mean the connection failed, not that the
# camera answered: what python-gphoto2's GPhoto2Error carries as ``.code``.
GP_TRANSPORT_ERRORS = {
    -7: "I/O error (GP_ERROR_IO)",
    -10: "timeout (GP_ERROR_TIMEOUT)",
    -34: "read error (GP_ERROR_IO_READ)",
    -35: "write error (GP_ERROR_IO_WRITE)",
    -52: "no device (GP_ERROR_IO_USB_FIND)",
}
GP_ERROR_CAMERA_BUSY = -110
# What to do after a lost connection; a PTP/IP camera takes one connection per activation.
RECONNECT_HINT = (
    'files not fetched yet stay on the camera: choose "Send to Computer" on the camera again'
)


class SonyPmAltError(Exception):
    """Base class of every error sony-pm-alt raises on purpose."""


class CameraError(SonyPmAltError):
    """Talking to the camera failed. :class:`TransportError` when the connection failed (the
    camera went away, stopped answering or closed it), :class:`PTPResponseError` when the
    camera answered with a response code, :class:`CameraBusy` when it stayed busy."""


class TransportError(CameraError):
    """The connection failed: no answer from the camera, not a refusal by it. ``opcode`` and
    ``code`` (a PTP_ERROR_* pseudo code) are set when a raw transaction failed."""

    def __init__(
        self, doing: str, detail: str, *, opcode: int | None = None, code: int | None = None
    ) -> None:
        self.doing, self.detail, self.opcode, self.code = doing, detail, opcode, code
        if code == DATA_OVERRUN:  # patch 0007 refused the reply and closed the connection
            what = "the camera sent more data than asked for (refused as a faulty or hostile reply)"
        elif "timeout" in detail.lower():
            what = "the camera stopped answering"
        else:
            what = "the connection to the camera was lost"
        super().__init__(f"{what} while {doing} ({detail}); {RECONNECT_HINT}")


class CameraBusy(CameraError):
    """The camera kept answering DeviceBusy where it had to accept (e.g. OpenSession)."""

    def __init__(self, doing: str) -> None:
        self.doing = doing
        super().__init__(
            f"the camera stayed busy while {doing} (DeviceBusy); it takes one connection per "
            'activation: wait until it has finished writing, then choose "Send to Computer" '
            "on the camera again"
        )


def from_gphoto2(exc: Exception, doing: str) -> CameraError:
    """A python-gphoto2 ``GPhoto2Error`` (raised by a libgphoto2 call made while ``doing``) as
    the error it is. A code that does not tell (``[-1] Unspecified error``) stays a plain
    :class:`CameraError`; the caller may confirm a lost connection by pinging the camera."""
    code = getattr(exc, "code", None)
    if code in GP_TRANSPORT_ERRORS:
        return TransportError(doing, f"libgphoto2: {GP_TRANSPORT_ERRORS[code]}")
    if code == GP_ERROR_CAMERA_BUSY:
        return CameraBusy(doing)
    return CameraError(f"{doing} failed: libgphoto2 reported {exc}")


class CameraRefusedGuid(SonyPmAltError):
    """The camera answered Init Fail: it was not paired with the GUID we sent."""

    def __init__(self, guid: bytes, reason: int) -> None:
        self.guid = guid
        self.reason = reason
        text = format_guid(guid)
        why = {1: "it was not paired with it", 2: "it is busy"}.get(reason, f"reason {reason}")
        super().__init__(
            f"the camera refused our GUID {text} ({why}); set the GUID your camera was paired "
            "with (the one PlayMemories registered), e.g. with --guid"
        )


class PTPResponseError(CameraError):
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
    """Nothing for OK; :class:`TransportError` for libgphoto2's PTP_ERROR_* pseudo codes (the
    connection failed), :class:`PTPResponseError` for any answer of the camera."""
    if code in TRANSPORT_ERRORS:
        op = code_name(opcode, OperationCode)
        raise TransportError(f"running {op}", TRANSPORT_ERRORS[code], opcode=opcode, code=code)
    if code != ResponseCode.OK:
        raise PTPResponseError(opcode, code)


def _mb(size: int) -> str:
    return f"{size / 1e6:.1f} MB"


class DestinationError(SonyPmAltError):
    """The destination cannot take files (removed, unmounted, read-only, full): the session
    stops fetching, finished files are kept and the camera stays on."""


class DestinationFull(DestinationError):
    """Not enough room at the destination; ``needed`` bytes for the next file, ``remaining``
    for every file still planned."""

    def __init__(self, root: str, name: str, needed: int, free: int, remaining: int) -> None:
        self.root, self.name = root, name
        self.needed, self.free, self.remaining = needed, free, remaining
        super().__init__(
            f"the destination {root} is full: {_mb(free)} free, {name} needs {_mb(needed)} "
            f"and the files still to fetch {_mb(remaining)}; free at least "
            f"{_mb(max(needed, remaining) - free)} and start again (finished files are kept, "
            "the camera stays on)"
        )
