"""The camera's UPnP side in "Send to Smartphone" mode, through async-upnp-client (why that
library: ``docs/smartphone.md``). Its calls are coroutines; one private event loop per client
runs them, so the rest of the engine stays synchronous.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any
from urllib.parse import urljoin
from xml.etree.ElementTree import ParseError

import defusedxml
import defusedxml.ElementTree
from async_upnp_client.client import UpnpDevice, UpnpService
from async_upnp_client.client_factory import UpnpFactory
from async_upnp_client.const import HttpRequest
from async_upnp_client.exceptions import UpnpError

from ..engine.model import CameraInfo
from .didl import MAX_OBJECTS, PhoneItem, parse_page
from .http import BoundedRequester, PhoneError, target_of
from .scpd import BUILT_IN, CONTENT_DIRECTORY, XPUSHLIST

log = logging.getLogger("sony_pm_alt.smartphone")

DEFAULT_ADDRESS = "192.168.122.1"  # [S] the camera as access point
DEFAULT_PORT = 64321  # [S]
DESCRIPTION_PATH = "/DmsDescPush.xml"  # [S]
PUSH_ROOT, PHOTO_ROOT = "PushRoot", "PhotoRoot"
DEVICE_NS = "{urn:schemas-upnp-org:device-1-0}"
SERVICE_NS = "{urn:schemas-upnp-org:service-1-0}"
PAGE = 50  # items asked per Browse; the camera may return fewer
MAX_DEPTH = 4  # root → date containers → items; deeper means a loop or a hostile camera
MAX_PAGES = 10_000


class PhoneClient:
    """One camera in "Send to Smartphone" mode; use as a context manager."""

    def __init__(self, host: str, port: int = DEFAULT_PORT) -> None:
        self.host, self.port = host, port
        self._runner = asyncio.Runner()
        self._device: UpnpDevice | None = None
        self.camera = CameraInfo(model="", serial="")

    def __enter__(self) -> PhoneClient:
        try:
            self._device = self._run(self._create, what="reading the camera's description")
        except BaseException:
            self._runner.close()
            raise
        info = self._device.device_info
        self.camera = CameraInfo(
            model=info.model_name[:64] or "unknown",
            serial=(info.serial_number or info.udn)[:128],
            manufacturer=info.manufacturer[:64],
            name=info.friendly_name[:64],
        )
        for needed in (XPUSHLIST, CONTENT_DIRECTORY):
            self._service(needed)
        return self

    def __exit__(self, *exc: object) -> None:
        self._runner.close()

    async def _create(self) -> UpnpDevice:
        requester = BoundedRequester(self.host)
        url = f"http://{self.host}:{self.port}{DESCRIPTION_PATH}"
        await self._read_documents(requester, url)
        factory = UpnpFactory(requester, non_strict=True)
        return await factory.async_create_device(url)

    async def _read_documents(self, requester: BoundedRequester, url: str) -> None:
        """Read the description and the two services' SCPDs into ``requester.documents``; an
        SCPD that is missing or unreadable is replaced by the built-in one (:mod:`.scpd`), so
        a camera that serves none (the notes name only ``XPlsDesc.xml``) still works."""
        answer = await requester.async_http_request(HttpRequest("GET", url, {}, None))
        text = answer.body or ""
        root = defusedxml.ElementTree.fromstring(text, forbid_dtd=True)
        requester.documents[url] = text
        for service in root.iter(f"{DEVICE_NS}service"):
            built_in = BUILT_IN.get((service.findtext(f"{DEVICE_NS}serviceType") or "").strip())
            scpd_url = urljoin(url, (service.findtext(f"{DEVICE_NS}SCPDURL") or "").strip())
            if built_in is None or scpd_url in requester.documents:
                continue
            target_of(scpd_url, self.host)  # never a substitute for a URL on another host
            try:
                scpd = await requester.async_http_request(HttpRequest("GET", scpd_url, {}, None))
                document = defusedxml.ElementTree.fromstring(scpd.body or "", forbid_dtd=True)
                if document.tag != f"{SERVICE_NS}scpd":
                    raise PhoneError(f"root element {document.tag[:60]!r}")
                requester.documents[scpd_url] = scpd.body or ""
            except (PhoneError, ParseError, ValueError, defusedxml.DefusedXmlException) as exc:
                log.warning("%s is unusable (%s); using the standard description", scpd_url, exc)
                requester.documents[scpd_url] = built_in.decode()

    def _run(self, make: Callable[[], Any], *, what: str) -> Any:
        try:
            return self._runner.run(make())
        except PhoneError as exc:
            raise PhoneError(f"{what}: {exc}") from None
        except defusedxml.DefusedXmlException as exc:
            raise PhoneError(f"{what}: refusing forbidden XML ({exc})") from None
        except (UpnpError, ParseError, ValueError, LookupError) as exc:
            raise PhoneError(f"{what}: {type(exc).__name__}: {str(exc)[:160]}") from None

    def _service(self, service_type: str) -> UpnpService:
        assert self._device is not None, "use PhoneClient as a context manager"
        if not self._device.has_service(service_type):
            raise PhoneError(
                f"the device at {self.host}:{self.port} has no {service_type.split(':')[-2]} "
                'service: is the camera in "Send to Smartphone" mode?'
            )
        return self._device.service(service_type)

    def _call(self, service_type: str, action: str, **args: Any) -> Any:
        service = self._service(service_type)
        if not service.has_action(action):
            raise PhoneError(f"the camera's {service_type.split(':')[-2]} has no {action}")
        return self._run(lambda: service.action(action).async_call(**args), what=action)

    def transfer_start(self) -> None:
        self._call(XPUSHLIST, "X_TransferStart")

    def transfer_end(self, err_code: int = 0) -> None:
        self._call(XPUSHLIST, "X_TransferEnd", ErrCode=err_code)

    def browse(self, object_id: str, start: int, count: int = PAGE) -> tuple[str, int, int]:
        """(DIDL-Lite text, NumberReturned, TotalMatches) of one page of children."""
        result = self._call(
            CONTENT_DIRECTORY,
            "Browse",
            ObjectID=object_id,
            BrowseFlag="BrowseDirectChildren",
            Filter="*",
            StartingIndex=start,
            RequestedCount=count,
            SortCriteria="",
        )
        return (
            str(result.get("Result") or ""),
            int(result["NumberReturned"]),
            int(result["TotalMatches"]),
        )

    def list_items(self) -> tuple[str, list[PhoneItem]]:
        """Every picture offered: PushRoot's (chosen on the camera) or, when the camera refuses
        it ("select on smartphone"), PhotoRoot's. Returns (root used, items)."""
        try:
            self.browse(PUSH_ROOT, 0, 1)
        except PhoneError as exc:
            # Only a refusal of the first look falls back: a PushRoot that fails later must
            # not turn into "everything on the card".
            log.info("PushRoot refused (%s); browsing PhotoRoot", exc)
            return PHOTO_ROOT, self._walk(PHOTO_ROOT)
        return PUSH_ROOT, self._walk(PUSH_ROOT)

    def _walk(self, root: str) -> list[PhoneItem]:
        items: list[PhoneItem] = []
        seen = {root}
        level = [root]
        pages = 0
        for _depth in range(MAX_DEPTH):
            next_level: list[str] = []
            for container in level:
                start, total = 0, 1
                while start < total:
                    pages += 1
                    if pages > MAX_PAGES or len(items) > MAX_OBJECTS:
                        raise PhoneError(f"the camera lists more than {MAX_OBJECTS} objects")
                    text, returned, total = self.browse(container, start)
                    page = parse_page(text)
                    if returned <= 0 or not (page.items or page.containers):
                        if start < total:
                            raise PhoneError(
                                f"the camera returned nothing at {start} of {total} in "
                                f"{container!r}; listing incomplete"
                            )
                        break
                    if len(page.items) + len(page.containers) < returned:
                        raise PhoneError(
                            f"the camera said {returned} entries at {start} in {container!r} "
                            f"but sent {len(page.items) + len(page.containers)} readable ones; "
                            "listing incomplete"
                        )
                    start += returned
                    items.extend(page.items)
                    for child in page.containers:
                        if child not in seen:  # a container listed twice, or a loop
                            seen.add(child)
                            next_level.append(child)
            level = next_level
            if not level:
                return items
        raise PhoneError(f"containers nested deeper than {MAX_DEPTH} levels under {root}")
