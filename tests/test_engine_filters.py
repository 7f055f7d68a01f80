"""engine.filters: which camera objects a sync considers."""

from __future__ import annotations

from datetime import date, datetime, time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sony_pm_alt.engine.filters import KIND_NAMES, Filters
from sony_pm_alt.engine.model import CameraObject, Kind
from sony_pm_alt.ptpip.codes import ObjectFormat

FOLDER = "/store_00010001/DCIM/100MSDCF"


def obj(
    name: str = "DSC00001.JPG",
    when: datetime | None = datetime(2024, 5, 1, 12, 0),
    fmt: int = ObjectFormat.EXIF_JPEG,
) -> CameraObject:
    return CameraObject(FOLDER, name, 1000, when, fmt)


JPG = obj()
ARW = obj("DSC00001.ARW", fmt=ObjectFormat.SONY_ARW)
MP4 = obj("C0001.MP4", fmt=ObjectFormat.MTP_MP4)
XML = obj("C0001M01.XML", fmt=ObjectFormat.TEXT)
UNDATED = obj("DSC00002.JPG", when=None)
NO_EXTENSION = obj("README", fmt=ObjectFormat.UNDEFINED)
EVERYTHING = [JPG, ARW, MP4, XML, UNDATED, NO_EXTENSION]


# --- accepts -----------------------------------------------------------------------------


def test_default_filters_accept_everything() -> None:
    assert all(Filters().accepts(o) for o in EVERYTHING)
    assert Filters.parse(None, None, None, None) == Filters()


def test_extensions() -> None:
    filters = Filters(extensions=frozenset({"jpg", "arw"}))
    assert [o.name for o in EVERYTHING if filters.accepts(o)] == [
        "DSC00001.JPG", "DSC00001.ARW", "DSC00002.JPG",
    ]  # fmt: skip


def test_extensions_are_matched_case_insensitively() -> None:
    filters = Filters(extensions=frozenset({"jpg"}))
    assert filters.accepts(obj("dsc00001.jpg"))
    assert filters.accepts(obj("DSC00001.Jpg"))
    assert not filters.accepts(obj("DSC00001.JPEG"))


def test_a_name_without_extension_fails_an_extension_filter() -> None:
    assert not Filters(extensions=frozenset({"jpg"})).accepts(NO_EXTENSION)


def test_direct_construction_normalises_extensions() -> None:
    filters = Filters(extensions=frozenset({".JPG", "Arw"}))
    assert filters.extensions == frozenset({"jpg", "arw"})
    assert filters.accepts(JPG)


def test_kinds() -> None:
    filters = Filters(kinds=frozenset({Kind.RAW, Kind.VIDEO}))
    assert [o.name for o in EVERYTHING if filters.accepts(o)] == ["DSC00001.ARW", "C0001.MP4"]
    others = Filters(kinds=frozenset({Kind.OTHER}))
    assert [o.name for o in EVERYTHING if others.accepts(o)] == ["C0001M01.XML", "README"]


def test_extensions_and_kinds_combine() -> None:
    filters = Filters(extensions=frozenset({"jpg", "mp4"}), kinds=frozenset({Kind.VIDEO}))
    assert [o.name for o in EVERYTHING if filters.accepts(o)] == ["C0001.MP4"]


@pytest.mark.parametrize(
    ("since", "until", "when", "accepted"),
    [
        (date(2024, 5, 1), None, datetime(2024, 5, 1, 0, 0), True),  # since is inclusive
        (date(2024, 5, 1), None, datetime(2024, 4, 30, 23, 59, 59), False),
        (None, date(2024, 5, 1), datetime(2024, 5, 1, 23, 59, 59), True),  # until is inclusive
        (None, date(2024, 5, 1), datetime(2024, 5, 2, 0, 0), False),
        (date(2024, 5, 1), date(2024, 5, 1), datetime(2024, 5, 1, 12), True),
        (date(2024, 5, 1), date(2024, 5, 3), datetime(2024, 5, 4), False),
        (date(2024, 5, 1), date(2024, 5, 3), datetime(2024, 4, 30), False),
    ],
)
def test_date_range(since: date | None, until: date | None, when: datetime, accepted: bool) -> None:
    assert Filters(since=since, until=until).accepts(obj(when=when)) is accepted


@pytest.mark.parametrize(("since", "until"), [(date(2024, 1, 1), None), (None, date(2024, 1, 1))])
def test_undated_objects_fail_any_date_filter(since: date | None, until: date | None) -> None:
    assert not Filters(since=since, until=until).accepts(UNDATED)


def test_undated_objects_pass_without_date_filter() -> None:
    assert Filters(extensions=frozenset({"jpg"})).accepts(UNDATED)


def test_since_after_until_is_refused_on_construction() -> None:
    with pytest.raises(ValueError, match="since 2024-05-02 is after until 2024-05-01"):
        Filters(since=date(2024, 5, 2), until=date(2024, 5, 1))


@given(
    st.dates(),
    st.one_of(st.none(), st.dates()),
    st.one_of(st.none(), st.dates()),
    st.times(),
)
def test_date_filter_matches_the_inclusive_range(
    day: date, since: date | None, until: date | None, at: time
) -> None:
    if since is not None and until is not None and since > until:
        since, until = until, since
    filters = Filters(since=since, until=until)
    expected = (since is None or since <= day) and (until is None or day <= until)
    assert filters.accepts(obj(when=datetime.combine(day, at))) is expected


# --- parse -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("jpg,arw", {"jpg", "arw"}),
        (".JPG", {"jpg"}),
        ("*.jpg, *.ARW", {"jpg", "arw"}),
        (" JPG , mp4 ,", {"jpg", "mp4"}),
        ("jpg,jpg,JPG", {"jpg"}),
        ("m2ts", {"m2ts"}),
        ("", set()),
        ("   ", set()),
    ],
)
def test_parse_extensions(text: str, expected: set[str]) -> None:
    assert Filters.parse(text, None, None, None).extensions == frozenset(expected)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("photos,videos,raw", {Kind.PHOTO, Kind.VIDEO, Kind.RAW}),
        ("photo", {Kind.PHOTO}),
        ("RAWS", {Kind.RAW}),
        ("Video, other", {Kind.VIDEO, Kind.OTHER}),
        ("others", {Kind.OTHER}),
        ("", set()),
    ],
)
def test_parse_kinds(text: str, expected: set[Kind]) -> None:
    assert Filters.parse(None, text, None, None).kinds == frozenset(expected)


def test_every_kind_has_a_singular_and_a_plural_name() -> None:
    for kind in Kind:
        assert KIND_NAMES[kind.value] is kind
        assert KIND_NAMES[kind.value + "s"] is kind


def test_parse_dates() -> None:
    filters = Filters.parse(None, None, "2024-05-01", " 2024-05-31 ")
    assert filters.since == date(2024, 5, 1)
    assert filters.until == date(2024, 5, 31)
    assert Filters.parse(None, None, "2024-05-01", "2024-05-01").since == date(2024, 5, 1)


def test_parse_everything_together() -> None:
    filters = Filters.parse("arw", "raw", "2024-01-01", None)
    assert filters == Filters(
        extensions=frozenset({"arw"}), kinds=frozenset({Kind.RAW}), since=date(2024, 1, 1)
    )
    assert filters.accepts(ARW)
    assert not filters.accepts(JPG)


@pytest.mark.parametrize(
    ("args", "fragments"),
    [
        ((",", None, None, None), ["no file extension", "'jpg,arw'"]),
        (("j pg", None, None, None), ["'j pg' is not a file extension"]),
        (("jpg/../x", None, None, None), ["is not a file extension"]),
        (
            (None, "photos,pictures", None, None),
            ["unknown kind 'pictures'", "photo, raw, video, other"],
        ),
        ((None, " , ", None, None), ["no kind"]),
        ((None, None, "2024/05/01", None), ["bad since date '2024/05/01'", "YYYY-MM-DD"]),
        ((None, None, "20240501", None), ["bad since date", "YYYY-MM-DD"]),
        ((None, None, "yesterday", None), ["bad since date", "YYYY-MM-DD"]),
        ((None, None, None, "2024-02-30"), ["bad until date '2024-02-30'", "day is out of range"]),
        ((None, None, None, "2024-13-01"), ["bad until date", "YYYY-MM-DD"]),
        ((None, None, "２０２４-０５-０１", None), ["bad since date"]),
        ((None, None, "2024-05-02", "2024-05-01"), ["since 2024-05-02 is after until 2024-05-01"]),
    ],
)
def test_parse_errors(
    args: tuple[str | None, str | None, str | None, str | None], fragments: list[str]
) -> None:
    with pytest.raises(ValueError) as info:  # noqa: PT011 - the message is checked below
        Filters.parse(*args)
    message = str(info.value)
    assert "\n" not in message
    for fragment in fragments:
        assert fragment in message


@given(st.lists(st.sampled_from(["jpg", "arw", "mp4", "hif"]), min_size=1), st.data())
def test_parse_extensions_ignores_case_dots_and_spacing(
    extensions: list[str], data: st.DataObject
) -> None:
    spelled = []
    for extension in extensions:
        cased = "".join(data.draw(st.sampled_from([c.lower(), c.upper()])) for c in extension)
        prefix = data.draw(st.sampled_from(["", ".", "*.", " ", " ."]))
        spelled.append(prefix + cased + data.draw(st.sampled_from(["", " "])))
    parsed = Filters.parse(",".join(spelled), None, None, None)
    assert parsed.extensions == frozenset(extensions)
