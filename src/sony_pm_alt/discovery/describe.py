"""From an accepted announcement to a camera: fetch the description, check it is a Sony body."""

from __future__ import annotations

import socket
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from ..bounded_http import HttpError, exchange, shorten
from ..ssdp.description import SONY_MANUFACTURER, DescriptionError, parse_description
from .policy import Decision


@dataclass(frozen=True)
class DiscoveredCamera:
    """A Sony camera announcing MtpNullService, with the identity from its description."""

    host: str
    """UDP source address of the announcement: the address to connect to (PTP/IP port 15740)."""
    location: str
    """The LOCATION URL the description was fetched from (always on ``host``)."""
    udn: str
    serial: str
    model: str
    friendly_name: str
    manufacturer: str


class NotACamera(Exception):
    """The description could not be fetched or is not a Sony camera's; ``str()`` is the log
    line and ``counter`` the :attr:`Discovery.stats` counter it belongs to."""

    def __init__(self, counter: Literal["rejected", "ignored"], message: str) -> None:
        super().__init__(message)
        self.counter = counter


def describe(
    job: Decision,
    *,
    timeout: float,
    max_bytes: int,
    on_connect: Callable[[socket.socket], None] | None = None,
) -> DiscoveredCamera:
    """GET the description a ``"fetch"`` decision points at and read it.

    Raises :class:`NotACamera`: ``rejected`` when the fetch fails, the answer is not 200,
    is oversized or unusable; ``ignored`` when it is another manufacturer's device.
    """
    host, location = job.host, job.location
    assert location is not None  # a "fetch" decision has one
    try:
        answer = exchange(
            host,
            job.port,
            job.target,
            headers={"Accept": "text/xml, */*"},
            timeout=timeout,
            max_bytes=max_bytes,
            expect=(200,),
            on_connect=on_connect,
        )
        description = parse_description(answer.body, max_bytes)
    except (HttpError, DescriptionError) as exc:
        raise NotACamera(
            "rejected", f"rejected description from {host} ({shorten(location)}): {exc}"
        ) from None
    if description.manufacturer != SONY_MANUFACTURER:
        raise NotACamera(
            "ignored",
            f"ignoring {host}: manufacturer is {shorten(description.manufacturer, 60)}, "
            f"not {SONY_MANUFACTURER}",
        )
    return DiscoveredCamera(
        host=host,
        location=location,
        udn=description.udn,
        serial=description.serial_number,
        model=description.model_name,
        friendly_name=description.friendly_name,
        manufacturer=description.manufacturer,
    )
