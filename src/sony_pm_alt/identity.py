"""Who we are to the camera: the PTP/IP initiator GUID it was paired with and our name."""

from __future__ import annotations

import socket
from dataclasses import dataclass, field


def parse_guid(text: str) -> bytes:
    """Accept ``ff:ff:52:54:…`` (gphoto2 settings style), ``ffff5254…`` or a dashed UUID."""
    cleaned = text.strip().replace(":", "").replace("-", "").replace(" ", "")
    try:
        raw = bytes.fromhex(cleaned)
    except ValueError:
        raw = b""
    if len(raw) != 16:
        raise ValueError(
            f"GUID {text!r} is not 16 bytes of hex "
            "(expected e.g. ff:ff:52:54:00:b6:fd:a9:ff:ff:52:3c:28:07:a9:3a)"
        )
    return raw


def format_guid(guid: bytes) -> str:
    """gphoto2's settings spelling: 16 two-digit hex bytes separated by colons."""
    return ":".join(f"{b:02x}" for b in guid)


def default_friendly_name() -> str:
    """The host name, as libgphoto2 and PlayMemories send it (ASCII only)."""
    name = socket.gethostname().encode("ascii", "replace").decode()[:99]
    return name or "sony-pm-alt"


@dataclass(frozen=True)
class Identity:
    """The initiator identity sent in the PTP/IP Init Command Request."""

    guid: bytes
    friendly_name: str = field(default_factory=default_friendly_name)

    def __post_init__(self) -> None:
        if len(self.guid) != 16:
            raise ValueError("a PTP/IP GUID is 16 bytes")
        if not self.friendly_name.isascii() or not 0 < len(self.friendly_name) < 100:
            raise ValueError(
                f"friendly name {self.friendly_name!r} must be 1–99 ASCII characters "
                "(libgphoto2 sends each byte as one UTF-16 unit)"
            )

    @classmethod
    def from_text(cls, guid: str, friendly_name: str | None = None) -> Identity:
        return cls(parse_guid(guid), friendly_name or default_friendly_name())

    def __str__(self) -> str:
        return f"{format_guid(self.guid)} ({self.friendly_name})"
