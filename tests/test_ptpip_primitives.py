"""Tests for the PTP primitive codec: integers, Strings, arrays and DateTime strings."""

from __future__ import annotations

import datetime
import struct
import tracemalloc
from collections.abc import Callable

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sony_pm_alt.ptpip.errors import LimitExceeded, MalformedDataset, ProtocolError
from sony_pm_alt.ptpip.primitives import (
    MAX_ARRAY_COUNT,
    Reader,
    Writer,
    encode_string,
    format_datetime,
    parse_datetime,
)

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

# kind -> (minimum, maximum, encoded size)
INT_KINDS: dict[str, tuple[int, int, int]] = {
    "u8": (0, 2**8 - 1, 1),
    "u16": (0, 2**16 - 1, 2),
    "u32": (0, 2**32 - 1, 4),
    "u64": (0, 2**64 - 1, 8),
    "u128": (0, 2**128 - 1, 16),
    "i8": (-(2**7), 2**7 - 1, 1),
    "i16": (-(2**15), 2**15 - 1, 2),
    "i32": (-(2**31), 2**31 - 1, 4),
    "i64": (-(2**63), 2**63 - 1, 8),
    "i128": (-(2**127), 2**127 - 1, 16),
}


def write_int(kind: str, value: int) -> bytes:
    method: Callable[[int], Writer] = getattr(Writer(), kind)
    return method(value).getvalue()


def read_int(reader: Reader, kind: str) -> int:
    method: Callable[[], int] = getattr(reader, kind)
    return method()


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


# --- integers ---------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", INT_KINDS)
@given(data=st.data())
def test_int_round_trip(kind: str, data: st.DataObject) -> None:
    low, high, size = INT_KINDS[kind]
    value = data.draw(st.integers(low, high))
    encoded = write_int(kind, value)
    assert len(encoded) == size
    reader = Reader(encoded)
    assert read_int(reader, kind) == value
    assert reader.remaining == 0
    assert reader.offset == size


@pytest.mark.parametrize("kind", INT_KINDS)
def test_int_bounds_encode(kind: str) -> None:
    low, high, _size = INT_KINDS[kind]
    assert read_int(Reader(write_int(kind, low)), kind) == low
    assert read_int(Reader(write_int(kind, high)), kind) == high
    for bad in (low - 1, high + 1):
        with pytest.raises(ValueError, match=kind):
            write_int(kind, bad)


@pytest.mark.parametrize("kind", INT_KINDS)
def test_int_truncated_names_dataset_and_field(kind: str) -> None:
    size = INT_KINDS[kind][2]
    for n in range(size):
        reader = Reader(b"\x01" * n, what="TestSet")
        with pytest.raises(MalformedDataset, match=f"TestSet: {kind} truncated"):
            read_int(reader, kind)
    with pytest.raises(MalformedDataset, match="TestSet: StorageID truncated at offset 0"):
        Reader(b"\x01\x02", what="TestSet").u32("StorageID")


def test_ints_are_little_endian() -> None:
    assert Writer().u16(0x1234).getvalue() == b"\x34\x12"
    assert Writer().u32(0x12345678).getvalue() == b"\x78\x56\x34\x12"
    assert Writer().u64(0x0102030405060708).getvalue() == bytes.fromhex("0807060504030201")
    assert Writer().u128(1).getvalue() == b"\x01" + b"\x00" * 15
    assert Writer().i16(-2).getvalue() == b"\xfe\xff"
    assert Writer().i128(-1).getvalue() == b"\xff" * 16
    reader = Reader(bytes.fromhex("ff 34 12 fe ff ff ff"))
    assert reader.i8() == -1
    assert reader.u16() == 0x1234
    assert reader.i32() == -2


def test_writer_chains_and_rejects_non_ints() -> None:
    writer = Writer()
    assert writer.u8(1).u16(2).u32(3) is writer
    assert writer.getvalue() == bytes.fromhex("01 0200 03000000")
    with pytest.raises(ValueError, match="u32"):
        Writer().u32(1.5)  # type: ignore[arg-type]


# --- raw, rest, offsets -----------------------------------------------------------------------


def test_raw_rest_offset_remaining() -> None:
    reader = Reader(bytearray(b"abcdef"))
    assert (reader.offset, reader.remaining) == (0, 6)
    assert reader.raw(2) == b"ab"
    assert reader.raw(0) == b""
    assert (reader.offset, reader.remaining) == (2, 4)
    with pytest.raises(MalformedDataset, match="needs 5 bytes, 4 left"):
        reader.raw(5)
    assert reader.offset == 2  # a failed read consumes nothing
    assert reader.rest() == b"cdef"
    assert reader.rest() == b""
    assert (reader.offset, reader.remaining) == (6, 0)
    with pytest.raises(ValueError, match=">= 0"):
        reader.raw(-1)


def test_reader_accepts_memoryview_and_copies_bytearray() -> None:
    buffer = bytearray(b"\x01\x00")
    reader = Reader(buffer)
    buffer[0] = 0xFF
    assert reader.u16() == 1
    assert Reader(memoryview(b"\x02\x00")).u16() == 2
    assert Reader(b"", what="Thing").what == "Thing"


def test_writer_raw() -> None:
    assert Writer().raw(b"ab").raw(bytearray(b"c")).raw(memoryview(b"d")).getvalue() == b"abcd"


# --- strings ----------------------------------------------------------------------------------


def test_string_golden_bytes() -> None:
    expected = bytes.fromhex("0a 4900 4c00 4300 4500 2d00 3500 3000 3000 3000 0000")
    assert encode_string("ILCE-5000") == expected
    assert Writer().string("ILCE-5000").getvalue() == expected
    assert Reader(expected).string() == "ILCE-5000"


def test_empty_string_is_one_zero_byte() -> None:
    assert encode_string("") == b"\x00"
    reader = Reader(b"\x00\xaa")
    assert reader.string() == ""
    assert reader.remaining == 1


def test_string_astral_character_counts_two_units() -> None:
    encoded = encode_string("\U0001f600")
    assert encoded == bytes.fromhex("03 3dd8 00de 0000")
    assert Reader(encoded).string() == "\U0001f600"


@given(ptp_text)
def test_string_round_trip(text: str) -> None:
    encoded = encode_string(text)
    units = len(text.encode("utf-16-le")) // 2
    assert len(encoded) == (1 if not text else 1 + 2 * (units + 1))
    reader = Reader(encoded + b"\x99")
    assert reader.string() == text
    assert reader.remaining == 1


def test_string_length_limit() -> None:
    assert encode_string("x" * 254)[0] == 255
    assert Reader(encode_string("x" * 254)).string() == "x" * 254
    assert Reader(encode_string("\U0001f600" * 127)).string() == "\U0001f600" * 127
    with pytest.raises(ValueError, match="255 UTF-16 units"):
        encode_string("x" * 255)
    with pytest.raises(ValueError, match="256 UTF-16 units"):
        encode_string("\U0001f600" * 128)
    assert Reader(encode_string("x" * 252 + "\U0001f600")).string() == "x" * 252 + "\U0001f600"
    with pytest.raises(ValueError, match="255 UTF-16 units"):
        Writer().string("x" * 253 + "\U0001f600")


def test_string_encode_rejects_nul_and_lone_surrogates() -> None:
    with pytest.raises(ValueError, match="NUL"):
        encode_string("a\x00b")
    with pytest.raises(ValueError, match="surrogate"):
        encode_string("a\ud800")


def test_string_just_nul_is_empty() -> None:
    assert Reader(b"\x01\x00\x00").string() == ""


def test_string_missing_final_nul_is_tolerated() -> None:
    assert Reader(b"\x02\x41\x00\x42\x00").string() == "AB"
    assert Reader(b"\x01\x41\x00").string() == "A"


def test_string_ends_at_first_nul_unit() -> None:
    assert Reader(b"\x04\x41\x00\x00\x00\x42\x00\x00\x00").string() == "A"
    # Garbage after the NUL, even an invalid surrogate, is not decoded.
    assert Reader(b"\x03\x41\x00\x00\x00\x00\xd8").string() == "A"


def test_string_nul_search_respects_unit_alignment() -> None:
    # 'A' (41 00) then U+4200 (00 42): the bytes 00 00 straddle two units and are not a NUL.
    assert Reader(b"\x03\x41\x00\x00\x42\x00\x00").string() == "A\u4200"


def test_string_lone_surrogate_is_malformed() -> None:
    with pytest.raises(MalformedDataset, match="Model is invalid UTF-16"):
        Reader(b"\x02\x00\xd8\x00\x00", what="DeviceInfo").string("Model")
    with pytest.raises(MalformedDataset, match="invalid UTF-16"):
        Reader(b"\x03\x00\xdc\x41\x00\x00\x00").string()
    with pytest.raises(MalformedDataset, match="invalid UTF-16"):
        Reader(b"\x01\x00\xd8").string()


def test_string_num_chars_beyond_data() -> None:
    with pytest.raises(MalformedDataset, match="Filename claims 5 UTF-16 units"):
        Reader(b"\x05\x41\x00\x00\x00", what="ObjectInfo").string("Filename")
    with pytest.raises(MalformedDataset, match="claims 255"):
        Reader(b"\xff" + b"\x41\x00" * 254 + b"\x41").string()
    with pytest.raises(MalformedDataset, match="length truncated"):
        Reader(b"").string()


def test_string_full_255_units_without_nul_decodes() -> None:
    assert Reader(b"\xff" + b"\x41\x00" * 255).string() == "A" * 255


# --- arrays -----------------------------------------------------------------------------------


def test_array_golden_bytes() -> None:
    assert Writer().array_u16([0x1001, 0x9805]).getvalue() == bytes.fromhex("02000000 0110 0598")
    assert Writer().array_u32([0x00010001]).getvalue() == bytes.fromhex("01000000 01000100")
    assert Writer().array_u16([]).getvalue() == b"\x00\x00\x00\x00"
    assert Reader(b"\x00\x00\x00\x00").array_u32() == ()


@given(st.lists(st.integers(0, 0xFFFF), max_size=300))
def test_array_u16_round_trip(values: list[int]) -> None:
    reader = Reader(Writer().array_u16(values).getvalue() + b"\x00")
    assert reader.array_u16() == tuple(values)
    assert reader.remaining == 1


@given(st.lists(st.integers(0, 0xFFFFFFFF), max_size=300))
def test_array_u32_round_trip(values: list[int]) -> None:
    reader = Reader(Writer().array_u32(values).getvalue())
    assert reader.array_u32() == tuple(values)
    assert reader.remaining == 0


def test_array_writer_rejects_out_of_range_elements_atomically() -> None:
    writer = Writer().u8(7)
    with pytest.raises(ValueError, match="u16"):
        writer.array_u16([1, 0x10000])
    with pytest.raises(ValueError, match="u32"):
        writer.array_u32([-1])
    assert writer.getvalue() == b"\x07"


@pytest.mark.parametrize("method", ["array_u16", "array_u32"])
def test_array_huge_count_fails_without_allocating(method: str) -> None:
    reader = Reader(b"\xff\xff\xff\xff" + b"\x00" * 64, what="GetObjectHandles")
    call: Callable[[], tuple[int, ...]] = getattr(reader, method)
    peak = peak_memory_of_failing_call(call, MalformedDataset)
    assert peak < 64 * 1024


@pytest.mark.parametrize("method", ["array_u16", "array_u32"])
def test_array_count_one_more_than_data(method: str) -> None:
    size = 2 if method == "array_u16" else 4
    data = struct.pack("<I", 3) + b"\x01" * (2 * size)
    reader = Reader(data, what="Handles")
    with pytest.raises(MalformedDataset, match="Handles: array count 3 needs"):
        getattr(reader, method)()


def test_array_count_cap() -> None:
    at_cap = struct.pack("<I", MAX_ARRAY_COUNT) + b"\x00" * (2 * MAX_ARRAY_COUNT)
    assert len(Reader(at_cap).array_u16()) == MAX_ARRAY_COUNT
    over = MAX_ARRAY_COUNT + 1
    with pytest.raises(LimitExceeded, match=f"{over} elements"):
        Reader(struct.pack("<I", over) + b"\x00" * (4 * over)).array_u32()


# --- fuzzing ----------------------------------------------------------------------------------

READ_METHODS = ["u8", "u16", "u32", "u64", "u128", "i8", "i64", "string", "array_u16", "array_u32"]


@given(st.binary(max_size=600), st.lists(st.sampled_from(READ_METHODS), min_size=1))
def test_reader_fuzz_only_raises_protocol_errors(data: bytes, methods: list[str]) -> None:
    reader = Reader(data)
    try:
        for method in methods:
            getattr(reader, method)()
    except ProtocolError:
        pass
    assert 0 <= reader.offset <= len(data)
    assert reader.offset + reader.remaining == len(data)


@given(st.binary(max_size=600))
def test_string_fuzz(data: bytes) -> None:
    try:
        text = Reader(data).string()
    except MalformedDataset:
        return
    assert "\x00" not in text


# --- DateTime ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("20231224T183005", datetime.datetime(2023, 12, 24, 18, 30, 5)),
        ("20231224T183005.3", datetime.datetime(2023, 12, 24, 18, 30, 5)),
        ("20231224T183005Z", datetime.datetime(2023, 12, 24, 18, 30, 5)),
        ("20231224T183005+0100", datetime.datetime(2023, 12, 24, 18, 30, 5)),
        ("20231224T183005.0-0530", datetime.datetime(2023, 12, 24, 18, 30, 5)),
        ("20240229T000000", datetime.datetime(2024, 2, 29)),
        ("20231224 183005", datetime.datetime(2023, 12, 24, 18, 30, 5)),  # char 8 unchecked
        ("20231224T183005" + "x" * 24, datetime.datetime(2023, 12, 24, 18, 30, 5)),  # 39 chars
        ("20231224T183005" + "x" * 25, None),  # 40 chars: longer than gphoto2's buffer
        ("", None),
        ("2023", None),
        ("20231224T18300", None),  # 14 chars
        ("20231301T000000", None),  # month 13
        ("20230230T000000", None),  # 30 February
        ("00000101T000000", None),  # year 0
        ("20231224T240000", None),
        ("20231224T236000", None),
        ("20231224T235960", None),
        ("garbage-garbage", None),
        ("2023-12-24T18:30:05", None),
        ("2023122AT183005", None),
        ("+0231224T183005", None),
        (" 2023224T183005", None),
        ("２０２３1224T183005", None),  # fullwidth digits are not ASCII
    ],
)
def test_parse_datetime(text: str, expected: datetime.datetime | None) -> None:
    assert parse_datetime(text) == expected


def test_parse_datetime_returns_naive() -> None:
    parsed = parse_datetime("20231224T183005+0100")
    assert parsed is not None
    assert parsed.tzinfo is None


def test_format_datetime() -> None:
    assert format_datetime(datetime.datetime(2016, 6, 25, 9, 5, 7)) == "20160625T090507"
    assert format_datetime(datetime.datetime(5, 1, 2, 3, 4, 5, 999999)) == "00050102T030405"
    zoned = datetime.datetime(
        2016, 6, 25, 9, 5, 7, tzinfo=datetime.timezone(-datetime.timedelta(hours=7))
    )
    assert format_datetime(zoned) == "20160625T090507"


@given(st.datetimes())
def test_datetime_round_trip(dt: datetime.datetime) -> None:
    text = format_datetime(dt)
    assert len(text) == 15
    assert parse_datetime(text) == dt.replace(microsecond=0, fold=0)


def _six_fields(text: str) -> datetime.datetime | None:
    """parse_datetime as first written: the six fields through int() and datetime()."""
    try:
        y, mo, d, h, mi, s = (
            int(text[a:b]) for a, b in ((0, 4), (4, 6), (6, 8), (9, 11), (11, 13), (13, 15))
        )
        return datetime.datetime(y, mo, d, h, mi, s)
    except ValueError:
        return None


@given(
    st.sampled_from(["0000", "0001", "1900", "2000", "2023", "2024", "2100", "9999"]),
    st.sampled_from(["00", "01", "02", "04", "12", "13", "99"]),
    st.sampled_from(["00", "01", "28", "29", "30", "31", "32", "99"]),
    st.sampled_from(["00", "12", "23", "24", "25", "99"]),
    st.sampled_from(["00", "59", "60", "99"]),
    st.sampled_from(["00", "59", "60", "61"]),
    st.sampled_from(["T", " ", "x"]),
)
def test_parse_datetime_checks_ranges_as_datetime_does(
    year: str, month: str, day: str, hour: str, minute: str, second: str, separator: str
) -> None:
    text = f"{year}{month}{day}{separator}{hour}{minute}{second}"
    assert parse_datetime(text) == _six_fields(text)


@given(st.text(max_size=60))
def test_parse_datetime_never_raises(text: str) -> None:
    parsed = parse_datetime(text)
    assert parsed is None or isinstance(parsed, datetime.datetime)
