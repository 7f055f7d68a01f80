"""PTP and MTP datasets carried in data phases (docs/protocol.md §12).

Every dataset is a frozen dataclass with ``encode()`` and ``decode(data)``. Decoders accept
trailing bytes after the last known field (real cameras append fields) and raise
:class:`~sony_pm_alt.ptpip.errors.MalformedDataset` on anything truncated or inconsistent, or
:class:`~sony_pm_alt.ptpip.errors.LimitExceeded` when a count is beyond what we hold in memory.
Encoders raise ``ValueError`` for values that do not fit their field (caller bugs).
"""

from __future__ import annotations

import codecs
import struct
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import ClassVar, Self

from .codes import DataType
from .errors import LimitExceeded, MalformedDataset
from .primitives import Reader, Writer, encode_string

__all__ = [
    "MAX_PROP_LIST_ELEMENTS",
    "DeviceInfo",
    "DevicePropDesc",
    "EnumForm",
    "ObjectInfo",
    "ObjectPropDesc",
    "ObjectPropElement",
    "ObjectPropList",
    "PropValue",
    "RangeForm",
    "StorageInfo",
    "decode_u16_array",
    "decode_u32_array",
    "encode_u16_array",
    "encode_u32_array",
    "encode_value",
    "read_value",
    "write_value",
]

PropValue = int | str

# A whole-card GetObjPropList (depth 0xFFFFFFFF, all properties) is about 11 elements per
# object, so 4M elements covers ~380k objects. Each decoded element costs ~150 bytes of Python
# objects, so the cap bounds a hostile reply at well under a gigabyte (and it must also carry
# at least 9 bytes per element on the wire, checked first).
MAX_PROP_LIST_ELEMENTS = 1 << 22

# u32 ObjectHandle + u16 PropertyCode + u16 DataType + the smallest value (u8 or empty String).
_MIN_PROP_ELEMENT_SIZE = 9

_IntReader = Callable[[Reader, str | None], int]
_IntWriter = Callable[[Writer, int], Writer]

# data type -> (reader, writer, encoded size)
_INT_TYPES: dict[int, tuple[_IntReader, _IntWriter, int]] = {
    DataType.INT8: (Reader.i8, Writer.i8, 1),
    DataType.UINT8: (Reader.u8, Writer.u8, 1),
    DataType.INT16: (Reader.i16, Writer.i16, 2),
    DataType.UINT16: (Reader.u16, Writer.u16, 2),
    DataType.INT32: (Reader.i32, Writer.i32, 4),
    DataType.UINT32: (Reader.u32, Writer.u32, 4),
    DataType.INT64: (Reader.i64, Writer.i64, 8),
    DataType.UINT64: (Reader.u64, Writer.u64, 8),
    DataType.INT128: (Reader.i128, Writer.i128, 16),
    DataType.UINT128: (Reader.u128, Writer.u128, 16),
}


def read_value(reader: Reader, data_type: int, field: str = "value") -> PropValue:
    """Read one property value of PTP ``data_type`` (INT8..UINT128 or STRING).

    Array types (0x4001..0x400A), AUINT/UNDEF and unknown codes raise :class:`MalformedDataset`
    ("unsupported data type 0x....").
    """
    if data_type == DataType.STRING:
        return reader.string(field)
    entry = _INT_TYPES.get(data_type)
    if entry is None:
        raise MalformedDataset(f"{reader.what}: unsupported data type 0x{data_type:04X}")
    return entry[0](reader, field)


def write_value(writer: Writer, data_type: int, value: PropValue) -> Writer:
    """Append ``value`` encoded as PTP ``data_type``; see :func:`encode_value`."""
    if data_type == DataType.STRING:
        if not isinstance(value, str):
            raise ValueError(f"a STRING value must be str, got {value!r}")
        return writer.string(value)
    entry = _INT_TYPES.get(data_type)
    if entry is None:
        raise ValueError(f"unsupported data type 0x{data_type:04X}")
    if not isinstance(value, int):
        raise ValueError(f"a {DataType(data_type).name} value must be int, got {value!r}")
    return entry[1](writer, value)


def encode_value(data_type: int, value: PropValue) -> bytes:
    """Encode one property value; an unknown type, a value of the wrong Python type or out of
    range for the data type raises ``ValueError``."""
    return write_value(Writer(), data_type, value).getvalue()


def encode_u32_array(values: Sequence[int]) -> bytes:
    """A PTP Array of u32 (the GetStorageIDs and GetObjectHandles replies)."""
    return Writer().array_u32(values).getvalue()


def decode_u32_array(data: bytes | bytearray | memoryview, what: str = "array") -> tuple[int, ...]:
    """Decode a PTP Array of u32; trailing bytes are ignored, hostile counts rejected."""
    return Reader(data, what).array_u32("elements")


def encode_u16_array(values: Sequence[int]) -> bytes:
    """A PTP Array of u16 (e.g. the GetObjectPropsSupported reply)."""
    return Writer().array_u16(values).getvalue()


def decode_u16_array(data: bytes | bytearray | memoryview, what: str = "array") -> tuple[int, ...]:
    """Decode a PTP Array of u16; trailing bytes are ignored, hostile counts rejected."""
    return Reader(data, what).array_u16("elements")


# A dataset's fields in wire order: (attribute, name in the spec, Reader/Writer method).
_Layout = tuple[tuple[str, str, str], ...]


class _Fields:
    """``encode``/``decode`` of a dataset that is only fields in a fixed order (``_LAYOUT``)."""

    __slots__ = ()
    _LAYOUT: ClassVar[_Layout]

    def encode(self) -> bytes:
        w = Writer()
        for attr, _name, kind in self._LAYOUT:
            getattr(w, kind)(getattr(self, attr))
        return w.getvalue()

    @classmethod
    def decode(cls, data: bytes | bytearray | memoryview) -> Self:
        r = Reader(data, cls.__name__)
        return cls(**{attr: getattr(r, kind)(name) for attr, name, kind in cls._LAYOUT})


_DEVICE_INFO: _Layout = (
    ("standard_version", "StandardVersion", "u16"),
    ("vendor_extension_id", "VendorExtensionID", "u32"),
    ("vendor_extension_version", "VendorExtensionVersion", "u16"),
    ("vendor_extension_desc", "VendorExtensionDesc", "string"),
    ("functional_mode", "FunctionalMode", "u16"),
    ("operations_supported", "OperationsSupported", "array_u16"),
    ("events_supported", "EventsSupported", "array_u16"),
    ("device_properties_supported", "DevicePropertiesSupported", "array_u16"),
    ("capture_formats", "CaptureFormats", "array_u16"),
    ("image_formats", "ImageFormats", "array_u16"),
    ("manufacturer", "Manufacturer", "string"),
    ("model", "Model", "string"),
    ("device_version", "DeviceVersion", "string"),
    ("serial_number", "SerialNumber", "string"),
)


@dataclass(frozen=True, slots=True)
class DeviceInfo(_Fields):
    """GetDeviceInfo (0x1001) reply (§12.2).

    A Sony body in Send-to-Computer mode reports VendorExtensionID 0xFFFFFFFF (MTP) and an empty
    VendorExtensionDesc; gphoto2 treats it as Sony only if ``manufacturer`` is exactly
    ``"Sony Corporation"``.
    """

    standard_version: int
    vendor_extension_id: int
    vendor_extension_version: int
    vendor_extension_desc: str
    functional_mode: int
    operations_supported: tuple[int, ...]
    events_supported: tuple[int, ...]
    device_properties_supported: tuple[int, ...]
    capture_formats: tuple[int, ...]
    image_formats: tuple[int, ...]
    manufacturer: str
    model: str
    device_version: str
    serial_number: str

    _LAYOUT: ClassVar[_Layout] = _DEVICE_INFO


_STORAGE_INFO: _Layout = (
    ("storage_type", "StorageType", "u16"),
    ("filesystem_type", "FilesystemType", "u16"),
    ("access_capability", "AccessCapability", "u16"),
    ("max_capacity", "MaxCapacity", "u64"),
    ("free_space_bytes", "FreeSpaceInBytes", "u64"),
    ("free_space_images", "FreeSpaceInImages", "u32"),
    ("description", "StorageDescription", "string"),
    ("volume_label", "VolumeLabel", "string"),
)


@dataclass(frozen=True, slots=True)
class StorageInfo(_Fields):
    """GetStorageInfo (0x1005) reply (§12.3); ``free_space_images`` 0xFFFFFFFF means unused."""

    storage_type: int
    filesystem_type: int
    access_capability: int
    max_capacity: int
    free_space_bytes: int
    free_space_images: int
    description: str
    volume_label: str

    _LAYOUT: ClassVar[_Layout] = _STORAGE_INFO


_OBJECT_INFO: _Layout = (
    ("storage_id", "StorageID", "u32"),
    ("object_format", "ObjectFormat", "u16"),
    ("protection_status", "ProtectionStatus", "u16"),
    ("compressed_size", "ObjectCompressedSize", "u32"),
    ("thumb_format", "ThumbFormat", "u16"),
    ("thumb_compressed_size", "ThumbCompressedSize", "u32"),
    ("thumb_pix_width", "ThumbPixWidth", "u32"),
    ("thumb_pix_height", "ThumbPixHeight", "u32"),
    ("image_pix_width", "ImagePixWidth", "u32"),
    ("image_pix_height", "ImagePixHeight", "u32"),
    ("image_bit_depth", "ImageBitDepth", "u32"),
    ("parent_object", "ParentObject", "u32"),
    ("association_type", "AssociationType", "u16"),
    ("association_desc", "AssociationDesc", "u32"),
    ("sequence_number", "SequenceNumber", "u32"),
    ("filename", "Filename", "string"),
    ("capture_date", "CaptureDate", "string"),
    ("modification_date", "ModificationDate", "string"),
    ("keywords", "Keywords", "string"),
)


@dataclass(frozen=True, slots=True)
class ObjectInfo(_Fields):
    """GetObjectInfo (0x1008) reply (§12.5); Filename starts at byte 52.

    ``compressed_size`` is 0xFFFFFFFF for objects of 4 GiB or more (the real size then comes
    from GetObjPropList 0xDC04). ``capture_date`` and ``modification_date`` are the raw PTP
    DateTime strings (see :func:`~sony_pm_alt.ptpip.primitives.parse_datetime`). Every field
    has a default so callers can build one with keywords; note that gphoto2 misparses an
    ObjectInfo with an empty ``filename``.
    """

    storage_id: int = 0
    object_format: int = 0
    protection_status: int = 0
    compressed_size: int = 0
    thumb_format: int = 0
    thumb_compressed_size: int = 0
    thumb_pix_width: int = 0
    thumb_pix_height: int = 0
    image_pix_width: int = 0
    image_pix_height: int = 0
    image_bit_depth: int = 0
    parent_object: int = 0
    association_type: int = 0
    association_desc: int = 0
    sequence_number: int = 0
    filename: str = ""
    capture_date: str = ""
    modification_date: str = ""
    keywords: str = ""

    _LAYOUT: ClassVar[_Layout] = _OBJECT_INFO


@dataclass(frozen=True, slots=True)
class ObjectPropElement:
    """One (handle, property, value) quadruple of an MTP GetObjPropList reply."""

    handle: int
    prop_code: int
    data_type: int
    value: PropValue


@dataclass(frozen=True, slots=True)
class ObjectPropList:
    """MTP GetObjPropList (0x9805) reply (§12.6): ``u32`` count, then per element ``u32``
    handle, ``u16`` property code, ``u16`` data type and the value in that type.

    A count the remaining bytes cannot hold (9 bytes per element at least) raises
    :class:`MalformedDataset` before anything is allocated; a count above
    :data:`MAX_PROP_LIST_ELEMENTS` raises :class:`LimitExceeded`.
    """

    elements: tuple[ObjectPropElement, ...]

    def encode(self) -> bytes:
        w = Writer().u32(len(self.elements))
        for element in self.elements:
            w.u32(element.handle).u16(element.prop_code).u16(element.data_type)
            write_value(w, element.data_type, element.value)
        return w.getvalue()

    @staticmethod
    def encode_table(
        columns: Sequence[tuple[int, int]], rows: Sequence[tuple[int, Sequence[PropValue]]]
    ) -> bytes:
        """``ObjectPropList(elements).encode()`` for a listing given as a table: each row is
        ``(handle, values)`` with one value per ``(prop_code, data_type)`` column, and gives one
        element per column, rows in order. The emulator answers a whole-card GetObjPropList
        from its object table this way: without an element object per value, and with one
        struct call per run of integer columns. Bad values raise the same ``ValueError`` as
        :meth:`encode`."""
        fast = _fast_table_bytes(columns, rows)
        if fast is not None:
            return fast
        return ObjectPropList(
            tuple(
                ObjectPropElement(handle, code, data_type, value)
                for handle, values in rows
                for (code, data_type), value in zip(columns, values, strict=True)
            )
        ).encode()

    @classmethod
    def decode(cls, data: bytes | bytearray | memoryview) -> Self:
        r = Reader(data, "ObjectPropList")
        elements = []
        for _ in range(_prop_list_count(r)):
            handle = r.u32("ObjectHandle")
            prop_code = r.u16("PropertyCode")
            data_type = r.u16("DataType")
            value = read_value(r, data_type, "Value")
            elements.append(ObjectPropElement(handle, prop_code, data_type, value))
        return cls(tuple(elements))

    @classmethod
    def decode_by_handle(
        cls, data: bytes | bytearray | memoryview
    ) -> dict[int, dict[int, PropValue]]:
        """``decode(data).by_handle()`` without building an element object per value (a
        whole-card listing has ~11 per file); same checks, errors and result."""
        count = _prop_list_count(Reader(data, "ObjectPropList"))
        fast = _fast_by_handle(bytes(data), count)
        if fast is None:
            return cls.decode(data).by_handle()
        return fast

    def by_handle(self) -> dict[int, dict[int, PropValue]]:
        """``{handle: {prop_code: value}}``; a later duplicate of a (handle, code) pair wins."""
        result: dict[int, dict[int, PropValue]] = {}
        for element in self.elements:
            result.setdefault(element.handle, {})[element.prop_code] = element.value
        return result


_ELEMENT_HEAD = struct.Struct("<IHH")
_STRING = int(DataType.STRING)
# The struct format of each integer type the fast paths handle (128-bit ones take the careful path).
_FORMAT_OF: dict[int, str] = {
    DataType.INT8: "b",
    DataType.UINT8: "B",
    DataType.INT16: "h",
    DataType.UINT16: "H",
    DataType.INT32: "i",
    DataType.UINT32: "I",
    DataType.INT64: "q",
    DataType.UINT64: "Q",
}
_UNPACK_FROM: dict[int, tuple[Callable[[bytes, int], tuple[int, ...]], int]] = {
    data_type: (struct.Struct("<" + fmt).unpack_from, struct.calcsize(fmt))
    for data_type, fmt in _FORMAT_OF.items()
}


def _fast_table_bytes(
    columns: Sequence[tuple[int, int]], rows: Sequence[tuple[int, Sequence[PropValue]]]
) -> bytes | None:
    """:meth:`ObjectPropList.encode_table`, or ``None`` at anything unusual (a value of the
    wrong type or out of range, a 128-bit or unknown type): the careful path then says what."""
    try:
        runs = _table_runs(columns)
        parts = [(len(rows) * len(columns)).to_bytes(4, "little")]
        append = parts.append
        for handle, values in rows:
            if len(values) != len(columns):
                return None
            handle_bytes = handle.to_bytes(4, "little")
            for a, b, how, args in runs:
                if isinstance(how, bytes):
                    value = values[a]
                    if type(value) is not str:
                        return None
                    append(handle_bytes)
                    append(how)
                    append(encode_string(value))
                else:
                    args[0::4] = (handle,) * (b - a)
                    args[3::4] = values[a:b]
                    append(how.pack(*args))
    except (struct.error, ValueError, OverflowError, TypeError, AttributeError, KeyError):
        return None
    return b"".join(parts)


_Run = tuple[int, int, struct.Struct | bytes, list[PropValue]]


def _table_runs(columns: Sequence[tuple[int, int]]) -> list[_Run]:
    """Columns ``a:b`` in runs: consecutive integer columns become one struct of (handle,
    code, type, value) each, packed from a template (``args``) whose handles and values are
    filled per row; a String column is its code and type (``how`` as bytes), then the text."""
    runs: list[_Run] = []
    start = 0
    for index, (code, data_type) in enumerate(columns):
        if data_type != _STRING:
            if data_type not in _FORMAT_OF:
                raise KeyError(data_type)  # 128-bit or unknown: the careful path says so
            continue
        if index > start:
            runs.append(_int_run(columns, start, index))
        runs.append((index, index + 1, struct.pack("<HH", code, data_type), []))
        start = index + 1
    if len(columns) > start:
        runs.append(_int_run(columns, start, len(columns)))
    return runs


def _int_run(columns: Sequence[tuple[int, int]], a: int, b: int) -> _Run:
    run = columns[a:b]
    fmt = "<" + "".join(f"IHH{_FORMAT_OF[data_type]}" for _, data_type in run)
    template: list[PropValue] = [x for code, data_type in run for x in (0, code, data_type, 0)]
    return (a, b, struct.Struct(fmt), template)


def _prop_list_count(r: Reader) -> int:
    count = r.u32("NumberOfElements")
    if count * _MIN_PROP_ELEMENT_SIZE > r.remaining:
        raise MalformedDataset(
            f"ObjectPropList: {count} elements need at least "
            f"{count * _MIN_PROP_ELEMENT_SIZE} bytes, only {r.remaining} left"
        )
    if count > MAX_PROP_LIST_ELEMENTS:
        raise LimitExceeded(f"ObjectPropList: {count} elements, more than {MAX_PROP_LIST_ELEMENTS}")
    return count


def _fast_by_handle(data: bytes, count: int) -> dict[int, dict[int, PropValue]] | None:
    """The ``count`` elements after the count field, read straight from ``data`` into
    ``{handle: {code: value}}``: the one loop a nothing-new session spends most of its own time
    in (~11 elements per file on the card; going through :class:`Reader` call by call made
    parsing the larger part of such a session). Same values and rules as :func:`read_value`.

    A String is decoded with its terminator and cut at its first NUL, which is the careful
    path's "units up to the first all-zero unit" (no other UTF-16 unit decodes to U+0000) in
    one C call instead of a search; only invalid UTF-16 after that NUL, which the careful path
    never looks at, makes this give up where the careful path succeeds. ``None`` at anything
    unusual (truncation, a 128-bit or unknown type, invalid UTF-16): the careful path then
    decodes again and says what is wrong."""
    head, ints, end, string = _ELEMENT_HEAD.unpack_from, _UNPACK_FROM, len(data), _STRING
    # The codec function itself: bytes.decode("utf-16-le") first looks it up and goes through
    # a Python wrapper, which costs more than the decoding of a file name. Final: a lone
    # surrogate at the end is an error, as in bytes.decode.
    decode_utf16 = codecs.utf_16_le_decode
    result: dict[int, dict[int, PropValue]] = {}
    offset, last, props = 4, -1, {}
    value: PropValue
    try:
        for _ in range(count):
            handle, prop_code, data_type = head(data, offset)
            if handle != last:  # a camera lists an object's properties together
                found = result.get(handle)
                props = result[handle] = {} if found is None else found
                last = handle
            if data_type == string:
                units_end = offset + 9 + 2 * data[offset + 8]
                if units_end > end:
                    return None
                value = decode_utf16(data[offset + 9 : units_end], "strict", True)[0]
                if "\x00" in value:
                    value = value[: value.index("\x00")]
                offset = units_end
            else:
                unpack, size = ints[data_type]
                value = unpack(data, offset + 8)[0]
                offset += 8 + size
            props[prop_code] = value
    except (struct.error, IndexError, KeyError, UnicodeDecodeError):
        return None
    return result


@dataclass(frozen=True, slots=True)
class RangeForm:
    """DevicePropDesc range form (FormFlag 1): integer properties only."""

    minimum: int
    maximum: int
    step: int


@dataclass(frozen=True, slots=True)
class EnumForm:
    """DevicePropDesc enumeration form (FormFlag 2): ``u16`` count then the values."""

    values: tuple[PropValue, ...]


_FORM_NONE = 0
_FORM_RANGE = 1
_FORM_ENUM = 2


def _read_int_value(reader: Reader, data_type: int, field: str) -> int:
    value = read_value(reader, data_type, field)
    if isinstance(value, str):
        raise MalformedDataset(f"{reader.what}: range form on a STRING property")
    return value


@dataclass(frozen=True, slots=True)
class DevicePropDesc:
    """GetDevicePropDesc (0x1014) reply: ``u16`` code, ``u16`` data type, ``u8`` GetSet
    (0 read-only, 1 read-write), factory default, current value, ``u8`` FormFlag and the form.

    ``form`` is ``None`` (FormFlag 0), a :class:`RangeForm` (1) or an :class:`EnumForm` (2);
    other form flags, a range form on a STRING property and unsupported data types raise
    :class:`MalformedDataset`.
    """

    prop_code: int
    data_type: int
    get_set: int
    factory_default: PropValue
    current: PropValue
    form: RangeForm | EnumForm | None = None

    def encode(self) -> bytes:
        w = Writer().u16(self.prop_code).u16(self.data_type).u8(self.get_set)
        write_value(w, self.data_type, self.factory_default)
        write_value(w, self.data_type, self.current)
        if self.form is None:
            w.u8(_FORM_NONE)
        elif isinstance(self.form, RangeForm):
            w.u8(_FORM_RANGE)
            for bound in (self.form.minimum, self.form.maximum, self.form.step):
                write_value(w, self.data_type, bound)
        else:
            w.u8(_FORM_ENUM).u16(len(self.form.values))
            for value in self.form.values:
                write_value(w, self.data_type, value)
        return w.getvalue()

    @classmethod
    def decode(cls, data: bytes | bytearray | memoryview) -> Self:
        r = Reader(data, "DevicePropDesc")
        prop_code = r.u16("DevicePropertyCode")
        data_type = r.u16("DataType")
        get_set = r.u8("GetSet")
        factory_default = read_value(r, data_type, "FactoryDefaultValue")
        current = read_value(r, data_type, "CurrentValue")
        form_flag = r.u8("FormFlag")
        form: RangeForm | EnumForm | None
        if form_flag == _FORM_NONE:
            form = None
        elif form_flag == _FORM_RANGE:
            form = RangeForm(
                minimum=_read_int_value(r, data_type, "MinimumValue"),
                maximum=_read_int_value(r, data_type, "MaximumValue"),
                step=_read_int_value(r, data_type, "StepSize"),
            )
        elif form_flag == _FORM_ENUM:
            count = r.u16("NumberOfValues")
            # The type is a known one (the values above were read); an empty String is 1 byte.
            needed = count * (1 if data_type == DataType.STRING else _INT_TYPES[data_type][2])
            if needed > r.remaining:
                raise MalformedDataset(
                    f"DevicePropDesc: {count} enumeration values need at least {needed} "
                    f"bytes, only {r.remaining} left"
                )
            form = EnumForm(tuple(read_value(r, data_type, "SupportedValue") for _ in range(count)))
        else:
            raise MalformedDataset(f"DevicePropDesc: unsupported form flag {form_flag}")
        return cls(prop_code, data_type, get_set, factory_default, current, form)


@dataclass(frozen=True, slots=True)
class ObjectPropDesc:
    """MTP GetObjectPropDesc (0x9802) reply: ``u16`` code, ``u16`` data type, ``u8`` GetSet,
    default value, ``u32`` group code, ``u8`` FormFlag.

    Only FormFlag 0 (no form) is supported: decoding any other flag raises
    :class:`MalformedDataset` ("unsupported form"), encoding one raises ``ValueError``.
    """

    prop_code: int
    data_type: int
    get_set: int
    default: PropValue
    group_code: int
    form_flag: int = 0

    def encode(self) -> bytes:
        if self.form_flag != _FORM_NONE:
            raise ValueError(f"ObjectPropDesc: form flag {self.form_flag} is not supported")
        w = Writer().u16(self.prop_code).u16(self.data_type).u8(self.get_set)
        write_value(w, self.data_type, self.default)
        return w.u32(self.group_code).u8(self.form_flag).getvalue()

    @classmethod
    def decode(cls, data: bytes | bytearray | memoryview) -> Self:
        r = Reader(data, "ObjectPropDesc")
        prop_code = r.u16("PropertyCode")
        data_type = r.u16("DataType")
        get_set = r.u8("GetSet")
        default = read_value(r, data_type, "DefaultValue")
        group_code = r.u32("GroupCode")
        form_flag = r.u8("FormFlag")
        if form_flag != _FORM_NONE:
            raise MalformedDataset(f"ObjectPropDesc: unsupported form flag {form_flag}")
        return cls(prop_code, data_type, get_set, default, group_code, form_flag)
