"""Tests for the initiator identity: GUID spellings and the friendly name."""

from __future__ import annotations

import re
import socket

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sony_pm_alt.identity import (
    GUID_HOWTO,
    Guid,
    Identity,
    default_friendly_name,
    format_guid,
    guid_configured,
    parse_guid,
)

GUID = bytes.fromhex("ffff525400b6fda9ffff523c2807a93a")
COLON = "ff:ff:52:54:00:b6:fd:a9:ff:ff:52:3c:28:07:a9:3a"
EXAMPLE = "e.g. ff:ff:52:54:00:b6:fd:a9:ff:ff:52:3c:28:07:a9:3a"


# --- parse_guid -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        COLON,
        COLON.upper(),
        "ffff525400b6fda9ffff523c2807a93a",
        "FFFF525400B6FDA9FFFF523C2807A93A",
        "ffff5254-00b6-fda9-ffff-523c2807a93a",  # dashed UUID
        "ff ff 52 54 00 b6 fd a9 ff ff 52 3c 28 07 a9 3a",
        "ffff5254 00b6fda9 ffff523c 2807a93a",
        f"  {COLON}\n",  # pasted with surrounding white space
        "\tffff525400b6fda9ffff523c2807a93a ",
    ],
)
def test_parse_guid_accepts(text: str) -> None:
    assert parse_guid(text) == GUID


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        COLON[:-3],  # 15 bytes
        COLON + ":00",  # 17 bytes
        "ffff525400b6fda9ffff523c2807a93",  # 31 digits
        "ffff525400b6fda9ffff523c2807a93a0",  # 33 digits
        "gg:ff:52:54:00:b6:fd:a9:ff:ff:52:3c:28:07:a9:3a",
        "0xffff525400b6fda9ffff523c2807a9",
        "{ffff5254-00b6-fda9-ffff-523c2807a93a}",
        "not a guid",
        "ff;ff;52;54;00;b6;fd;a9;ff;ff;52;3c;28;07;a9;3a",
    ],
)
def test_parse_guid_rejects_with_an_example(text: str) -> None:
    with pytest.raises(ValueError, match="is not 16 bytes of hex") as info:
        parse_guid(text)
    message = str(info.value)
    assert repr(text) in message
    assert EXAMPLE in message
    # The example in the message is itself accepted.
    assert len(parse_guid(EXAMPLE.removeprefix("e.g. "))) == 16


# --- format_guid ------------------------------------------------------------------------------


def test_format_guid_is_gphoto2_settings_spelling() -> None:
    assert format_guid(GUID) == COLON
    assert format_guid(bytes(16)) == ":".join(["00"] * 16)


@given(st.binary(min_size=16, max_size=16))
def test_format_parse_round_trip(guid: bytes) -> None:
    text = format_guid(guid)
    # libgphoto2 takes the GUID only when it is exactly 47 characters of this shape.
    assert len(text) == 47
    assert re.fullmatch(r"[0-9a-f]{2}(:[0-9a-f]{2}){15}", text)
    assert parse_guid(text) == guid
    assert parse_guid(guid.hex()) == guid
    assert parse_guid(text.upper()) == guid


@given(st.binary(min_size=16, max_size=16))
def test_dashed_uuid_round_trip(guid: bytes) -> None:
    h = guid.hex()
    assert parse_guid(f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}") == guid


@given(st.binary(max_size=40).filter(lambda b: len(b) != 16))
def test_other_lengths_rejected(raw: bytes) -> None:
    with pytest.raises(ValueError, match="is not 16 bytes of hex"):
        parse_guid(":".join(f"{b:02x}" for b in raw))
    with pytest.raises(ValueError, match="a PTP/IP GUID is 16 bytes"):
        format_guid(raw)


# --- Guid: the value type ---------------------------------------------------------------------


def test_guid_is_bytes_with_the_settings_spelling() -> None:
    guid = Guid.parse(COLON.upper())
    assert guid == GUID
    assert isinstance(guid, bytes)
    assert hash(guid) == hash(GUID)
    assert str(guid) == COLON
    assert repr(guid) == f"Guid({COLON!r})"
    assert f"refused {guid}" == f"refused {COLON}"
    assert Guid(GUID) == parse_guid(COLON) == guid


def test_identity_stores_a_guid() -> None:
    ident = Identity(GUID, "laptop")
    assert isinstance(ident.guid, Guid)
    assert str(ident.guid) == COLON


class _Settings:
    def __init__(self, guid: bytes | None) -> None:
        self.guid = guid


class _Config:
    def __init__(self, defaults: bytes | None, *cameras: bytes | None) -> None:
        self.defaults = _Settings(defaults)
        self.cameras = [(f"camera {n}", _Settings(g)) for n, g in enumerate(cameras)]


@pytest.mark.parametrize(
    ("config", "configured"),
    [
        (_Config(None), False),
        (_Config(None, None, None), False),
        (_Config(GUID), True),
        (_Config(None, None, GUID), True),
    ],
)
def test_guid_configured_looks_at_defaults_and_every_camera(
    config: _Config, configured: bool
) -> None:
    assert guid_configured(config) is configured  # type: ignore[arg-type]
    assert "--guid" in GUID_HOWTO


# --- Identity ---------------------------------------------------------------------------------


def test_identity_keeps_its_fields() -> None:
    ident = Identity(GUID, "laptop")
    assert ident.guid == GUID
    assert ident.friendly_name == "laptop"
    assert str(ident) == f"{COLON} (laptop)"


@pytest.mark.parametrize("guid", [b"", bytes(15), bytes(17), bytes(32)])
def test_identity_rejects_guid_length(guid: bytes) -> None:
    with pytest.raises(ValueError, match="16 bytes"):
        Identity(guid, "host")


@pytest.mark.parametrize("name", ["", "x" * 100, "café", "日本", "host\u2028"])
def test_identity_rejects_friendly_name(name: str) -> None:
    with pytest.raises(ValueError, match="1–99 ASCII characters") as info:
        Identity(GUID, name)
    assert repr(name) in str(info.value)


@pytest.mark.parametrize("name", ["a", "x" * 99, "my-pc.local", "A B_C~!"])
def test_identity_accepts_friendly_name(name: str) -> None:
    assert Identity(GUID, name).friendly_name == name


def test_identity_is_frozen() -> None:
    ident = Identity(GUID, "host")
    with pytest.raises(AttributeError):
        ident.friendly_name = "other"  # type: ignore[misc]


def test_from_text() -> None:
    assert Identity.from_text(COLON, "pc") == Identity(GUID, "pc")
    assert Identity.from_text("ffff5254-00b6-fda9-ffff-523c2807a93a", "pc").guid == GUID


def test_from_text_defaults_the_name(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(socket, "gethostname", lambda: "box")
    assert Identity.from_text(COLON) == Identity(GUID, "box")
    assert Identity.from_text(COLON, None).friendly_name == "box"


def test_from_text_rejects_a_bad_guid() -> None:
    with pytest.raises(ValueError, match="not 16 bytes"):
        Identity.from_text("ff:ff", "pc")


def test_from_text_rejects_a_bad_name() -> None:
    with pytest.raises(ValueError, match="ASCII"):
        Identity.from_text(COLON, "x" * 100)


# --- default friendly name --------------------------------------------------------------------


def test_default_friendly_name_on_this_machine() -> None:
    name = default_friendly_name()
    assert name
    assert name.isascii()
    assert len(name) <= 99
    assert Identity(GUID).friendly_name == name


@pytest.mark.parametrize(
    ("hostname", "expected"),
    [
        ("box", "box"),
        ("", "sony-pm-alt"),
        ("café", "caf?"),
        ("日本", "??"),
        ("h" * 300, "h" * 99),
    ],
)
def test_default_friendly_name_is_always_usable(
    monkeypatch: pytest.MonkeyPatch, hostname: str, expected: str
) -> None:
    monkeypatch.setattr(socket, "gethostname", lambda: hostname)
    assert default_friendly_name() == expected
    assert Identity(GUID).friendly_name == expected
