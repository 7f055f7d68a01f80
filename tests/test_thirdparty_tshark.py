"""Wireshark's PTP/IP dissector reads a full session with the emulator: no malformed packets,
and the operations it decodes are the ones the emulator's recorder logged."""

from __future__ import annotations

from pathlib import Path

import pytest

from capture import LiveCapture, tshark
from emulator_proc import PAIRED_GUID, gphoto2_cli, gphoto2_home, operations, run, running_emulator
from sony_pm_alt.emulator import build_demo_card

pytestmark = pytest.mark.integration


def test_tshark_decodes_a_full_gphoto2_session(tmp_path: Path) -> None:
    card = build_demo_card(tmp_path / "card", photos=2)
    dest = tmp_path / "dest"
    dest.mkdir()
    pcap = tmp_path / "session.pcapng"
    with running_emulator(tmp_path, "--guid", PAIRED_GUID, card=card) as emu:
        live = LiveCapture(emu.port, pcap)
        try:
            result = run(
                [gphoto2_cli(), "--port", emu.gphoto2_port, "--camera", "PTP/IP Camera", "-P"],
                env=gphoto2_home(tmp_path),
                cwd=dest,
            )
            assert result.returncode == 0, result.stderr
            recorded = [op for op, _ in operations(emu)]
            live.wait_for_requests(len(recorded))
        finally:
            live.stop()

    assert tshark(pcap, emu.port, "-Y", "_ws.malformed || _ws.expert.severity >= error") == []
    decoded = tshark(
        pcap, emu.port, "-Y", "ptpip.pktType == 6", "-T", "fields", "-e", "ptpip.opcode"
    )
    assert [int(op, 16) for op in decoded] == recorded
    assert 0x9280 in recorded
    guid_and_name = tshark(
        pcap,
        emu.port,
        "-Y",
        "ptpip.pktType == 1",
        "-T",
        "fields",
        "-e",
        "ptpip.guid",
        "-e",
        "ptpip.name",
    )
    assert len(guid_and_name) == 1
    assert guid_and_name[0].split("\t")[0].replace(":", "") == PAIRED_GUID.replace(":", "")
    # Wireshark 4.0 files a response's code under ptpip.opcode, not ptpip.respcode.
    responses = tshark(
        pcap, emu.port, "-Y", "ptpip.pktType == 7", "-T", "fields", "-e", "ptpip.opcode"
    )
    assert responses
    assert set(responses) == {"0x2001"}
