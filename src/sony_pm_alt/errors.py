"""Every error a user of sony-pm-alt can meet, in one module (as httpx's ``_exceptions.py``).
Each message says what happened and what to do. The tree, and where libgphoto2's codes are
mapped (:func:`from_gphoto2`, :func:`raise_for_response`): docs/errors.md.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from .identity import format_guid
from .ptpip.codes import OperationCode, ResponseCode, code_name

# libgphoto2's PTP_ERROR_* pseudo response codes (camlibs/ptp2/ptp.h): the connection failed.
DATA_OVERRUN = 0x02F8  # added by patch 0007, which then closes the connection
PTP_ERROR_TIMEOUT = 0x02FA
TRANSPORT_ERRORS = {
    DATA_OVERRUN: "the camera sent more data than asked for; refused (PTP_ERROR_DATA_OVERRUN)",
    0x02F9: "no device (PTP_ERROR_NODEVICE)",
    PTP_ERROR_TIMEOUT: "timeout (PTP_ERROR_TIMEOUT)",
    0x02FB: "cancelled (PTP_ERROR_CANCEL)",
    0x02FC: "bad parameter (PTP_ERROR_BADPARAM)",
    0x02FD: "a response came where data was expected (PTP_ERROR_RESP_EXPECTED)",
    0x02FE: "data expected but none came (PTP_ERROR_DATA_EXPECTED)",
    0x02FF: "I/O error: the connection failed (PTP_ERROR_IO)",
}

# libgphoto2 result codes (gphoto2-port-result.h, gphoto2-result.h) as python-gphoto2's
# GPhoto2Error carries them in ``.code``, with what each means on a PTP/IP connection.
GP_ERROR_NOT_SUPPORTED = -6
GP_ERROR_TIMEOUT = -10
GP_ERROR_CORRUPTED_DATA = -102  # patch 0007: a reply longer than asked, refused
GP_ERROR_CAMERA_BUSY = -110
GP_TRANSPORT_ERRORS = {
    -7: "I/O error (GP_ERROR_IO)",
    GP_ERROR_TIMEOUT: "timeout (GP_ERROR_TIMEOUT)",
    -34: "read error (GP_ERROR_IO_READ)",
    -35: "write error (GP_ERROR_IO_WRITE)",
    -52: "no device (GP_ERROR_IO_USB_FIND)",
    -53: "the connection is held by another program (GP_ERROR_IO_USB_CLAIM)",
}
# Codes the camlib gives for a camera's answer (translate_ptp_result in ptp2/library.c).
# (-2, GP_ERROR_BAD_PARAMETERS, is also PTP_ERROR_BADPARAM: it does not tell.)
GP_ANSWERS = {
    GP_ERROR_NOT_SUPPORTED: ResponseCode.OPERATION_NOT_SUPPORTED,
    GP_ERROR_CAMERA_BUSY: ResponseCode.DEVICE_BUSY,
}
# What to do after a lost connection; a PTP/IP camera takes one connection per activation.
RECONNECT_HINT = (
    'files not fetched yet stay on the camera: choose "Send to Computer" on the camera again'
)


class SonyPmAltError(Exception):
    """Base class of every error sony-pm-alt raises on purpose."""


# --- the camera ------------------------------------------------------------------------------


class CameraError(SonyPmAltError):
    """Talking to the camera failed. Raised as such only when libgphoto2 does not say whether
    the camera answered (``[-1] Unspecified error``); otherwise one of the subclasses."""


class CameraTransportError(CameraError):
    """The connection failed: no answer from the camera, not a refusal by it. The session
    cannot go on; ``opcode`` and ``code`` (a PTP_ERROR_* or GP_ERROR_* code) are set when
    known."""

    what = "the connection to the camera was lost"

    def __init__(
        self,
        doing: str,
        detail: str,
        *,
        opcode: int | None = None,
        code: int | None = None,
        message: str = "",
    ) -> None:
        self.doing, self.detail, self.opcode, self.code = doing, detail, opcode, code
        super().__init__(message or f"{self.what} while {doing} ({detail}); {RECONNECT_HINT}")

    def while_doing(self, doing: str) -> CameraTransportError:
        """The same failure, told as part of ``doing`` (the caller's wider step)."""
        return type(self)(doing, self.detail, opcode=self.opcode, code=self.code)


class CameraTimedOut(CameraTransportError):
    """The camera stopped answering (libgphoto2's PTP/IP timeout passed)."""

    what = "the camera stopped answering"


class CameraSentTooMuch(CameraTransportError):
    """A reply longer than asked for: refused, nothing of it kept, and the connection closed
    (its byte stream can no longer be framed: patch 0007)."""

    what = "the camera sent more data than asked for (refused as a faulty or hostile reply)"

    @classmethod
    def partial_read(cls, name: str, offset: int, asked: int) -> CameraSentTooMuch:
        return cls(
            f"downloading {name} at offset {offset}",
            "GP_ERROR_CORRUPTED_DATA",
            code=GP_ERROR_CORRUPTED_DATA,
            message=f"{name}: the camera sent more than the {asked} bytes asked for at offset "
            f"{offset}; refused (a faulty or hostile camera: see docs/security.md)",
        )


class CameraConnectError(CameraTransportError):
    """No PTP/IP session could be opened at the address (nothing listens, the connection was
    refused or dropped at once, or the camera answered Init Fail for another reason than our
    GUID): worth asking again a moment later. ``why`` says which, and what to check."""

    def __init__(self, address: str, why: str, *, code: int | None = None) -> None:
        self.address = address  # HOST:PORT, as the user gave it
        super().__init__(
            "opening the session",
            why,
            code=code,
            message=f"cannot open the camera at {address}: {why}",
        )

    def while_doing(self, doing: str) -> CameraTransportError:
        return self  # opening the session is the step: its message names the address


def no_answer(detail: str) -> str:
    """Why a camera that does not answer PTP/IP could not be opened, and what to check."""
    return (
        f'no PTP/IP answer ({detail}); check that the camera shows "Send to Computer" at '
        "that address and that no other program is connected to it"
    )


class CameraResponseError(CameraError):
    """An operation answered with a response code other than OK."""

    def __init__(self, opcode: int, code: int, message: str | None = None) -> None:
        self.opcode = opcode
        self.code = code
        op = code_name(opcode, OperationCode)
        super().__init__(
            message or f"{op} failed: the camera answered {code_name(code, ResponseCode)}"
        )


class CameraBusy(CameraResponseError):
    """The camera kept answering DeviceBusy where it had to accept (e.g. OpenSession)."""

    def __init__(self, doing: str, opcode: int = OperationCode.OPEN_SESSION) -> None:
        self.doing = doing
        super().__init__(
            opcode,
            ResponseCode.DEVICE_BUSY,
            f"the camera stayed busy while {doing} (DeviceBusy); it takes one connection per "
            'activation: wait until it has finished writing, then choose "Send to Computer" '
            "on the camera again",
        )


class VendorStepFailed(CameraResponseError):
    """A step of the vendor profile failed and is marked to abort the session."""

    def __init__(self, block: str, index: int, description: str, code: int) -> None:
        self.block, self.index = block, index
        super().__init__(
            0,
            code,
            f"vendor profile {block} step {index} ({description}) failed: "
            f"{code_name(code, ResponseCode)}; choose another profile with --profile",
        )


class CameraRefusedGuid(CameraError):
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


def from_gphoto2(exc: Exception, doing: str) -> CameraError:
    """python-gphoto2's ``GPhoto2Error`` (from a libgphoto2 call made while ``doing``) as the
    error it is: the one place a ``GP_ERROR_*`` code is read. libgphoto2's own text (``[-7]
    I/O problem``) is kept only inside our words."""
    code = getattr(exc, "code", None)
    if code in GP_TRANSPORT_ERRORS:
        cls = CameraTimedOut if code == GP_ERROR_TIMEOUT else CameraTransportError
        return cls(doing, f"libgphoto2: {GP_TRANSPORT_ERRORS[code]}", code=code)
    if code == GP_ERROR_CAMERA_BUSY:
        return CameraBusy(doing)
    if code == GP_ERROR_CORRUPTED_DATA:
        return CameraSentTooMuch(doing, "libgphoto2: GP_ERROR_CORRUPTED_DATA", code=code)
    if code in GP_ANSWERS:
        answer = code_name(GP_ANSWERS[code], ResponseCode)
        message = f"{doing} failed: the camera answered {answer}"
        return CameraResponseError(0, GP_ANSWERS[code], message)
    return CameraError(
        f"{doing} failed and libgphoto2 gave no reason (it reported {exc}); if the camera "
        f"still shows the connection, try again, else {RECONNECT_HINT}"
    )


def raise_for_response(opcode: int, code: int) -> None:
    """Nothing for OK; :class:`CameraTransportError` for libgphoto2's PTP_ERROR_* pseudo codes
    (the connection failed), :class:`CameraResponseError` for any answer of the camera."""
    if code in TRANSPORT_ERRORS:
        op = code_name(opcode, OperationCode)
        cls = {PTP_ERROR_TIMEOUT: CameraTimedOut, DATA_OVERRUN: CameraSentTooMuch}.get(
            code, CameraTransportError
        )
        raise cls(f"running {op}", TRANSPORT_ERRORS[code], opcode=opcode, code=code)
    if code != ResponseCode.OK:
        raise CameraResponseError(opcode, code)


def describe_code(code: int) -> str:
    """A response code or PTP_ERROR_* pseudo code as a user reads it."""
    return TRANSPORT_ERRORS.get(code) or code_name(code, ResponseCode)


# --- this computer ---------------------------------------------------------------------------


class NativeLayerUnavailable(SonyPmAltError):
    """The patched camlib and shim are not built (or built for another libgphoto2)."""


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


class SyncCancelled(SonyPmAltError):
    """The sync was asked to stop; finished files are recorded, the rest stays planned."""


# --- settings ------------------------------------------------------------------


class TemplateError(SonyPmAltError, ValueError):
    """A file name template that cannot be used; the message says which part and why."""


class ProfileError(SonyPmAltError, ValueError):
    """A vendor profile that cannot be loaded; the message names the file or name."""


@contextmanager
def libgphoto2_errors(doing: str) -> Iterator[None]:
    """Turn python-gphoto2's ``GPhoto2Error`` raised inside the block into the
    :class:`CameraError` it is (see :func:`from_gphoto2`)."""
    import gphoto2 as gp

    try:
        yield
    except gp.GPhoto2Error as exc:
        raise from_gphoto2(exc, doing) from exc
