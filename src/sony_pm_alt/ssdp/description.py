"""The UPnP device description a Sony body serves at ``/DeviceDescription.xml`` (sans-IO).

No capture of the real document exists; :func:`render_description` follows the template of
docs/protocol.md §2 (a guess) and :func:`parse_description` reads what MemoriesLoader reads.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from xml.etree.ElementTree import Element, ParseError
from xml.sax.saxutils import escape

import defusedxml
import defusedxml.ElementTree

from sony_pm_alt.ssdp.messages import MTP_DEVICE, MTP_NULL_SERVICE

UPNP_DEVICE_NS = "urn:schemas-upnp-org:device-1-0"
DESCRIPTION_PATH = "/DeviceDescription.xml"
# The only known real document is 1367 bytes (docs/protocol.md §2); 64 KiB leaves room for any
# plausible vendor variant while bounding what a hostile LAN peer can make us hold.
MAX_DESCRIPTION = 64 * 1024
# What MemoriesLoader compares the <manufacturer> of a camera's description with.
SONY_MANUFACTURER = "Sony Corporation"

# Characters XML 1.0 cannot carry at all, not even as character references.
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


class DescriptionError(ValueError):
    """A device description is unusable; ``str(exc)`` is a one-line reason."""


@dataclass(frozen=True, kw_only=True)
class DeviceDescription:
    """The fields of a device description that clients read."""

    friendly_name: str
    manufacturer: str = SONY_MANUFACTURER
    model_name: str
    model_description: str = "SONY DSC"
    serial_number: str
    udn: str
    device_type: str = MTP_DEVICE
    manufacturer_url: str = "http://www.sony.net/"
    model_url: str = "http://www.sony.net/"


# (XML element, DeviceDescription attribute) in template order.
_FIELDS = (
    ("deviceType", "device_type"),
    ("friendlyName", "friendly_name"),
    ("manufacturer", "manufacturer"),
    ("manufacturerURL", "manufacturer_url"),
    ("modelDescription", "model_description"),
    ("modelName", "model_name"),
    ("modelURL", "model_url"),
    ("serialNumber", "serial_number"),
    ("UDN", "udn"),
)


def description_url(host: str, port: int = 1900) -> str:
    """Return the LOCATION URL of the description served by ``host:port``."""
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{port}{DESCRIPTION_PATH}"


def _escape(value: str) -> str:
    if _NOT_XML.search(value):
        raise ValueError(f"cannot be represented in XML 1.0: {value!r}")
    return escape(value, {"\r": "&#13;"})  # XML parsers turn a literal \r into \n


def render_description(d: DeviceDescription) -> bytes:
    """Return the description document for ``d`` (UTF-8, every field XML-escaped).

    Raises ``ValueError`` if a field holds a character XML 1.0 cannot represent.
    """
    fields = "".join(f"  <{tag}>{_escape(getattr(d, attr))}</{tag}>\n" for tag, attr in _FIELDS)
    return (
        '<?xml version="1.0"?>\n'
        f'<root xmlns="{UPNP_DEVICE_NS}">\n'
        " <specVersion><major>1</major><minor>0</minor></specVersion>\n"
        " <device>\n"
        f"{fields}"
        "  <serviceList><service>\n"
        f"   <serviceType>{MTP_NULL_SERVICE}</serviceType>\n"
        "   <serviceId>urn:microsoft-com:serviceId:MtpNullService</serviceId>\n"
        "   <SCPDURL>/MtpNullService.xml</SCPDURL>\n"
        "   <controlURL>/upnp/control/MtpNullService</controlURL>\n"
        "   <eventSubURL></eventSubURL>\n"
        "  </service></serviceList>\n"
        " </device>\n"
        "</root>\n"
    ).encode()


def parse_description(xml: bytes, max_bytes: int = MAX_DESCRIPTION) -> DeviceDescription:
    """Parse a device description; raise :class:`DescriptionError` (and nothing else) if unusable.

    Entities, DTDs and external references are refused. Elements are looked up in the UPnP
    device namespace; a document without any namespace is accepted too. Missing optional
    fields become ``""``; values are stripped of surrounding whitespace. A missing or empty
    ``UDN`` is an error.
    """
    if len(xml) > max_bytes:
        raise DescriptionError(f"description of {len(xml)} bytes exceeds the {max_bytes} limit")
    try:
        root = defusedxml.ElementTree.fromstring(xml, forbid_dtd=True)
    except defusedxml.DefusedXmlException as exc:
        raise DescriptionError(f"description uses a forbidden XML construct: {exc}") from None
    except (ParseError, ValueError, LookupError) as exc:
        # LookupError/ValueError: an unknown or bogus encoding declaration.
        raise DescriptionError(f"description is not well-formed XML: {exc}") from None
    ns = _namespace(root)
    device = root.find(f"{ns}device")
    if device is None:
        raise DescriptionError("description has no <device> element under <root>")
    values = {attr: _text(device, f"{ns}{tag}") for tag, attr in _FIELDS}
    if not values["udn"]:
        raise DescriptionError("description's <device> has no <UDN>")
    return DeviceDescription(**values)


def _namespace(root: Element) -> str:
    if root.tag == f"{{{UPNP_DEVICE_NS}}}root":
        return f"{{{UPNP_DEVICE_NS}}}"
    if root.tag == "root":
        return ""
    raise DescriptionError(
        f"root element is {root.tag[:80]!r}, expected <root> in {UPNP_DEVICE_NS}"
    )


def _text(parent: Element, tag: str) -> str:
    child = parent.find(tag)
    return (child.text or "").strip() if child is not None else ""
