"""A Sony body in "Send to Smartphone" mode, emulated: a UPnP MediaServer with Sony's XPushList.

What it serves, which parts come from a source [S] and which are our assumptions [A] (no
capture of a real camera exists), and its faults: ``docs/smartphone.md``, "The emulator". Every
request is recorded (events ``phone_http``, ``phone_action``, ``phone_mode``, ``fault``).
"""

from __future__ import annotations

import random
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from io import BytesIO
from typing import Any
from urllib.parse import unquote, urlsplit
from xml.etree.ElementTree import ParseError
from xml.sax.saxutils import escape

import defusedxml.ElementTree
from PIL import Image

from ..smartphone.scpd import CDS_SCPD, CONTENT_DIRECTORY, XPLS_SCPD, XPUSHLIST
from .faults import Faults
from .recorder import Recorder

SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"
ROOTS = ("PushRoot", "PhotoRoot")
PHONE_START = datetime(2024, 5, 1, 10, 0, 0)
# A terminal escape cannot travel in XML 1.0, so this mode's list is shorter than the PTP/IP one.
HOSTILE_TITLES = ("../../escape.JPG", "/etc/passwd.JPG", "..", "..\\..\\win.JPG", "a\tb.JPG")
# None: no dc:date at all.
BAD_DATES = ("0001-01-01T00:00:00", "9999-12-31T23:59:59", "garbage", None, "2024-13-45T99:00")
# Browse pages are capped like a small embedded server would (the real number is unknown).
DEFAULT_PAGE_SIZE = 50
PREVIEW_SIZES = {"LRG": (160, 120), "SM": (80, 60), "TN": (32, 24)}
RAW_PREVIEW_SIZES = {"LRG": (150, 100), "SM": (60, 40), "TN": (30, 20)}


@dataclass(frozen=True)
class PhonePicture:
    """One file on the card. ``original`` is None for a RAW file (no original in this mode)."""

    name: str
    taken: datetime
    original: bytes | None
    previews: dict[str, bytes]  # "LRG", "SM", "TN" → JPEG data

    @property
    def day(self) -> str:
        return self.taken.strftime("%Y-%m-%d")


@dataclass
class PhoneConfig:
    pictures: list[PhonePicture]
    model: str = "ILCE-7C"
    serial: str = "0000000000000000000000000000A7C1"
    host: str = "127.0.0.1"
    port: int = 0
    page_size: int = DEFAULT_PAGE_SIZE
    selected: frozenset[str] | None = None  # names in PushRoot; None: every picture
    faults: Faults = field(default_factory=Faults)


def _jpeg(rng: random.Random, size: tuple[int, int], taken: datetime) -> bytes:
    image = Image.frombytes("RGB", size, rng.randbytes(size[0] * size[1] * 3))
    exif = Image.Exif()
    exif[0x0132] = taken.strftime("%Y:%m:%d %H:%M:%S")
    out = BytesIO()
    image.save(out, "JPEG", quality=90, exif=exif)
    return out.getvalue()


def build_phone_pictures(shots: int = 8, *, days: int = 2, seed: int = 13) -> list[PhonePicture]:
    """``shots`` RAW+JPEG shots (DSC00001.JPG + DSC00001.ARW, …) spread over ``days`` days."""
    rng = random.Random(seed)
    pictures = []
    for n in range(1, shots + 1):
        taken = PHONE_START + timedelta(days=(n - 1) * days // shots, minutes=n)
        previews = {kind: _jpeg(rng, size, taken) for kind, size in PREVIEW_SIZES.items()}
        stem = f"DSC{n:05d}"
        pictures.append(PhonePicture(f"{stem}.JPG", taken, _jpeg(rng, (400, 300), taken), previews))
        previews = {kind: _jpeg(rng, size, taken) for kind, size in RAW_PREVIEW_SIZES.items()}
        pictures.append(PhonePicture(f"{stem}.ARW", taken, None, previews))
    return pictures


def device_description(config: PhoneConfig) -> bytes:
    return (
        '<?xml version="1.0"?>\n<root xmlns="urn:schemas-upnp-org:device-1-0">'
        "<specVersion><major>1</major><minor>0</minor></specVersion><device>"
        "<deviceType>urn:schemas-upnp-org:device:MediaServer:1</deviceType>"
        f"<friendlyName>{escape(config.model)}</friendlyName>"
        "<manufacturer>Sony Corporation</manufacturer>"
        f"<modelName>{escape(config.model)}</modelName>"
        f"<serialNumber>{escape(config.serial)}</serialNumber>"
        f"<UDN>uuid:00000000-0000-1010-8000-{config.serial[-12:].lower():0>12}</UDN>"
        "<serviceList>"
        f"<service><serviceType>{CONTENT_DIRECTORY}</serviceType>"
        "<serviceId>urn:upnp-org:serviceId:ContentDirectory</serviceId>"
        "<SCPDURL>/CdsDesc.xml</SCPDURL><controlURL>/upnp/control/ContentDirectory</controlURL>"
        "<eventSubURL></eventSubURL></service>"
        f"<service><serviceType>{XPUSHLIST}</serviceType>"
        "<serviceId>urn:schemas-sony-com:serviceId:XPushList</serviceId>"
        "<SCPDURL>/XPlsDesc.xml</SCPDURL><controlURL>/upnp/control/XPushList</controlURL>"
        "<eventSubURL></eventSubURL></service>"
        "</serviceList></device></root>"
    ).encode()


class BrowseRefused(Exception):
    def __init__(self, code: int, description: str) -> None:
        super().__init__(description)
        self.code = code


class PhoneCamera:
    """The state and content model, without HTTP: what Browse returns and which bytes a GET
    gets. Object ids: ``PushRoot``/``PhotoRoot``, ``<root>/<day>``, ``<root>/<day>/<index>``."""

    def __init__(
        self, config: PhoneConfig, base_url: Callable[[], str], record: Callable[..., None]
    ) -> None:
        self.config = config
        self._base_url = base_url
        self._record = record
        self._drop_armed = config.faults.drop_after_bytes is not None
        self._lock = threading.Lock()
        jpegs = [i for i, p in enumerate(config.pictures) if p.original is not None]
        n = config.faults.gone_file
        self.gone = {jpegs[n - 1]} if n and n <= len(jpegs) else set()

    def title(self, index: int) -> str:
        if self.config.faults.hostile_names:
            return HOSTILE_TITLES[index % len(HOSTILE_TITLES)]
        return self.config.pictures[index].name

    def children(self, object_id: str) -> list[str]:
        """DIDL-Lite fragments of ``object_id``'s children; raises :class:`BrowseRefused`."""
        root, _, rest = object_id.partition("/")
        if root not in ROOTS:
            raise BrowseRefused(701, "No such object")
        if root == "PushRoot" and self.config.faults.refuse_push_root:
            self._record("fault", kind="refuse-push-root")
            raise BrowseRefused(701, "No such object")
        selected = self.config.selected
        indices = [
            i
            for i, p in enumerate(self.config.pictures)
            if root == "PhotoRoot" or selected is None or p.name in selected
        ]
        if not rest:
            days = sorted({self.config.pictures[i].day for i in indices})
            return [
                f'<container id="{root}/{day}" parentID="{root}" restricted="1">'
                f"<dc:title>{day}</dc:title><upnp:class>object.container</upnp:class>"
                "</container>"
                for day in days
            ]
        return [self._item(root, i) for i in indices if self.config.pictures[i].day == rest]

    def _item(self, root: str, index: int) -> str:
        picture = self.config.pictures[index]
        base = self._base_url()
        stem = f"{base}/photo/{index}"
        res = []
        if picture.original is not None:
            size = len(picture.original)
            res.append(
                f'<res protocolInfo="http-get:*:image/jpeg:*" size="{size}" '
                f'resolution="400x300">{stem}/ORG</res>'
            )
        for kind, data in picture.previews.items():
            size_attr = f' size="{len(data)}"' if picture.original is not None else ""
            res.append(
                f'<res protocolInfo="http-get:*:image/jpeg:DLNA.ORG_PN=JPEG_{kind}"{size_attr}>'
                f"{stem}/{kind}</res>"
            )
        return (
            f'<item id="{root}/{picture.day}/{index}" parentID="{root}/{picture.day}" '
            f'restricted="1"><dc:title>{escape(self.title(index))}</dc:title>'
            "<upnp:class>object.item.imageItem.photo</upnp:class>"
            f"{self._date(index)}{''.join(res)}</item>"
        )

    def _date(self, index: int) -> str:
        if self.config.faults.bad_dates:
            bad = BAD_DATES[index % len(BAD_DATES)]
            return f"<dc:date>{escape(bad)}</dc:date>" if bad is not None else ""
        return f"<dc:date>{self.config.pictures[index].taken.isoformat()}</dc:date>"

    def data(self, index: int, kind: str) -> tuple[bytes, int] | None:
        """(bytes to send, Content-Length to declare), or None when there is no such file."""
        if not 0 <= index < len(self.config.pictures):
            return None
        picture = self.config.pictures[index]
        data = picture.original if kind == "ORG" else picture.previews.get(kind)
        if data is None:
            return None
        if kind == "ORG" and index in self.gone:
            self._record("fault", kind="gone-file", name=picture.name)
            return b"", 0
        return data, len(data)

    def take_drop(self) -> int | None:
        """The byte count after which to cut this download (once), or None."""
        with self._lock:
            if not self._drop_armed:
                return None
            self._drop_armed = False
            return self.config.faults.drop_after_bytes


def didl(fragments: list[str]) -> str:
    return (
        '<DIDL-Lite xmlns="urn:schemas-upnp-org:metadata-1-0/DIDL-Lite/" '
        'xmlns:dc="http://purl.org/dc/elements/1.1/" '
        'xmlns:upnp="urn:schemas-upnp-org:metadata-1-0/upnp/">'
        + "".join(fragments)
        + "</DIDL-Lite>"
    )


def _soap(body: str) -> bytes:
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n'
        f'<s:Envelope xmlns:s="{SOAP_ENV}" s:encodingStyle="http://schemas.xmlsoap.org/soap/encoding/">'
        f"<s:Body>{body}</s:Body></s:Envelope>"
    ).encode()


def _fault(code: int, description: str) -> bytes:
    return _soap(
        "<s:Fault><faultcode>s:Client</faultcode><faultstring>UPnPError</faultstring><detail>"
        '<UPnPError xmlns="urn:schemas-upnp-org:control-1-0">'
        f"<errorCode>{code}</errorCode><errorDescription>{escape(description)}</errorDescription>"
        "</UPnPError></detail></s:Fault>"
    )


def _arguments(body: bytes) -> dict[str, str]:
    root = defusedxml.ElementTree.fromstring(body, forbid_dtd=True)
    envelope_body = root.find(f"{{{SOAP_ENV}}}Body")
    if envelope_body is None or len(envelope_body) == 0:
        raise ValueError("no SOAP body")
    return {child.tag.rpartition("}")[2]: (child.text or "") for child in envelope_body[0]}


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # the recorder logs instead
        pass

    def _send(
        self,
        status: int,
        body: bytes,
        content_type: str = 'text/xml; charset="utf-8"',
        length: int | None = None,  # declared instead of the body's (a download cut short)
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body) if length is None else length))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        camera = self.server.camera
        path = unquote(urlsplit(self.path).path)
        self.server.record("phone_http", method="GET", path=path)
        documents = {
            "/DmsDescPush.xml": lambda: device_description(camera.config),
            "/XPlsDesc.xml": lambda: XPLS_SCPD,
            "/CdsDesc.xml": lambda: CDS_SCPD,
        }
        if path == "/CdsDesc.xml" and camera.config.faults.missing_scpd:
            self.server.record("fault", kind="missing-scpd")
            self._send(404, b"not found", "text/plain")
            return
        if path in documents:
            self._send(200, documents[path]())
            return
        parts = path.split("/")
        if len(parts) == 4 and parts[1] == "photo" and parts[2].isdigit():
            found = camera.data(int(parts[2]), parts[3])
            if found is not None:
                self._send_file(*found)
                return
        self._send(404, b"not found", "text/plain")

    def _send_file(self, data: bytes, length: int) -> None:
        drop = self.server.camera.take_drop() if length else None
        if drop is None or drop >= length:
            self._send(200, data[:length], "image/jpeg", length)
            return
        self._send(200, data[:drop], "image/jpeg", length)
        self.wfile.flush()
        self.server.record("fault", kind="drop-after-bytes", sent=drop)
        self.close_connection = True
        self.connection.shutdown(2)

    def do_POST(self) -> None:
        path = urlsplit(self.path).path
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(min(length, 1 << 20))
        service, _, action = (self.headers.get("SOAPACTION") or "").strip('"').partition("#")
        try:
            args = _arguments(body)
        except (ParseError, ValueError, defusedxml.DefusedXmlException):
            self.server.record("phone_action", path=path, action=action, error="bad SOAP")
            self._send(400, _fault(402, "Invalid Args"))
            return
        self.server.record("phone_action", path=path, action=action, args=args)
        if path == "/upnp/control/XPushList" and service == XPUSHLIST:
            self._push_list(action, args)
        elif path == "/upnp/control/ContentDirectory" and service == CONTENT_DIRECTORY:
            self._browse(action, args)
        else:
            self._send(500, _fault(401, "Invalid Action"))

    def _push_list(self, action: str, args: dict[str, str]) -> None:
        if action == "X_TransferStart":
            self.server.record("phone_mode", screen="Transferring")
        elif action == "X_TransferEnd":
            self.server.record("phone_mode", screen="left", err_code=args.get("ErrCode"))
        elif action != "X_TransferProgress":
            self._send(500, _fault(401, "Invalid Action"))
            return
        self._send(200, _soap(f'<u:{action}Response xmlns:u="{XPUSHLIST}"/>'))

    def _browse(self, action: str, args: dict[str, str]) -> None:
        camera = self.server.camera
        if action != "Browse":
            self._send(500, _fault(401, "Invalid Action"))
            return
        try:
            start = int(args.get("StartingIndex", "0"))
            requested = int(args.get("RequestedCount", "0"))
            children = camera.children(args.get("ObjectID", ""))
        except ValueError:
            self._send(500, _fault(402, "Invalid Args"))
            return
        except BrowseRefused as exc:
            self._send(500, _fault(exc.code, str(exc)))
            return
        count = camera.config.page_size if requested == 0 else requested
        page = children[start : start + min(count, camera.config.page_size)]
        self._send(
            200,
            _soap(
                f'<u:BrowseResponse xmlns:u="{CONTENT_DIRECTORY}">'
                f"<Result>{escape(didl(page))}</Result>"
                f"<NumberReturned>{len(page)}</NumberReturned>"
                f"<TotalMatches>{len(children)}</TotalMatches>"
                "<UpdateID>1</UpdateID></u:BrowseResponse>"
            ),
        )


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    camera: PhoneCamera
    record: Callable[..., None]


class SmartphoneEmulator:
    """The HTTP server in a background thread. ``start()`` returns the bound port."""

    def __init__(self, config: PhoneConfig, recorder: Recorder | None = None) -> None:
        self.config = config
        self.recorder = recorder or Recorder()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self.events: list[dict[str, Any]] = []  # what the recorder got, for in-process tests
        self.camera = PhoneCamera(config, lambda: self.base_url, self.record)

    def record(self, event: str, **fields: Any) -> None:
        self.events.append({"event": event, **fields})
        self.recorder(event, **fields)

    def actions(self) -> list[str]:
        """The SOAP actions received, in order (``Browse:PushRoot`` names the object)."""
        return [
            f"{e['action']}:{e['args'].get('ObjectID', '')}" if e["action"] == "Browse"
            else e["action"]
            for e in self.events
            if e["event"] == "phone_action" and "args" in e
        ]  # fmt: skip

    @property
    def port(self) -> int:
        assert self._server is not None, "not started"
        return int(self._server.server_address[1])

    @property
    def base_url(self) -> str:
        return f"http://{self.config.host}:{self.port}"

    @property
    def description_url(self) -> str:
        return f"{self.base_url}/DmsDescPush.xml"

    def start(self) -> int:
        server = _Server((self.config.host, self.config.port), _Handler)
        server.camera = self.camera
        server.record = self.record
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, name="phone-emulator", daemon=True
        )
        self._thread.start()
        self.record("listening", host=self.config.host, port=self.port, mode="smartphone")
        return self.port

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join()

    def __enter__(self) -> SmartphoneEmulator:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
