"""PTP and PTP/IP code tables (CIPA DC-005, PTP 1.1, MTP 1.1 and the Sony vendor codes).

The values come from ``docs/protocol.md`` §14, §8 and §10.
Codes a peer may send that are not listed here stay plain integers: decoders never reject an
unknown operation, response, event or format code.
"""

from __future__ import annotations

from enum import IntEnum

# The TCP port a camera listens on for both PTP/IP connections (command and event).
PTPIP_PORT = 15740
# The initiator GUID's size: the one definition (identity.Guid, pairing and guid_tools use it).
GUID_SIZE = 16


class PacketType(IntEnum):
    INIT_COMMAND_REQUEST = 1
    INIT_COMMAND_ACK = 2
    INIT_EVENT_REQUEST = 3
    INIT_EVENT_ACK = 4
    INIT_FAIL = 5
    OPERATION_REQUEST = 6
    OPERATION_RESPONSE = 7
    EVENT = 8
    START_DATA = 9
    DATA = 10
    CANCEL = 11
    END_DATA = 12
    PROBE_REQUEST = 13
    PROBE_RESPONSE = 14


class DataPhase(IntEnum):
    """DataPhaseInfo of an Operation Request. PlayMemories Home sends 0 on every request."""

    UNSPECIFIED = 0
    NO_DATA_OR_DATA_IN = 1
    DATA_OUT = 2
    UNKNOWN = 3


class InitFailReason(IntEnum):
    REJECTED_INITIATOR = 1
    BUSY = 2
    UNSPECIFIED = 3


class OperationCode(IntEnum):
    GET_DEVICE_INFO = 0x1001
    OPEN_SESSION = 0x1002
    CLOSE_SESSION = 0x1003
    GET_STORAGE_IDS = 0x1004
    GET_STORAGE_INFO = 0x1005
    GET_NUM_OBJECTS = 0x1006
    GET_OBJECT_HANDLES = 0x1007
    GET_OBJECT_INFO = 0x1008
    GET_OBJECT = 0x1009
    GET_THUMB = 0x100A
    GET_DEVICE_PROP_DESC = 0x1014
    GET_DEVICE_PROP_VALUE = 0x1015
    SET_DEVICE_PROP_VALUE = 0x1016
    GET_PARTIAL_OBJECT = 0x101B
    MTP_GET_OBJECT_PROPS_SUPPORTED = 0x9801
    MTP_GET_OBJECT_PROP_DESC = 0x9802
    MTP_GET_OBJECT_PROP_VALUE = 0x9803
    MTP_SET_OBJECT_PROP_VALUE = 0x9804
    MTP_GET_OBJ_PROP_LIST = 0x9805
    # Android's MTP extension (64-bit offset); no Sony body is known to offer it.
    GET_PARTIAL_OBJECT_64 = 0x95C1
    SONY_SET_REQUEST = 0x9280
    SONY_GET_REQUEST = 0x9281
    SONY_9282 = 0x9282
    SONY_9283 = 0x9283
    SONY_9284 = 0x9284
    SONY_9285 = 0x9285


class ResponseCode(IntEnum):
    OK = 0x2001
    GENERAL_ERROR = 0x2002
    SESSION_NOT_OPEN = 0x2003
    INVALID_TRANSACTION_ID = 0x2004
    OPERATION_NOT_SUPPORTED = 0x2005
    PARAMETER_NOT_SUPPORTED = 0x2006
    INCOMPLETE_TRANSFER = 0x2007
    INVALID_STORAGE_ID = 0x2008
    INVALID_OBJECT_HANDLE = 0x2009
    DEVICE_PROP_NOT_SUPPORTED = 0x200A
    INVALID_OBJECT_FORMAT_CODE = 0x200B
    STORE_FULL = 0x200C
    OBJECT_WRITE_PROTECTED = 0x200D
    STORE_READ_ONLY = 0x200E
    ACCESS_DENIED = 0x200F
    NO_THUMBNAIL_PRESENT = 0x2010
    STORE_NOT_AVAILABLE = 0x2013
    SPECIFICATION_BY_FORMAT_UNSUPPORTED = 0x2014
    DEVICE_BUSY = 0x2019
    INVALID_PARENT_OBJECT = 0x201A
    INVALID_PARAMETER = 0x201D
    SESSION_ALREADY_OPEN = 0x201E
    TRANSACTION_CANCELLED = 0x201F
    MTP_INVALID_OBJECT_PROP_CODE = 0xA801
    MTP_SPECIFICATION_BY_GROUP_UNSUPPORTED = 0xA807
    MTP_SPECIFICATION_BY_DEPTH_UNSUPPORTED = 0xA808
    MTP_OBJECT_PROP_NOT_SUPPORTED = 0xA80A


class EventCode(IntEnum):
    OBJECT_ADDED = 0x4002
    OBJECT_REMOVED = 0x4003
    STORE_ADDED = 0x4004
    STORE_REMOVED = 0x4005
    DEVICE_PROP_CHANGED = 0x4006
    OBJECT_INFO_CHANGED = 0x4007
    DEVICE_INFO_CHANGED = 0x4008
    STORE_FULL = 0x400A
    STORAGE_INFO_CHANGED = 0x400C


class ObjectFormat(IntEnum):
    UNDEFINED = 0x3000
    ASSOCIATION = 0x3001
    EXECUTABLE = 0x3003
    TEXT = 0x3004
    MPEG = 0x300B
    QUICKTIME = 0x300D
    EXIF_JPEG = 0x3801
    JFIF = 0x3808
    SONY_ARW = 0xB101
    SONY_HEIF = 0xB110
    SONY_MPO = 0xB301
    SONY_B310 = 0xB310
    MTP_MP4 = 0xB982
    MTP_3GP = 0xB984


class AssociationType(IntEnum):
    NONE = 0
    GENERIC_FOLDER = 1


class StorageType(IntEnum):
    FIXED_ROM = 1
    REMOVABLE_ROM = 2
    FIXED_RAM = 3
    REMOVABLE_RAM = 4


class FilesystemType(IntEnum):
    FLAT = 1
    GENERIC_HIERARCHICAL = 2
    DCF = 3


class AccessCapability(IntEnum):
    READ_WRITE = 0
    READ_ONLY = 1
    READ_ONLY_WITH_DELETE = 2


class DataType(IntEnum):
    """PTP data type codes used by device properties and MTP object properties."""

    INT8 = 0x0001
    UINT8 = 0x0002
    INT16 = 0x0003
    UINT16 = 0x0004
    INT32 = 0x0005
    UINT32 = 0x0006
    INT64 = 0x0007
    UINT64 = 0x0008
    INT128 = 0x0009
    UINT128 = 0x000A
    STRING = 0xFFFF


class ObjectPropCode(IntEnum):
    STORAGE_ID = 0xDC01
    OBJECT_FORMAT = 0xDC02
    PROTECTION_STATUS = 0xDC03
    OBJECT_SIZE = 0xDC04
    ASSOCIATION_TYPE = 0xDC05
    ASSOCIATION_DESC = 0xDC06
    OBJECT_FILE_NAME = 0xDC07
    DATE_CREATED = 0xDC08
    DATE_MODIFIED = 0xDC09
    KEYWORDS = 0xDC0A
    PARENT_OBJECT = 0xDC0B


class DevicePropCode(IntEnum):
    BATTERY_LEVEL = 0x5001
    SONY_D303 = 0xD303
    FRIENDLY_DEVICE_NAME = 0xD402
    SESSION_INITIATOR_INFO = 0xD406
    PERCEIVED_DEVICE_TYPE = 0xD407


class VendorExtension(IntEnum):
    MTP = 0xFFFFFFFF
    SONY = 0x11


# Special parameter values of GetObjectHandles / GetNumObjects / GetObjPropList.
ALL_STORAGES = 0xFFFFFFFF
ROOT_PARENT = 0xFFFFFFFF
ALL_FORMATS = 0
ALL_PROPERTIES = 0xFFFFFFFF
SIZE_UNKNOWN_32 = 0xFFFFFFFF  # ObjectCompressedSize of an object of 4 GiB or more


def code_name(value: int, enum: type[IntEnum]) -> str:
    """``'GetObject (0x1009)'``-style label for logs; unknown codes print as hex only."""
    try:
        return f"{enum(value).name} (0x{value:04X})"
    except ValueError:
        return f"0x{value:04X}"
