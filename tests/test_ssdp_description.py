"""Device description: the template of docs/protocol.md §2, a round trip, hostile documents."""

from __future__ import annotations

import dataclasses
import xml.etree.ElementTree as ET

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sony_pm_alt.ssdp.description import (
    DESCRIPTION_PATH,
    UPNP_DEVICE_NS,
    DescriptionError,
    DeviceDescription,
    description_url,
    parse_description,
    render_description,
)
from sony_pm_alt.ssdp.messages import MTP_DEVICE, MTP_NULL_SERVICE

NS = {"d": UPNP_DEVICE_NS}
A6000 = DeviceDescription(
    friendly_name="ILCE-6000",
    model_name="ILCE-6000",
    serial_number="0000000000000000",
    udn="uuid:00000000-0001-0010-8000-d8c46ad71d7d",
)


def test_defaults_are_sony() -> None:
    assert A6000.manufacturer == "Sony Corporation"
    assert A6000.model_description == "SONY DSC"
    assert A6000.device_type == MTP_DEVICE
    assert A6000.manufacturer_url == A6000.model_url == "http://www.sony.net/"


def test_render_follows_the_template() -> None:
    document = render_description(A6000)
    assert document.startswith(b'<?xml version="1.0"?>\n<root xmlns="urn:schemas-upnp-org:')
    assert b"<manufacturer>Sony Corporation</manufacturer>" in document  # sony-pm-alt's check
    root = ET.fromstring(document)
    assert root.tag == f"{{{UPNP_DEVICE_NS}}}root"
    assert root.findtext("d:specVersion/d:major", namespaces=NS) == "1"
    device = root.find("d:device", NS)
    assert device is not None
    assert [child.tag.split("}")[1] for child in device] == [
        "deviceType",
        "friendlyName",
        "manufacturer",
        "manufacturerURL",
        "modelDescription",
        "modelName",
        "modelURL",
        "serialNumber",
        "UDN",
        "serviceList",
    ]
    service = device.find("d:serviceList/d:service", NS)
    assert service is not None
    assert service.findtext("d:serviceType", namespaces=NS) == MTP_NULL_SERVICE
    assert service.findtext("d:SCPDURL", namespaces=NS) == "/MtpNullService.xml"


def test_round_trip() -> None:
    assert parse_description(render_description(A6000)) == A6000


def test_escaping() -> None:
    tricky = dataclasses.replace(
        A6000, friendly_name='<Bob\'s & "cam">', serial_number="]]>", model_name="a\r\nb"
    )
    document = render_description(tricky)
    ET.fromstring(document)  # well-formed
    assert parse_description(document) == tricky


def test_render_refuses_characters_xml_cannot_carry() -> None:
    with pytest.raises(ValueError, match="XML"):
        render_description(dataclasses.replace(A6000, friendly_name="a\x00b"))


_XML_CHAR = st.characters(codec="utf-8", exclude_categories=["Cs", "Cc"])
_XML_TEXT = st.text(_XML_CHAR, max_size=30).map(str.strip)


@given(_XML_TEXT, _XML_TEXT, _XML_TEXT, _XML_TEXT.filter(bool))
def test_round_trip_any_text(friendly: str, model: str, serial: str, udn: str) -> None:
    d = DeviceDescription(friendly_name=friendly, model_name=model, serial_number=serial, udn=udn)
    assert parse_description(render_description(d)) == d


def test_parse_missing_optional_fields_are_empty() -> None:
    document = (
        b'<root xmlns="urn:schemas-upnp-org:device-1-0"><device>'
        b"<UDN> uuid:x </UDN><manufacturer>Sony Corporation</manufacturer>"
        b"</device></root>"
    )
    d = parse_description(document)
    assert (d.udn, d.manufacturer, d.friendly_name, d.model_url) == (
        "uuid:x",
        "Sony Corporation",
        "",
        "",
    )


def test_parse_accepts_no_namespace() -> None:
    assert parse_description(b"<root><device><UDN>uuid:y</UDN></device></root>").udn == "uuid:y"


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
]>
<root xmlns="urn:schemas-upnp-org:device-1-0"><device><UDN>&lol4;</UDN></device></root>"""

EXTERNAL_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE root [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<root xmlns="urn:schemas-upnp-org:device-1-0"><device><UDN>&xxe;</UDN></device></root>"""

EXTERNAL_DTD = b"""<?xml version="1.0"?>
<!DOCTYPE root SYSTEM "http://127.0.0.1:9/evil.dtd">
<root xmlns="urn:schemas-upnp-org:device-1-0"><device><UDN>uuid:z</UDN></device></root>"""


@pytest.mark.parametrize(
    ("document", "reason"),
    [
        (BILLION_LAUGHS, "forbidden"),
        (EXTERNAL_ENTITY, "forbidden"),
        (EXTERNAL_DTD, "forbidden"),
        (b"", "not well-formed"),
        (b"\x00\xff garbage \x89PNG", "not well-formed"),
        (b"<root><device><UDN>x</UDN></device>", "not well-formed"),
        (b'<?xml version="1.0" encoding="no-such-codec"?><root/>', "not well-formed"),
        (b"HTTP/1.1 200 OK\r\n\r\n<root/>", "not well-formed"),
        (b'<root xmlns="urn:schemas-upnp-org:device-1-0"/>', "no <device>"),
        (b'<root xmlns="urn:other"><device><UDN>x</UDN></device></root>', "root element"),
        (b"<html><body>It works!</body></html>", "root element"),
        (b'<root xmlns="urn:schemas-upnp-org:device-1-0"><device/></root>', "no <UDN>"),
        (b"<root><device><UDN>  </UDN></device></root>", "no <UDN>"),
        (render_description(A6000) + b" " * (64 * 1024), "exceeds"),
    ],
)
def test_parse_rejects(document: bytes, reason: str) -> None:
    with pytest.raises(DescriptionError, match=reason) as info:
        parse_description(document)
    assert "\n" not in str(info.value)


def test_parse_size_limit_is_configurable() -> None:
    document = render_description(A6000)
    with pytest.raises(DescriptionError, match="exceeds"):
        parse_description(document, max_bytes=len(document) - 1)
    assert parse_description(document, max_bytes=len(document)) == A6000


@given(st.binary(max_size=200))
def test_parse_fuzz(data: bytes) -> None:
    message = ""
    try:
        parsed = parse_description(data)
    except DescriptionError as exc:  # anything else fails the test
        message = str(exc)
    else:
        assert parsed.udn  # a document without a UDN is never accepted
    assert "\n" not in message


def test_description_url() -> None:
    assert description_url("192.168.1.5") == "http://192.168.1.5:1900/DeviceDescription.xml"
    assert description_url("::1", 8080) == f"http://[::1]:8080{DESCRIPTION_PATH}"
