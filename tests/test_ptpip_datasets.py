"""Tests for the PTP/MTP datasets: golden bytes, round trips and hostile input."""

from __future__ import annotations

import struct
import tracemalloc
from collections.abc import Callable

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sony_pm_alt.ptpip import datasets
from sony_pm_alt.ptpip.codes import DataType, DevicePropCode, ObjectFormat, ObjectPropCode
from sony_pm_alt.ptpip.datasets import (
    MAX_PROP_LIST_ELEMENTS,
    DeviceInfo,
    DevicePropDesc,
    EnumForm,
    ObjectInfo,
    ObjectPropDesc,
    ObjectPropElement,
    ObjectPropList,
    PropValue,
    RangeForm,
    StorageInfo,
    decode_u16_array,
    decode_u32_array,
    encode_u16_array,
    encode_u32_array,
    encode_value,
    read_value,
)
from sony_pm_alt.ptpip.errors import LimitExceeded, MalformedDataset, ProtocolError
from sony_pm_alt.ptpip.primitives import Reader, encode_string

# --- strategies -------------------------------------------------------------------------------

# codec="utf-16" leaves out lone surrogates, which UTF-16 cannot encode.
_NO_NUL_NO_SURROGATE = st.characters(codec="utf-16", exclude_characters="\x00")
_BMP_NO_NUL_NO_SURROGATE = st.characters(
    max_codepoint=0xFFFF, codec="utf-16", exclude_characters="\x00"
)
# Any text a PTP String can carry: at most 254 UTF-16 units, astral characters counting two.
ptp_text = st.one_of(
    st.text(_NO_NUL_NO_SURROGATE, max_size=127),
    st.text(_BMP_NO_NUL_NO_SURROGATE, max_size=254),
)
u8 = st.integers(0, 0xFF)
u16 = st.integers(0, 0xFFFF)
u32 = st.integers(0, 0xFFFFFFFF)
u64 = st.integers(0, 2**64 - 1)
u16_tuples = st.lists(u16, max_size=40).map(tuple)

INT_RANGES: dict[DataType, tuple[int, int]] = {
    DataType.INT8: (-(2**7), 2**7 - 1),
    DataType.UINT8: (0, 2**8 - 1),
    DataType.INT16: (-(2**15), 2**15 - 1),
    DataType.UINT16: (0, 2**16 - 1),
    DataType.INT32: (-(2**31), 2**31 - 1),
    DataType.UINT32: (0, 2**32 - 1),
    DataType.INT64: (-(2**63), 2**63 - 1),
    DataType.UINT64: (0, 2**64 - 1),
    DataType.INT128: (-(2**127), 2**127 - 1),
    DataType.UINT128: (0, 2**128 - 1),
}
INT_SIZES: dict[DataType, int] = {
    DataType.INT8: 1,
    DataType.UINT8: 1,
    DataType.INT16: 2,
    DataType.UINT16: 2,
    DataType.INT32: 4,
    DataType.UINT32: 4,
    DataType.INT64: 8,
    DataType.UINT64: 8,
    DataType.INT128: 16,
    DataType.UINT128: 16,
}


def values_of(data_type: DataType) -> st.SearchStrategy[PropValue]:
    if data_type == DataType.STRING:
        return ptp_text
    low, high = INT_RANGES[data_type]
    return st.integers(low, high)


device_infos = st.builds(
    DeviceInfo,
    standard_version=u16,
    vendor_extension_id=u32,
    vendor_extension_version=u16,
    vendor_extension_desc=ptp_text,
    functional_mode=u16,
    operations_supported=u16_tuples,
    events_supported=u16_tuples,
    device_properties_supported=u16_tuples,
    capture_formats=u16_tuples,
    image_formats=u16_tuples,
    manufacturer=ptp_text,
    model=ptp_text,
    device_version=ptp_text,
    serial_number=ptp_text,
)
storage_infos = st.builds(
    StorageInfo,
    storage_type=u16,
    filesystem_type=u16,
    access_capability=u16,
    max_capacity=u64,
    free_space_bytes=u64,
    free_space_images=u32,
    description=ptp_text,
    volume_label=ptp_text,
)
object_infos = st.builds(
    ObjectInfo,
    storage_id=u32,
    object_format=u16,
    protection_status=u16,
    compressed_size=u32,
    thumb_format=u16,
    thumb_compressed_size=u32,
    thumb_pix_width=u32,
    thumb_pix_height=u32,
    image_pix_width=u32,
    image_pix_height=u32,
    image_bit_depth=u32,
    parent_object=u32,
    association_type=u16,
    association_desc=u32,
    sequence_number=u32,
    filename=ptp_text,
    capture_date=ptp_text,
    modification_date=ptp_text,
    keywords=ptp_text,
)
data_types = st.sampled_from(list(DataType))


@st.composite
def prop_elements(draw: st.DrawFn) -> ObjectPropElement:
    data_type = draw(data_types)
    value = draw(values_of(data_type))
    return ObjectPropElement(draw(u32), draw(u16), int(data_type), value)


prop_lists = st.lists(prop_elements(), max_size=20).map(lambda e: ObjectPropList(tuple(e)))


@st.composite
def device_prop_descs(draw: st.DrawFn) -> DevicePropDesc:
    data_type = draw(data_types)
    values = values_of(data_type)
    form: RangeForm | EnumForm | None
    choice = draw(st.sampled_from(["none", "range", "enum"]))
    if choice == "range" and data_type != DataType.STRING:
        low, high = INT_RANGES[data_type]
        ints = st.integers(low, high)
        form = RangeForm(draw(ints), draw(ints), draw(ints))
    elif choice == "enum":
        form = EnumForm(tuple(draw(st.lists(values, max_size=10))))
    else:
        form = None
    return DevicePropDesc(draw(u16), int(data_type), draw(u8), draw(values), draw(values), form)


@st.composite
def object_prop_descs(draw: st.DrawFn) -> ObjectPropDesc:
    data_type = draw(data_types)
    return ObjectPropDesc(
        draw(u16), int(data_type), draw(u8), draw(values_of(data_type)), draw(u32)
    )


def peak_memory_of_failing_call(call: Callable[[], object], expected: type[Exception]) -> int:
    """Peak bytes allocated while ``call`` runs and raises ``expected``."""
    tracemalloc.start()
    try:
        with pytest.raises(expected):
            call()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return peak


# --- golden samples ---------------------------------------------------------------------------

ILCE_5000_OPERATIONS = (
    0x1002,
    0x1003,
    0x1001,
    0x1004,
    0x1005,
    0x1006,
    0x1007,
    0x1008,
    0x1009,
    0x100A,
    0x1014,
    0x1015,
    0x1016,
    0x101B,
    0x9801,
    0x9802,
    0x9803,
    0x9805,
    0x9280,
    0x9281,
    0x9282,
    0x9283,
    0x9284,
    0x9285,
)
ILCE_5000 = DeviceInfo(
    standard_version=100,
    vendor_extension_id=0xFFFFFFFF,
    vendor_extension_version=100,
    vendor_extension_desc="",
    functional_mode=0,
    operations_supported=ILCE_5000_OPERATIONS,
    events_supported=(0x4004, 0x4005, 0x4006),
    device_properties_supported=(0x5001, 0xD402, 0xD406, 0xD407, 0xD303),
    capture_formats=(),
    image_formats=(0x3001, 0x300B, 0x3801, 0xB982, 0xB301, 0x3000, 0xB101, 0xB310),
    manufacturer="Sony Corporation",
    model="ILCE-5000",
    device_version="1.0",
    serial_number="00000000000000003282651203392641",
)
RX100_STORAGE = StorageInfo(
    storage_type=4,
    filesystem_type=2,
    access_capability=1,
    max_capacity=0,
    free_space_bytes=0,
    free_space_images=0xFFFFFFFF,
    description="Storage Media",
    volume_label="",
)
JPEG_INFO = ObjectInfo(
    storage_id=0x00010001,
    object_format=ObjectFormat.EXIF_JPEG,
    compressed_size=0x00300006,
    thumb_format=ObjectFormat.EXIF_JPEG,
    thumb_compressed_size=8000,
    thumb_pix_width=160,
    thumb_pix_height=120,
    image_pix_width=6000,
    image_pix_height=4000,
    image_bit_depth=24,
    parent_object=0x00040000,
    sequence_number=5,
    filename="DSC00005.JPG",
    capture_date="20160625T120000",
    modification_date="20160625T120000",
    keywords="",
)
FOLDER_INFO = ObjectInfo(
    storage_id=0x00010001,
    object_format=ObjectFormat.ASSOCIATION,
    association_type=1,
    filename="2016-06-25",
)
SIZE_LIST = ObjectPropList(
    (
        ObjectPropElement(0x00040005, ObjectPropCode.OBJECT_SIZE, DataType.UINT64, 5 * 2**30),
        ObjectPropElement(0x00040005, ObjectPropCode.OBJECT_FILE_NAME, DataType.STRING, "C1.MP4"),
        ObjectPropElement(0x00040005, ObjectPropCode.OBJECT_FORMAT, DataType.UINT16, 0xB982),
        ObjectPropElement(0x00040005, ObjectPropCode.PARENT_OBJECT, DataType.UINT32, 0x40000),
    )
)
BATTERY_DESC = DevicePropDesc(
    prop_code=DevicePropCode.BATTERY_LEVEL,
    data_type=DataType.UINT8,
    get_set=0,
    factory_default=100,
    current=60,
    form=EnumForm((0, 20, 40, 60, 100)),
)
RANGE_DESC = DevicePropDesc(0xD200, DataType.INT16, 1, 0, -3, RangeForm(-9, 9, 3))
NAME_DESC = DevicePropDesc(DevicePropCode.FRIENDLY_DEVICE_NAME, DataType.STRING, 0, "", "ILCE-5000")
FILENAME_PROP_DESC = ObjectPropDesc(ObjectPropCode.OBJECT_FILE_NAME, DataType.STRING, 1, "", 0)
SIZE_PROP_DESC = ObjectPropDesc(ObjectPropCode.OBJECT_SIZE, DataType.UINT64, 0, 0, 2)


def test_device_info_golden_bytes() -> None:
    encoded = ILCE_5000.encode()
    assert len(encoded) == 243  # the size of the real camera's DeviceInfo Data packet payload
    assert encoded[0:9] == bytes.fromhex("64 00 ff ff ff ff 64 00 00")
    assert encoded[9:11] == b"\x00\x00"  # FunctionalMode
    assert encoded[11:15] == struct.pack("<I", 24)  # OperationsSupported count
    assert encoded[15:17] == b"\x02\x10"  # 0x1002 OpenSession listed first
    assert encoded[49:51] == b"\x05\x98"  # 0x9805 GetObjPropList (element 17)
    assert encoded[51:55] == b"\x80\x92\x81\x92"  # 0x9280, 0x9281
    assert encoded[63:73] == bytes.fromhex("03000000 0440 0540 0640")
    assert encoded[87:91] == b"\x00\x00\x00\x00"  # no capture formats
    assert encoded[91:97] == bytes.fromhex("08000000 0130")
    assert encoded[111:146] == b"\x11" + "Sony Corporation".encode("utf-16-le") + b"\x00\x00"
    assert encoded[146:167] == bytes.fromhex("0a 4900 4c00 4300 4500 2d00 3500 3000 3000 3000 0000")
    assert encoded[167:176] == bytes.fromhex("04 3100 2e00 3000 0000")
    assert encoded[176] == 33
    assert encoded[176:] == encode_string("00000000000000003282651203392641")
    assert DeviceInfo.decode(encoded) == ILCE_5000


def test_storage_info_golden_bytes() -> None:
    encoded = RX100_STORAGE.encode()
    assert encoded[0:6] == bytes.fromhex("0400 0200 0100")
    assert encoded[6:22] == b"\x00" * 16
    assert encoded[22:26] == b"\xff\xff\xff\xff"
    assert encoded[26:27] == b"\x0e"  # "Storage Media" is 13 characters + NUL
    assert encoded[27:29] == b"S\x00"
    assert encoded[-1:] == b"\x00"  # empty VolumeLabel
    assert len(encoded) == 26 + 1 + 28 + 1
    assert StorageInfo.decode(encoded) == RX100_STORAGE


def test_object_info_golden_offsets() -> None:
    encoded = JPEG_INFO.encode()
    assert encoded[0:4] == b"\x01\x00\x01\x00"
    assert encoded[4:6] == b"\x01\x38"
    assert encoded[8:12] == struct.pack("<I", 0x00300006)
    assert encoded[38:42] == b"\x00\x00\x04\x00"  # ParentObject
    assert encoded[48:52] == struct.pack("<I", 5)  # SequenceNumber
    assert encoded[52] == 13  # Filename NumChars: 12 characters + NUL
    assert encoded[53:57] == b"D\x00S\x00"
    date = encode_string("20160625T120000")
    filename_end = 52 + 1 + 26
    assert encoded[filename_end : filename_end + len(date)] == date
    assert encoded[-1:] == b"\x00"  # empty Keywords
    assert len(encoded) == filename_end + 2 * len(date) + 1
    assert ObjectInfo.decode(encoded) == JPEG_INFO


def test_object_info_defaults_and_folder() -> None:
    encoded = FOLDER_INFO.encode()
    assert encoded[4:6] == b"\x01\x30"
    assert encoded[8:12] == b"\x00\x00\x00\x00"
    assert encoded[42:44] == b"\x01\x00"  # AssociationType generic folder
    assert encoded[52:53] == b"\x0b"
    assert len(encoded) == 52 + 1 + 22 + 3  # name, then three empty strings
    assert ObjectInfo.decode(encoded) == FOLDER_INFO
    assert ObjectInfo().encode() == b"\x00" * 56


def test_object_info_size_unknown_marker() -> None:
    info = ObjectInfo(compressed_size=0xFFFFFFFF, filename="C0001.MP4")
    assert info.encode()[8:12] == b"\xff\xff\xff\xff"
    with pytest.raises(ValueError, match="u32"):
        ObjectInfo(compressed_size=2**32, filename="big").encode()


def test_object_prop_list_golden_bytes() -> None:
    encoded = SIZE_LIST.encode()
    assert encoded[0:4] == struct.pack("<I", 4)
    assert encoded[4:12] == bytes.fromhex("05000400 04dc 0800")
    assert encoded[12:20] == struct.pack("<Q", 5 * 2**30)
    assert encoded[20:28] == bytes.fromhex("05000400 07dc ffff")
    assert encoded[28:43] == encode_string("C1.MP4")
    assert ObjectPropList.decode(encoded) == SIZE_LIST


def test_object_prop_list_by_handle() -> None:
    duplicate = ObjectPropElement(0x00040005, ObjectPropCode.OBJECT_FORMAT, DataType.UINT16, 1)
    other = ObjectPropElement(7, ObjectPropCode.OBJECT_SIZE, DataType.UINT32, 10)
    props = ObjectPropList((*SIZE_LIST.elements, other, duplicate)).by_handle()
    assert props == {
        0x00040005: {
            ObjectPropCode.OBJECT_SIZE: 5 * 2**30,
            ObjectPropCode.OBJECT_FILE_NAME: "C1.MP4",
            ObjectPropCode.OBJECT_FORMAT: 1,
            ObjectPropCode.PARENT_OBJECT: 0x40000,
        },
        7: {ObjectPropCode.OBJECT_SIZE: 10},
    }
    assert ObjectPropList(()).by_handle() == {}
    assert ObjectPropList(()).encode() == b"\x00\x00\x00\x00"


def test_device_prop_desc_golden_bytes() -> None:
    assert BATTERY_DESC.encode() == bytes.fromhex("0150 0200 00 64 3c 02 0500 00 14 28 3c 64")
    assert RANGE_DESC.encode() == bytes.fromhex("00d2 0300 01 0000 fdff 01 f7ff 0900 0300")
    assert NAME_DESC.encode() == (
        bytes.fromhex("02d4 ffff 00 00") + encode_string("ILCE-5000") + b"\x00"
    )
    for desc in (BATTERY_DESC, RANGE_DESC, NAME_DESC):
        assert DevicePropDesc.decode(desc.encode()) == desc


def test_device_prop_desc_string_enum() -> None:
    desc = DevicePropDesc(0xD406, DataType.STRING, 1, "", "x", EnumForm(("", "a", "bc")))
    assert DevicePropDesc.decode(desc.encode()) == desc


def test_object_prop_desc_golden_bytes() -> None:
    assert FILENAME_PROP_DESC.encode() == bytes.fromhex("07dc ffff 01 00 00000000 00")
    assert SIZE_PROP_DESC.encode() == bytes.fromhex("04dc 0800 00 0000000000000000 02000000 00")
    for desc in (FILENAME_PROP_DESC, SIZE_PROP_DESC):
        assert ObjectPropDesc.decode(desc.encode()) == desc


def test_u32_and_u16_arrays() -> None:
    assert encode_u32_array([0x00010001, 0x00020001]) == bytes.fromhex("02000000 01000100 01000200")
    assert decode_u32_array(bytes.fromhex("01000000 01000100 ffff")) == (0x00010001,)
    assert encode_u16_array([ObjectPropCode.STORAGE_ID]) == bytes.fromhex("01000000 01dc")
    assert decode_u16_array(bytes.fromhex("01000000 01dc")) == (0xDC01,)
    assert decode_u32_array(b"\x00\x00\x00\x00") == ()
    with pytest.raises(MalformedDataset, match="StorageIDs: elements count 2"):
        decode_u32_array(bytes.fromhex("02000000 01000100"), what="StorageIDs")


@given(st.lists(u32, max_size=200))
def test_u32_array_round_trip(values: list[int]) -> None:
    assert decode_u32_array(encode_u32_array(values)) == tuple(values)


@given(st.lists(u16, max_size=200))
def test_u16_array_round_trip(values: list[int]) -> None:
    assert decode_u16_array(encode_u16_array(values)) == tuple(values)


# --- typed values -----------------------------------------------------------------------------


@pytest.mark.parametrize("data_type", list(INT_RANGES))
def test_int_value_bounds(data_type: DataType) -> None:
    low, high = INT_RANGES[data_type]
    size = INT_SIZES[data_type]
    for value in (low, high, 0):
        encoded = encode_value(data_type, value)
        assert len(encoded) == size
        assert read_value(Reader(encoded), data_type) == value
    for bad in (low - 1, high + 1):
        with pytest.raises(ValueError, match="does not fit"):
            encode_value(data_type, bad)
    with pytest.raises(ValueError, match="must be int"):
        encode_value(data_type, "1")
    with pytest.raises(MalformedDataset, match="truncated"):
        read_value(Reader(b"\x00" * (size - 1)), data_type)


@given(st.data())
def test_value_round_trip(data: st.DataObject) -> None:
    data_type = data.draw(data_types)
    value = data.draw(values_of(data_type))
    reader = Reader(encode_value(data_type, value) + b"\x01")
    assert read_value(reader, data_type) == value
    assert reader.remaining == 1


def test_value_golden_bytes() -> None:
    assert encode_value(DataType.UINT16, 0xB982) == b"\x82\xb9"
    assert encode_value(DataType.INT8, -1) == b"\xff"
    assert encode_value(DataType.UINT64, 2**32) == bytes.fromhex("0000000001000000")
    assert encode_value(DataType.INT128, -2) == b"\xfe" + b"\xff" * 15
    assert encode_value(DataType.STRING, "") == b"\x00"
    assert encode_value(DataType.STRING, "A") == b"\x02\x41\x00\x00\x00"
    with pytest.raises(ValueError, match="must be str"):
        encode_value(DataType.STRING, 5)


@pytest.mark.parametrize("data_type", [0x0000, 0x000B, 0x4004, 0x4006, 0xFFFE])
def test_unsupported_data_types(data_type: int) -> None:
    with pytest.raises(ValueError, match=f"unsupported data type 0x{data_type:04X}"):
        encode_value(data_type, 0)
    with pytest.raises(MalformedDataset, match=f"Prop: unsupported data type 0x{data_type:04X}"):
        read_value(Reader(b"\x00" * 32, what="Prop"), data_type)
    element = struct.pack("<IIHH", 1, 1, 0xDC01, data_type) + b"\x00" * 16
    with pytest.raises(MalformedDataset, match="unsupported data type"):
        ObjectPropList.decode(element)
    with pytest.raises(MalformedDataset, match="unsupported data type"):
        DevicePropDesc.decode(struct.pack("<HHB", 0x5001, data_type, 0) + b"\x00" * 16)
    with pytest.raises(MalformedDataset, match="unsupported data type"):
        ObjectPropDesc.decode(struct.pack("<HHB", 0xDC01, data_type, 0) + b"\x00" * 16)


# --- form handling ----------------------------------------------------------------------------


def test_device_prop_desc_unsupported_form_flag() -> None:
    encoded = bytearray(BATTERY_DESC.encode())
    assert encoded[7] == 2  # FormFlag after code, type, GetSet, default and current
    encoded[7] = 3
    with pytest.raises(MalformedDataset, match="unsupported form flag 3"):
        DevicePropDesc.decode(encoded)


def test_device_prop_desc_range_on_string() -> None:
    data = bytes.fromhex("02d4 ffff 00 00 00 01 00 00 00")
    with pytest.raises(MalformedDataset, match="range form on a STRING"):
        DevicePropDesc.decode(data)
    bad = DevicePropDesc(0xD402, DataType.STRING, 0, "", "", RangeForm(0, 1, 1))
    with pytest.raises(ValueError, match="must be str"):
        bad.encode()


def test_device_prop_desc_enum_value_of_wrong_type() -> None:
    bad = DevicePropDesc(0x5001, DataType.UINT8, 0, 1, 1, EnumForm((1, "two")))
    with pytest.raises(ValueError, match="must be int"):
        bad.encode()


def test_device_prop_desc_hostile_enum_count() -> None:
    data = bytes.fromhex("0150 0600 00 00000000 00000000 02 ffff") + b"\x00" * 8
    with pytest.raises(MalformedDataset, match="65535 enumeration values need at least 262140"):
        DevicePropDesc.decode(data)


def test_object_prop_desc_unsupported_form() -> None:
    for flag in (1, 2, 3, 0xFF):
        data = FILENAME_PROP_DESC.encode()[:-1] + bytes([flag]) + b"\x00" * 20
        with pytest.raises(MalformedDataset, match=f"unsupported form flag {flag}"):
            ObjectPropDesc.decode(data)
    with pytest.raises(ValueError, match="form flag 1"):
        ObjectPropDesc(0xDC07, DataType.STRING, 0, "", 0, form_flag=1).encode()


# --- round trips ------------------------------------------------------------------------------


@given(device_infos)
def test_device_info_round_trip(info: DeviceInfo) -> None:
    assert DeviceInfo.decode(info.encode()) == info


@given(storage_infos)
def test_storage_info_round_trip(info: StorageInfo) -> None:
    assert StorageInfo.decode(info.encode()) == info


@given(object_infos)
def test_object_info_round_trip(info: ObjectInfo) -> None:
    encoded = info.encode()
    assert encoded[52:].startswith(encode_string(info.filename))
    assert ObjectInfo.decode(encoded) == info


@given(prop_lists)
def test_object_prop_list_round_trip(props: ObjectPropList) -> None:
    assert ObjectPropList.decode(props.encode()) == props


@given(device_prop_descs())
def test_device_prop_desc_round_trip(desc: DevicePropDesc) -> None:
    assert DevicePropDesc.decode(desc.encode()) == desc


@given(object_prop_descs())
def test_object_prop_desc_round_trip(desc: ObjectPropDesc) -> None:
    assert ObjectPropDesc.decode(desc.encode()) == desc


@pytest.mark.parametrize(
    "sample",
    [ILCE_5000, RX100_STORAGE, JPEG_INFO, SIZE_LIST, BATTERY_DESC, NAME_DESC, SIZE_PROP_DESC],
    ids=lambda sample: type(sample).__name__,
)
def test_decode_accepts_trailing_bytes_and_buffers(
    sample: DeviceInfo
    | StorageInfo
    | ObjectInfo
    | ObjectPropList
    | DevicePropDesc
    | ObjectPropDesc,
) -> None:
    encoded = sample.encode()
    decode = type(sample).decode
    assert decode(encoded + b"\x01\x02\x03extra") == sample
    assert decode(bytearray(encoded)) == sample
    assert decode(memoryview(encoded)) == sample


# --- hostile input ----------------------------------------------------------------------------

Decoder = Callable[[bytes], object]

DECODERS: dict[str, Decoder] = {
    "DeviceInfo": DeviceInfo.decode,
    "StorageInfo": StorageInfo.decode,
    "ObjectInfo": ObjectInfo.decode,
    "ObjectPropList": ObjectPropList.decode,
    "DevicePropDesc": DevicePropDesc.decode,
    "ObjectPropDesc": ObjectPropDesc.decode,
    "u32 array": decode_u32_array,
    "u16 array": decode_u16_array,
}

VALID_ENCODINGS: list[tuple[str, bytes]] = [
    ("DeviceInfo", ILCE_5000.encode()),
    ("StorageInfo", RX100_STORAGE.encode()),
    ("ObjectInfo", JPEG_INFO.encode()),
    ("ObjectInfo", FOLDER_INFO.encode()),
    ("ObjectPropList", SIZE_LIST.encode()),
    ("DevicePropDesc", BATTERY_DESC.encode()),
    ("DevicePropDesc", RANGE_DESC.encode()),
    ("DevicePropDesc", NAME_DESC.encode()),
    ("ObjectPropDesc", FILENAME_PROP_DESC.encode()),
    ("ObjectPropDesc", SIZE_PROP_DESC.encode()),
    ("u32 array", encode_u32_array([0x00010001, 0x00020001])),
    ("u16 array", encode_u16_array([0xDC01, 0xDC04, 0xDC07])),
]


@pytest.mark.parametrize(("name", "encoded"), VALID_ENCODINGS)
def test_every_proper_prefix_is_malformed(name: str, encoded: bytes) -> None:
    decode = DECODERS[name]
    for length in range(len(encoded)):
        with pytest.raises(MalformedDataset):
            decode(encoded[:length])


@given(device_infos, st.data())
def test_every_prefix_of_random_device_info_is_malformed(
    info: DeviceInfo, data: st.DataObject
) -> None:
    encoded = info.encode()
    length = data.draw(st.integers(0, len(encoded) - 1))
    with pytest.raises(MalformedDataset):
        DeviceInfo.decode(encoded[:length])


def decode_or_refuse(name: str, data: bytes) -> bool:
    """Decode ``data``: either a one-line ProtocolError (anything else fails the test), or a
    value that encodes to bytes decoding to that same value. True when it was accepted."""
    decode = DECODERS[name]
    refusal = ""
    try:
        value = decode(data)
    except ProtocolError as exc:
        refusal = str(exc) or "(empty message)"
    if refusal:
        assert "\n" not in refusal
        assert refusal != "(empty message)"
        return False
    if name == "u16 array":
        assert decode_u16_array(encode_u16_array(value)) == value  # type: ignore[arg-type]
    elif name == "u32 array":
        assert decode_u32_array(encode_u32_array(value)) == value  # type: ignore[arg-type]
    else:
        encode: Callable[[], bytes] = getattr(value, "encode")  # noqa: B009 - every dataset has one
        assert decode(encode()) == value
    return True


@pytest.mark.parametrize("name", DECODERS)
@given(data=st.binary(max_size=400))
def test_fuzz_decoders_only_raise_protocol_errors(name: str, data: bytes) -> None:
    decode_or_refuse(name, data)


@pytest.mark.parametrize(("name", "encoded"), VALID_ENCODINGS)
@given(st.data())
def test_fuzz_mutated_encodings(name: str, encoded: bytes, data: st.DataObject) -> None:
    assert decode_or_refuse(name, encoded)  # unmutated, it is accepted
    mutated = bytearray(encoded)
    for _ in range(data.draw(st.integers(1, 4))):
        position = data.draw(st.integers(0, len(mutated) - 1))
        mutated[position] = data.draw(u8)
    decode_or_refuse(name, bytes(mutated))


def test_fuzz_nested_values_of_every_type() -> None:
    # Every data type with garbage values: a one-line ProtocolError, or a value that survives
    # a round trip; and each type has a value short enough to be refused.
    for data_type in [*DataType, 0x4002]:
        outcomes = []
        for garbage in (b"", b"\xff", b"\x03\x00\xd8", b"\xff" * 40):
            element = struct.pack("<IIHH", 1, 1, 0xDC01, data_type) + garbage
            outcomes.append(decode_or_refuse("ObjectPropList", element))
        assert outcomes[0] is False, f"type {data_type:#06x} with no value bytes was accepted"


@pytest.mark.parametrize(
    ("decode", "prefix"),
    [
        (decode_u32_array, b""),
        (decode_u16_array, b""),
        (DeviceInfo.decode, bytes.fromhex("6400 ffffffff 6400 00 0000")),
        (ObjectPropList.decode, b""),
    ],
)
def test_huge_counts_fail_without_allocating(decode: Decoder, prefix: bytes) -> None:
    data = prefix + b"\xff\xff\xff\xff" + b"\x00" * 100
    peak = peak_memory_of_failing_call(lambda: decode(data), MalformedDataset)
    assert peak < 64 * 1024


def test_prop_list_count_one_more_than_possible() -> None:
    # Two elements' worth of bytes (18) but a count of 3.
    data = struct.pack("<I", 3) + (struct.pack("<IHH", 1, 0xDC03, DataType.UINT8) + b"\x00") * 2
    with pytest.raises(MalformedDataset, match="3 elements need at least 27 bytes, only 18"):
        ObjectPropList.decode(data)


def test_prop_list_cap() -> None:
    over = MAX_PROP_LIST_ELEMENTS + 1
    data = struct.pack("<I", over) + b"\x00" * (9 * over)
    with pytest.raises(LimitExceeded, match=f"{over} elements"):
        ObjectPropList.decode(data)


def test_prop_list_cap_is_read_at_call_time(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(datasets, "MAX_PROP_LIST_ELEMENTS", 3)
    three = ObjectPropList(SIZE_LIST.elements[:3])
    assert ObjectPropList.decode(three.encode()) == three
    with pytest.raises(LimitExceeded):
        ObjectPropList.decode(SIZE_LIST.encode())


def test_hostile_strings_inside_datasets() -> None:
    # ObjectInfo whose Filename is a lone surrogate.
    head = JPEG_INFO.encode()[:52]
    with pytest.raises(MalformedDataset, match="ObjectInfo: Filename is invalid UTF-16"):
        ObjectInfo.decode(head + b"\x02\x00\xd8\x00\x00" + b"\x00" * 3)
    # Filename NumChars larger than the data left.
    with pytest.raises(MalformedDataset, match="ObjectInfo: Filename claims 200"):
        ObjectInfo.decode(head + b"\xc8" + b"\x41\x00" * 20)
    # NumChars 1 (just the NUL) is the empty string.
    assert ObjectInfo.decode(head + b"\x01\x00\x00" + b"\x00" * 3).filename == ""
    # A Filename without its final NUL is tolerated.
    assert ObjectInfo.decode(head + b"\x01\x41\x00" + b"\x00" * 3).filename == "A"


def test_error_messages_name_the_field() -> None:
    encoded = ILCE_5000.encode()
    with pytest.raises(MalformedDataset, match="DeviceInfo: SerialNumber"):
        DeviceInfo.decode(encoded[:-1])
    with pytest.raises(MalformedDataset, match="DeviceInfo: OperationsSupported count 24 needs"):
        DeviceInfo.decode(encoded[:20])
    with pytest.raises(MalformedDataset, match="StorageInfo: MaxCapacity truncated"):
        StorageInfo.decode(RX100_STORAGE.encode()[:10])
