"""The fast GetObjPropList decoder (issue 12: plan cost) gives exactly what the careful,
Reader-based one gives: the same elements, the same by-handle map, and for hostile or truncated
replies the same exception with the same message."""

from __future__ import annotations

import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sony_pm_alt.ptpip.codes import DataType
from sony_pm_alt.ptpip.datasets import ObjectPropElement, ObjectPropList, PropValue
from sony_pm_alt.ptpip.errors import ProtocolError
from test_ptpip_datasets import INT_RANGES  # every integer type and its range

text = st.text(st.characters(codec="utf-16", exclude_characters="\x00"), max_size=60)


@st.composite
def elements(draw: st.DrawFn) -> ObjectPropElement:
    data_type = draw(st.sampled_from([DataType.STRING, *INT_RANGES]))
    value: PropValue
    if data_type == DataType.STRING:
        value = draw(text)
    else:
        value = draw(st.integers(*INT_RANGES[data_type]))
    handle = draw(st.integers(0, 5))  # few handles: duplicates of (handle, code) happen
    return ObjectPropElement(handle, draw(st.integers(0xDC01, 0xDC05)), data_type, value)


def _careful(data: bytes) -> tuple[str, object]:
    """What the careful, Reader-based path gives."""
    try:
        return "ok", ObjectPropList.decode(data).by_handle()
    except ProtocolError as exc:
        return type(exc).__name__, str(exc)


def _fast(data: bytes) -> tuple[str, object]:
    try:
        return "ok", ObjectPropList.decode_by_handle(data)
    except ProtocolError as exc:
        return type(exc).__name__, str(exc)


@given(st.lists(elements(), max_size=30), st.binary(max_size=4))
def test_same_result_as_careful_decoding(items: list[ObjectPropElement], tail: bytes) -> None:
    data = ObjectPropList(tuple(items)).encode() + tail
    assert ObjectPropList.decode(data).elements == tuple(items)
    assert _fast(data) == _careful(data) == ("ok", ObjectPropList(tuple(items)).by_handle())


@given(st.lists(elements(), min_size=1, max_size=10), st.data())
def test_damaged_replies_fail_alike(items: list[ObjectPropElement], data: st.DataObject) -> None:
    whole = ObjectPropList(tuple(items)).encode()
    cut = data.draw(st.integers(0, len(whole) - 1))
    flip = data.draw(st.integers(4, len(whole) - 1))
    for damaged in (whole[:cut], whole[:flip] + bytes([whole[flip] ^ 0xFF]) + whole[flip + 1 :]):
        assert _fast(damaged) == _careful(damaged)


def test_a_truncated_string_names_the_field() -> None:
    data = struct.pack("<IIHHB", 1, 7, 0xDC07, DataType.STRING, 5) + "ab".encode("utf-16-le")
    with pytest.raises(ProtocolError, match="claims 5 UTF-16 units"):
        ObjectPropList.decode_by_handle(data)


@pytest.mark.parametrize(
    ("units", "expected"),
    [
        ("ab\x00cd\x00".encode("utf-16-le"), "ab"),  # cut at the first NUL unit
        ("ab\x00".encode("utf-16-le") + b"\x00\xd8" + b"\x00\x00", "ab"),  # junk after it
        (b"a\x00\x00b\x00\x00", "a\u6200"),  # zero bytes across two units are no NUL
        (b"", ""),
    ],
)
def test_strings_end_at_the_first_nul_unit(units: bytes, expected: str) -> None:
    data = struct.pack("<IIHHB", 1, 7, 0xDC07, DataType.STRING, len(units) // 2) + units
    assert _fast(data) == _careful(data) == ("ok", {7: {0xDC07: expected}})


def test_later_duplicate_wins() -> None:
    items = (
        ObjectPropElement(1, 0xDC07, DataType.STRING, "old"),
        ObjectPropElement(1, 0xDC07, DataType.STRING, "new"),
    )
    assert ObjectPropList.decode_by_handle(ObjectPropList(items).encode()) == {1: {0xDC07: "new"}}


_COLUMN_TYPES = [DataType.STRING, *(t for t in INT_RANGES if t not in (0x0009, 0x000A))]


_Table = tuple[list[tuple[int, DataType]], list[tuple[int, tuple[PropValue, ...]]]]


@st.composite
def tables(draw: st.DrawFn) -> _Table:
    """A listing as a table: columns of any type, rows of values of the column's type."""
    columns: list[tuple[int, DataType]] = draw(
        st.lists(st.tuples(st.integers(0xDC01, 0xDC0B), st.sampled_from(_COLUMN_TYPES)), max_size=6)
    )
    row_values = [text if t == DataType.STRING else st.integers(*INT_RANGES[t]) for _, t in columns]
    rows = draw(st.lists(st.tuples(st.integers(0, 2**32 - 1), st.tuples(*row_values)), max_size=8))
    return columns, rows


@given(tables())
def test_table_encoding_is_the_element_encoding(table: _Table) -> None:
    columns, rows = table
    elements = tuple(
        ObjectPropElement(handle, code, data_type, value)
        for handle, values in rows
        for (code, data_type), value in zip(columns, values, strict=True)
    )
    assert ObjectPropList.encode_table(columns, rows) == ObjectPropList(elements).encode()


@pytest.mark.parametrize(
    ("columns", "values"),
    [
        ([(0xDC07, DataType.UINT8)], (256,)),
        ([(0xDC07, DataType.STRING)], (7,)),
        ([(0xDC07, DataType.UINT16), (0xDC08, DataType.STRING)], ("7", "x")),
        ([(0xDC07, DataType.STRING)], ("a\x00b",)),
        ([(0xDC07, DataType.UINT128)], (2**100,)),  # the careful path writes it, not this one
    ],
)
def test_table_encoding_of_unusual_values_is_the_careful_one(
    columns: list[tuple[int, int]], values: tuple[PropValue, ...]
) -> None:
    elements = tuple(
        ObjectPropElement(1, code, data_type, value)
        for (code, data_type), value in zip(columns, values, strict=True)
    )
    try:
        expected: bytes | str = ObjectPropList(elements).encode()
    except ValueError as exc:
        expected = str(exc)
    try:
        got: bytes | str = ObjectPropList.encode_table(columns, [(1, values)])
    except ValueError as exc:
        got = str(exc)
    assert got == expected


def test_a_row_without_a_value_per_column_is_refused() -> None:
    columns = [(0xDC07, DataType.UINT8), (0xDC08, DataType.UINT8)]
    with pytest.raises(ValueError, match="shorter"):
        ObjectPropList.encode_table(columns, [(1, (1,))])


@pytest.mark.parametrize(
    "element",
    [
        ObjectPropElement(1, 0xDC07, DataType.UINT8, 256),
        ObjectPropElement(2**32, 0xDC07, DataType.UINT8, 1),
        ObjectPropElement(1, 0xDC07, DataType.STRING, 7),
        ObjectPropElement(1, 0xDC07, DataType.UINT16, "7"),
        ObjectPropElement(1, 0xDC07, DataType.STRING, "a\x00b"),
    ],
)
def test_bad_values_still_raise_value_error(element: ObjectPropElement) -> None:
    with pytest.raises(ValueError, match=r"does not fit|must be|cannot contain NUL"):
        ObjectPropList((element,)).encode()
