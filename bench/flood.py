"""What an SSDP flood costs `watch`'s discovery: CPU of the receive thread, memory, and whether
a real camera is still found. Runs inside a private network namespace (``unshare -rn``), so
nothing leaves the machine; every loop is bounded in count and time.

A sender process (its CPU is not counted) floods 239.255.255.250:1900 from 200 spoofed
loopback sources for ``--seconds`` (at most ``--max-datagrams``) while an emulated camera
announces itself; the listener is :class:`sony_pm_alt.discovery.Discovery` in this process.
The receive thread's CPU time comes from ``/proc/self/task/TID/stat``.

usage: python bench/flood.py [--seconds 10] [--kind junk|notify|msearch|mixed] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

NETNS_SETUP = (
    "ip link set lo up && ip link set lo multicast on && "
    "ip route add 239.0.0.0/8 dev lo src 127.0.0.1"
)
GROUP, PORT = "239.255.255.250", 1900
SOURCES = 200
MTP = "urn:microsoft-com:service:MtpNullService:1"


def datagram(kind: str, n: int, source: str) -> bytes:
    if kind == "mixed":
        kind = ("junk", "notify", "msearch")[n % 3]
    if kind == "junk":
        return b"\x00garbage " + str(n).encode() * 8
    if kind == "msearch":
        return (
            b"M-SEARCH * HTTP/1.1\r\nHOST: 239.255.255.250:1900\r\n"
            b'MAN: "ssdp:discover"\r\nMX: 1\r\nST: ssdp:all\r\n\r\n'
        )
    return (
        f"NOTIFY * HTTP/1.1\r\nHOST: 239.255.255.250:1900\r\nCACHE-CONTROL: max-age=1800\r\n"
        f"LOCATION: http://{source}:9/{n}.xml\r\nNT: {MTP}\r\nNTS: ssdp:alive\r\n"
        f"SERVER: flood/1.0\r\nUSN: uuid:{n:08x}-0000-0000-0000-000000000000::{MTP}\r\n\r\n"
    ).encode()


def sender(kind: str, seconds: float, max_datagrams: int) -> int:
    """Flood from SOURCES loopback addresses; print how many datagrams went out."""
    socks = []
    for i in range(SOURCES):
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.bind((f"127.0.{1 + i // 250}.{1 + i % 250}", 0))
        sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, 1)
        socks.append(sock)
    payloads = [datagram(kind, n, s.getsockname()[0]) for n, s in enumerate(socks)]
    end = time.monotonic() + seconds
    sent = 0
    while sent < max_datagrams and time.monotonic() < end:
        for sock, payload in zip(socks, payloads, strict=True):
            try:
                sock.sendto(payload, (GROUP, PORT))
            except OSError:
                continue
            sent += 1
    print(sent)
    return 0


def thread_cpu(native_id: int) -> float:
    fields = Path(f"/proc/self/task/{native_id}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks  # utime, stime


def measure(kind: str, seconds: float, max_datagrams: int) -> dict[str, Any]:
    from sony_pm_alt.discovery import DiscoveredCamera, Discovery, DiscoveryConfig

    found: list[tuple[float, DiscoveredCamera]] = []
    start = time.monotonic()
    discovery = Discovery(
        DiscoveryConfig(interface="127.0.0.1", search_interval=2.0),
        lambda camera: found.append((time.monotonic() - start, camera)),
    )
    discovery.start()
    (receiver,) = [t for t in threading.enumerate() if t.name == "ssdp-discovery"]
    assert receiver.native_id is not None
    cli = [sys.executable, "-m", "sony_pm_alt"]
    camera = subprocess.Popen(
        [*cli, "emulate", "--ssdp", "--port", "15740", "--ssdp-interface", "127.0.0.1",
         "--notify-interval", "1", "--activations", "0"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )  # fmt: skip
    assert camera.stdout is not None
    camera.stdout.readline()
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    cpu_before, process_before, wall_before = (
        thread_cpu(receiver.native_id),
        time.process_time(),
        time.monotonic(),
    )
    flood = subprocess.run(
        [sys.executable, __file__, "--send", kind, str(seconds), str(max_datagrams)],
        capture_output=True, text=True, timeout=seconds + 30, check=True,
    )  # fmt: skip
    wall = time.monotonic() - wall_before
    cpu = thread_cpu(receiver.native_id) - cpu_before
    process = time.process_time() - process_before
    during = [t for t, _ in found if wall_before - start <= t <= wall_before - start + wall]
    discovery.stop()
    camera.terminate()
    camera.wait(timeout=30)
    sent = int(flood.stdout.strip())
    return {
        "kind": kind,
        "seconds": round(wall, 2),
        "sent": sent,
        "sent_per_second": round(sent / wall),
        "receive_thread_cpu_share": round(cpu / wall, 3),
        "process_cpu_share": round(process / wall, 3),
        "max_rss_growth_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss_before,
        "camera_found": bool(found),
        "camera_found_during_flood": bool(during),
        "stats": discovery.stats,
    }


def main() -> int:
    if len(sys.argv) == 5 and sys.argv[1] == "--send":
        return sender(sys.argv[2], float(sys.argv[3]), int(sys.argv[4]))
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--max-datagrams", type=int, default=5_000_000)
    parser.add_argument("--kind", default="mixed", choices=["junk", "notify", "msearch", "mixed"])
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--inside", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if not args.inside:
        inner = f'{NETNS_SETUP} && exec "$0" "$@"'
        argv = ["unshare", "-rn", "sh", "-c", inner, sys.executable, __file__, *sys.argv[1:]]
        return subprocess.run(
            [*argv, "--inside"], check=False, timeout=args.seconds + 120
        ).returncode
    result = measure(args.kind, args.seconds, args.max_datagrams)
    if args.json:
        print(json.dumps(result))
    else:
        for key, value in result.items():
            print(f"{key:28} {value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
