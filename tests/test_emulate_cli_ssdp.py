"""`sony-pm-alt emulate --ssdp` as a LAN client sees it, inside a private network namespace:
a plain UDP listener joined to the group hears the four NOTIFYs, an M-SEARCH is answered,
the description URL serves well-formed XML naming Sony Corporation, and SIGTERM sends byebyes.

The pytest test runs this file as a script in a fresh namespace (``tests/netns.py``); the
script prints one JSON line that the test asserts on. Nothing leaves the namespace.
"""

from __future__ import annotations

import json
import signal
import socket
import struct
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

from netns import netns_python

WAIT = 10.0  # bound on any single expected datagram inside the namespace
GROUP, PORT = "239.255.255.250", 1900
MTP_NULL_SERVICE = "urn:microsoft-com:service:MtpNullService:1"


def test_emulate_announces_answers_and_describes_itself() -> None:
    proc = netns_python(Path(__file__), timeout=90)
    assert proc.returncode == 0, proc.stderr.decode(errors="replace")
    result: dict[str, Any] = json.loads(proc.stdout.decode().strip().splitlines()[-1])

    udn = "uuid:00000000-0001-0010-8000-0a1b2c3d4e5f"
    assert result["alive_nts"] == [
        udn,
        "upnp:rootdevice",
        "urn:microsoft-com:device:mtp:1",
        MTP_NULL_SERVICE,
    ]
    assert result["location"] == "http://127.0.0.1:1900/DeviceDescription.xml"
    assert result["server"] == "FedoraCore/2 UPnP/1.0 MINT-X/1.8.1"
    assert result["search_reply"].startswith("HTTP/1.1 200 OK\r\n")
    assert f"USN: {udn}::{MTP_NULL_SERVICE}" in result["search_reply"]
    assert result["description"]["manufacturer"] == "Sony Corporation"
    assert result["description"]["model_name"] == "ILCE-5000"
    assert result["description"]["udn"] == udn
    assert set(result["byebye_nts"]) == set(result["alive_nts"])
    assert result["emulator_exit"] == 0


# --- inside the namespace -----------------------------------------------------------------


def _headers(datagram: bytes) -> dict[str, str]:
    lines = datagram.decode().split("\r\n")
    return {
        k.strip().upper(): v.strip() for k, _, v in (ln.partition(":") for ln in lines[1:] if ln)
    }


def _recv(sock: socket.socket) -> bytes:
    data, _ = sock.recvfrom(8192)
    return data


def _scenario() -> dict[str, Any]:
    from sony_pm_alt.ssdp.description import parse_description

    listener = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("", PORT))
    mreq = struct.pack("4s4s", socket.inet_aton(GROUP), socket.inet_aton("0.0.0.0"))
    listener.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, mreq)
    listener.settimeout(WAIT)

    emulator = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "sony_pm_alt",
            "emulate",
            "--ssdp",
            "--model",
            "ILCE-5000",
            "--mac",
            "0a:1b:2c:3d:4e:5f",
            "--port",
            "15740",
            "--notify-interval",
            "0.5",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert emulator.stdout is not None
    assert emulator.stdout.readline().strip() == "15740"

    alive: list[dict[str, str]] = []
    deadline = time.monotonic() + WAIT
    while len(alive) < 4 and time.monotonic() < deadline:
        headers = _headers(_recv(listener))
        if headers.get("NTS") == "ssdp:alive":
            alive.append(headers)

    searcher = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    searcher.settimeout(WAIT)
    searcher.sendto(
        (
            f'M-SEARCH * HTTP/1.1\r\nHOST: {GROUP}:{PORT}\r\nMAN: "ssdp:discover"\r\n'
            f"ST: {MTP_NULL_SERVICE}\r\nMX: 1\r\n\r\n"
        ).encode(),
        (GROUP, PORT),
    )
    reply = _recv(searcher).decode()
    location = alive[0]["LOCATION"]
    with urllib.request.urlopen(location, timeout=WAIT) as response:
        description = parse_description(response.read())

    emulator.send_signal(signal.SIGTERM)
    byebye: list[str] = []
    deadline = time.monotonic() + WAIT
    while len(byebye) < 4 and time.monotonic() < deadline:
        headers = _headers(_recv(listener))
        if headers.get("NTS") == "ssdp:byebye":
            byebye.append(headers["NT"])
    code = emulator.wait(timeout=WAIT)
    return {
        "alive_nts": [h["NT"] for h in alive],
        "location": location,
        "server": alive[0]["SERVER"],
        "search_reply": reply,
        "description": {
            "manufacturer": description.manufacturer,
            "model_name": description.model_name,
            "udn": description.udn,
        },
        "byebye_nts": byebye,
        "emulator_exit": code,
    }


if __name__ == "__main__":
    print(json.dumps(_scenario()))
