"""A live tshark capture of loopback traffic for tests, and reading the capture back."""

from __future__ import annotations

import shutil
import signal
import socket
import subprocess
import threading
from pathlib import Path

CAPTURE_TIMEOUT = 30.0
# A kernel buffer larger than the whole session, so a busy machine cannot make it drop frames.
CAPTURE_BUFFER_MIB = 256
MARKER_ATTEMPTS, MARKER_WAIT = 60, 0.5


def tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise RuntimeError(f"{name} is missing: run `make test` (it installs tshark)")
    return path


class LiveCapture:
    """tshark capturing loopback TCP of one port to a file while printing each packet's PTP/IP
    type, so a test can wait until the capture has really seen the end of a session.

    "Capturing on" is printed before the capture filter is live, so the start is confirmed by a
    marker: UDP datagrams to a port of our own, which the filter also matches, until one shows up
    in tshark's output. Wireshark 4.0's ptpip dissector decodes one PTP/IP packet per TCP
    segment, from the segment's start: it neither reassembles a packet spread over segments (the
    middle of a large Data packet shows up as a frame of unknown type) nor reads a second packet
    in the same segment. Operation requests always start a segment, so they are what is counted.
    """

    def __init__(self, port: int, out: Path) -> None:
        self._marker = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._marker.bind(("127.0.0.1", 0))
        marker_port = self._marker.getsockname()[1]
        self._proc = subprocess.Popen(
            [
                tool("tshark"),
                "-i",
                "lo",
                "-B",
                str(CAPTURE_BUFFER_MIB),
                "-f",
                f"tcp port {port} or udp port {marker_port}",
                "-d",
                f"tcp.port=={port},ptpip",
                "-w",
                str(out),
                "-P",
                "-l",
                "-T",
                "fields",
                "-e",
                "udp.dstport",
                "-e",
                "ptpip.pktType",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        self._requests = 0
        self._markers = 0
        self._changed = threading.Condition()
        threading.Thread(target=self._read_stdout, daemon=True).start()
        try:
            self._wait_until_live()
        except BaseException:
            self.stop()
            raise

    def _wait_until_live(self) -> None:
        for _ in range(MARKER_ATTEMPTS):
            self._marker.sendto(b"capture marker", self._marker.getsockname())
            self._marker.recv(64)
            with self._changed:
                if self._changed.wait_for(lambda: self._markers > 0, MARKER_WAIT):
                    return
        raise RuntimeError("tshark did not start capturing")

    def _read_stdout(self) -> None:
        assert self._proc.stdout is not None
        for line in self._proc.stdout:
            udp_port, _, types = line.rstrip("\n").partition("\t")
            with self._changed:
                self._markers += bool(udp_port)
                self._requests += types.split(",").count("0x00000006")
                self._changed.notify_all()

    def wait_for_requests(self, count: int) -> None:
        with self._changed:
            if not self._changed.wait_for(lambda: self._requests >= count, CAPTURE_TIMEOUT):
                raise AssertionError(f"capture saw {self._requests} of {count} requests")

    def stop(self) -> None:
        self._proc.send_signal(signal.SIGTERM)
        self._proc.wait(timeout=CAPTURE_TIMEOUT)
        self._marker.close()


def tshark(pcap: Path, port: int, *args: str) -> list[str]:
    result = subprocess.run(
        [tool("tshark"), "-r", str(pcap), "-d", f"tcp.port=={port},ptpip", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return [line for line in result.stdout.splitlines() if line.strip()]
