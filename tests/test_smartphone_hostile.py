"""Hostile answers in "Send to Smartphone" mode are refused or sanitised, never followed."""

from __future__ import annotations

from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest

from phone_helpers import Answer, files_under, phone, scripted_server
from sony_pm_alt.emulator.smartphone import PhoneConfig, build_phone_pictures, device_description
from sony_pm_alt.engine.state import StateStore
from sony_pm_alt.smartphone import PhoneClient, PhoneError, PhoneOptions, phone_sync
from sony_pm_alt.smartphone.didl import parse_page
from sony_pm_alt.smartphone.http import FileStream, Target
from sony_pm_alt.smartphone.scpd import CDS_SCPD, XPLS_SCPD

pytestmark = pytest.mark.integration

XML = {"Content-Type": "text/xml"}
DESCRIPTION = device_description(PhoneConfig([]))
XXE = (
    b'<?xml version="1.0"?>\n<!DOCTYPE root [<!ENTITY x SYSTEM "file:///etc/passwd">]>\n'
    b'<root xmlns="urn:schemas-upnp-org:device-1-0"><device><UDN>&x;</UDN></device></root>'
)


def _client_error(answer: object) -> str:
    with (
        scripted_server(answer) as (port, _seen),  # type: ignore[arg-type]
        pytest.raises(PhoneError) as caught,
        PhoneClient("127.0.0.1", port),
    ):
        pass
    return str(caught.value)


def test_service_urls_on_another_host_are_not_contacted() -> None:
    # 127.0.0.2 is another host as far as the camera's address is concerned; a listener
    # there would see any request we made.
    with scripted_server(lambda h: (200, XML, b"")) as (other_port, other_seen):
        hostile = DESCRIPTION.replace(
            b"<SCPDURL>/CdsDesc.xml</SCPDURL>",
            f"<SCPDURL>http://127.0.0.2:{other_port}/CdsDesc.xml</SCPDURL>".encode(),
        ).replace(
            b"<controlURL>/upnp/control/XPushList</controlURL>",
            f"<controlURL>http://127.0.0.2:{other_port}/x</controlURL>".encode(),
        )

        def answer(handler: BaseHTTPRequestHandler) -> Answer:
            docs = {
                "/DmsDescPush.xml": hostile,
                "/XPlsDesc.xml": XPLS_SCPD,
                "/CdsDesc.xml": CDS_SCPD,
            }
            return (200, XML, docs.get(handler.path, b""))

        message = _client_error(answer)
        assert "host 127.0.0.2 is not the sender 127.0.0.1" in message
        assert other_seen == []


def test_a_redirect_is_not_followed() -> None:
    with scripted_server(lambda h: (200, XML, DESCRIPTION)) as (target_port, target_seen):
        location = {"Location": f"http://127.0.0.1:{target_port}/DmsDescPush.xml"}
        message = _client_error(lambda h: (302, location, b""))
        assert "HTTP 302" in message
        assert target_seen == []


def test_an_endless_description_is_cut_off() -> None:
    def endless(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(200)
        handler.send_header("Content-Type", "text/xml")
        handler.end_headers()
        chunk = b"<a>" * 1000
        try:
            for _ in range(10_000):  # bounded: 30 MB at most, far beyond the limit
                handler.wfile.write(chunk)
        except OSError:
            pass  # the client hung up, as it should
        handler.close_connection = True

    message = _client_error(endless)
    assert "oversized: more than 65536 bytes" in message  # MAX_DESCRIPTION


def test_xxe_in_the_description_is_refused() -> None:
    message = _client_error(lambda h: (200, XML, XXE))
    assert "forbidden" in message.lower() or "DTD" in message


def test_xxe_in_a_listing_is_refused() -> None:
    didl = (
        '<?xml version="1.0"?><!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
        '<DIDL-Lite xmlns="urn:schemas-upnp-org:metadata-1-0/DIDL-Lite/" '
        'xmlns:dc="http://purl.org/dc/elements/1.1/"><item id="1"><dc:title>&x;</dc:title>'
        "</item></DIDL-Lite>"
    )
    with pytest.raises(PhoneError, match="forbidden"):
        parse_page(didl)


def test_titles_with_dot_dot_stay_inside_dest(tmp_path: Path) -> None:
    dest = tmp_path / "deep" / "out"
    with (
        phone("hostile-names=1", pictures=build_phone_pictures(4)) as emulator,
        StateStore(tmp_path / "state.db") as store,
    ):
        result = phone_sync(
            "127.0.0.1", port=emulator.port, options=PhoneOptions(dest=dest), state=store
        )
    inside = files_under(dest)
    outside = [
        name for name in files_under(tmp_path)
        if not name.startswith(("deep/out/", "state.db"))
    ]  # fmt: skip
    assert outside == []
    assert inside  # the sanitised ones arrived
    # A title refused outright ("..") is a failure: the transfer is not ended then.
    assert result.summary.failed
    assert not result.transfer_ended


def test_a_file_without_content_length_is_refused() -> None:
    def endless(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(200)
        handler.send_header("Content-Type", "image/jpeg")
        handler.send_header("Connection", "close")
        handler.end_headers()
        try:
            for _ in range(1000):  # bounded: the client hangs up at once
                handler.wfile.write(b"\xff" * 1000)
        except OSError:
            pass
        handler.close_connection = True

    with (
        scripted_server(endless) as (port, _seen),
        pytest.raises(PhoneError, match="Content-Length"),
    ):
        FileStream(Target("127.0.0.1", port, "/photo/0/ORG"), None)


def test_a_file_longer_than_listed_is_refused() -> None:
    with (
        scripted_server(lambda h: (200, {}, b"x" * 100)) as (port, _seen),
        pytest.raises(PhoneError, match="lists 50 bytes but sends 100"),
    ):
        FileStream(Target("127.0.0.1", port, "/photo/0/ORG"), 50)
