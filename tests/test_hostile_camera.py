"""A hostile camera cannot crash us: data phases longer than asked, shorter, endless, or with a
lying length, and stale replies (emulator faults; issue 9, finding 1).

Before patch 0007 a camera answering GetPartialObject with more bytes than asked made the ptp2
camlib copy them past the caller's buffer: `sony-pm-alt sync` and `watch` died with SIGABRT
(free(): corrupted size) or SIGSEGV, and so did python-gphoto2's own camlibs (2.6.1 with
libgphoto2 2.5.31, 2.6.4 with 2.5.34). Every run here is a child process, so the suite survives
a crash and sees it as an exit status. Each sync is bounded by ``SYNC_LIMIT`` (libgphoto2's own
timeouts are 2.5 s per read); an endless data phase used to hold a sync until the camera gave up
(120 s), which that bound turns into a failure.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import pytest

from capture import LiveCapture, tshark
from emulator_proc import (
    PAIRED_GUID,
    card_files,
    gphoto2_home,
    reference_python,
    run_sync,
    running_emulator,
    write_card,
)
from netns import netns_python
from ptpip_client import connect_session
from sony_pm_alt import native
from sony_pm_alt.ptpip.codes import OperationCode as Op
from sony_pm_alt.ptpip.datasets import ObjectInfo, decode_u32_array

pytestmark = pytest.mark.integration

MIB = 1024 * 1024
CLIENTS = Path(__file__).parent / "clients"
SYNC_LIMIT = 60.0  # a hang guard for one sync; a clean failure takes well under a second
GP_ERROR_CORRUPTED_DATA = -102
STORAGE = 0x00010001
FOLDER = 0x3001


def make_card(root: Path) -> Path:
    """Files of at least one 1 MiB chunk, so a full-size caller buffer is what overflows."""
    return write_card(
        root,
        [
            ("DCIM/100MSDCF/DSC00001.JPG", 3 * MIB + 17),
            ("DCIM/100MSDCF/DSC00002.ARW", MIB),
            ("DCIM/100MSDCF/DSC00003.JPG", 700_000),
        ],
    )


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def visible(dest: Path) -> list[Path]:
    if not dest.exists():
        return []
    return sorted(p for p in dest.rglob("*") if p.is_file() and not p.name.startswith("."))


def summary(lines: list[dict[str, Any]]) -> dict[str, Any]:
    (last,) = [line for line in lines if line["event"] == "summary"]
    return last


def hostile_sync(tmp_path: Path, card: Path, fault: str, *extra: str) -> dict[str, Any]:
    """One sync against the faulty camera: it must end by itself, cleanly, with exit 1."""
    run_dir = tmp_path / "hostile"
    run_dir.mkdir()
    args = ["--guid", PAIRED_GUID, "--fault", fault, *extra]
    with running_emulator(run_dir, *args, card=card) as emu:
        code, lines, err = run_sync(emu, tmp_path, timeout=SYNC_LIMIT)
        faults = {f["kind"] for f in emu.events("fault")}
        power_offs = emu.events("power_off")
    # Before the fix: -6 (SIGABRT) or -11 (SIGSEGV), and no summary.
    assert code == 1, f"exit {code}: {err[-2000:]}"
    assert "Traceback" not in err
    assert fault.split("=")[0].replace("-", "_") in faults
    first = summary(lines)
    assert first["ok"] is False
    assert first["transferred"] == 0
    assert len(first["failed"]) == 3  # each file is named, none is called done
    assert first["powered_off"] is False
    assert power_offs == []  # the camera stays on: nothing was imported
    assert visible(tmp_path / "dest") == []  # nothing at a final name
    return first


def clean_session_completes(tmp_path: Path, card: Path) -> None:
    run_dir = tmp_path / "clean"
    run_dir.mkdir()
    with running_emulator(run_dir, "--guid", PAIRED_GUID, card=card) as emu:
        code, lines, err = run_sync(emu, tmp_path, timeout=SYNC_LIMIT)
    assert code == 0, err[-2000:]
    second = summary(lines)
    assert (second["transferred"], second["failed"], second["powered_off"]) == (3, [], True)
    got = sorted(sha(p) for p in visible(tmp_path / "dest"))
    assert got == sorted(sha(p) for p in card_files(card).values())
    assert not list((tmp_path / "dest").rglob("*.sony-pm-alt-partial"))


@pytest.mark.parametrize("extra", [16, 4096])
def test_more_bytes_than_asked_fail_cleanly_then_a_clean_session_completes(
    tmp_path: Path, extra: int
) -> None:
    card = make_card(tmp_path / "card")
    first = hostile_sync(tmp_path, card, f"oversize-data={extra}")
    assert "the camera sent more than the 1048576 bytes asked for at offset 0" in first["failed"][0]
    clean_session_completes(tmp_path, card)


@pytest.mark.parametrize(
    "fault", ["undersize-data=16", "endless-data=1", "lying-length=8", "lying-length=64"]
)
def test_bad_data_phases_fail_cleanly_then_a_clean_session_completes(
    tmp_path: Path, fault: str
) -> None:
    card = make_card(tmp_path / "card")
    hostile_sync(tmp_path, card, fault)
    clean_session_completes(tmp_path, card)


def test_an_endless_whole_object_read_fails_cleanly_then_a_clean_session_completes(
    tmp_path: Path,
) -> None:
    """A camera without GetPartialObject is read with GetObject, which has no max-bytes
    parameter: its limit is the size ObjectInfo gave. Before, the endless phase held the sync
    until the camera gave up (120 s, beyond ``SYNC_LIMIT``)."""
    card = make_card(tmp_path / "card")
    hostile_sync(tmp_path, card, "endless-data=1", "--without-op", "0x101B")
    clean_session_completes(tmp_path, card)


def test_a_64_bit_partial_read_longer_than_asked_is_refused(tmp_path: Path) -> None:
    """Objects of 4 GiB or more go through the native layer's raw transaction (GetPartialObject64),
    which patch 0007 bounds the same way: a clear refusal, not a silent truncation."""
    card = tmp_path / "card"
    clip = card / "PRIVATE" / "M4ROOT" / "CLIP" / "C0001.MP4"
    clip.parent.mkdir(parents=True)
    with clip.open("wb") as f:
        f.truncate((4 << 30) + 1000)  # sparse: only the bytes written take room
        f.write(os.urandom(4096))
    args = ["--guid", PAIRED_GUID, "--partial64", "--fault", "oversize-data=16"]
    with running_emulator(tmp_path, *args, card=card) as emu:
        code, lines, err = run_sync(emu, tmp_path, timeout=SYNC_LIMIT)
        power_offs = emu.events("power_off")
    assert code == 1, err[-2000:]
    result = summary(lines)
    (failure,) = result["failed"]
    assert "the camera sent more data than asked for" in failure
    assert "while running GET_PARTIAL_OBJECT_64 (0x95C1)" in failure
    assert "(PTP_ERROR_DATA_OVERRUN)" in failure
    assert (result["powered_off"], power_offs) == (False, [])
    assert visible(tmp_path / "dest") == []


def test_stale_replies_are_skipped_and_the_files_are_correct(tmp_path: Path) -> None:
    card = make_card(tmp_path / "card")
    with running_emulator(
        tmp_path, "--guid", PAIRED_GUID, "--fault", "stale-reply=1", card=card
    ) as emu:
        code, lines, err = run_sync(emu, tmp_path, timeout=SYNC_LIMIT)
        stale = emu.events("fault")
    assert code == 0, err[-2000:]
    assert len(stale) > 10  # one before every response after OpenSession
    done = summary(lines)
    assert (done["transferred"], done["powered_off"]) == (3, True)
    got = sorted(sha(p) for p in visible(tmp_path / "dest"))
    assert got == sorted(sha(p) for p in card_files(card).values())


# --- python-gphoto2's Camera.file_read, the call the overflow is in ------------------------------


def partial_reads(tmp_path: Path, python: str, camlibs: str | None) -> dict[str, Any]:
    """pygphoto2_partial_read.py against a camera sending 4096 bytes more than asked:
    ``{"exit": status}`` plus the client's JSON when it got to print it."""
    card = make_card(tmp_path / "card")
    env = gphoto2_home(tmp_path)
    if camlibs:
        env["CLIENT_CAMLIBS"] = camlibs
    with running_emulator(tmp_path, "--fault", "oversize-data=4096", card=card) as emu:
        result = subprocess.run(
            [python, str(CLIENTS / "pygphoto2_partial_read.py"), emu.gphoto2_port],
            env=env,
            capture_output=True,
            text=True,
            timeout=SYNC_LIMIT,
            check=False,
        )
    out: dict[str, Any] = {"exit": result.returncode, "stderr": result.stderr[-2000:]}
    if result.returncode == 0:
        out.update(json.loads(result.stdout.splitlines()[-1]))
    return out


def test_file_read_with_the_patched_camlib_refuses_the_extra_bytes(tmp_path: Path) -> None:
    """The patched camlib under the pinned python-gphoto2: an error, nothing copied."""
    out = partial_reads(tmp_path, sys.executable, str(native.NATIVE_DIR / "camlibs"))
    assert out["exit"] == 0, out["stderr"]
    assert str(native.NATIVE_DIR / "camlibs") in out["camlib"]
    first, *rest = out["files"]
    assert first == {"name": "DSC00001.JPG", "error": GP_ERROR_CORRUPTED_DATA, "at": 0}
    # The connection is out of step after the refusal: later reads fail, none returns data.
    assert [f["name"] for f in rest] == ["DSC00002.ARW", "DSC00003.JPG"]
    assert all("error" in f for f in rest)


@pytest.mark.parametrize("client", ["pinned 2.6.1", "reference 2.6.4"])
def test_the_stock_camlibs_still_overflow(tmp_path: Path, client: str) -> None:
    """Reproduces the upstream bug (docs/security.md): python-gphoto2's own camlibs copy the
    extra bytes past the caller's buffer. The process dies, or file_read returns more bytes
    than the buffer holds (the copy already happened). If this fails, upstream fixed it:
    update docs/security.md and vendor/libgphoto2-patches/README.md."""
    python = sys.executable if client.startswith("pinned") else reference_python()
    out = partial_reads(tmp_path, python, None)
    if out["exit"] == 0:
        first = out["files"][0]
        assert first.get("bad_count", 0) > first.get("asked", 0), first
    else:
        assert out["exit"] in (-signal.SIGABRT, -signal.SIGSEGV), out


# --- what Wireshark sees ----------------------------------------------------------------------


async def _partial_read(port: int, asked: int, reply_bytes: int) -> int:
    """GetPartialObject of ``asked`` bytes of the first file, its ``reply_bytes`` read raw
    (the codec would refuse a lying length); returns the transaction's TID."""
    session = await connect_session(port)
    command = session.command
    handles = decode_u32_array(await command.call_ok(Op.GET_OBJECT_HANDLES, [STORAGE, 0, 0]))
    infos = [ObjectInfo.decode(await command.call_ok(Op.GET_OBJECT_INFO, [h])) for h in handles]
    handle = next(h for h, i in zip(handles, infos, strict=True) if i.object_format != FOLDER)
    await command.request(Op.GET_PARTIAL_OBJECT, [handle, 0, asked])
    request = command.conn.current_request
    assert request is not None
    await command.read_raw(reply_bytes)
    await session.close()
    return request.transaction_id


ASKED = 1000
# fault → (PTP/IP length, TCP payload length) of each data-phase packet the camera sends:
# Start Data (20 bytes), Data, [filler Data], End Data (12), then the response (18).
WIRE = {
    "oversize-data=16": [(9, 20, 20), (10, 12 + ASKED, 12 + ASKED), (10, 28, 28), (12, 12, 12)],
    "lying-length=64": [(9, 20, 20), (10, 12 + ASKED + 64, 12 + ASKED), (12, 12, 12)],
}


@pytest.mark.parametrize("fault", list(WIRE))
def test_tshark_sees_the_faulty_data_phase_as_intended(tmp_path: Path, fault: str) -> None:
    """Wireshark's dissector reads each packet of the faulty phase (one per TCP segment, as the
    emulator writes them): the announced total, each packet's length field against the bytes
    its segment really carries, and the response after them."""
    card = make_card(tmp_path / "card")
    pcap = tmp_path / "faulty.pcapng"
    reply_bytes = sum(tcp for _, _, tcp in WIRE[fault]) + 18
    with running_emulator(tmp_path, "--fault", fault, card=card) as emu:
        live = LiveCapture(emu.port, pcap)
        try:
            tid = asyncio.run(
                asyncio.wait_for(_partial_read(emu.port, ASKED, reply_bytes), SYNC_LIMIT)
            )
            live.wait_for_requests(len(emu.events("operation")))
        finally:
            live.stop()
    rows = tshark(
        pcap,
        emu.port,
        "-Y",
        f"ptpip.transactionID == {tid} && tcp.srcport == {emu.port}",
        "-T",
        "fields",
        "-e",
        "ptpip.pktType",
        "-e",
        "ptpip.len",
        "-e",
        "tcp.len",
        "-e",
        "ptpip.datalen",
    )
    fields = [row.split("\t") for row in rows]
    seen = [(int(t, 16), int(length), int(tcp)) for t, length, tcp, _ in fields]
    want_total = ASKED + 16 if fault.startswith("oversize") else ASKED
    assert seen[:-1] == WIRE[fault]
    assert [int(total) for t, _, _, total in fields if int(t, 16) == 9] == [want_total]
    assert seen[-1][0] == 7  # the response comes last, in a segment of its own


# --- watch ---------------------------------------------------------------------------------------


def test_watch_survives_a_camera_sending_too_much_and_imports_the_next_clean_one(
    tmp_path: Path,
) -> None:
    proc = netns_python(Path(__file__), "watch_oversize", str(tmp_path), timeout=240)
    assert proc.returncode == 0, proc.stderr.decode(errors="replace")[-4000:]
    result = json.loads(proc.stdout.decode().strip().splitlines()[-1])
    assert result["first"] is not None, "watch ended during the hostile session"
    assert result["first"]["ok"] is False
    assert result["first"]["powered_off"] is False
    assert result["alive_after_first"] is True
    assert result["visible_after_first"] == 0
    assert result["second"]["ok"] is True
    assert result["second"]["powered_off"] is True
    assert result["same_bytes"] is True
    assert result["watch_exit"] == 1  # one session failed: said in the exit status


WAIT = 60.0  # bound on any single step of the scenario


def _lines(stream: IO[str]) -> Iterator[dict[str, Any]]:
    for line in stream:  # off a terminal every line of watch's standard output is JSON
        yield json.loads(line)


def _emulator(work: Path, name: str, card: Path, *args: str) -> subprocess.Popen[str]:
    argv = [sys.executable, "-m", "sony_pm_alt", "emulate", "--ssdp", "--port", "15740"]
    argv += ["--notify-interval", "0.3", "--guid", PAIRED_GUID, "--card", str(card)]
    argv += ["--log", str(work / f"{name}.jsonl"), *args]
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "15740"
    return proc


def _scenario_watch_oversize(work: Path) -> dict[str, Any]:
    """Inside a private network namespace: a camera sending 4096 bytes more than asked, then,
    once it is gone, a clean one with the same card on the same address."""
    card = make_card(work / "card")
    dest = work / "dest"
    started: list[subprocess.Popen[str]] = []
    try:
        return _watch_oversize(work, card, dest, started)
    finally:  # a failed step must not leave a watch or an emulator behind
        for proc in started:
            if proc.poll() is None:
                proc.kill()
                proc.wait(timeout=WAIT)


def _watch_oversize(
    work: Path, card: Path, dest: Path, started: list[subprocess.Popen[str]]
) -> dict[str, Any]:
    hostile = _emulator(work, "hostile", card, "--fault", "oversize-data=4096")
    started.append(hostile)
    env = {
        **os.environ,
        "XDG_CONFIG_HOME": str(work / "config"),
        "XDG_DATA_HOME": str(work / "data"),
    }
    argv = [sys.executable, "-m", "sony_pm_alt", "watch", "--state", str(work / "state.sqlite3")]
    argv += ["--guid", PAIRED_GUID, "--dest", str(dest), "--cooldown", "0.5"]
    watch = subprocess.Popen(
        argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env
    )
    started.append(watch)
    assert watch.stdout is not None
    events = _lines(watch.stdout)
    first = next((r for r in events if r["event"] == "summary"), None)
    alive = watch.poll() is None
    visible_after_first = len(visible(dest))
    hostile.send_signal(signal.SIGTERM)  # the camera is switched off, still on: not powered off
    hostile.wait(timeout=WAIT)
    second = None
    if alive:
        clean = _emulator(work, "clean", card)
        started.append(clean)
        second = next((r for r in events if r["event"] == "summary"), None)
        clean.wait(timeout=WAIT)  # powered off: it exits by itself
    watch.send_signal(signal.SIGTERM)
    watch_exit = watch.wait(timeout=WAIT)
    want = sorted(sha(p) for p in card_files(card).values())
    return {
        "first": first,
        "alive_after_first": alive,
        "visible_after_first": visible_after_first,
        "second": second,
        "same_bytes": sorted(sha(p) for p in visible(dest)) == want,
        "watch_exit": watch_exit,
    }


if __name__ == "__main__":
    scenarios = {"watch_oversize": _scenario_watch_oversize}
    print(json.dumps(scenarios[sys.argv[1]](Path(sys.argv[2]))))
