"""Tests for where a paired GUID comes from: MAC, registry ContainerID, captures, new GUIDs."""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import dpkt
import pytest

from sony_pm_alt import guid_tools
from sony_pm_alt.guid_tools import (
    CapturedInit,
    guid_from_container_id,
    guid_from_mac,
    guids_from_capture,
    new_guid,
)
from sony_pm_alt.identity import parse_guid
from sony_pm_alt.ptpip.packets import InitCommandRequest, InitEventRequest, encode_packet

# sony-pm-alt README: PlayMemories Home on host "WIN7-VM" (a VirtualBox NIC, 08:00:27:…).
README_GUID = bytes.fromhex("0000000000000000ffff080027f5164f")
# The README's hex dump of that Init Command Request (docs/protocol.md §4.1), 44 bytes.
README_INIT = bytes.fromhex(
    "2c000000 01000000"
    "00000000 00000000 ffff0800 27f5164f"
    "5700 4900 4e00 3700 2d00 5600 4d00 0000"
    "0000 0100"
)
SETTER_GUID = bytes.fromhex("ffff525400b6fda9ffff523c2807a93a")

PC_MAC, CAMERA_MAC = bytes.fromhex("080027f5164f"), bytes.fromhex("d8c46a9769b4")
PC, CAMERA = "192.168.1.10", "192.168.1.222"
PTPIP_PORT = 15740


def test_readme_init_bytes_are_what_the_codec_encodes() -> None:
    assert encode_packet(InitCommandRequest(README_GUID, "WIN7-VM")) == README_INIT


# --- guid_from_mac -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "mac",
    [
        "08:00:27:f5:16:4f",
        "08-00-27-F5-16-4F",  # Windows ipconfig /all
        "080027f5164f",
        "080027F5164F",
        "  08:00:27:F5:16:4f\n",
    ],
)
def test_guid_from_mac_gives_the_readme_guid(mac: str) -> None:
    assert guid_from_mac(mac) == README_GUID
    assert guid_from_mac(mac) == parse_guid("0000000000000000ffff080027f5164f")


@pytest.mark.parametrize(
    "mac",
    [
        "",
        "08:00:27:f5:16",  # 5 bytes
        "08:00:27:f5:16:4f:00",  # 7 bytes
        "080027f5164",
        "080027f5164f00",
        "08:00-27:f5:16:4f",  # mixed separators
        "08:00:27:f5:16:4g",
        "8:0:27:f5:16:4f",  # single-digit groups
        "0800.27f5.164f",  # Cisco dots
        "ff:ff:08:00:27:f5:16:4f",  # already a GUID tail
    ],
)
def test_guid_from_mac_rejects_what_is_not_a_mac(mac: str) -> None:
    with pytest.raises(ValueError, match="is not a MAC address"):
        guid_from_mac(mac)


# --- guid_from_container_id --------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "{a4d7a2f7-c5ae-11e4-93ac-080027f5164f}",
        "a4d7a2f7-c5ae-11e4-93ac-080027f5164f",
        "{A4D7A2F7-C5AE-11E4-93AC-080027F5164F}",
        " {a4d7a2f7-c5ae-11e4-93ac-080027f5164f} ",
        # a line pasted from `reg query …\VID_14CD&PID_6D00\5&c1e6cce&0&1 /v ContainerID`
        "    ContainerID    REG_SZ    {a4d7a2f7-c5ae-11e4-93ac-080027f5164f}",
    ],
)
def test_container_id_gives_the_same_guid_as_the_mac(text: str) -> None:
    assert guid_from_container_id(text) == README_GUID


@pytest.mark.parametrize(
    "text",
    [
        "",
        "{a4d7a2f7-c5ae-11e4-93ac-080027f5164}",  # 11 digits in the last group
        "{a4d7a2f7c5ae11e493ac080027f5164f}",  # no dashes
        "a4d7a2f7-c5ae-11e4-93ac-080027f5164f-00",
        "{a4d7a2f7-c5ae-11e4-93ac-080027f5164f} {b4d7a2f7-c5ae-11e4-93ac-080027f5164e}",
        "08:00:27:f5:16:4f",
    ],
)
def test_container_id_rejects_other_text(text: str) -> None:
    with pytest.raises(ValueError, match="is not a registry ContainerID"):
        guid_from_container_id(text)


def test_container_id_docstring_says_the_match_is_unverified() -> None:
    doc = guid_from_container_id.__doc__ or ""
    assert "unverified" in doc
    assert "one user" in doc


# --- new_guid ----------------------------------------------------------------------------------


def test_new_guid_has_playmemories_shape() -> None:
    seen = set()
    for _ in range(5000):
        guid = new_guid()
        assert len(guid) == 16
        assert guid[:10] == bytes(8) + b"\xff\xff"
        assert guid[10] & 0x02, "locally administered bit must be set"
        assert not guid[10] & 0x01, "multicast bit must be clear"
        seen.add(guid)
    assert len(seen) == 5000  # 46 random bits: a repeat would mean no randomness
    # Every other bit of the first MAC byte does vary.
    varying = 0
    for guid in seen:
        varying |= guid[10]
    assert varying == 0xFE


def test_new_guid_is_a_valid_init_command_request_guid() -> None:
    guid = new_guid()
    assert encode_packet(InitCommandRequest(guid, "linux"))[8:24] == guid


# --- captures: building frames with dpkt ------------------------------------------------------


def _ip4(text: str) -> bytes:
    return socket.inet_pton(socket.AF_INET, text)


def _ip6(text: str) -> bytes:
    return socket.inet_pton(socket.AF_INET6, text)


def _tcp(sport: int, dport: int, seq: int, ack: int, data: bytes, flags: int | None) -> Any:
    if flags is None:
        flags = dpkt.tcp.TH_ACK | (dpkt.tcp.TH_PUSH if data else 0)
    return dpkt.tcp.TCP(sport=sport, dport=dport, seq=seq, ack=ack, flags=flags, data=data)


def _ipv4(src: str, dst: str, segment: Any) -> Any:
    return dpkt.ip.IP(src=_ip4(src), dst=_ip4(dst), p=dpkt.ip.IP_PROTO_TCP, ttl=64, data=segment)


def _ether(src_mac: bytes, dst_mac: bytes, network: Any) -> bytes:
    kind = dpkt.ethernet.ETH_TYPE_IP6 if isinstance(network, dpkt.ip6.IP6) else 0x0800
    return bytes(dpkt.ethernet.Ethernet(src=src_mac, dst=dst_mac, type=kind, data=network))


class Conversation:
    """One TCP connection's frames, built with dpkt, in the order the test chooses."""

    def __init__(
        self,
        client: tuple[str, int],
        server: tuple[str, int],
        *,
        isn: int = 1000,
        server_isn: int = 5000,
        wrap: Callable[[str, str, Any], bytes] | None = None,
    ) -> None:
        self.client, self.server = client, server
        self.isn, self.server_isn = isn, server_isn
        self.wrap = wrap or (
            lambda src, dst, seg: _ether(
                PC_MAC if src == client[0] else CAMERA_MAC,
                CAMERA_MAC if src == client[0] else PC_MAC,
                _ipv4(src, dst, seg),
            )
        )

    def _frame(self, from_client: bool, seq: int, data: bytes, flags: int | None) -> bytes:
        (src, sport), (dst, dport) = (
            (self.client, self.server) if from_client else (self.server, self.client)
        )
        ack = 0 if flags == dpkt.tcp.TH_SYN else (self.server_isn if from_client else self.isn) + 1
        segment = _tcp(sport, dport, seq & 0xFFFFFFFF, ack & 0xFFFFFFFF, data, flags)
        return self.wrap(src, dst, segment)

    def handshake(self) -> list[bytes]:
        syn, ack = dpkt.tcp.TH_SYN, dpkt.tcp.TH_ACK
        return [
            self._frame(True, self.isn, b"", syn),
            self._frame(False, self.server_isn, b"", syn | ack),
            self._frame(True, self.isn + 1, b"", ack),
        ]

    def client_data(self, offset: int, data: bytes) -> bytes:
        return self._frame(True, self.isn + 1 + offset, data, None)

    def server_data(self, offset: int, data: bytes) -> bytes:
        return self._frame(False, self.server_isn + 1 + offset, data, None)


def _write(path: Path, frames: Iterable[bytes], fmt: str, linktype: int = 1) -> Path:
    with path.open("wb") as out:
        if fmt == "pcap":
            writer: Any = dpkt.pcap.Writer(out, linktype=linktype)
        else:
            writer = dpkt.pcapng.Writer(out, linktype=linktype)
        for number, frame in enumerate(frames):
            writer.writepkt(frame, ts=1_700_000_000 + number / 1000)
    return path


def _unrelated_traffic() -> list[bytes]:
    http = Conversation((PC, 50100), ("93.184.216.34", 80), isn=77, server_isn=99)
    ssdp = dpkt.ip.IP(
        src=_ip4(CAMERA),
        dst=_ip4("239.255.255.250"),
        p=dpkt.ip.IP_PROTO_UDP,
        data=dpkt.udp.UDP(sport=1900, dport=1900, ulen=8 + 21, data=b"NOTIFY * HTTP/1.1\r\n\r\n"),
    )
    arp = dpkt.ethernet.Ethernet(
        src=CAMERA_MAC, dst=b"\xff" * 6, type=dpkt.ethernet.ETH_TYPE_ARP, data=dpkt.arp.ARP()
    )
    return [
        *http.handshake(),
        http.client_data(0, b"GET / HTTP/1.1\r\nHost: example.com\r\n\r\n"),
        http.server_data(0, b"HTTP/1.1 200 OK\r\n\r\n" + b"x" * 900),
        _ether(CAMERA_MAC, b"\x01\x00\x5e\x7f\xff\xfa", ssdp),
        bytes(arp),
    ]


def _playmemories_session() -> list[bytes]:
    """PlayMemories' command connection (Init split in two segments, the second captured first,
    then a retransmission of the first), the camera's Ack, the event connection, other traffic."""
    command = Conversation((PC, 49712), (CAMERA, PTPIP_PORT))
    event = Conversation((PC, 49713), (CAMERA, PTPIP_PORT), isn=0xFFFFFFF0, server_isn=7)
    ack = bytes.fromhex(
        "34000000 02000000 01000000 00000000 00000000 ffffd8c4 6a9769b4"
        "4900 4c00 4300 4500 2d00 3500 3000 3000 3000 0000 0000 0100"
    )
    head, tail = README_INIT[:20], README_INIT[20:]
    unrelated = _unrelated_traffic()
    return [
        *unrelated[:3],
        *command.handshake(),
        command.client_data(20, tail),  # out of order: the second segment first
        unrelated[3],
        command.client_data(0, head),
        command.client_data(0, head),  # retransmission
        command.server_data(0, ack),
        *event.handshake(),  # ISN near 2**32: sequence numbers wrap inside this stream
        event.client_data(0, encode_packet(InitEventRequest(1))),
        event.server_data(0, bytes.fromhex("08000000 04000000")),
        command.client_data(44, bytes.fromhex("16000000 06000000 00000000 0210 00000000 01000000")),
        *unrelated[4:],
    ]


EXPECTED = CapturedInit(
    guid=README_GUID,
    friendly_name="WIN7-VM",
    client=f"{PC}:49712",
    server=f"{CAMERA}:{PTPIP_PORT}",
)


@pytest.mark.parametrize("fmt", ["pcap", "pcapng"])
def test_capture_of_playmemories_gives_its_guid_and_name(tmp_path: Path, fmt: str) -> None:
    path = _write(tmp_path / f"pm.{fmt}", _playmemories_session(), fmt)
    assert guids_from_capture(path) == [EXPECTED]


@pytest.mark.parametrize("fmt", ["pcap", "pcapng"])
def test_capture_without_the_handshake_still_reassembles(tmp_path: Path, fmt: str) -> None:
    """Capture started after the SYN: the start is the lowest sequence number seen."""
    command = Conversation((PC, 49712), (CAMERA, PTPIP_PORT), isn=0xFFFFFFFA)  # wraps mid-packet
    frames = [
        command.client_data(30, README_INIT[30:]),
        command.client_data(10, README_INIT[10:30]),
        command.client_data(0, README_INIT[:10]),
        command.client_data(10, README_INIT[10:30]),
    ]
    path = _write(tmp_path / f"late.{fmt}", frames, fmt)
    assert guids_from_capture(path) == [EXPECTED]


def test_every_init_is_returned_in_order_on_any_port(tmp_path: Path) -> None:
    first = Conversation((PC, 49712), (CAMERA, PTPIP_PORT))
    proxied = Conversation(("10.0.0.5", 40000), ("10.0.0.9", 2222), isn=42)
    gphoto = encode_packet(InitCommandRequest(SETTER_GUID, "linux"))
    frames = [
        *first.handshake(),
        first.client_data(0, README_INIT),
        *proxied.handshake(),
        proxied.client_data(0, gphoto[:3]),
        proxied.client_data(3, gphoto[3:]),
    ]
    path = _write(tmp_path / "two.pcapng", frames, "pcapng")
    assert guids_from_capture(path) == [
        EXPECTED,
        CapturedInit(SETTER_GUID, "linux", "10.0.0.5:40000", "10.0.0.9:2222"),
    ]


def test_a_reused_four_tuple_is_a_new_connection(tmp_path: Path) -> None:
    before = Conversation((PC, 49712), (CAMERA, PTPIP_PORT), isn=1000)
    after = Conversation((PC, 49712), (CAMERA, PTPIP_PORT), isn=900_000)
    second = encode_packet(InitCommandRequest(SETTER_GUID, "linux"))
    frames = [
        *before.handshake(),
        before.client_data(0, README_INIT),
        *after.handshake(),
        after.client_data(0, second),
    ]
    path = _write(tmp_path / "reuse.pcap", frames, "pcap")
    assert [c.guid for c in guids_from_capture(path)] == [README_GUID, SETTER_GUID]


def test_a_segment_missing_from_the_capture_ends_the_stream(tmp_path: Path) -> None:
    command = Conversation((PC, 49712), (CAMERA, PTPIP_PORT))
    frames = [
        *command.handshake(),
        command.client_data(0, README_INIT[:20]),
        command.client_data(30, README_INIT[30:]),  # bytes 20–29 were dropped
    ]
    path = _write(tmp_path / "gap.pcap", frames, "pcap")
    assert guids_from_capture(path) == []


def test_a_stream_not_starting_with_an_init_request_is_ignored(tmp_path: Path) -> None:
    """An Init Command Request in the middle of another stream is not a connection's first bytes."""
    other = Conversation((PC, 50000), (CAMERA, PTPIP_PORT))
    frames = [
        *other.handshake(),
        other.client_data(0, encode_packet(InitEventRequest(1))),
        other.client_data(12, README_INIT),
    ]
    path = _write(tmp_path / "middle.pcap", frames, "pcap")
    assert guids_from_capture(path) == []


def test_only_the_first_64_kib_of_a_stream_are_read(tmp_path: Path) -> None:
    command = Conversation((PC, 49712), (CAMERA, PTPIP_PORT))
    late_init = encode_packet(InitCommandRequest(SETTER_GUID, "late"))
    # A huge Data packet (type 10) after the Init, then a second Init beyond 64 KiB.
    data_len = 70 * 1024
    data_packet = (
        (8 + 4 + data_len).to_bytes(4, "little") + (10).to_bytes(4, "little") + bytes(4 + data_len)
    )
    stream = README_INIT + data_packet + late_init
    frames = [*command.handshake()]
    for offset in range(0, len(stream), 1400):
        frames.append(command.client_data(offset, stream[offset : offset + 1400]))
    path = _write(tmp_path / "big.pcapng", frames, "pcapng")
    assert guids_from_capture(path) == [EXPECTED]
    assert guid_tools.MAX_STREAM_BYTES == 64 * 1024


def test_ipv6_over_linux_cooked_capture(tmp_path: Path) -> None:
    def wrap(src: str, dst: str, segment: Any) -> bytes:
        ip6 = dpkt.ip6.IP6(
            src=_ip6(src), dst=_ip6(dst), nxt=dpkt.ip.IP_PROTO_TCP, hlim=64, data=segment
        )
        ip6.plen = len(segment)
        sll = dpkt.sll.SLL(
            type=4, hrd=1, hlen=6, hdr=PC_MAC + b"\0\0", ethtype=dpkt.ethernet.ETH_TYPE_IP6
        )
        sll.data = ip6
        return bytes(sll)

    command = Conversation(("fe80::a00:27ff:fef5:164f", 50001), ("fe80::1", 15741), wrap=wrap)
    frames = [*command.handshake(), command.client_data(0, README_INIT)]
    path = _write(tmp_path / "any.pcap", frames, "pcap", linktype=dpkt.pcap.DLT_LINUX_SLL)
    assert guids_from_capture(path) == [
        CapturedInit(README_GUID, "WIN7-VM", "[fe80::a00:27ff:fef5:164f]:50001", "[fe80::1]:15741")
    ]


@pytest.mark.parametrize(("linktype", "header"), [(0, b"\x02\x00\x00\x00"), (101, b"")])
def test_loopback_and_raw_ip_link_types(tmp_path: Path, linktype: int, header: bytes) -> None:
    def wrap(src: str, dst: str, segment: Any) -> bytes:
        return header + bytes(_ipv4(src, dst, segment))

    command = Conversation(("127.0.0.1", 50002), ("127.0.0.1", PTPIP_PORT), wrap=wrap)
    frames = [*command.handshake(), command.client_data(0, README_INIT)]
    path = _write(tmp_path / "lo.pcapng", frames, "pcapng", linktype=linktype)
    (found,) = guids_from_capture(path)
    assert (found.guid, found.client, found.server) == (
        README_GUID,
        "127.0.0.1:50002",
        f"127.0.0.1:{PTPIP_PORT}",
    )


def test_snap_length_truncated_segments_are_not_trusted(tmp_path: Path) -> None:
    command = Conversation((PC, 49712), (CAMERA, PTPIP_PORT))
    whole = command.client_data(0, README_INIT)
    frames = [*command.handshake(), whole[:-10]]  # the capture kept only part of the frame
    path = _write(tmp_path / "snap.pcap", frames, "pcap")
    assert guids_from_capture(path) == []


def test_a_capture_cut_mid_record_keeps_what_came_before(tmp_path: Path) -> None:
    path = _write(tmp_path / "cut.pcap", _playmemories_session(), "pcap")
    data = path.read_bytes()
    path.write_bytes(data[:-7])
    assert guids_from_capture(path) == [EXPECTED]
    path.write_bytes(data + b"\x01\x02\x03")  # a partial record header at the end
    assert guids_from_capture(path) == [EXPECTED]


@pytest.mark.parametrize("fmt", ["pcap", "pcapng"])
def test_a_capture_without_ptpip_gives_an_empty_list(tmp_path: Path, fmt: str) -> None:
    path = _write(tmp_path / f"other.{fmt}", _unrelated_traffic(), fmt)
    assert guids_from_capture(path) == []
    empty = _write(tmp_path / f"empty.{fmt}", [], fmt)
    assert guids_from_capture(empty) == []


@pytest.mark.parametrize(
    "content",
    [
        b"",
        b"hello, this is not a capture\n",
        b"\x00" * 3,
        README_INIT,
        b"\x89PNG\r\n\x1a\n" + bytes(100),
    ],
)
def test_a_file_that_is_not_a_capture_is_a_value_error(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "notes.txt"
    path.write_bytes(content)
    with pytest.raises(ValueError, match=r"notes\.txt is not a pcap or pcapng capture"):
        guids_from_capture(path)


def test_a_missing_file_is_the_usual_oserror(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        guids_from_capture(tmp_path / "missing.pcap")
