"""The emulator's SSDP responder, run inside a private network namespace.

Each test runs this file as a script in a fresh namespace (``tests/netns.py``): the scenario
there uses the real SSDP group and port 1900 on the namespace's own loopback, prints one JSON
line, and the test asserts on it. Nothing leaves the namespace.
"""

from __future__ import annotations

import asyncio
import json
import logging
import socket
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from ssdpy import SSDPClient

from netns import netns_python
from sony_pm_alt.emulator import ssdp_responder
from sony_pm_alt.emulator.ssdp_responder import SsdpConfig, SsdpResponder
from sony_pm_alt.ssdp.description import DeviceDescription, parse_description
from sony_pm_alt.ssdp.messages import (
    MTP_DEVICE,
    MTP_NULL_SERVICE,
    SSDP_GROUP,
    SSDP_PORT,
    SsdpMessage,
    SsdpParseError,
    msearch,
    parse_message,
)

UDN = "uuid:00000000-0001-0010-8000-d8c46ad71d7d"
CAMERA = DeviceDescription(
    friendly_name="ILCE-6000", model_name="ILCE-6000", serial_number="0000000000000000", udn=UDN
)
ROOT_USN = f"{UDN}::upnp:rootdevice"
NTS = [UDN, "upnp:rootdevice", MTP_DEVICE, MTP_NULL_SERVICE]
WAIT = 5.0  # seconds any single expected datagram or response may take inside the namespace
SSDPY_KILLER = b"M-SEARCH * HTTP/1.1\r\nHOST 239.255.255.250:1900\r\n\r\n"
GARBAGE_COUNT = 64  # a small flood: fits the default socket buffers, so none is dropped


# --- pytest side ------------------------------------------------------------------------------


def _run_scenario(name: str) -> dict[str, Any]:
    proc = netns_python(Path(__file__), name, timeout=60)
    assert proc.returncode == 0, proc.stderr.decode(errors="replace")
    result: dict[str, Any] = json.loads(proc.stdout.decode().strip().splitlines()[-1])
    return result


@pytest.mark.integration
def test_announce_search_garbage_and_byebye() -> None:
    r = _run_scenario("ssdp")
    location = r["location"]
    assert location.startswith("http://127.0.0.1:")
    assert location.endswith("/DeviceDescription.xml")
    assert not location.startswith("http://127.0.0.1:1900/")  # http_port=0 → the bound port

    # byebye_first, then two alive rounds: each round the four NTs in table order.
    announce = r["announce"]
    assert [(m["nts"], m["nt"]) for m in announce] == [
        *(("ssdp:byebye", nt) for nt in NTS),
        *(("ssdp:alive", nt) for nt in NTS),
        *(("ssdp:alive", nt) for nt in NTS),
    ]
    assert all(m["location"] is None for m in announce[:4])
    assert all(m["location"] == location for m in announce[4:])
    assert {m["source_port"] for m in announce} == {SSDP_PORT}
    assert announce[5]["usn"] == ROOT_USN

    # A non-matching M-SEARCH gets nothing: the first reply is for the later, matching one.
    assert r["reply"] == {
        "kind": "response",
        "st": MTP_NULL_SERVICE,
        "usn": f"{UDN}::{MTP_NULL_SERVICE}",
        "location": location,
        "ext": "",
        "source_port": SSDP_PORT,
    }
    assert r["all_replies"] == NTS

    assert r["description"]["status"] == 200
    assert r["description"]["content_type"] == 'text/xml; charset="utf-8"'
    assert r["description"]["manufacturer"] == "Sony Corporation"
    assert r["description"]["udn"] == UDN

    # Garbage, the ssdpy killer and a flood did not stop the responder.
    assert r["after_garbage_reply"] == MTP_DEVICE
    assert r["malformed_logged"] >= GARBAGE_COUNT + 3
    assert r["errors_logged"] == []

    assert [(m["nts"], m["nt"], m["location"]) for m in r["byebye"]] == [
        ("ssdp:byebye", nt, None) for nt in NTS
    ]
    names = [name for name, _ in r["events"]]
    assert names[:3] == ["ssdp_byebye", "ssdp_alive", "ssdp_alive"]
    assert names[-1] == "ssdp_byebye"
    assert names.count("ssdp_byebye") == 2  # stop() is idempotent
    searches = [fields for name, fields in r["events"] if name == "msearch"]
    assert [(s["st"], s["replies"]) for s in searches] == [
        ("urn:example:nothing:1", 0),
        (MTP_NULL_SERVICE, 1),
        ("ssdp:all", 4),
        (MTP_DEVICE, 1),
    ]
    assert all(s["from"].startswith("127.0.0.1:") for s in searches)
    assert ["http_get", {"path": "/DeviceDescription.xml", "status": 200}] in [
        [name, {k: fields[k] for k in ("path", "status")}]
        for name, fields in r["events"]
        if name == "http_get"
    ]


@pytest.mark.integration
def test_a_third_party_client_finds_the_camera() -> None:
    """ssdpy's SSDPClient (its own M-SEARCH spelling: ``ST:value``, no USER-AGENT) gets the
    camera's replies and reads them with its own parser."""
    r = _run_scenario("ssdpy")
    assert r["mtp"] == [
        {
            "st": MTP_NULL_SERVICE,
            "usn": f"{UDN}::{MTP_NULL_SERVICE}",
            "location": r["location"],
            "ext": "",
            "server": "FedoraCore/2 UPnP/1.0 MINT-X/1.8.1",
            "cache-control": "max-age=1800",
        }
    ]
    assert sorted(r["all"]) == sorted(NTS)
    assert [(s["st"], s["replies"]) for s in r["msearches"]] == [
        (MTP_NULL_SERVICE, 1),
        ("ssdp:all", 4),
    ]


@pytest.mark.integration
def test_http_server_edge_cases() -> None:
    r = _run_scenario("http")
    assert r["start_error"] == "OSError"
    assert r["get"].startswith("HTTP/1.1 200 OK\r\n")
    assert "Content-Length: " in r["get"]
    assert "Connection: close" in r["get"]
    assert r["head"].startswith("HTTP/1.1 200 OK\r\n")
    assert r["head"].endswith("\r\n\r\n")  # no body for HEAD
    assert r["not_found"].startswith("HTTP/1.1 404 ")
    assert r["query"].startswith("HTTP/1.1 200 ")
    assert r["post"].startswith("HTTP/1.1 405 ")
    assert "Allow: GET, HEAD" in r["post"]
    assert r["garbage"].startswith("HTTP/1.1 400 ")
    assert r["oversize"].startswith("HTTP/1.1 400 ")
    assert r["idle"] == ""  # closed without a response after the head timeout
    assert r["idle_seconds"] < WAIT
    statuses = [(f["method"], f["path"], f["status"]) for n, f in r["events"] if n == "http_get"]
    assert statuses == [
        ("GET", "/DeviceDescription.xml", 200),
        ("HEAD", "/DeviceDescription.xml", 200),
        ("GET", "/index.html", 404),
        ("GET", "/DeviceDescription.xml", 200),
        ("POST", "/DeviceDescription.xml", 405),
        ("", "", 400),
        ("", "", 400),
    ]
    # Only the first round went out before stop() cancelled the waiting announcer.
    assert [n for n, _ in r["events"] if n.startswith("ssdp_")] == ["ssdp_alive", "ssdp_byebye"]


# --- scenario side (runs inside the namespace) ------------------------------------------------


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def _listener() -> socket.socket:
    """A plain socket on the group, as a discovery client would have."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    mreq = socket.inet_aton(SSDP_GROUP) + socket.inet_aton("127.0.0.1")
    sock.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, mreq)
    sock.bind(("", SSDP_PORT))
    sock.setblocking(False)
    return sock


def _searcher() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton("127.0.0.1"))
    sock.bind(("127.0.0.1", 0))
    sock.setblocking(False)
    return sock


async def _recv(sock: socket.socket) -> tuple[SsdpMessage, int]:
    loop = asyncio.get_running_loop()
    data, addr = await asyncio.wait_for(loop.sock_recvfrom(sock, 65536), WAIT)
    return parse_message(data), addr[1]


async def _collect_notifies(sock: socket.socket, out: asyncio.Queue[dict[str, Any]]) -> None:
    loop = asyncio.get_running_loop()
    while True:
        data, addr = await loop.sock_recvfrom(sock, 65536)
        try:
            message = parse_message(data)
        except SsdpParseError:
            continue  # the garbage the scenario itself sends
        if message.kind == "notify":
            await out.put(
                {
                    "nts": message.nts,
                    "nt": message.nt,
                    "usn": message.headers.get("usn"),
                    "location": message.location,
                    "source_port": addr[1],
                }
            )


async def _take(queue: asyncio.Queue[dict[str, Any]], count: int) -> list[dict[str, Any]]:
    return [await asyncio.wait_for(queue.get(), WAIT) for _ in range(count)]


def _fetch(url: str) -> tuple[int, str, bytes]:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # never a proxy
    with opener.open(url, timeout=WAIT) as response:
        return response.status, response.headers["Content-Type"], response.read()


async def _scenario_ssdp() -> dict[str, Any]:
    records = _Records()
    logging.getLogger("sony_pm_alt.emulator.ssdp").addHandler(records)
    logging.getLogger("sony_pm_alt.emulator.ssdp").setLevel(logging.DEBUG)
    events: list[tuple[str, dict[str, object]]] = []
    group = (SSDP_GROUP, SSDP_PORT)
    result: dict[str, Any] = {}

    listener, searcher = _listener(), _searcher()
    notifies: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    collector = asyncio.create_task(_collect_notifies(listener, notifies))
    config = SsdpConfig(
        advertise_host="127.0.0.1",
        interface="127.0.0.1",
        http_host="127.0.0.1",
        http_port=0,
        notify_interval=0.05,
        max_rounds=2,
        byebye_first=True,
    )
    responder = SsdpResponder(config, CAMERA, on_event=lambda n, f: events.append((n, f)))
    await responder.start()
    result["location"] = responder.location
    result["announce"] = await _take(notifies, 12)

    searcher.sendto(msearch("urn:example:nothing:1"), group)
    searcher.sendto(msearch(MTP_NULL_SERVICE), group)
    reply, port = await _recv(searcher)
    result["reply"] = {
        "kind": reply.kind,
        "st": reply.st,
        "usn": reply.headers.get("usn"),
        "location": reply.location,
        "ext": reply.headers.get("ext"),
        "source_port": port,
    }
    searcher.sendto(msearch("ssdp:all"), group)
    result["all_replies"] = [(await _recv(searcher))[0].st for _ in range(4)]

    status, content_type, body = await asyncio.to_thread(_fetch, responder.location)
    description = parse_description(body)
    result["description"] = {
        "status": status,
        "content_type": content_type,
        "manufacturer": description.manufacturer,
        "udn": description.udn,
    }

    searcher.sendto(SSDPY_KILLER, group)
    searcher.sendto(b"\xff\xfe\x00garbage", group)
    searcher.sendto(b"M-SEARCH * HTTP/1.1\r\nST: " + b"x" * 9000 + b"\r\n\r\n", group)
    for number in range(GARBAGE_COUNT):
        searcher.sendto(b"NOTIFY * HTTP/1.1\r\nno colon %d\r\n\r\n" % number, group)
    searcher.sendto(msearch(MTP_DEVICE), group)
    result["after_garbage_reply"] = (await _recv(searcher))[0].st

    await responder.stop()
    await responder.stop()
    result["byebye"] = await _take(notifies, 4)
    collector.cancel()
    listener.close()
    searcher.close()

    result["events"] = events
    result["malformed_logged"] = sum("malformed" in r.getMessage() for r in records.records)
    result["errors_logged"] = [
        r.getMessage() for r in records.records if r.levelno >= logging.WARNING
    ]
    return result


async def _http(port: int, request: bytes) -> str:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(request)
    await writer.drain()
    response = await asyncio.wait_for(reader.read(), WAIT)
    writer.close()
    return response.decode(errors="replace")


async def _scenario_http() -> dict[str, Any]:
    ssdp_responder.HTTP_HEAD_TIMEOUT = 0.5
    events: list[tuple[str, dict[str, object]]] = []
    result: dict[str, Any] = {}
    # A long interval: stop() must cancel the announcer while it waits for round 2.
    config = SsdpConfig(
        "127.0.0.1", http_host="127.0.0.1", http_port=0, notify_interval=30.0, max_rounds=3
    )

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        busy = SsdpConfig("127.0.0.1", http_host="127.0.0.1", http_port=taken.getsockname()[1])
        try:
            await SsdpResponder(busy, CAMERA).start()
        except OSError as exc:
            result["start_error"] = type(exc).__name__

    async with SsdpResponder(config, CAMERA, on_event=lambda n, f: events.append((n, f))) as r:
        port = int(r.location.split(":")[2].split("/")[0])
        path = b"/DeviceDescription.xml"
        result["get"] = await _http(port, b"GET " + path + b" HTTP/1.1\r\nHost: x\r\n\r\n")
        result["head"] = await _http(port, b"HEAD " + path + b" HTTP/1.0\r\n\r\n")
        result["not_found"] = await _http(port, b"GET /index.html HTTP/1.1\r\n\r\n")
        result["query"] = await _http(port, b"GET " + path + b"?x=1 HTTP/1.1\r\n\r\n")
        result["post"] = await _http(port, b"POST " + path + b" HTTP/1.1\r\n\r\n")
        result["garbage"] = await _http(port, b"\x00\xffgarbage\r\n\r\n")
        result["oversize"] = await _http(port, b"GET /" + b"a" * 9000 + b" HTTP/1.1\r\n\r\n")
        started = time.monotonic()
        result["idle"] = await _http(port, b"")
        result["idle_seconds"] = time.monotonic() - started
    result["events"] = events
    return result


def _ssdpy_search(st: str) -> list[dict[str, str]]:
    # Bound to lo: the namespace routes the group through it. The client collects replies
    # until a second passes without one (its own window; every reply is sent at once).
    client = SSDPClient(address="127.0.0.1", timeout=1)
    try:
        replies: list[dict[str, str]] = client.m_search(st=st, mx=1)
    finally:
        client.sock.close()
    return replies


async def _scenario_ssdpy() -> dict[str, Any]:
    events: list[tuple[str, dict[str, object]]] = []
    config = SsdpConfig(
        "127.0.0.1", interface="127.0.0.1", http_host="127.0.0.1", http_port=0, max_rounds=1
    )
    async with SsdpResponder(config, CAMERA, on_event=lambda n, f: events.append((n, f))) as r:
        mtp = await asyncio.to_thread(_ssdpy_search, MTP_NULL_SERVICE)
        every = await asyncio.to_thread(_ssdpy_search, "ssdp:all")
        location = r.location
    return {
        "location": location,
        "mtp": mtp,
        "all": [reply["st"] for reply in every],
        "msearches": [fields for name, fields in events if name == "msearch"],
    }


_SCENARIOS = {"ssdp": _scenario_ssdp, "http": _scenario_http, "ssdpy": _scenario_ssdpy}

if __name__ == "__main__":
    outcome = asyncio.run(asyncio.wait_for(_SCENARIOS[sys.argv[1]](), 40))
    print(json.dumps(outcome))
