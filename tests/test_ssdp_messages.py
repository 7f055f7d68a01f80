"""Sans-IO SSDP datagrams: golden formats from docs/protocol.md §1 and a hardened parser."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from ssdpy.protocol import create_msearch_payload, create_notify_payload

from sony_pm_alt.ssdp.messages import (
    MAX_DATAGRAM,
    MTP_DEVICE,
    MTP_NULL_SERVICE,
    SONY_SERVER,
    SsdpMessage,
    SsdpParseError,
    alive_messages,
    byebye_messages,
    msearch,
    msearch_reply,
    parse_message,
    search_targets_matched,
    udn_from_mac,
)

UDN = "uuid:00000000-0001-0010-8000-d8c46ad71d7d"
LOCATION = "http://192.168.1.23:1900/DeviceDescription.xml"
NTS_IN_ORDER = [UDN, "upnp:rootdevice", MTP_DEVICE, MTP_NULL_SERVICE]
# A datagram that starts like an M-SEARCH and has a header line without a colon: it kills
# ssdpy's SSDPServer (docs/protocol.md §17: one malformed datagram kills the server).
SSDPY_KILLER = b"M-SEARCH * HTTP/1.1\r\nHOST 239.255.255.250:1900\r\n\r\n"


def test_udn_from_mac() -> None:
    assert udn_from_mac(bytes.fromhex("d8c46ad71d7d")) == UDN
    assert udn_from_mac(b"\x00\xae\xfa\x61\xec\x96").endswith("-00aefa61ec96")


@pytest.mark.parametrize("mac", [b"", b"\x00" * 5, b"\x00" * 7])
def test_udn_from_mac_rejects_wrong_length(mac: bytes) -> None:
    with pytest.raises(ValueError, match="6 bytes"):
        udn_from_mac(mac)


def test_alive_golden_text() -> None:
    """The MtpNullService NOTIFY equals the §1.1 example, CRLF and final blank line included."""
    expected = (
        b"NOTIFY * HTTP/1.1\r\n"
        b"HOST: 239.255.255.250:1900\r\n"
        b"CACHE-CONTROL: max-age=1800\r\n"
        b"LOCATION: http://192.168.1.23:1900/DeviceDescription.xml\r\n"
        b"NT: urn:microsoft-com:service:MtpNullService:1\r\n"
        b"NTS: ssdp:alive\r\n"
        b"SERVER: FedoraCore/2 UPnP/1.0 MINT-X/1.8.1\r\n"
        b"USN: uuid:00000000-0001-0010-8000-d8c46ad71d7d"
        b"::urn:microsoft-com:service:MtpNullService:1\r\n"
        b"\r\n"
    )
    messages = alive_messages(UDN, LOCATION)
    assert len(messages) == 4
    assert messages[3] == expected
    # The README's tcpdump shows a 291-byte NOTIFY; the uuid-NT datagram has that size for an
    # 11-character IP like this one (consistent with the format, spaces included; not a proof).
    assert len(alive_messages(UDN, "http://192.168.1.5:1900/DeviceDescription.xml")[0]) == 291


def test_alive_nt_usn_pairs_in_table_order() -> None:
    parsed = [parse_message(m) for m in alive_messages(UDN, LOCATION, max_age=900)]
    assert [(m.nt, m.headers["usn"]) for m in parsed] == [
        (UDN, UDN),
        ("upnp:rootdevice", f"{UDN}::upnp:rootdevice"),
        (MTP_DEVICE, f"{UDN}::{MTP_DEVICE}"),
        (MTP_NULL_SERVICE, f"{UDN}::{MTP_NULL_SERVICE}"),
    ]
    for message in parsed:
        assert message.kind == "notify"
        assert message.nts == "ssdp:alive"
        assert message.location == LOCATION
        assert message.headers["cache-control"] == "max-age=900"
        assert message.headers["server"] == SONY_SERVER
        assert list(message.headers) == [
            "host",
            "cache-control",
            "location",
            "nt",
            "nts",
            "server",
            "usn",
        ]


def test_byebye_format() -> None:
    messages = byebye_messages(UDN)
    assert messages[3] == (
        b"NOTIFY * HTTP/1.1\r\n"
        b"HOST: 239.255.255.250:1900\r\n"
        b"NT: urn:microsoft-com:service:MtpNullService:1\r\n"
        b"NTS: ssdp:byebye\r\n"
        b"USN: uuid:00000000-0001-0010-8000-d8c46ad71d7d"
        b"::urn:microsoft-com:service:MtpNullService:1\r\n"
        b"\r\n"
    )
    parsed = [parse_message(m) for m in messages]
    assert [m.nt for m in parsed] == NTS_IN_ORDER
    for message in parsed:
        assert message.nts == "ssdp:byebye"
        assert message.location is None
        assert "server" not in message.headers
        assert "cache-control" not in message.headers


def test_msearch_format() -> None:
    assert msearch() == (
        b"M-SEARCH * HTTP/1.1\r\n"
        b"HOST: 239.255.255.250:1900\r\n"
        b'MAN: "ssdp:discover"\r\n'
        b"ST: urn:microsoft-com:service:MtpNullService:1\r\n"
        b"MX: 1\r\n"
        b"USER-AGENT: Windows/7.0/7.0\r\n"
        b"\r\n"
    )
    message = parse_message(msearch("ssdp:all", mx=3))
    assert (message.kind, message.st, message.headers["mx"]) == ("msearch", "ssdp:all", "3")


def test_msearch_reply_format() -> None:
    """The A7s reply of docs/protocol.md §1.3, field for field."""
    udn = udn_from_mac(bytes.fromhex("98f17039c6fc"))
    location = "http://10.0.0.5:1900/DeviceDescription.xml"
    assert msearch_reply(MTP_NULL_SERVICE, udn, location) == (
        b"HTTP/1.1 200 OK\r\n"
        b"CACHE-CONTROL: max-age=1800\r\n"
        b"EXT:\r\n"
        b"LOCATION: http://10.0.0.5:1900/DeviceDescription.xml\r\n"
        b"SERVER: FedoraCore/2 UPnP/1.0 MINT-X/1.8.1\r\n"
        b"ST: urn:microsoft-com:service:MtpNullService:1\r\n"
        b"USN: uuid:00000000-0001-0010-8000-98f17039c6fc"
        b"::urn:microsoft-com:service:MtpNullService:1\r\n"
        b"\r\n"
    )
    root = parse_message(msearch_reply(udn, udn, location))
    assert (root.kind, root.st, root.headers["usn"], root.headers["ext"]) == (
        "response",
        udn,
        udn,
        "",
    )


def test_builders_refuse_header_injection() -> None:
    with pytest.raises(ValueError, match="control"):
        alive_messages(UDN, "http://x/\r\nEVIL: 1")
    with pytest.raises(ValueError, match="control"):
        msearch("a\nb")


@pytest.mark.parametrize(
    ("st", "expected"),
    [
        ("ssdp:all", NTS_IN_ORDER),
        (MTP_NULL_SERVICE, [MTP_NULL_SERVICE]),
        (MTP_DEVICE, [MTP_DEVICE]),
        ("upnp:rootdevice", ["upnp:rootdevice"]),
        (UDN, [UDN]),
        ("uuid:00000000-0001-0010-8000-000000000000", []),
        ("urn:schemas-upnp-org:device:MediaServer:1", []),
        ("urn:microsoft-com:service:MtpNullService:2", []),
        ("", []),
    ],
)
def test_search_targets_matched(st: str, expected: list[str]) -> None:
    assert search_targets_matched(st, UDN) == expected


def test_another_stacks_spelling_is_read() -> None:
    """ssdpy writes ``NAME:value`` without a space, in its own header order, with a
    ``Cache-Control`` in mixed case and vendor fields: the strict checks must not refuse it."""
    usn = f"{UDN}::{MTP_NULL_SERVICE}"
    notify = create_notify_payload(
        "239.255.255.250:1900",
        MTP_NULL_SERVICE,
        usn,
        location=LOCATION,
        max_age=1800,
        extra_fields={"SERVER.sony.com": "x"},
    )
    assert b"NT:urn" in notify  # the spelling this test is about
    message = parse_message(notify)
    assert (message.kind, message.nt, message.nts, message.headers["usn"]) == (
        "notify",
        MTP_NULL_SERVICE,
        "ssdp:alive",
        usn,
    )
    assert (message.location, message.headers["cache-control"]) == (LOCATION, "max-age=1800")
    assert message.headers["server.sony.com"] == "x"
    search = parse_message(create_msearch_payload("239.255.255.250:1900", "ssdp:all", 3))
    assert (search.kind, search.st, search.headers["mx"]) == ("msearch", "ssdp:all", "3")
    assert search.headers["man"] == '"ssdp:discover"'


def test_parse_tolerates_bare_lf_and_body() -> None:
    message = parse_message(b"NOTIFY * HTTP/1.1\nNT: a\nNTS:ssdp:alive\n\nbody without colon\n")
    assert (message.kind, message.nt, message.nts) == ("notify", "a", "ssdp:alive")


def test_message_is_immutable_and_hashable() -> None:
    message = parse_message(msearch())
    with pytest.raises(TypeError):
        message.headers["st"] = "x"  # type: ignore[index]
    assert message == parse_message(msearch())
    assert isinstance(hash(message), int)
    assert isinstance(message, SsdpMessage)


@pytest.mark.parametrize(
    ("datagram", "reason"),
    [
        (SSDPY_KILLER, "not a 'name: value' header"),
        (b"", "start line"),
        (b"\r\n\r\n", "start line"),
        (b"HOST: 239.255.255.250:1900\r\n\r\n", "start line"),
        (b"GET / HTTP/1.1\r\n\r\n", "start line"),
        (b"HTTP/1.1 404 Not Found\r\n\r\n", "start line"),
        (b"NOTIFY * HTTP/1.1\r\nNT: \xff\xfe\r\n\r\n", "UTF-8"),
        (b"NOTIFY * HTTP/1.1\r\nNT: a\x00b\r\n\r\n", "control character"),
        (b"NOTIFY * HTTP/1.1\r\nNT: a\rb\r\n\r\n", "control character"),
        (b"NOTIFY * HTTP/1.1\r\n: no name\r\n\r\n", "not a 'name: value' header"),
        (b"NOTIFY * HTTP/1.1\r\nN T: x\r\n\r\n", "not a 'name: value' header"),
        (b"M-SEARCH * HTTP/1.1\r\n" + b"X: " + b"a" * MAX_DATAGRAM + b"\r\n\r\n", "exceeds"),
    ],
)
def test_parse_rejects(datagram: bytes, reason: str) -> None:
    with pytest.raises(SsdpParseError, match=reason) as info:
        parse_message(datagram)
    assert "\n" not in str(info.value)


_START = st.sampled_from(
    [b"NOTIFY * HTTP/1.1", b"M-SEARCH * HTTP/1.1", b"HTTP/1.1 200 OK", b"M-SEARCH", b""]
)
_LINE = st.one_of(
    st.binary(max_size=40),
    st.builds(lambda n, v: n + b":" + v, st.binary(max_size=10), st.binary(max_size=30)),
    st.text(max_size=40).map(str.encode),
)
_SEP = st.sampled_from([b"\r\n", b"\n", b"\r"])


@given(st.binary(max_size=MAX_DATAGRAM + 64))
def test_parse_fuzz_raw_bytes(data: bytes) -> None:
    _parse_or_parse_error(data)


@given(_START, st.lists(st.tuples(_LINE, _SEP), max_size=12), st.binary(max_size=20))
def test_parse_fuzz_structured(start: bytes, lines: list[tuple[bytes, bytes]], tail: bytes) -> None:
    _parse_or_parse_error(start + b"\r\n" + b"".join(line + sep for line, sep in lines) + tail)


def _parse_or_parse_error(data: bytes) -> None:
    message: SsdpMessage | None = None
    reason = ""
    try:
        message = parse_message(data)
    except SsdpParseError as exc:
        reason = str(exc)
    if message is None:
        assert reason
        assert "\n" not in reason
    else:
        assert message.kind in ("notify", "msearch", "response")
        assert all(name == name.lower().strip() for name in message.headers)
