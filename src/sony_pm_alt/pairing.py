"""Register a GUID with a Sony camera over USB, without Windows or PlayMemories Home.

This reproduces sony-guid-setter (Clemens Fruhwirth's 2016 reverse engineering, byte for byte as
described in ``docs/protocol.md`` §7): with the camera in USB Mass Storage mode, a
non-standard SCSI command ``7a 04`` carries an 8192-byte block holding a host name and the
16-byte GUID over the Bulk-Only Transport. After that the camera accepts PTP/IP connections whose
Init Command Request carries this GUID.

It has **not been run against a real camera** by this project: the bytes match the setter's, and
the tests drive a fake USB device (``docs/pairing.md``). The USB sequence, the block and the
stall handling are in ``docs/protocol.md`` §7; a stall in a data stage is cleared and the CSW
read next, as the Bulk-Only Transport specifies (the data is not resent).
"""

from __future__ import annotations

import errno
import struct
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from typing import Any

import usb.core
import usb.util

from .errors import SonyPmAltError
from .identity import Guid

SONY_VENDOR_ID = 0x054C
# USB Mass Storage, SCSI transparent command set, Bulk-Only Transport.
MSC_CLASS, MSC_SUBCLASS_SCSI, MSC_PROTOCOL_BOT = 0x08, 0x06, 0x50

TIMEOUT_MS = 1000
# sony-guid-setter's RETRY_MAX: a transfer that stalls is tried at most this often in all.
MAX_ATTEMPTS = 5

CBW_SIGNATURE = b"USBC"
CSW_SIGNATURE = b"USBS"
CSW_SIZE = 13
CBW_FLAGS_OUT, CBW_FLAGS_IN = 0x00, 0x80
_CBW = struct.Struct("<4sIIBBB16s")
_CSW = struct.Struct("<4sIIB")

# Bulk-Only class requests (BOT spec §3): Get Max LUN, IN | CLASS | INTERFACE.
GET_MAX_LUN_REQUEST = 0xFE
GET_MAX_LUN_REQUEST_TYPE = 0xA1

# The Sony command: non-standard opcode 0x7A, 9-byte CDB, then 8192 bytes host → device.
PAIRING_CDB = bytes([0x7A, 0x04, 0, 0, 0, 0, 0, 0, 0])
PAIRING_BLOCK_SIZE = 8192
BLOCK_MAGIC = bytes([0x25, 0x01, 0x00, 0x00, 0x08])
NAME_OFFSET, NAME_FIELD_SIZE = 17, 16
NAME_MAX_UNITS = NAME_FIELD_SIZE // 2
GUID_MAGIC_OFFSET, GUID_MAGIC = 177, bytes([0x10, 0x00, 0x00, 0x00])  # 0x10: the GUID length?
GUID_OFFSET = 181  # bytes 0–7 at 181, 8–15 at 189: contiguous

REQUEST_SENSE_LENGTH = 18
REQUEST_SENSE_CDB = bytes([0x03, 0, 0, 0, REQUEST_SENSE_LENGTH, 0])

CSW_PASSED, CSW_FAILED, CSW_PHASE_ERROR = 0, 1, 2

SENSE_KEYS = {
    0x0: "NO SENSE",
    0x1: "RECOVERED ERROR",
    0x2: "NOT READY",
    0x3: "MEDIUM ERROR",
    0x4: "HARDWARE ERROR",
    0x5: "ILLEGAL REQUEST",
    0x6: "UNIT ATTENTION",
    0x7: "DATA PROTECT",
    0x8: "BLANK CHECK",
    0x9: "VENDOR SPECIFIC",
    0xA: "COPY ABORTED",
    0xB: "ABORTED COMMAND",
    0xD: "VOLUME OVERFLOW",
    0xE: "MISCOMPARE",
}

NOT_MASS_STORAGE = (
    "camera is not in USB Mass Storage mode: set USB Connection to Mass Storage in its menu "
    "and reconnect"
)


class PairingError(SonyPmAltError):
    """Pairing over USB failed; the message says why and what to do.

    ``sense_key`` is the SCSI sense key when the camera rejected the command, else None.
    """

    def __init__(self, message: str, *, sense_key: int | None = None) -> None:
        super().__init__(message)
        self.sense_key = sense_key


# --- bytes -------------------------------------------------------------------------------------


def build_cbw(tag: int, transfer_length: int, flags: int, lun: int, cdb: bytes) -> bytes:
    """A 31-byte Bulk-Only Command Block Wrapper; the CDB is zero-padded to 16 bytes."""
    return _CBW.pack(CBW_SIGNATURE, tag, transfer_length, flags, lun, len(cdb), cdb)


def build_pairing_block(guid: bytes, host_name: str) -> bytes:
    """The 8192-byte block of the pairing command (layout: docs/protocol.md §7). Only ASCII host
    names are accepted; one longer than 8 characters is cut (the camera takes the PTP/IP friendly
    name on the first connection anyway)."""
    guid = Guid(guid)  # checks the size
    if not host_name:
        raise ValueError("host name must not be empty")
    if not host_name.isascii() or "\x00" in host_name:
        raise ValueError(f"host name {host_name!r} must be ASCII without NUL characters")
    name = host_name[:NAME_MAX_UNITS].encode("utf-16-le")
    block = bytearray(PAIRING_BLOCK_SIZE)
    block[0 : len(BLOCK_MAGIC)] = BLOCK_MAGIC
    block[NAME_OFFSET : NAME_OFFSET + len(name)] = name
    block[GUID_MAGIC_OFFSET : GUID_MAGIC_OFFSET + len(GUID_MAGIC)] = GUID_MAGIC
    block[GUID_OFFSET : GUID_OFFSET + len(guid)] = guid
    return bytes(block)


def parse_csw(data: bytes, tag: int) -> int:
    """The status byte of a 13-byte Command Status Wrapper answering the CBW with ``tag``.

    The residue is not checked: many devices set it wrongly (the setter ignores it too).
    """
    if len(data) != CSW_SIZE:
        raise PairingError(f"the camera sent a {len(data)}-byte status, expected {CSW_SIZE}")
    signature, csw_tag, _residue, status = _CSW.unpack(data)
    if signature != CSW_SIGNATURE:
        raise PairingError(f"the camera's status has signature {signature!r}, expected b'USBS'")
    if csw_tag != tag:
        raise PairingError(f"the camera's status answers command tag {csw_tag}, expected {tag}")
    return int(status)


def describe_sense(sense: bytes) -> tuple[int | None, str]:
    """(sense key, text) of fixed-format REQUEST SENSE data; key None when there is none."""
    if len(sense) < 14 or sense[0] & 0x7F not in (0x70, 0x71):
        return None, "no sense data"
    key = sense[2] & 0x0F
    name = SENSE_KEYS.get(key, "reserved")
    return key, f"sense key {key:#x} {name} (ASC {sense[12]:#04x}, ASCQ {sense[13]:#04x})"


# --- USB ---------------------------------------------------------------------------------------


def _errno_of(exc: usb.core.USBError) -> int | None:
    code = exc.errno
    return code if isinstance(code, int) else None


def _is_stall(exc: usb.core.USBError) -> bool:
    return _errno_of(exc) == errno.EPIPE


def _usb_error_message(exc: usb.core.USBError) -> str:
    code = _errno_of(exc)
    if code == errno.EACCES:
        return (
            "permission denied opening the camera's USB device: install the udev rule in "
            "docs/pairing.md (then reconnect the camera), or run this once with sudo"
        )
    if code == errno.EBUSY:
        return "another program has the camera open (a file manager mounting it?)"
    if code == errno.ENODEV:
        return "the camera disconnected during pairing: reconnect it and try again"
    if isinstance(exc, usb.core.USBTimeoutError) or code == errno.ETIMEDOUT:
        return f"the camera did not answer within {TIMEOUT_MS} ms: reconnect it and try again"
    return f"USB error while pairing: {exc}"


@contextmanager
def _usb_errors() -> Iterator[None]:
    """Turn pyusb errors into one-line :class:`PairingError` messages."""
    try:
        yield
    except usb.core.USBError as exc:
        raise PairingError(_usb_error_message(exc)) from exc


def _mass_storage_interface(device: Any) -> tuple[Any, Any] | None:
    """(configuration, interface) of the device's first Bulk-Only SCSI interface."""
    for configuration in device:
        for interface in configuration:
            kind = (
                interface.bInterfaceClass,
                interface.bInterfaceSubClass,
                interface.bInterfaceProtocol,
            )
            if kind == (MSC_CLASS, MSC_SUBCLASS_SCSI, MSC_PROTOCOL_BOT):
                return configuration, interface
    return None


def _bulk_endpoints(interface: Any) -> tuple[int, int]:
    """Addresses of the interface's first bulk IN and first bulk OUT endpoints."""
    bulk: dict[int, int] = {}  # direction -> address
    for endpoint in interface:
        if usb.util.endpoint_type(endpoint.bmAttributes) == usb.util.ENDPOINT_TYPE_BULK:
            address = int(endpoint.bEndpointAddress)
            bulk.setdefault(usb.util.endpoint_direction(address), address)
    if len(bulk) < 2:
        raise PairingError(
            "the camera's Mass Storage interface lacks a bulk IN or OUT endpoint; "
            + NOT_MASS_STORAGE
        )
    return bulk[usb.util.ENDPOINT_IN], bulk[usb.util.ENDPOINT_OUT]


def _find_camera(find: Callable[..., Any], backend: object | None) -> tuple[Any, Any, Any]:
    """(device, configuration, interface) of the one Sony camera in Mass Storage mode."""
    try:
        with _usb_errors():
            devices = list(find(find_all=True, idVendor=SONY_VENDOR_ID, backend=backend))
    except usb.core.NoBackendError as exc:
        raise PairingError(
            "no libusb backend found: install libusb 1.0 (Debian/Ubuntu: "
            "sudo apt install libusb-1.0-0; Fedora: sudo dnf install libusb1)"
        ) from exc
    devices = [d for d in devices if d is not None]
    if not devices:
        raise PairingError(
            "no Sony camera found on USB: connect it with a USB cable, switch it on and set "
            "USB Connection to Mass Storage in its menu"
        )
    candidates = []
    with _usb_errors():
        for device in devices:
            found_interface = _mass_storage_interface(device)
            if found_interface is not None:
                candidates.append((device, *found_interface))
    if not candidates:
        raise PairingError(NOT_MASS_STORAGE)
    if len(candidates) > 1:
        raise PairingError(
            f"{len(candidates)} Sony devices in Mass Storage mode are connected: "
            "connect only the camera to pair"
        )
    return candidates[0]


def _kernel_driver_active(device: Any, number: int) -> bool:
    try:
        return bool(device.is_kernel_driver_active(number))
    except NotImplementedError:
        return False  # a backend or platform without kernel drivers to detach
    except usb.core.USBError as exc:
        if _errno_of(exc) == errno.ENOSYS:  # libusb: not supported on this platform
            return False
        raise


def _ensure_configuration(device: Any, configuration: Any) -> None:
    """Select the configuration unless it already is the active one.

    The camera is normally configured already (its storage driver was bound); setting the same
    configuration again would reset it, so only an unconfigured or differently configured device
    is touched.
    """
    value = configuration.bConfigurationValue
    try:
        active = device.get_active_configuration()
    except usb.core.USBError as exc:
        if _errno_of(exc) in (errno.EACCES, errno.EBUSY, errno.ENODEV):
            raise
        active = None  # "Configuration not set"
    if active is None or active.bConfigurationValue != value:
        device.set_configuration(value)


def _with_stall_retry(device: Any, endpoint: int, transfer: Callable[[], Any]) -> Any:
    """Run a CBW or CSW transfer; on a stall clear the halt and retry, at most MAX_ATTEMPTS."""
    attempt = 1
    while True:
        try:
            return transfer()
        except usb.core.USBError as exc:
            if not _is_stall(exc):
                raise
            device.clear_halt(endpoint)
            if attempt >= MAX_ATTEMPTS:
                raise PairingError(
                    f"endpoint {endpoint:#04x} stalled {MAX_ATTEMPTS} times in a row: "
                    "reconnect the camera and try again"
                ) from exc
            attempt += 1


class _BulkOnly:
    """The Bulk-Only Transport steps of one pairing, on a claimed interface."""

    def __init__(self, device: Any, interface_number: int, bulk_in: int, bulk_out: int) -> None:
        self.device = device
        self.interface_number = interface_number
        self.bulk_in, self.bulk_out = bulk_in, bulk_out
        self.next_tag = 1

    def max_lun(self) -> int:
        try:
            answer = self.device.ctrl_transfer(
                GET_MAX_LUN_REQUEST_TYPE,
                GET_MAX_LUN_REQUEST,
                0,
                self.interface_number,
                1,
                TIMEOUT_MS,
            )
        except usb.core.USBError as exc:
            if _is_stall(exc):
                return 0  # devices with one LUN may stall the request (BOT spec §3.2)
            raise
        return int(answer[0]) & 0x0F if len(answer) else 0

    def send_command(self, cdb: bytes, transfer_length: int, flags: int, lun: int) -> int:
        tag = self.next_tag
        self.next_tag += 1
        cbw = build_cbw(tag, transfer_length, flags, lun, cdb)
        _with_stall_retry(
            self.device, self.bulk_out, lambda: self.device.write(self.bulk_out, cbw, TIMEOUT_MS)
        )
        return tag

    def write_data(self, data: bytes) -> None:
        try:
            self.device.write(self.bulk_out, data, TIMEOUT_MS)
        except usb.core.USBError as exc:
            if not _is_stall(exc):
                raise
            self.device.clear_halt(self.bulk_out)  # the CSW says what went wrong

    def read_data(self, length: int) -> bytes:
        try:
            return bytes(self.device.read(self.bulk_in, length, TIMEOUT_MS))
        except usb.core.USBError as exc:
            if not _is_stall(exc):
                raise
            self.device.clear_halt(self.bulk_in)
            return b""

    def status(self, tag: int) -> int:
        raw = _with_stall_retry(
            self.device, self.bulk_in, lambda: self.device.read(self.bulk_in, CSW_SIZE, TIMEOUT_MS)
        )
        return parse_csw(bytes(raw), tag)

    def request_sense(self, lun: int) -> bytes:
        tag = self.send_command(REQUEST_SENSE_CDB, REQUEST_SENSE_LENGTH, CBW_FLAGS_IN, lun)
        sense = self.read_data(REQUEST_SENSE_LENGTH)
        return sense if self.status(tag) == CSW_PASSED else b""


def _run_pairing(bot: _BulkOnly, block: bytes) -> None:
    lun = bot.max_lun()
    tag = bot.send_command(PAIRING_CDB, PAIRING_BLOCK_SIZE, CBW_FLAGS_OUT, lun)
    bot.write_data(block)
    status = bot.status(tag)
    if status == CSW_PASSED:
        return
    if status == CSW_FAILED:
        try:
            sense = bot.request_sense(lun)
        except (PairingError, usb.core.USBError):
            sense = b""  # the failure itself is what matters; report it without sense data
        key, text = describe_sense(sense)
        raise PairingError(
            f"the camera rejected the pairing command: {text}; this model may not support "
            "pairing over USB — pair it with PlayMemories Home instead (docs/pairing.md)",
            sense_key=key,
        )
    if status == CSW_PHASE_ERROR:
        raise PairingError(
            "the camera reported a phase error for the pairing command: reconnect it and try again"
        )
    raise PairingError(f"the camera answered the pairing command with unknown status {status}")


def pair(
    guid: bytes,
    host_name: str,
    *,
    backend: object | None = None,
    find: Callable[..., Any] | None = None,
) -> None:
    """Register ``guid`` (and ``host_name``, at most 8 ASCII characters) with the camera over USB.

    The camera must be connected by USB, switched on, with USB Connection set to Mass Storage.
    ``backend`` is a pyusb backend (default: pyusb's choice, libusb 1.0); ``find`` replaces
    ``usb.core.find`` (tests pass a fake device through it).

    Raises ValueError for a bad GUID or host name before touching USB, and :class:`PairingError`
    with a one-line explanation for everything else: no camera, not in Mass Storage mode, no
    libusb, permission denied, device busy, the camera refusing the command.
    """
    block = build_pairing_block(guid, host_name)
    device, configuration, interface = _find_camera(find or usb.core.find, backend)
    number = int(interface.bInterfaceNumber)
    bulk_in, bulk_out = _bulk_endpoints(interface)
    detached = claimed = False
    try:
        with _usb_errors():
            if _kernel_driver_active(device, number):
                device.detach_kernel_driver(number)
                detached = True
            _ensure_configuration(device, configuration)
            usb.util.claim_interface(device, number)
            claimed = True
            _run_pairing(_BulkOnly(device, number, bulk_in, bulk_out), block)
    finally:
        _release(device, number, claimed=claimed, reattach=detached)


def _release(device: Any, number: int, *, claimed: bool, reattach: bool) -> None:
    """Give the interface back to the kernel; failures here must not hide the pairing result."""
    with suppress(usb.core.USBError):
        if claimed:
            usb.util.release_interface(device, number)
        usb.util.dispose_resources(device)
    if reattach:
        # If this fails the camera stays unmounted until it is reconnected; pairing is unaffected.
        with suppress(usb.core.USBError):
            device.attach_kernel_driver(number)
