"""Sans-IO pieces of the smartphone mode: DIDL-Lite choices, dates, EXIF, URLs, nmcli output."""

from __future__ import annotations

from datetime import datetime

import pytest

from sony_pm_alt.emulator.smartphone import build_phone_pictures
from sony_pm_alt.smartphone import PhoneError, preview_name
from sony_pm_alt.smartphone.didl import parse_date, parse_page
from sony_pm_alt.smartphone.exif import exif_capture_time
from sony_pm_alt.smartphone.http import target_of
from sony_pm_alt.smartphone.wifi import split_terse

HEAD = (
    '<DIDL-Lite xmlns="urn:schemas-upnp-org:metadata-1-0/DIDL-Lite/" '
    'xmlns:dc="http://purl.org/dc/elements/1.1/" '
    'xmlns:upnp="urn:schemas-upnp-org:metadata-1-0/upnp/">'
)
JPEG_ITEM = (
    '<item id="i1" parentID="c" restricted="1"><dc:title>DSC00001.JPG</dc:title>'
    "<upnp:class>object.item.imageItem.photo</upnp:class><dc:date>2024-05-01T10:01:00</dc:date>"
    '<res protocolInfo="http-get:*:image/jpeg:DLNA.ORG_PN=JPEG_LRG" size="2000">http://h/lrg</res>'
    '<res protocolInfo="http-get:*:image/jpeg:*" size="9000">http://h/org</res>'
    '<res protocolInfo="http-get:*:image/jpeg:DLNA.ORG_PN=JPEG_TN" size="100">http://h/tn</res>'
    "</item>"
)
RAW_ITEM = (
    '<item id="i2" parentID="c" restricted="1"><dc:title>DSC00001.ARW</dc:title>'
    "<upnp:class>object.item.imageItem.photo</upnp:class>"
    '<res protocolInfo="http-get:*:image/jpeg:DLNA.ORG_PN=JPEG_TN">http://h/rtn</res>'
    '<res protocolInfo="http-get:*:image/jpeg:DLNA.ORG_PN=JPEG_LRG">http://h/rlrg</res>'
    '<res protocolInfo="http-get:*:image/jpeg:DLNA.ORG_PN=JPEG_SM">http://h/rsm</res>'
    "</item>"
)


def test_original_is_the_largest_res_and_raw_has_none() -> None:
    page = parse_page(HEAD + '<container id="c2"><dc:title>d</dc:title></container>'
                      + JPEG_ITEM + RAW_ITEM + "</DIDL-Lite>")  # fmt: skip
    assert page.containers == ["c2"]
    jpeg, raw = page.items
    assert jpeg.original is not None
    assert (jpeg.original.url, jpeg.original.size) == ("http://h/org", 9000)
    assert jpeg.taken == datetime(2024, 5, 1, 10, 1)
    assert raw.original is None
    assert raw.preview is not None
    assert raw.preview.url == "http://h/rlrg"  # the large preview, whatever the order
    assert raw.taken is None


@pytest.mark.parametrize(
    "text", ["0001-01-01T00:00:00", "9999-12-31T23:59:59", "garbage", "", "2024-13-45", "x" * 99]
)
def test_unusable_dates_are_none(text: str) -> None:
    assert parse_date(text) is None


def test_aware_date_is_kept_as_camera_local_time() -> None:
    assert parse_date("2024-05-01T10:01:00+09:00") == datetime(2024, 5, 1, 10, 1)


def test_exif_time_from_the_head_only() -> None:
    picture = build_phone_pictures(1)[0]
    assert picture.original is not None
    assert exif_capture_time(picture.original[:4096]) == picture.taken
    assert exif_capture_time(b"\xff\xd8\xff\xe1\x00\x10Exif\x00\x00junk") is None
    assert exif_capture_time(b"not a jpeg") is None


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.2:64321/photo/1",
        "http://camera.local/photo/1",
        "https://127.0.0.1/photo/1",
        "http://user@127.0.0.1/photo/1",
        "file:///etc/passwd",
    ],
)
def test_urls_off_the_camera_are_refused(url: str) -> None:
    with pytest.raises(PhoneError, match="refusing"):
        target_of(url, "127.0.0.1")


def test_url_on_the_camera_is_accepted() -> None:
    target = target_of("http://127.0.0.1:8080/photo/1?x=1", "127.0.0.1")
    assert (target.port, target.path) == (8080, "/photo/1?x=1")


def test_preview_names_never_keep_a_raw_extension() -> None:
    assert preview_name("DSC00002.ARW") == "DSC00002-preview.JPG"
    assert preview_name(".ARW") == ".ARW-preview.JPG"
    assert preview_name("") == "unnamed-preview.JPG"


def test_nmcli_terse_fields_unescape_colons() -> None:
    assert split_terse(r"Home\:5G:802-11-wireless:wlan0") == [
        "Home:5G",
        "802-11-wireless",
        "wlan0",
    ]
