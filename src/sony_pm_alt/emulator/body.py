"""Who the emulated camera is: model, serial, MAC-derived identity and the datasets a real body
sends in "Send to Computer" mode (``docs/protocol.md`` §5, §8)."""

from __future__ import annotations

from dataclasses import dataclass

from ..ptpip.codes import (
    AccessCapability,
    DataType,
    EventCode,
    FilesystemType,
    ObjectFormat,
    StorageType,
    VendorExtension,
)
from ..ptpip.codes import DevicePropCode as Prop
from ..ptpip.codes import OperationCode as Op
from ..ptpip.datasets import DeviceInfo, DevicePropDesc, EnumForm, StorageInfo

# Order as in the ILCE-7M3 / DSC-RX100 dumps; the ILCE-5000 PTP/IP log starts the same way.
SONY_OPERATIONS: tuple[int, ...] = (
    Op.OPEN_SESSION,
    Op.CLOSE_SESSION,
    Op.GET_DEVICE_INFO,
    Op.GET_STORAGE_IDS,
    Op.GET_STORAGE_INFO,
    Op.GET_NUM_OBJECTS,
    Op.GET_OBJECT_HANDLES,
    Op.GET_OBJECT_INFO,
    Op.GET_OBJECT,
    Op.GET_THUMB,
    Op.GET_DEVICE_PROP_DESC,
    Op.GET_DEVICE_PROP_VALUE,
    Op.SET_DEVICE_PROP_VALUE,
    Op.GET_PARTIAL_OBJECT,
    Op.MTP_GET_OBJECT_PROPS_SUPPORTED,
    Op.MTP_GET_OBJECT_PROP_DESC,
    Op.MTP_GET_OBJECT_PROP_VALUE,
    Op.MTP_GET_OBJ_PROP_LIST,
    Op.SONY_SET_REQUEST,
    Op.SONY_GET_REQUEST,
    Op.SONY_9282,
    Op.SONY_9283,
    Op.SONY_9284,
    Op.SONY_9285,
)
SONY_EVENTS = (EventCode.STORE_ADDED, EventCode.STORE_REMOVED, EventCode.DEVICE_PROP_CHANGED)
SONY_PLAYBACK_FORMATS: tuple[int, ...] = (
    ObjectFormat.ASSOCIATION,
    ObjectFormat.MPEG,
    ObjectFormat.EXIF_JPEG,
    ObjectFormat.MTP_MP4,
    ObjectFormat.SONY_MPO,
    ObjectFormat.UNDEFINED,
    ObjectFormat.SONY_ARW,
    ObjectFormat.SONY_B310,
)
PRIMARY_STORAGE_ID = 0x00010001
DEFAULT_MAC = bytes.fromhex("d8c46ad71d7d")  # an A6000's uuid tail seen in the wild


def parse_mac(text: str) -> bytes:
    raw = bytes.fromhex(text.replace(":", "").replace("-", ""))
    if len(raw) != 6:
        raise ValueError(f"MAC {text!r} is not 6 bytes of hex")
    return raw


@dataclass(frozen=True)
class BodyConfig:
    """The emulated body. ``allowed_guids`` empty means any initiator GUID is accepted.

    ``partial_object_64`` also offers GetPartialObject64 (0x95C1, Android's MTP extension),
    listed after the Sony operations. No real Sony body is known to offer it: it exists so that
    the sync engine's path for objects of 4 GiB or more can be tested.
    """

    model: str = "ILCE-6000"
    serial_number: str = "00000000000000003282651203392641"
    device_version: str = "1.0"
    mac: bytes = DEFAULT_MAC
    allowed_guids: frozenset[bytes] = frozenset()
    without_operations: frozenset[int] = frozenset()
    battery_level: int = 100
    # Newer bodies (RX100M6, PR #1220) power off only once the power-off 0x9280 is followed by
    # a 0x9281; the ILCE-5000 switched off on the 0x9280 alone (the 2015 close block).
    power_off_needs_9281: bool = True
    partial_object_64: bool = False  # not a real Sony body's: see the class docstring

    @property
    def manufacturer(self) -> str:
        return "Sony Corporation"

    @property
    def guid(self) -> bytes:
        """The camera's own PTP/IP GUID: 8 zero bytes, ``ff ff``, then its MAC (ILCE-5000 Ack)."""
        return bytes(8) + b"\xff\xff" + self.mac

    @property
    def operations(self) -> tuple[int, ...]:
        offered = SONY_OPERATIONS + ((Op.GET_PARTIAL_OBJECT_64,) if self.partial_object_64 else ())
        return tuple(op for op in offered if op not in self.without_operations)

    def supports(self, opcode: int) -> bool:
        return opcode in self.operations

    def device_info(self) -> DeviceInfo:
        return DeviceInfo(
            standard_version=100,
            vendor_extension_id=VendorExtension.MTP,
            vendor_extension_version=100,
            vendor_extension_desc="",
            functional_mode=0,
            operations_supported=self.operations,
            events_supported=tuple(SONY_EVENTS),
            device_properties_supported=tuple(Prop),
            capture_formats=(),
            image_formats=SONY_PLAYBACK_FORMATS,
            manufacturer=self.manufacturer,
            model=self.model,
            device_version=self.device_version,
            serial_number=self.serial_number,
        )

    def storage_info(self) -> StorageInfo:
        # As a DSC-RX100 reports it over MTP: capacity unknown, read-only removable card.
        return StorageInfo(
            storage_type=StorageType.REMOVABLE_RAM,
            filesystem_type=FilesystemType.GENERIC_HIERARCHICAL,
            access_capability=AccessCapability.READ_ONLY,
            max_capacity=0,
            free_space_bytes=0,
            free_space_images=0xFFFFFFFF,
            description="Storage Media",
            volume_label="",
        )


READ_ONLY, READ_WRITE = 0, 1


def device_prop_descs(body: BodyConfig, session_initiator_info: str) -> dict[int, DevicePropDesc]:
    """The five properties a Sony body lists in this mode (docs/protocol.md §8)."""
    levels, info = EnumForm((0, 20, 40, 60, 100)), session_initiator_info
    descs = (
        DevicePropDesc(
            Prop.BATTERY_LEVEL, DataType.UINT8, READ_ONLY, 100, body.battery_level, levels
        ),
        DevicePropDesc(
            Prop.FRIENDLY_DEVICE_NAME, DataType.STRING, READ_ONLY, body.model, body.model
        ),
        DevicePropDesc(Prop.SESSION_INITIATOR_INFO, DataType.STRING, READ_WRITE, info, info),
        DevicePropDesc(Prop.PERCEIVED_DEVICE_TYPE, DataType.UINT32, READ_ONLY, 1, 1),
        DevicePropDesc(Prop.SONY_D303, DataType.UINT8, READ_ONLY, 1, 1),
    )
    return {desc.prop_code: desc for desc in descs}
