"""Tests for USB pairing, at the byte level, against a fake pyusb device (no libusb, no camera).

The fake camera speaks just enough Bulk-Only Transport to answer: it records every call, parses
the CBWs it receives, and answers each with a CSW carrying the CBW's tag. Failures are scripted.
"""

from __future__ import annotations

import array
import errno
import re
import struct
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import usb.core
from hypothesis import given
from hypothesis import strategies as st

from sony_pm_alt import pairing
from sony_pm_alt.errors import SonyPmAltError
from sony_pm_alt.pairing import (
    NOT_MASS_STORAGE,
    PairingError,
    build_cbw,
    build_pairing_block,
    pair,
    parse_csw,
)

# sony-guid-setter's example (docs/protocol.md §6/§7).
SETTER_GUID = bytes.fromhex("ffff525400b6fda9ffff523c2807a93a")
BULK_IN, BULK_OUT = 0x81, 0x02

# The CBW of the pairing command with tag 1 and LUN 0, byte by byte.
PAIRING_CBW = bytes.fromhex(
    "55534243"  # "USBC"
    "01000000"  # tag 1
    "00200000"  # dCBWDataTransferLength 8192
    "00"  # bmCBWFlags: host → device
    "00"  # LUN
    "09"  # bCBWCBLength
    "7a0400000000000000" + "00" * 7  # CDB, zero-padded to 16
)
# REQUEST SENSE after it: tag 2, 18 bytes device → host, 6-byte CDB 03 00 00 00 12 00.
SENSE_CBW = bytes.fromhex("55534243 02000000 12000000 80 00 06 030000001200" + "00" * 10)


def _csw(tag: int, status: int, residue: int = 0, signature: bytes = b"USBS") -> bytes:
    return struct.pack("<4sIIB", signature, tag, residue, status)


def _usb_error(code: int, text: str = "error") -> usb.core.USBError:
    return usb.core.USBError(text, None, code)


STALL = errno.EPIPE


# --- the fake pyusb device ---------------------------------------------------------------------


class FakeEndpoint:
    def __init__(self, address: int, attributes: int = 0x02) -> None:  # 0x02: bulk
        self.bEndpointAddress = address
        self.bmAttributes = attributes


class FakeInterface:
    def __init__(
        self,
        number: int = 0,
        klass: int = 0x08,
        subclass: int = 0x06,
        protocol: int = 0x50,
        endpoints: list[FakeEndpoint] | None = None,
    ) -> None:
        self.bInterfaceNumber = number
        self.bAlternateSetting = 0
        self.bInterfaceClass = klass
        self.bInterfaceSubClass = subclass
        self.bInterfaceProtocol = protocol
        self.endpoints = (
            endpoints if endpoints is not None else [FakeEndpoint(BULK_IN), FakeEndpoint(BULK_OUT)]
        )

    def __iter__(self) -> Iterator[FakeEndpoint]:
        return iter(self.endpoints)


class FakeConfiguration:
    def __init__(self, interfaces: list[FakeInterface], value: int = 1) -> None:
        self.bConfigurationValue = value
        self.interfaces = interfaces

    def __iter__(self) -> Iterator[FakeInterface]:
        return iter(self.interfaces)


class FakeContext:
    """What ``usb.util.claim_interface``/``release_interface``/``dispose_resources`` call."""

    def __init__(self, device: FakeCamera) -> None:
        self.device = device

    def managed_claim_interface(self, device: Any, interface: int) -> None:
        self.device.call("claim_interface", interface)

    def managed_release_interface(self, device: Any, interface: int) -> None:
        self.device.call("release_interface", interface)

    def dispose(self, device: Any) -> None:
        self.device.call("dispose_resources")


class FakeCamera:
    """A Sony camera in Mass Storage mode, as far as the pyusb Device surface goes.

    ``fail[name]`` is a list of exceptions (or None for "succeed") consumed one per call of that
    method; ``status[opcode]`` is the CSW status the camera answers a command with.
    """

    idVendor = 0x054C  # noqa: N815 - pyusb's descriptor field names
    idProduct = 0x0994  # noqa: N815

    def __init__(
        self,
        interfaces: list[FakeInterface] | None = None,
        *,
        kernel_driver: bool = True,
        configured: bool = True,
        max_lun: bytes = b"\x00",
    ) -> None:
        self.configuration = FakeConfiguration(interfaces or [FakeInterface()])
        self.kernel_driver = kernel_driver
        self.configured = configured
        self.max_lun = max_lun
        self.log: list[tuple[Any, ...]] = []
        self.fail: dict[str, list[BaseException | None]] = {}
        self.status: dict[int, int] = {}
        self.sense = bytes([0x70, 0, 0x05, 0, 0, 0, 0, 10, 0, 0, 0, 0, 0x20, 0x00, 0, 0, 0, 0])
        self.pending: tuple[int, int, int, bytes] | None = None  # tag, length, flags, cdb
        self.data_sent = False
        self._ctx = FakeContext(self)

    def call(self, name: str, *args: Any) -> None:
        self.log.append((name, *args))
        queue = self.fail.get(name)
        if queue:
            error = queue.pop(0)
            if error is not None:
                raise error

    def calls(self, name: str) -> list[tuple[Any, ...]]:
        return [entry for entry in self.log if entry[0] == name]

    # descriptors
    def __iter__(self) -> Iterator[FakeConfiguration]:
        return iter([self.configuration])

    # configuration and kernel driver
    def get_active_configuration(self) -> FakeConfiguration:
        self.call("get_active_configuration")
        if not self.configured:
            raise usb.core.USBError("Configuration not set")
        return self.configuration

    def set_configuration(self, value: int | None = None) -> None:
        self.call("set_configuration", value)
        self.configured = True

    def is_kernel_driver_active(self, interface: int) -> bool:
        self.call("is_kernel_driver_active", interface)
        return self.kernel_driver

    def detach_kernel_driver(self, interface: int) -> None:
        self.call("detach_kernel_driver", interface)
        self.kernel_driver = False

    def attach_kernel_driver(self, interface: int) -> None:
        self.call("attach_kernel_driver", interface)
        self.kernel_driver = True

    def clear_halt(self, endpoint: int) -> None:
        self.call("clear_halt", endpoint)

    # transfers
    def ctrl_transfer(
        self,
        bm_request_type: int,
        b_request: int,
        w_value: int = 0,
        w_index: int = 0,
        data_or_w_length: Any = None,
        timeout: int | None = None,
    ) -> array.array[int]:
        self.call(
            "ctrl_transfer", bm_request_type, b_request, w_value, w_index, data_or_w_length, timeout
        )
        return array.array("B", self.max_lun)

    def write(self, endpoint: int, data: bytes, timeout: int | None = None) -> int:
        self.call("write", endpoint, bytes(data), timeout)
        raw = bytes(data)
        if len(raw) == 31 and raw.startswith(b"USBC"):
            _, tag, length, flags, _lun, cb_length, cb = struct.unpack("<4sIIBBB16s", raw)
            self.pending = (tag, length, flags, cb[:cb_length])
            self.data_sent = False
        else:
            self.data_sent = True
        return len(raw)

    def read(self, endpoint: int, size: int, timeout: int | None = None) -> array.array[int]:
        self.call("read", endpoint, size, timeout)
        assert self.pending is not None, "read without a command"
        tag, _length, flags, cdb = self.pending
        if flags == 0x80 and not self.data_sent:
            self.data_sent = True
            return array.array("B", self.sense[:size])
        return array.array("B", _csw(tag, self.status.get(cdb[0], 0)))


class FakeFind:
    """Stands in for ``usb.core.find``: records its arguments, returns the given devices."""

    def __init__(self, *devices: Any) -> None:
        self.devices = list(devices)
        self.calls: list[dict[str, Any]] = []

    def __call__(self, **kwargs: Any) -> Iterator[Any]:
        self.calls.append(kwargs)
        return iter(self.devices)


def _pair(camera: FakeCamera, guid: bytes = SETTER_GUID, host: str = "linux") -> None:
    pair(guid, host, find=FakeFind(camera))


# --- build_pairing_block: the setter's golden example ------------------------------------------


def test_pairing_block_matches_the_setter_field_by_field() -> None:
    block = build_pairing_block(SETTER_GUID, "linux")
    assert len(block) == 8192
    # docs/protocol.md §7 table: (offset, length, content)
    table = [
        (0, 5, bytes.fromhex("2501000008")),
        (5, 12, bytes(12)),
        (17, 16, bytes.fromhex("6c00 6900 6e00 7500 7800") + bytes(6)),
        (33, 144, bytes(144)),
        (177, 4, bytes.fromhex("10000000")),
        (181, 8, bytes.fromhex("ffff525400b6fda9")),
        (189, 8, bytes.fromhex("ffff523c2807a93a")),
        (197, 7995, bytes(7995)),
    ]
    position = 0
    for offset, length, content in table:
        assert offset == position, "the table covers the block without gaps"
        assert len(content) == length
        assert block[offset : offset + length] == content, f"field at offset {offset}"
        position += length
    assert position == 8192


def test_pairing_block_golden_bytes() -> None:
    golden = (
        bytes.fromhex("2501000008")
        + bytes(12)
        + "linux".encode("utf-16-le").ljust(16, b"\0")
        + bytes(144)
        + b"\x10\x00\x00\x00"
        + SETTER_GUID
    ).ljust(8192, b"\0")
    assert build_pairing_block(SETTER_GUID, "linux") == golden


def test_long_host_names_are_cut_to_8_units() -> None:
    block = build_pairing_block(SETTER_GUID, "my-long-hostname")
    assert block[17:33] == "my-long-".encode("utf-16-le")
    assert block[33:177] == bytes(144)
    assert build_pairing_block(SETTER_GUID, "exactly8")[17:33] == "exactly8".encode("utf-16-le")


@pytest.mark.parametrize("name", ["", "café", "日本", "a\x00b"])
def test_host_name_must_be_nonempty_ascii(name: str) -> None:
    with pytest.raises(ValueError, match="host name"):
        build_pairing_block(SETTER_GUID, name)


@pytest.mark.parametrize("guid", [b"", bytes(15), bytes(17)])
def test_guid_must_be_16_bytes(guid: bytes) -> None:
    with pytest.raises(ValueError, match="16 bytes"):
        build_pairing_block(guid, "linux")


@given(
    guid=st.binary(min_size=16, max_size=16),
    name=st.text(alphabet=st.characters(min_codepoint=1, max_codepoint=127), min_size=1),
)
def test_pairing_block_layout_for_any_guid_and_name(guid: bytes, name: str) -> None:
    block = build_pairing_block(guid, name)
    assert len(block) == 8192
    assert block[:5] == b"\x25\x01\x00\x00\x08"
    assert block[17:33] == name[:8].encode("utf-16-le").ljust(16, b"\0")
    assert block[177:181] == b"\x10\x00\x00\x00"
    assert block[181:189] + block[189:197] == guid
    assert not any(block[5:17])
    assert not any(block[33:177])
    assert not any(block[197:])


# --- build_cbw and parse_csw -------------------------------------------------------------------


def test_pairing_cbw_bytes() -> None:
    assert build_cbw(1, 8192, 0x00, 0, pairing.PAIRING_CDB) == PAIRING_CBW
    assert len(PAIRING_CBW) == 31


def test_request_sense_cbw_bytes() -> None:
    assert build_cbw(2, 18, 0x80, 0, pairing.REQUEST_SENSE_CDB) == SENSE_CBW


def test_cbw_carries_tag_and_lun() -> None:
    cbw = build_cbw(0xDEADBEEF, 8192, 0x00, 3, pairing.PAIRING_CDB)
    assert cbw[4:8] == bytes.fromhex("efbeadde")
    assert cbw[13] == 3


def test_parse_csw_returns_status_and_ignores_residue() -> None:
    assert parse_csw(_csw(1, 0), 1) == 0
    assert parse_csw(_csw(7, 1, residue=8192), 7) == 1
    assert parse_csw(_csw(2, 2), 2) == 2


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (_csw(1, 0)[:12], "12-byte status, expected 13"),
        (_csw(1, 0) + b"\0", "14-byte status, expected 13"),
        (_csw(1, 0, signature=b"USBC"), "signature b'USBC'"),
        (_csw(2, 0), "answers command tag 2, expected 1"),
    ],
)
def test_parse_csw_rejects_bad_status(data: bytes, message: str) -> None:
    with pytest.raises(PairingError, match=re.escape(message)):
        parse_csw(data, 1)


def test_pairing_error_is_a_sony_pm_alt_error() -> None:
    assert issubclass(PairingError, SonyPmAltError)


# --- pair(): the USB sequence ------------------------------------------------------------------


def test_pair_sends_exactly_the_setter_sequence() -> None:
    camera = FakeCamera()
    find = FakeFind(camera)
    pair(SETTER_GUID, "linux", find=find)
    assert find.calls == [{"find_all": True, "idVendor": 0x054C, "backend": None}]
    assert camera.log == [
        ("is_kernel_driver_active", 0),
        ("detach_kernel_driver", 0),
        ("get_active_configuration",),
        ("claim_interface", 0),
        ("ctrl_transfer", 0xA1, 0xFE, 0, 0, 1, 1000),  # Get Max LUN
        ("write", BULK_OUT, PAIRING_CBW, 1000),
        ("write", BULK_OUT, build_pairing_block(SETTER_GUID, "linux"), 1000),
        ("read", BULK_IN, 13, 1000),  # CSW
        ("release_interface", 0),
        ("dispose_resources",),
        ("attach_kernel_driver", 0),
    ]
    assert not camera.calls("set_configuration")


def test_the_backend_is_passed_to_find() -> None:
    backend = object()
    find = FakeFind(FakeCamera())
    pair(SETTER_GUID, "linux", backend=backend, find=find)
    assert find.calls[0]["backend"] is backend


def test_no_kernel_driver_means_nothing_to_detach_or_reattach() -> None:
    camera = FakeCamera(kernel_driver=False)
    _pair(camera)
    assert not camera.calls("detach_kernel_driver")
    assert not camera.calls("attach_kernel_driver")
    assert camera.calls("release_interface") == [("release_interface", 0)]


def test_an_unconfigured_camera_gets_its_configuration_set() -> None:
    camera = FakeCamera(configured=False)
    _pair(camera)
    assert camera.calls("set_configuration") == [("set_configuration", 1)]
    assert camera.log.index(("set_configuration", 1)) < camera.log.index(("claim_interface", 0))


def test_interface_and_first_bulk_endpoints_are_found_among_others() -> None:
    vendor = FakeInterface(0, 0xFF, 0xFF, 0xFF, [FakeEndpoint(0x85), FakeEndpoint(0x06)])
    storage = FakeInterface(
        1,
        endpoints=[
            FakeEndpoint(0x87, attributes=0x03),  # interrupt IN: not bulk
            FakeEndpoint(0x83),
            FakeEndpoint(0x04),
            FakeEndpoint(0x89),
            FakeEndpoint(0x0A),
        ],
    )
    camera = FakeCamera([vendor, storage])
    _pair(camera)
    assert camera.calls("claim_interface") == [("claim_interface", 1)]
    assert camera.calls("ctrl_transfer") == [("ctrl_transfer", 0xA1, 0xFE, 0, 1, 1, 1000)]
    assert [c[1] for c in camera.calls("write")] == [0x04, 0x04]
    assert [c[1] for c in camera.calls("read")] == [0x83]


def test_max_lun_stall_means_lun_0() -> None:
    camera = FakeCamera(max_lun=b"\x07")
    camera.fail["ctrl_transfer"] = [_usb_error(STALL, "Pipe error")]
    _pair(camera)
    assert camera.calls("write")[0][2] == PAIRING_CBW  # LUN byte 0, not 7


def test_an_empty_max_lun_answer_means_lun_0() -> None:
    camera = FakeCamera(max_lun=b"")
    _pair(camera)
    assert camera.calls("write")[0][2] == PAIRING_CBW


def test_the_max_lun_value_is_the_lun_addressed_like_the_setter() -> None:
    camera = FakeCamera(max_lun=b"\x01")
    _pair(camera)
    cbw = camera.calls("write")[0][2]
    assert cbw == PAIRING_CBW[:13] + b"\x01" + PAIRING_CBW[14:]


def test_csw_status_1_requests_sense_and_raises_with_the_sense_key() -> None:
    camera = FakeCamera()
    camera.status[0x7A] = 1
    with pytest.raises(PairingError, match="ILLEGAL REQUEST") as caught:
        _pair(camera)
    assert caught.value.sense_key == 0x5
    assert "sense key 0x5 ILLEGAL REQUEST (ASC 0x20, ASCQ 0x00)" in str(caught.value)
    transfers = [c for c in camera.log if c[0] in ("write", "read")]
    assert transfers == [
        ("write", BULK_OUT, PAIRING_CBW, 1000),
        ("write", BULK_OUT, build_pairing_block(SETTER_GUID, "linux"), 1000),
        ("read", BULK_IN, 13, 1000),
        ("write", BULK_OUT, SENSE_CBW, 1000),  # REQUEST SENSE, tag 2, flags 0x80
        ("read", BULK_IN, 18, 1000),
        ("read", BULK_IN, 13, 1000),  # its CSW
    ]
    # the interface is still given back
    assert camera.log[-3:] == [
        ("release_interface", 0),
        ("dispose_resources",),
        ("attach_kernel_driver", 0),
    ]


def test_status_1_without_sense_data_still_fails_clearly() -> None:
    camera = FakeCamera()
    camera.status[0x7A] = 1
    camera.sense = bytes(18)  # response code 0: no sense data
    with pytest.raises(PairingError, match="rejected the pairing command: no sense data") as caught:
        _pair(camera)
    assert caught.value.sense_key is None


def test_status_1_and_a_failing_request_sense_still_reports_the_rejection() -> None:
    camera = FakeCamera()
    camera.status[0x7A] = 1
    camera.fail["read"] = [None, _usb_error(errno.ETIMEDOUT, "Operation timed out")]
    with pytest.raises(PairingError, match="rejected the pairing command: no sense data"):
        _pair(camera)


def test_phase_error_status() -> None:
    camera = FakeCamera()
    camera.status[0x7A] = 2
    with pytest.raises(PairingError, match="phase error"):
        _pair(camera)
    assert not camera.calls("write")[2:]  # no REQUEST SENSE on status 2


def test_a_csw_with_the_wrong_tag_is_an_error() -> None:
    camera = FakeCamera()
    original = camera.read

    def wrong_tag(endpoint: int, size: int, timeout: int | None = None) -> array.array[int]:
        original(endpoint, size, timeout)
        return array.array("B", _csw(9, 0))

    camera.read = wrong_tag  # type: ignore[method-assign]
    with pytest.raises(PairingError, match="answers command tag 9, expected 1"):
        _pair(camera)


@pytest.mark.parametrize("stalls", [1, 4])
def test_cbw_stalls_are_cleared_and_retried(stalls: int) -> None:
    camera = FakeCamera()
    camera.fail["write"] = [_usb_error(STALL)] * stalls
    _pair(camera)
    assert camera.calls("clear_halt") == [("clear_halt", BULK_OUT)] * stalls
    writes = camera.calls("write")
    assert [w[2] for w in writes[:-1]] == [PAIRING_CBW] * (stalls + 1)
    assert writes[-1][2] == build_pairing_block(SETTER_GUID, "linux")


def test_cbw_stall_retries_are_bounded_at_5() -> None:
    camera = FakeCamera()
    camera.fail["write"] = [_usb_error(STALL)] * 10
    with pytest.raises(PairingError, match="endpoint 0x02 stalled 5 times"):
        _pair(camera)
    assert [w[2] for w in camera.calls("write")] == [PAIRING_CBW] * 5
    assert camera.calls("clear_halt") == [("clear_halt", BULK_OUT)] * 5
    assert not camera.calls("read")
    assert camera.log[-1] == ("attach_kernel_driver", 0)


@pytest.mark.parametrize("stalls", [1, 4])
def test_csw_stalls_are_cleared_and_retried(stalls: int) -> None:
    camera = FakeCamera()
    camera.fail["read"] = [_usb_error(STALL)] * stalls
    _pair(camera)
    assert camera.calls("clear_halt") == [("clear_halt", BULK_IN)] * stalls
    assert len(camera.calls("read")) == stalls + 1


def test_csw_stall_retries_are_bounded_at_5() -> None:
    camera = FakeCamera()
    camera.fail["read"] = [_usb_error(STALL)] * 5
    with pytest.raises(PairingError, match="endpoint 0x81 stalled 5 times"):
        _pair(camera)
    assert len(camera.calls("read")) == 5


def test_a_stalled_data_stage_is_cleared_and_the_status_read_not_resent() -> None:
    camera = FakeCamera()
    camera.fail["write"] = [None, _usb_error(STALL)]
    camera.status[0x7A] = 1
    with pytest.raises(PairingError, match="rejected"):
        _pair(camera)
    writes = [w[2] for w in camera.calls("write")]
    assert writes[:2] == [PAIRING_CBW, build_pairing_block(SETTER_GUID, "linux")]
    assert writes[2] == SENSE_CBW  # the block was not sent twice
    assert camera.calls("clear_halt") == [("clear_halt", BULK_OUT)]


# --- pair(): one-line errors -------------------------------------------------------------------


def test_no_sony_camera_found() -> None:
    with pytest.raises(PairingError, match=r"^no Sony camera found on USB") as caught:
        pair(SETTER_GUID, "linux", find=FakeFind())
    assert "\n" not in str(caught.value)


def test_a_camera_not_in_mass_storage_mode() -> None:
    # Issue #5: a camera enumerating with class 03 and one endpoint.
    hid = FakeInterface(0, 0x03, 0x00, 0x00, [FakeEndpoint(0x81, attributes=0x03)])
    ptp = FakeInterface(0, 0x06, 0x01, 0x01)  # still image (MTP/PTP mode)
    for interfaces in ([hid], [ptp]):
        camera = FakeCamera(interfaces)
        with pytest.raises(PairingError) as caught:
            _pair(camera)
        assert str(caught.value) == (
            "camera is not in USB Mass Storage mode: set USB Connection to Mass Storage in its "
            "menu and reconnect"
        )
        assert str(caught.value) == NOT_MASS_STORAGE
        assert camera.log == []  # nothing was opened


def test_the_camera_in_mass_storage_mode_is_picked_among_sony_devices() -> None:
    other = FakeCamera([FakeInterface(0, 0x03, 0, 0)])
    camera = FakeCamera()
    pair(SETTER_GUID, "linux", find=FakeFind(other, camera))
    assert other.log == []
    assert camera.calls("write")


def test_two_cameras_in_mass_storage_mode_are_ambiguous() -> None:
    first, second = FakeCamera(), FakeCamera()
    with pytest.raises(PairingError, match="2 Sony devices in Mass Storage mode"):
        pair(SETTER_GUID, "linux", find=FakeFind(first, second))
    assert first.log == second.log == []


def test_permission_denied_explains_udev_and_sudo() -> None:
    camera = FakeCamera()
    camera.fail["is_kernel_driver_active"] = [_usb_error(errno.EACCES, "Access denied")]
    with pytest.raises(PairingError) as caught:
        _pair(camera)
    message = str(caught.value)
    assert message.startswith("permission denied")
    assert "udev rule in docs/pairing.md" in message
    assert "sudo" in message
    assert "\n" not in message
    assert isinstance(caught.value.__cause__, usb.core.USBError)


def test_docs_give_the_udev_rule_the_message_points_to() -> None:
    docs = Path(__file__).resolve().parents[1] / "docs" / "pairing.md"
    text = docs.read_text(encoding="utf-8")
    assert 'SUBSYSTEM=="usb", ATTR{idVendor}=="054c", MODE="0660", GROUP="plugdev"' in text
    assert "untested" in text.lower()


def test_a_busy_camera() -> None:
    camera = FakeCamera(kernel_driver=False)
    camera.fail["claim_interface"] = [_usb_error(errno.EBUSY, "Resource busy")]
    with pytest.raises(PairingError) as caught:
        _pair(camera)
    assert str(caught.value) == "another program has the camera open (a file manager mounting it?)"
    assert not camera.calls("release_interface")  # never claimed
    assert camera.calls("dispose_resources")


def test_no_libusb_backend() -> None:
    def find(**kwargs: Any) -> Any:
        raise usb.core.NoBackendError("No backend available")

    with pytest.raises(PairingError, match=r"^no libusb backend found: install libusb"):
        pair(SETTER_GUID, "linux", find=find)


def test_find_defaults_to_pyusb(monkeypatch: pytest.MonkeyPatch) -> None:
    find = FakeFind()
    monkeypatch.setattr(usb.core, "find", find)
    with pytest.raises(PairingError, match="no Sony camera found"):
        pair(SETTER_GUID, "linux")
    assert find.calls == [{"find_all": True, "idVendor": 0x054C, "backend": None}]


def test_a_timeout_is_a_one_line_error() -> None:
    camera = FakeCamera()
    camera.fail["read"] = [usb.core.USBTimeoutError("Operation timed out", None, errno.ETIMEDOUT)]
    with pytest.raises(PairingError, match="did not answer within 1000 ms"):
        _pair(camera)
    assert camera.log[-1] == ("attach_kernel_driver", 0)


def test_a_disconnect_is_a_one_line_error() -> None:
    camera = FakeCamera()
    camera.fail["write"] = [_usb_error(errno.ENODEV, "No such device")]
    with pytest.raises(PairingError, match="disconnected"):
        _pair(camera)


def test_failing_cleanup_does_not_hide_success() -> None:
    camera = FakeCamera()
    camera.fail["attach_kernel_driver"] = [_usb_error(errno.ENODEV)]
    camera.fail["release_interface"] = [_usb_error(errno.ENODEV)]
    _pair(camera)  # no exception
    assert camera.calls("attach_kernel_driver")


def test_a_platform_without_kernel_drivers() -> None:
    camera = FakeCamera()
    camera.fail["is_kernel_driver_active"] = [_usb_error(errno.ENOSYS, "Not supported")]
    _pair(camera)
    assert not camera.calls("detach_kernel_driver")
    assert camera.calls("write")


def test_a_mass_storage_interface_without_bulk_endpoints() -> None:
    camera = FakeCamera([FakeInterface(endpoints=[FakeEndpoint(0x81)])])
    with pytest.raises(PairingError, match="lacks a bulk IN or OUT endpoint"):
        _pair(camera)


@pytest.mark.parametrize(("guid", "host"), [(bytes(15), "linux"), (SETTER_GUID, "ünïcode")])
def test_bad_arguments_fail_before_usb_is_touched(guid: bytes, host: str) -> None:
    find = FakeFind(FakeCamera())
    with pytest.raises(ValueError):  # noqa: PT011 - the GUID or the host name message
        pair(guid, host, find=find)
    assert find.calls == []
