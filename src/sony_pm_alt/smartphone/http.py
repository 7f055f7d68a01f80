"""HTTP for the smartphone mode, with the same rules as the SSDP description fetch (the camera's
own address only, no redirects; small answers bounded in size and time by
:mod:`sony_pm_alt.bounded_http`). Files are streamed with a per-read timeout instead: a big
file may take long, a silent peer may not.
"""

from __future__ import annotations

import asyncio
import http.client
from dataclasses import dataclass

from async_upnp_client.client import UpnpRequester
from async_upnp_client.const import HttpRequest, HttpResponse

from ..bounded_http import HttpError, exchange
from ..discovery import check_location
from ..errors import SonyPmAltError
from ..ssdp.description import MAX_DESCRIPTION

# Descriptions and SOAP answers. A Browse page of 50 items with four res each is ~40 KiB; 4 MiB
# allows pages a hundred times larger while bounding what a peer can make us hold.
MAX_SMALL_BODY = 4 * 1024 * 1024
SMALL_TIMEOUT = 15.0  # a whole description or SOAP exchange
READ_TIMEOUT = 30.0  # a single read of file data


class PhoneError(SonyPmAltError):
    """The camera (or something pretending to be it) cannot be used; one-line reason."""


@dataclass(frozen=True)
class Target:
    host: str
    port: int
    path: str


def target_of(url: str, host: str) -> Target:
    """Where ``url`` points, if it is on ``host``; otherwise :class:`PhoneError`."""
    checked = check_location(url, host)
    if isinstance(checked, str):
        raise PhoneError(f"refusing {url[:120]!r} from the camera at {host}: {checked}")
    port, path = checked
    return Target(host, port, path)


class BoundedRequester(UpnpRequester):
    """async-upnp-client's transport: one bounded exchange (``bounded_http``) per request, to
    one host only."""

    def __init__(self, host: str) -> None:
        self.host = host
        # Documents already read (or substituted), by URL: the factory reads them from here.
        self.documents: dict[str, str] = {}

    async def async_http_request(self, http_request: HttpRequest) -> HttpResponse:
        target = target_of(http_request.url, self.host)
        if http_request.method == "GET" and http_request.url in self.documents:
            return HttpResponse(200, {}, self.documents[http_request.url])
        body = http_request.body.encode("utf-8") if http_request.body is not None else None
        try:
            answer = await asyncio.to_thread(
                exchange,
                target.host,
                target.port,
                target.path,
                method=http_request.method,
                body=body,
                headers=dict(http_request.headers),
                timeout=SMALL_TIMEOUT,
                # Descriptions get the SSDP path's limit; SOAP answers carry listing pages.
                max_bytes=MAX_DESCRIPTION if http_request.method == "GET" else MAX_SMALL_BODY,
            )
        except HttpError as exc:
            raise PhoneError(f"{target.path}: {exc}") from None
        if http_request.method == "GET" and answer.status != 200:
            # Descriptions: a redirect or an error page is refused, not followed or parsed.
            raise PhoneError(f"{target.path}: HTTP {answer.status} instead of the document")
        text = answer.body.decode("utf-8", errors="replace")
        return HttpResponse(answer.status, answer.headers, text)


class FileStream:
    """One file's GET, read sequentially into the engine's buffers (``engine.download``)."""

    def __init__(self, target: Target, expected: int | None) -> None:
        self._connection = http.client.HTTPConnection(
            target.host, target.port, timeout=READ_TIMEOUT
        )
        self._position = 0
        self._head = bytearray()  # read ahead by peek(), not yet handed out
        try:
            self._connection.request(
                "GET",
                target.path,
                headers={"User-Agent": "sony-pm-alt", "Host": f"{target.host}:{target.port}"},
            )
            self._response = self._connection.getresponse()
        except (OSError, http.client.HTTPException) as exc:
            self.close()
            raise PhoneError(f"{target.path}: {type(exc).__name__}: {str(exc)[:80]}") from None
        status = self._response.status
        if status != 200:
            self.close()
            raise PhoneError(f"{target.path}: HTTP {status} instead of the file")
        length = self._response.length
        if length is None:
            self.close()
            raise PhoneError(f"{target.path}: no Content-Length, cannot check the file")
        if expected is not None and length != expected:
            self.close()
            raise PhoneError(
                f"the camera lists {expected} bytes but sends {length} (Content-Length): "
                "the file may be gone from the card"
            )
        self.size = length

    def _readinto(self, buffer: memoryview) -> int:
        done = self._position + len(self._head)
        try:
            count = self._response.readinto(buffer)
        except (OSError, http.client.HTTPException) as exc:
            raise PhoneError(f"the connection failed after {done} bytes: {exc}") from None
        if count == 0 and len(buffer):
            raise PhoneError(f"the connection ended after {done} of {self.size} bytes")
        return count

    def peek(self, count: int) -> bytes:
        """The first ``count`` bytes (fewer for a smaller file), kept for :meth:`read`."""
        want = min(count, self.size)
        buffer = memoryview(bytearray(want))
        while len(self._head) < want:
            have = len(self._head)
            got = self._readinto(buffer[have:want])
            self._head += buffer[have : have + got]
        return bytes(self._head)

    def read(self, offset: int, buffer: memoryview) -> int:
        if offset != self._position:
            raise PhoneError(f"cannot seek to {offset} in an HTTP stream at {self._position}")
        if self._head:
            count = min(len(buffer), len(self._head))
            buffer[:count] = self._head[:count]
            del self._head[:count]
        else:
            count = self._readinto(buffer)
        self._position += count
        return count

    def close(self) -> None:
        self._connection.close()
