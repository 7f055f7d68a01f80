"""Who we are to the camera: the PTP/IP initiator GUID it was paired with and our name.

:class:`Guid` is the one GUID value type (parse, validate, format); :func:`guid_configured`
and :data:`NO_GUID` / :data:`GUID_HOWTO` are the one test and the one text for "no GUID set".
"""

from __future__ import annotations

import socket
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from .ptpip.codes import GUID_SIZE

if TYPE_CHECKING:
    from .settings import Settings

NO_GUID = "no GUID configured"
GUID_HOWTO = (
    "set the GUID your camera was paired with: --guid, SONY_PM_ALT_GUID or guid in the config "
    "file (sony-pm-alt guid --help shows how to find it)"
)
_EXAMPLE = "ff:ff:52:54:00:b6:fd:a9:ff:ff:52:3c:28:07:a9:3a"


class Guid(bytes):
    """A PTP/IP initiator GUID: exactly 16 bytes, usable wherever bytes are.

    ``str()`` is gphoto2's settings spelling (16 two-digit hex bytes separated by colons);
    :meth:`parse` reads that and the other usual spellings.
    """

    def __new__(cls, value: bytes) -> Guid:
        if len(value) != GUID_SIZE:
            raise ValueError(f"a PTP/IP GUID is {GUID_SIZE} bytes, got {len(value)}")
        return super().__new__(cls, value)

    @classmethod
    def parse(cls, text: str) -> Guid:
        """Accept ``ff:ff:52:54:…`` (gphoto2 settings style), ``ffff5254…``, a dashed UUID,
        and any of them with spaces; raise ``ValueError`` with an example otherwise."""
        cleaned = text.strip().replace(":", "").replace("-", "").replace(" ", "")
        try:
            return cls(bytes.fromhex(cleaned))  # not hex, or not GUID_SIZE bytes
        except ValueError:
            raise ValueError(
                f"GUID {text!r} is not 16 bytes of hex (expected e.g. {_EXAMPLE})"
            ) from None

    def __str__(self) -> str:
        return ":".join(f"{b:02x}" for b in self)

    def __repr__(self) -> str:
        return f"Guid({str(self)!r})"


parse_guid = Guid.parse


def format_guid(guid: bytes) -> str:
    """gphoto2's settings spelling of ``guid`` (which must be 16 bytes)."""
    return str(Guid(guid))


def guid_configured(config: Settings) -> bool:
    """True if a GUID is set for all cameras (``[defaults]``) or for any one ``[[camera]]``."""
    return any(s.guid for s in (config.defaults, *(c for _, c in config.cameras)))


def default_friendly_name() -> str:
    """The host name, as libgphoto2 and PlayMemories send it (ASCII only)."""
    name = socket.gethostname().encode("ascii", "replace").decode()[:99]
    return name or "sony-pm-alt"


@dataclass(frozen=True)
class Identity:
    """The initiator identity sent in the PTP/IP Init Command Request."""

    guid: bytes
    """Checked and stored as a :class:`Guid` (so plain 16 bytes are accepted too)."""
    friendly_name: str = field(default_factory=default_friendly_name)

    def __post_init__(self) -> None:
        object.__setattr__(self, "guid", Guid(self.guid))
        if not self.friendly_name.isascii() or not 0 < len(self.friendly_name) < 100:
            raise ValueError(
                f"friendly name {self.friendly_name!r} must be 1–99 ASCII characters "
                "(libgphoto2 sends each byte as one UTF-16 unit)"
            )

    @classmethod
    def from_text(cls, guid: str, friendly_name: str | None = None) -> Identity:
        return cls(Guid.parse(guid), friendly_name or default_friendly_name())

    def __str__(self) -> str:
        return f"{Guid(self.guid)} ({self.friendly_name})"
