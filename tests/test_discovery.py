"""Discovery: the per-datagram decision (pure), its memory bounds, and the listener on a network.

Unit tests call :func:`judge`, :class:`AnnouncementFilter` and :meth:`Discovery.receive` with
bytes, a source address and a time; no socket is opened. Network tests run this file as a
script in a fresh private network namespace (``tests/netns.py``): the scenario there uses the
real SSDP group and port 1900 on the namespace's own loopback, prints one JSON line, and the
test asserts on it. Nothing leaves the namespace.
"""

from __future__ import annotations

import contextlib
import json
import logging
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest
from hypothesis import given
from hypothesis import strategies as st
from ssdpy.protocol import create_notify_payload

from netns import netns_python
from sony_pm_alt.discovery import (
    DiscoveredCamera,
    Discovery,
    DiscoveryConfig,
    check_location,
    discover,
)
from sony_pm_alt.discovery.policy import (
    MAX_REMEMBERED_HOSTS,
    AnnouncementFilter,
    Decision,
    judge,
)
from sony_pm_alt.ssdp.description import DeviceDescription, render_description
from sony_pm_alt.ssdp.messages import (
    MAX_DATAGRAM,
    MTP_DEVICE,
    MTP_NULL_SERVICE,
    SSDP_GROUP,
    SSDP_PORT,
    alive_messages,
    byebye_messages,
    msearch,
    msearch_reply,
    parse_message,
    udn_from_mac,
)
from sony_pm_alt.ssdp.sockets import attach_announcement_filter

CAMERA_IP = "192.168.1.20"
UDN = "uuid:00000000-0001-0010-8000-d8c46ad71d7d"
LOCATION = f"http://{CAMERA_IP}:1900/DeviceDescription.xml"
SSDPY_KILLER = b"M-SEARCH * HTTP/1.1\r\nHOST 239.255.255.250:1900\r\n\r\n"
WINDOW = 30.0
WAIT = 10.0  # bound on any single expected event inside the namespace
# Both sides name lo's address for multicast, so announcements come from 127.0.0.1 even where
# the namespace's route for the group has no source address (the kernel then sends from 0.0.0.0).
LOOPBACK = "127.0.0.1"

# The emulator as the network scenarios start it.
EMU_MODEL = "ILCE-5000"
EMU_SERIAL = "00000000000000003282651203392641"
EMU_MAC = "0a:1b:2c:3d:4e:5f"
EMU_UDN = udn_from_mac(bytes.fromhex(EMU_MAC.replace(":", "")))


def _alive(host: str = CAMERA_IP, location: str | None = None) -> bytes:
    """The MtpNullService NOTIFY of one round (the fourth of four)."""
    return alive_messages(UDN, location or f"http://{host}:1900/DeviceDescription.xml")[3]


# --- judge: one datagram, no state ------------------------------------------------------------


def test_alive_notify_for_mtp_null_service_is_fetched() -> None:
    decisions = [judge(d, CAMERA_IP) for d in alive_messages(UDN, LOCATION)]
    assert [d.verdict for d in decisions] == ["ignored", "ignored", "ignored", "fetch"]
    fetch = decisions[3]
    assert (fetch.host, fetch.port, fetch.target, fetch.location, fetch.via) == (
        CAMERA_IP,
        1900,
        "/DeviceDescription.xml",
        LOCATION,
        "NOTIFY",
    )
    assert fetch.hint is None
    assert all(d.level == logging.DEBUG for d in decisions)


def test_msearch_reply_with_mtp_null_service_is_fetched() -> None:
    decision = judge(msearch_reply(MTP_NULL_SERVICE, UDN, LOCATION), CAMERA_IP)
    assert (decision.verdict, decision.via, decision.port) == ("fetch", "M-SEARCH reply", 1900)
    other = judge(msearch_reply(MTP_DEVICE, UDN, LOCATION), CAMERA_IP)
    assert other.verdict == "ignored"


def test_an_announcement_in_another_stacks_spelling_is_fetched() -> None:
    """ssdpy's NOTIFY (``NT:value``, its own header order) from the sender is accepted."""
    notify = create_notify_payload(
        f"{SSDP_GROUP}:{SSDP_PORT}", MTP_NULL_SERVICE, f"{UDN}::{MTP_NULL_SERVICE}", LOCATION
    )
    decision = judge(notify, CAMERA_IP)
    assert (decision.verdict, decision.port, decision.target) == (
        "fetch",
        1900,
        "/DeviceDescription.xml",
    )


def test_byebye_is_ignored_at_debug() -> None:
    decisions = [judge(d, CAMERA_IP) for d in byebye_messages(UDN)]
    assert {d.verdict for d in decisions} == {"ignored"}
    assert {d.level for d in decisions} == {logging.DEBUG}
    assert "byebye" in decisions[3].reason


def test_other_devices_and_msearch_echoes_are_ignored() -> None:
    dial = (
        b"NOTIFY * HTTP/1.1\r\nHOST: 239.255.255.250:1900\r\nCACHE-CONTROL: max-age=1800\r\n"
        b"LOCATION: http://192.168.1.30:8008/ssdp/device-desc.xml\r\n"
        b"NT: urn:dial-multiscreen-org:service:dial:1\r\nNTS: ssdp:alive\r\n"
        b"USN: uuid:1234::urn:dial-multiscreen-org:service:dial:1\r\n\r\n"
    )
    for data in (dial, msearch(), msearch("ssdp:all")):
        decision = judge(data, "192.168.1.30")
        assert (decision.verdict, decision.level) == ("ignored", logging.DEBUG)


def test_other_nts_is_ignored_with_a_line() -> None:
    data = _alive().replace(b"ssdp:alive", b"ssdp:update")
    decision = judge(data, CAMERA_IP)
    assert (decision.verdict, decision.level) == ("ignored", logging.INFO)


def test_search_payload_is_airnefs_msearch_for_the_configured_group() -> None:
    assert msearch(group=SSDP_GROUP, port=SSDP_PORT) == msearch(MTP_NULL_SERVICE, 1)
    custom = parse_message(msearch(group="239.1.2.3", port=1901))
    assert custom.kind == "msearch"
    assert custom.headers["host"] == "239.1.2.3:1901"
    assert (custom.st, custom.headers["mx"]) == (MTP_NULL_SERVICE, "1")


@pytest.mark.parametrize(
    ("location", "why"),
    [
        ("http://192.168.1.99:1900/DeviceDescription.xml", "is not the sender"),
        ("https://192.168.1.20:1900/DeviceDescription.xml", "scheme 'https'"),
        ("ftp://192.168.1.20/DeviceDescription.xml", "scheme 'ftp'"),
        ("file:///etc/passwd", "scheme 'file'"),
        ("//192.168.1.20:1900/DeviceDescription.xml", "no scheme"),
        ("http://camera.local:1900/DeviceDescription.xml", "host name 'camera.local'"),
        ("http://localhost:1900/DeviceDescription.xml", "host name 'localhost'"),
        ("http://admin@192.168.1.20:1900/DeviceDescription.xml", "user info"),
        ("http://192.168.1.99@192.168.1.20/DeviceDescription.xml", "user info"),
        ("http://192.168.1.20:99999/DeviceDescription.xml", "unreadable URL"),
        ("http://192.168.1.20:0/DeviceDescription.xml", "port 0"),
        ("http://192.168.001.020:1900/DeviceDescription.xml", "host name"),
        ("http://[::1]:1900/DeviceDescription.xml", "host name '::1'"),
        ("http://192.168.1.20:1900/Device\u00e9.xml", "characters not allowed"),
    ],
)
def test_location_elsewhere_or_not_plain_http_is_rejected(location: str, why: str) -> None:
    checked = check_location(location, CAMERA_IP)
    assert isinstance(checked, str)
    assert why in checked
    for data in (_alive(location=location), msearch_reply(MTP_NULL_SERVICE, UDN, location)):
        decision = judge(data, CAMERA_IP)
        assert (decision.verdict, decision.level) == ("rejected", logging.WARNING)
        assert "LOCATION points at another host" in decision.reason
        assert why in decision.reason


@pytest.mark.parametrize(
    ("location", "port", "target"),
    [
        ("http://192.168.1.20/DeviceDescription.xml", 80, "/DeviceDescription.xml"),
        ("HTTP://192.168.1.20:8080/d.xml?x=1", 8080, "/d.xml?x=1"),
        ("http://192.168.1.20:1900", 1900, "/"),
    ],
)
def test_location_on_the_sender_is_accepted(location: str, port: int, target: str) -> None:
    assert check_location(location, CAMERA_IP) == (port, target)


def test_announcement_without_location_is_rejected() -> None:
    data = b"".join(line + b"\r\n" for line in _alive().split(b"\r\n") if b"LOCATION" not in line)
    decision = judge(data, CAMERA_IP)
    assert (decision.verdict, decision.level) == ("rejected", logging.INFO)
    assert "without LOCATION" in decision.reason


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"\xff\xfe\x00garbage",
        SSDPY_KILLER,
        b"NOTIFY * HTTP/1.1\r\nno colon here\r\n\r\n",
        b"HTTP/1.1 404 Not Found\r\n\r\n",
        b"NOTIFY * HTTP/1.1\r\nNT: " + b"x" * 9000 + b"\r\n\r\n",
        _alive().replace(b"NTS:", b"NTS:\x01"),
    ],
)
def test_garbage_and_the_ssdpy_killer_are_malformed(data: bytes) -> None:
    decision = judge(data, CAMERA_IP)
    assert (decision.verdict, decision.level) == ("malformed", logging.INFO)
    assert decision.reason.startswith(f"ignoring malformed datagram from {CAMERA_IP}: ")


@given(st.binary(max_size=600))
def test_judge_never_raises(data: bytes) -> None:
    assert judge(data, CAMERA_IP).verdict in {"fetch", "ignored", "malformed", "rejected"}


def test_link_local_sender_is_accepted_with_a_hint() -> None:
    decision = judge(_alive("169.254.209.3"), "169.254.209.3")
    assert decision.verdict == "fetch"
    assert decision.hint is not None
    assert "no DHCP lease" in decision.hint


# --- AnnouncementFilter: the repeat window and its memory -------------------------------------


def test_one_fetch_per_host_per_repeat_window() -> None:
    f = AnnouncementFilter(WINDOW)
    verdicts = [f.decide(_alive(), CAMERA_IP, t).verdict for t in (0.0, 0.5, 3.0, 29.9)]
    assert verdicts == ["fetch", "repeat", "repeat", "repeat"]
    assert f.decide(_alive(), CAMERA_IP, 30.0).verdict == "fetch"
    assert f.decide(_alive(), CAMERA_IP, 31.0).verdict == "repeat"
    f.forget(CAMERA_IP)
    assert f.decide(_alive(), CAMERA_IP, 31.5).verdict == "fetch"
    # Another camera is not held back by the first one.
    assert f.decide(_alive("192.168.1.21"), "192.168.1.21", 31.5).verdict == "fetch"


def test_rejections_do_not_touch_the_repeat_memory() -> None:
    f = AnnouncementFilter(WINDOW)
    spoof = _alive(location="http://192.168.1.99:1900/DeviceDescription.xml")
    assert f.decide(spoof, CAMERA_IP, 0.0).verdict == "rejected"
    assert len(f) == 0
    assert f.decide(_alive(), CAMERA_IP, 0.1).verdict == "fetch"


def _host(index: int) -> str:
    return f"10.{index >> 16 & 255}.{index >> 8 & 255}.{index & 255}"


@given(st.lists(st.tuples(st.integers(0, 5000), st.floats(0.0, 20.0)), max_size=300))
def test_repeat_memory_holds_only_hosts_fetched_within_the_window(
    events: list[tuple[int, float]],
) -> None:
    f = AnnouncementFilter(WINDOW)
    model: dict[str, float] = {}
    now = 0.0
    for index, step in events:
        now += step
        host = _host(index)
        decision = f.decide(_alive(host), host, now)
        expected = "fetch" if host not in model or now - model[host] >= WINDOW else "repeat"
        assert decision.verdict == expected
        if expected == "fetch":
            model[host] = now
        assert len(f) == sum(now - t < WINDOW for t in model.values())


def test_spoofed_flood_is_capped_and_pruned() -> None:
    f = AnnouncementFilter(WINDOW)
    hosts = [_host(i) for i in range(MAX_REMEMBERED_HOSTS + 3000)]
    for number, host in enumerate(hosts):
        assert f.decide(_alive(host), host, number * 0.001).verdict == "fetch"
        assert len(f) <= MAX_REMEMBERED_HOSTS
    assert len(f) == MAX_REMEMBERED_HOSTS
    # Once the window has passed, the next datagram prunes everything older.
    f.decide(_alive(), CAMERA_IP, len(hosts) * 0.001 + WINDOW)
    assert len(f) == 1


# --- Discovery.receive: counting, rate limit, queue, logs (no sockets) ----------------


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
def records() -> Iterator[_Records]:
    logger = logging.getLogger("sony_pm_alt.discovery")
    handler, level = _Records(), logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    yield handler
    logger.removeHandler(handler)
    logger.setLevel(level)


def _ignore(camera: DiscoveredCamera) -> None:
    raise AssertionError(f"no camera expected: {camera}")


def test_link_local_hint_is_logged_once_per_host(records: _Records) -> None:
    discovery = Discovery(DiscoveryConfig(), _ignore)
    t0 = time.monotonic()
    host = "169.254.209.3"
    verdicts = [
        discovery.receive(_alive(host), host, t0 + dt).verdict
        for dt in (0.0, 1.0, WINDOW + 1.0, WINDOW + 2.0)
    ]
    assert verdicts == ["fetch", "repeat", "fetch", "repeat"]
    hints = [r for r in records.records if "no DHCP lease" in r.getMessage()]
    assert len(hints) == 1
    assert hints[0].levelno == logging.WARNING
    assert host in hints[0].getMessage()
    other = "169.254.1.1"
    discovery.receive(_alive(other), other, t0 + 50.0)
    assert sum("no DHCP lease" in r.getMessage() for r in records.records) == 2


def test_full_fetch_queue_drops_and_forgets(records: _Records) -> None:
    discovery = Discovery(DiscoveryConfig(max_pending=4), _ignore)
    t0 = time.monotonic()
    verdicts = [
        discovery.receive(_alive(_host(i)), _host(i), t0 + i * 0.01).verdict for i in range(6)
    ]
    assert verdicts == ["fetch"] * 4 + ["dropped"] * 2
    assert discovery.stats["dropped"] == 2
    # The dropped hosts are not remembered: their next announcement is tried again.
    assert discovery.remembered == 4
    assert discovery.receive(_alive(_host(5)), _host(5), t0 + 1).verdict == "dropped"
    assert discovery.receive(_alive(_host(0)), _host(0), t0 + 1).verdict == "repeat"
    assert any("already queued" in r.getMessage() for r in records.records)


def test_token_bucket_drops_a_flood_and_refills() -> None:
    discovery = Discovery(DiscoveryConfig(datagrams_per_second=10), _ignore)
    t0 = time.monotonic() + 100.0  # a full bucket: one second's worth
    verdicts = [discovery.receive(b"junk", CAMERA_IP, t0).verdict for _ in range(25)]
    assert verdicts.count("malformed") == 10
    assert verdicts.count("dropped") == 15
    later = [discovery.receive(b"junk", CAMERA_IP, t0 + 0.5).verdict for _ in range(10)]
    assert later.count("malformed") == 5
    assert discovery.stats == {
        "datagrams": 35,
        "ignored": 0,
        "malformed": 15,
        "rejected": 0,
        "dropped": 20,
        "fetched": 0,
        "cameras": 0,
    }


def test_rejection_logs_are_rate_limited(records: _Records) -> None:
    discovery = Discovery(DiscoveryConfig(), _ignore)
    t0 = time.monotonic()
    for number in range(150):
        discovery.receive(b"junk %d" % number, CAMERA_IP, t0 + number * 0.01)
    assert discovery.stats["malformed"] == 150
    lines = [r for r in records.records if "malformed" in r.getMessage()]
    assert 32 <= len(lines) < 60  # a burst of 32, then 4 per second of real time
    assert all(r.exc_info is None for r in records.records)


def test_the_kernel_filter_delivers_only_notify_and_http_datagrams() -> None:
    with (
        socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as receiver,
        socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sender,
    ):
        assert attach_announcement_filter(receiver) is True
        receiver.bind((LOOPBACK, 0))
        receiver.settimeout(WAIT)
        reply = msearch_reply(MTP_NULL_SERVICE, UDN, LOCATION)
        for datagram in [b"junk", SSDPY_KILLER, b"", b"NOT", _alive(), b"\x00" * 100, reply]:
            sender.sendto(datagram, receiver.getsockname())
        # Loopback keeps the order: once the last one arrived, nothing else is on its way.
        received: list[bytes] = []
        while not received or received[-1] != reply:
            received.append(receiver.recv(MAX_DATAGRAM))
        assert received == [_alive(), reply]


def test_lifecycle_errors() -> None:
    discovery = Discovery(DiscoveryConfig(), _ignore)
    with pytest.raises(RuntimeError, match="needs start"):
        discovery.search()
    discovery.stop()
    discovery.stop()
    with pytest.raises(RuntimeError, match="started once"):
        discovery.start()


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("interface", "eth0"),
        ("group", "ssdp.local"),
        ("port", 0),
        ("search_interval", 0.0),
        ("description_timeout", float("nan")),
        ("repeat_window", float("inf")),
        ("datagrams_per_second", -1.0),
        ("max_pending", 0),
        ("max_description_bytes", 0),
    ],
)
def test_config_is_validated(field: str, value: object) -> None:
    with pytest.raises(ValueError, match=field):
        DiscoveryConfig(**{field: value})  # type: ignore[arg-type]


# --- network scenarios (pytest side) ----------------------------------------------------------


def _run_scenario(name: str) -> dict[str, Any]:
    proc = netns_python(Path(__file__), name, timeout=90)
    assert proc.returncode == 0, proc.stderr.decode(errors="replace")
    result: dict[str, Any] = json.loads(proc.stdout.decode().strip().splitlines()[-1])
    return result


EMU_CAMERA = {
    "host": "127.0.0.1",
    "location": "http://127.0.0.1:1900/DeviceDescription.xml",
    "udn": EMU_UDN,
    "serial": EMU_SERIAL,
    "model": EMU_MODEL,
    "friendly_name": EMU_MODEL,
    "manufacturer": "Sony Corporation",
}


@pytest.mark.integration
def test_emulator_is_found_once_over_several_rounds() -> None:
    r = _run_scenario("emulator")
    assert r["cameras"] == [EMU_CAMERA]
    assert r["repeats"] >= 4  # at least five rounds of four NOTIFYs each
    assert r["stats"]["fetched"] == 1
    assert r["stats"]["cameras"] == 1
    assert r["stats"]["malformed"] == r["stats"]["rejected"] == r["stats"]["dropped"] == 0
    assert r["stats"]["ignored"] >= 4 * 3 + 4  # the other three NTs each round, the repeats
    assert r["http_gets"] == [["/DeviceDescription.xml", 200]]
    assert [m for m in r["log"] if m["level"] != "INFO"] == []
    assert r["emulator_exit"] == 0


@pytest.mark.integration
def test_discover_finds_the_emulator_by_msearch() -> None:
    r = _run_scenario("msearch")
    assert r["cameras"] == [EMU_CAMERA]
    # The emulator announced once before discover() started and not again: only the reply to
    # the M-SEARCH can have led to the camera.
    assert any(m["msg"].startswith("M-SEARCH reply from 127.0.0.1: fetching") for m in r["log"])
    assert not any(m["msg"].startswith("NOTIFY from 127.0.0.1: fetching") for m in r["log"])
    assert r["msearches"] == [[MTP_NULL_SERVICE, 1]]
    assert r["http_gets"] == [["/DeviceDescription.xml", 200]]
    assert r["emulator_exit"] == 0


@pytest.mark.integration
def test_spoofed_and_hostile_announcements_are_refused() -> None:
    r = _run_scenario("spoof")
    messages = [m["msg"] for m in r["log"]]
    assert not any(m["exc"] for m in r["log"])  # never a traceback

    # No connection to another host, nor for any refused LOCATION.
    assert r["third_host_requests"] == 0
    hostile_paths = ["/big.xml", "/big-nolength.xml", "/laughs.xml", "/other.xml"]
    assert sorted(r["paths"]) == sorted([*hostile_paths, "/redirect.xml", "/slow.xml", "/good.xml"])
    for location in r["spoofed_locations"]:
        assert any(
            "LOCATION points at another host" in m and repr(location) in m for m in messages
        ), location

    def logged(*parts: str) -> bool:
        return any(all(p in m for p in parts) for m in messages)

    assert logged("127.0.0.1", "oversized: Content-Length")
    assert logged("127.0.0.10", "oversized: more than 65536 bytes")
    assert logged("127.0.0.5", "forbidden XML construct")
    assert logged("ignoring 127.0.0.6", "manufacturer is 'Acme Corp'")
    assert logged("127.0.0.7", "HTTP 302")
    assert logged("127.0.0.9", "no complete answer within 1 s")
    assert sum("malformed datagram" in m for m in messages) == r["garbage_sent"]

    # Garbage and the ssdpy killer did not stop the loop: the later valid one was found.
    assert [c["host"] for c in r["cameras"]] == ["127.0.0.8"]
    assert r["cameras"][0]["model"] == "ILCE-7M2"
    stats = r["stats"]
    assert stats["malformed"] == r["garbage_sent"]
    # Non-SSDP datagrams never reached the process (the kernel filter dropped them).
    assert stats["datagrams"] == r["reached"]
    assert stats["rejected"] == len(r["spoofed_locations"]) + 5  # big x2, laughs, 302, slow
    assert stats["fetched"] == 7
    assert stats["cameras"] == 1


@pytest.mark.integration
def test_callback_errors_forget_and_stop_during_a_fetch() -> None:
    r = _run_scenario("worker")
    assert r["hosts"] == ["127.0.0.8", "127.0.0.12", "127.0.0.8"]
    failures = [m for m in r["log"] if m["msg"].startswith("on_camera failed")]
    assert [(m["level"], m["exc"]) for m in failures] == [("ERROR", True)]
    # stop() cut the trickle short (it returned while the server was still sending) and
    # logged no rejection for it.
    assert r["stop_returned_mid_trickle"] is True
    assert not any("127.0.0.9" in m["msg"] for m in r["log"])
    assert r["stats"]["fetched"] == 4
    assert r["stats"]["cameras"] == 3
    assert r["stats"]["rejected"] == 0


@pytest.mark.integration
def test_a_flood_is_read_within_the_budget_and_the_camera_is_still_found() -> None:
    r = _run_scenario("flood")
    assert r["cameras"] == [EMU_CAMERA]
    assert r["found_while_flooding"] is True  # the flood stopped because the camera was found
    # The token buckets hold whatever the flood's rate: at most the budget per second plus
    # one burst per socket were read; the rest stayed in the kernel.
    assert r["stats"]["datagrams"] <= r["budget"] * r["elapsed"] + 2 * r["budget"]
    assert r["sent"] > r["stats"]["datagrams"]
    assert r["remembered"] <= MAX_REMEMBERED_HOSTS
    assert r["pending"] <= r["max_pending"]
    assert not any(m["exc"] for m in r["log"])


# --- network scenarios (run inside the namespace) ---------------------------------------------


def _capture_logs() -> _Records:
    handler = _Records()
    logger = logging.getLogger("sony_pm_alt.discovery")
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    return handler


def _log_lines(handler: _Records, level: int = logging.INFO) -> list[dict[str, Any]]:
    return [
        {"level": r.levelname, "msg": r.getMessage(), "exc": r.exc_info is not None}
        for r in handler.records
        if r.levelno >= level
    ]


def _camera_dict(camera: DiscoveredCamera) -> dict[str, str]:
    return {
        "host": camera.host,
        "location": camera.location,
        "udn": camera.udn,
        "serial": camera.serial,
        "model": camera.model,
        "friendly_name": camera.friendly_name,
        "manufacturer": camera.manufacturer,
    }


def _start_emulator(log_path: Path, notify_interval: str) -> subprocess.Popen[str]:
    emulator = subprocess.Popen(
        [
            *(sys.executable, "-m", "sony_pm_alt", "emulate", "--ssdp", "--model", EMU_MODEL),
            *("--serial", EMU_SERIAL, "--mac", EMU_MAC, "--port", "15740", "--log", str(log_path)),
            *("--notify-interval", notify_interval, "--ssdp-interface", LOOPBACK),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert emulator.stdout is not None
    assert emulator.stdout.readline().strip() == "15740"
    return emulator


def _stop_emulator(emulator: subprocess.Popen[str], log_path: Path) -> dict[str, Any]:
    emulator.send_signal(signal.SIGTERM)
    emulator.communicate(timeout=WAIT)
    events = [json.loads(line) for line in log_path.read_text().splitlines() if line.strip()]
    return {
        "emulator_exit": emulator.returncode,
        "http_gets": [[e["path"], e["status"]] for e in events if e["event"] == "http_get"],
        "msearches": [[e["st"], e["replies"]] for e in events if e["event"] == "msearch"],
    }


class _RecordingDiscovery(Discovery):
    """Discovery that also hands every decision to a condition the scenario waits on."""

    def __init__(
        self, config: DiscoveryConfig, on_camera: Callable[[DiscoveredCamera], None]
    ) -> None:
        super().__init__(config, on_camera)
        self.decisions: list[Decision] = []
        self.changed = threading.Condition()

    def receive(self, data: bytes, source: str, now: float | None = None) -> Decision:
        decision = super().receive(data, source, now)
        with self.changed:
            self.decisions.append(decision)
            self.changed.notify_all()
        return decision


def _scenario_emulator(tmp: Path) -> dict[str, Any]:
    logs = _capture_logs()
    cameras: list[DiscoveredCamera] = []
    found = threading.Event()

    def on_camera(camera: DiscoveredCamera) -> None:
        cameras.append(camera)
        found.set()

    def repeats() -> int:
        return sum(d.verdict == "repeat" and d.via == "NOTIFY" for d in discovery.decisions)

    discovery = _RecordingDiscovery(DiscoveryConfig(interface=LOOPBACK), on_camera)
    discovery.start()
    log_path = tmp / "emulator.jsonl"
    emulator = _start_emulator(log_path, "0.5")
    try:
        assert found.wait(WAIT), "no camera reported"
        with discovery.changed:
            assert discovery.changed.wait_for(lambda: repeats() >= 4, WAIT), repeats()
    finally:
        discovery.stop()
        emulator_result = _stop_emulator(emulator, log_path)
    return {
        "cameras": [_camera_dict(c) for c in cameras],
        "repeats": repeats(),
        "stats": discovery.stats,
        "log": _log_lines(logs),
        **emulator_result,
    }


def _group_listener() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("", SSDP_PORT))
    mreq = socket.inet_aton(SSDP_GROUP) + socket.inet_aton("0.0.0.0")
    sock.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, mreq)
    sock.settimeout(WAIT)
    return sock


def _scenario_msearch(tmp: Path) -> dict[str, Any]:
    logs = _capture_logs()
    log_path = tmp / "emulator.jsonl"
    with _group_listener() as listener:
        # A long interval: the emulator's first round goes out now, the next one after the test.
        emulator = _start_emulator(log_path, "60")
        try:
            for _ in range(16):  # the first round: four NOTIFYs, MtpNullService last
                message = parse_message(listener.recvfrom(8192)[0])
                if message.kind == "notify" and message.nt == MTP_NULL_SERVICE:
                    break
            else:
                raise AssertionError("the emulator's first round did not arrive")
            cameras = discover(DiscoveryConfig(interface=LOOPBACK), timeout=2.0)
        finally:
            emulator_result = _stop_emulator(emulator, log_path)
    return {
        "cameras": [_camera_dict(c) for c in cameras],
        "log": _log_lines(logs, logging.DEBUG),
        **emulator_result,
    }


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
]>
<root xmlns="urn:schemas-upnp-org:device-1-0"><device><UDN>&lol4;</UDN></device></root>
"""


def _description(model: str, manufacturer: str = "Sony Corporation") -> bytes:
    return render_description(
        DeviceDescription(
            friendly_name=model,
            model_name=model,
            manufacturer=manufacturer,
            serial_number="1234",
            udn=UDN,
        )
    )


class _HostileHandler(BaseHTTPRequestHandler):
    """Serves one description per path, most of them hostile; records every request path."""

    paths: ClassVar[list[str]] = []  # one server of each kind per scenario process
    slow_started: ClassVar[threading.Event] = threading.Event()
    slow_finished: ClassVar[threading.Event] = threading.Event()  # all 200 bytes went out

    def do_GET(self) -> None:
        self.paths.append(self.path)
        # The client hangs up on an oversized or trickling answer, as it should.
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            self._answer()

    def _answer(self) -> None:
        big = b"<!--" + b"x" * (70 * 1024) + b"-->"
        if self.path == "/big-nolength.xml":
            self._head(200)
            self.wfile.write(big)  # HTTP/1.0, no Content-Length: the end is the close
        elif self.path == "/slow.xml":
            self.slow_started.set()
            self._head(200, 200)
            for _ in range(200):  # one byte every 0.1 s: 20 s if nobody cut it off
                self.wfile.write(b" ")
                self.wfile.flush()
                time.sleep(0.1)  # the trickling server under test, not synchronisation
            self.slow_finished.set()
        elif self.path == "/redirect.xml":
            self.send_response(302)
            self.send_header("Location", "http://127.0.0.2:1900/DeviceDescription.xml")
            self.send_header("Content-Length", "0")
            self.end_headers()
        else:
            body = {
                "/big.xml": big,
                "/laughs.xml": BILLION_LAUGHS,
                "/other.xml": _description("Box 1", "Acme Corp"),
                "/good.xml": _description("ILCE-7M2"),
            }.get(self.path)
            if body is None:
                self.send_error(404)
                return
            self._head(200, len(body))
            self.wfile.write(body)

    def _head(self, status: int, length: int | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "text/xml")
        if length is not None:
            self.send_header("Content-Length", str(length))
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


class _ThirdHostHandler(_HostileHandler):
    """The host a spoofed LOCATION points at: it must never be asked for anything."""

    paths: ClassVar[list[str]] = []


def _send_from(source: str, datagram: bytes) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind((source, 0))
        sock.sendto(datagram, (SSDP_GROUP, SSDP_PORT))


def _scenario_spoof(tmp: Path) -> dict[str, Any]:
    logs = _capture_logs()
    third_host = ThreadingHTTPServer(("127.0.0.2", 1900), _ThirdHostHandler)
    hostile = ThreadingHTTPServer(("", 0), _HostileHandler)
    hostile.daemon_threads = True
    for server in (third_host, hostile):
        threading.Thread(target=server.serve_forever, daemon=True).start()
    port = hostile.server_address[1]

    cameras: list[DiscoveredCamera] = []
    found = threading.Event()

    def on_camera(camera: DiscoveredCamera) -> None:
        cameras.append(camera)
        found.set()

    discovery = Discovery(DiscoveryConfig(LOOPBACK, description_timeout=1.0), on_camera)
    discovery.start()
    try:
        spoofs = [
            ("127.0.0.1", "http://127.0.0.2:1900/DeviceDescription.xml"),
            ("127.0.0.3", "http://127.0.0.2:1900/DeviceDescription.xml"),
            ("127.0.0.1", f"https://127.0.0.1:{port}/spoof-https.xml"),
            ("127.0.0.1", f"http://localhost:{port}/spoof-hostname.xml"),
            ("127.0.0.1", f"http://cam@127.0.0.1:{port}/spoof-userinfo.xml"),
            ("127.0.0.1", f"ftp://127.0.0.1:{port}/spoof-ftp.xml"),
        ]
        for source, location in spoofs:
            _send_from(source, _alive(location=location))
        reply_spoof = "http://127.0.0.2:1900/DeviceDescription.xml"
        _send_from("127.0.0.4", msearch_reply(MTP_NULL_SERVICE, UDN, reply_spoof))

        hostile_sources = [
            ("127.0.0.1", "/big.xml"),
            ("127.0.0.10", "/big-nolength.xml"),
            ("127.0.0.5", "/laughs.xml"),
            ("127.0.0.6", "/other.xml"),
            ("127.0.0.7", "/redirect.xml"),
            ("127.0.0.9", "/slow.xml"),
        ]
        for source, path in hostile_sources:
            _send_from(source, _alive(location=f"http://{source}:{port}{path}"))

        # The kernel filter drops what does not start like SSDP before we read it ...
        filtered = [
            SSDPY_KILLER,
            b"\xff\xfe\x00garbage",
            b"M-SEARCH * HTTP/1.1\r\nST: " + b"x" * 9000 + b"\r\n\r\n",
            b"x" * 20000,
            b"",
            b"NOT",
        ]
        # ... and the parser refuses the rest.
        garbage = [
            b"NOTIFY * HTTP/1.1\r\nno colon\r\n\r\n",
            b"HTTP/1.1 999 Nonsense\r\n\r\n",
            b"NOTIFY \xff\xfe\x00",
            b"NOTIFY * HTTP/1.1\r\nLOCATION: " + b"x" * 9000 + b"\r\n\r\n",
        ]
        for datagram in filtered + garbage:
            _send_from("127.0.0.11", datagram)

        _send_from("127.0.0.8", _alive(location=f"http://127.0.0.8:{port}/good.xml"))
        assert found.wait(WAIT), "the valid announcement after the garbage was not found"
        assert discovery.wait_idle(WAIT)
    finally:
        discovery.stop()
        for server in (third_host, hostile):
            server.shutdown()
            server.server_close()
    return {
        "cameras": [_camera_dict(c) for c in cameras],
        "paths": _HostileHandler.paths,
        "third_host_requests": len(_ThirdHostHandler.paths),
        "spoofed_locations": [loc for _, loc in spoofs] + [reply_spoof],
        "garbage_sent": len(garbage),
        "reached": len(spoofs) + 1 + len(hostile_sources) + len(garbage) + 1,
        "stats": discovery.stats,
        "log": _log_lines(logs),
    }


def _scenario_worker(tmp: Path) -> dict[str, Any]:
    logs = _capture_logs()
    hostile = ThreadingHTTPServer(("", 0), _HostileHandler)
    hostile.daemon_threads = True
    threading.Thread(target=hostile.serve_forever, daemon=True).start()
    port = hostile.server_address[1]
    hosts: list[str] = []
    reported = threading.Condition()

    def on_camera(camera: DiscoveredCamera) -> None:
        with reported:
            hosts.append(camera.host)
            reported.notify_all()
        if len(hosts) == 1:
            raise RuntimeError("a bug in the caller's callback")

    def announce(source: str, path: str) -> None:
        _send_from(source, _alive(location=f"http://{source}:{port}{path}"))

    def wait_for_reports(count: int) -> None:
        with reported:
            assert reported.wait_for(lambda: len(hosts) >= count, WAIT), hosts

    discovery = Discovery(DiscoveryConfig(LOOPBACK, description_timeout=30.0), on_camera)
    discovery.start()
    try:
        announce("127.0.0.8", "/good.xml")
        wait_for_reports(1)  # on_camera raised
        announce("127.0.0.12", "/good.xml")
        wait_for_reports(2)  # the worker survived it
        announce("127.0.0.8", "/good.xml")  # a repeat: not fetched
        discovery.forget("127.0.0.8")
        announce("127.0.0.8", "/good.xml")  # forgotten: fetched again
        wait_for_reports(3)
        announce("127.0.0.9", "/slow.xml")
        assert _HostileHandler.slow_started.wait(WAIT)
    finally:
        discovery.stop()
        stop_returned_mid_trickle = not _HostileHandler.slow_finished.is_set()
        discovery.stop()
        hostile.shutdown()
        hostile.server_close()
    return {
        "hosts": hosts,
        "stop_returned_mid_trickle": stop_returned_mid_trickle,
        "stats": discovery.stats,
        "log": _log_lines(logs),
    }


def _scenario_flood(tmp: Path) -> dict[str, Any]:
    """A bounded flood from 100 spoofed senders (NOTIFYs with LOCATIONs on the sender, junk,
    M-SEARCHes) until the emulated camera is found, or 2,000,000 datagrams / 60 s."""
    logs = _capture_logs()
    found = threading.Event()
    cameras: list[DiscoveredCamera] = []

    def on_camera(camera: DiscoveredCamera) -> None:
        if camera.host == LOOPBACK:
            cameras.append(camera)
            found.set()

    budget = 200.0
    config = DiscoveryConfig(
        LOOPBACK, description_timeout=0.5, search_interval=1.0, datagrams_per_second=budget
    )
    discovery = Discovery(config, on_camera)
    senders = []
    for i in range(100):
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.bind((f"127.0.1.{i + 1}", 0))
        senders.append(sock)
    payloads = [
        (_alive(location=f"http://127.0.1.{i + 1}:9/d.xml"), b"junk", SSDPY_KILLER)[i % 3]
        for i in range(100)
    ]
    sent = 0
    start = time.monotonic()
    discovery.start()
    log_path = tmp / "emulator.jsonl"
    emulator = _start_emulator(log_path, "0.5")
    try:
        while not found.is_set() and sent < 2_000_000 and time.monotonic() - start < 60:
            for sock, payload in zip(senders, payloads, strict=True):
                with contextlib.suppress(OSError):
                    sock.sendto(payload, (SSDP_GROUP, SSDP_PORT))
                sent += 1
        found_while_flooding = found.is_set()
        elapsed = time.monotonic() - start
        stats = discovery.stats
        remembered = discovery.remembered
        pending = discovery.pending
    finally:
        discovery.stop()
        _stop_emulator(emulator, log_path)
        for sock in senders:
            sock.close()
    return {
        "cameras": [_camera_dict(c) for c in cameras[:1]],
        "found_while_flooding": found_while_flooding,
        "sent": sent,
        "elapsed": elapsed,
        "budget": budget,
        "stats": stats,
        "remembered": remembered,
        "pending": pending,
        "max_pending": config.max_pending,
        "log": _log_lines(logs, logging.ERROR),
    }


_SCENARIOS = {
    "emulator": _scenario_emulator,
    "msearch": _scenario_msearch,
    "spoof": _scenario_spoof,
    "worker": _scenario_worker,
    "flood": _scenario_flood,
}

if __name__ == "__main__":
    with tempfile.TemporaryDirectory(prefix="sony-pm-alt-discovery-") as scratch:
        print(json.dumps(_SCENARIOS[sys.argv[1]](Path(scratch))))
