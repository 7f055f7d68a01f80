"""`sony-pm-alt sync` against the emulator: complete and byte-identical, only new files,
safe after a dropped connection, flat memory on huge files, bulk listing with a fallback that
plans the same, hostile names kept inside the destination."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from emulator_proc import (
    PAIRED_GUID,
    card_files,
    json_lines,
    run_sync,
    running_emulator,
    sync_command,
)
from sony_pm_alt.emulator.process import EmulatorProcess

pytestmark = pytest.mark.integration

MIB = 1024 * 1024
GIB = 1024 * MIB


def make_card(root: Path) -> Path:
    """Photos, a RAW pair, a video, and the same name in two camera folders."""
    files = {
        "DCIM/100MSDCF/DSC00001.JPG": 3 * MIB + 17,
        "DCIM/100MSDCF/DSC00001.ARW": 2 * MIB + 5,
        "DCIM/100MSDCF/DSC00002.JPG": 700_000,
        "DCIM/101MSDCF/DSC00001.JPG": 1_500_000,
        "PRIVATE/M4ROOT/CLIP/C0001.MP4": 5 * MIB + 3,
    }
    for n, (rel, size) in enumerate(files.items()):
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(os.urandom(size))
        stamp = 1714557600 + 3600 * n  # 2024-05-01, an hour apart
        os.utime(path, (stamp, stamp))
    return root


def summary(lines: list[dict[str, Any]]) -> dict[str, Any]:
    (last,) = [line for line in lines if line["event"] == "summary"]
    return last


def saved(lines: list[dict[str, Any]]) -> list[Path]:
    return [Path(line["path"]) for line in lines if line["event"] == "saved"]


def sha(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(8 * MIB):
            digest.update(chunk)
    return digest.hexdigest()


def test_complete_byte_identical_then_nothing_new(tmp_path: Path) -> None:
    card = make_card(tmp_path / "card")
    with running_emulator(tmp_path, "--guid", PAIRED_GUID, "--activations", "2", card=card) as emu:
        code, lines, err = run_sync(emu, tmp_path)
        assert code == 0, err
        first = summary(lines)
        assert (first["planned"], first["transferred"], first["failed"]) == (5, 5, [])
        assert first["powered_off"] is True
        dest = tmp_path / "dest"
        got = sorted(sha(p) for p in saved(lines))
        assert got == sorted(sha(p) for p in card_files(card).values())
        assert all(p.is_relative_to(dest) for p in saved(lines))
        # The two DSC00001.JPG of different camera folders are both kept.
        day = dest / "2024" / "2024-05-01"
        assert {p.name for p in day.iterdir()} >= {"DSC00001.JPG", "DSC00001-1.JPG"}
        # Capture time becomes the modification time.
        for path in saved(lines):
            sources = [s for s in card_files(card).values() if sha(s) == sha(path)]
            assert int(path.stat().st_mtime) == int(sources[0].stat().st_mtime)
        assert not list(dest.rglob("*.sony-pm-alt-partial"))

        # Deleting a local copy does not make it new; a second session transfers nothing
        # and still powers the camera off.
        saved(lines)[0].unlink()
        code, lines, err = run_sync(emu, tmp_path)
        assert code == 0, err
        second = summary(lines)
        assert (second["planned"], second["transferred"], second["powered_off"]) == (0, 0, True)
        assert [s["state"] for s in emu.events("screen")] == [
            "sending",
            "powered_off",
            "sending",
            "powered_off",
        ]
        assert emu.wait(timeout=30) == 0


def test_a_dropped_connection_leaves_nothing_half_done(tmp_path: Path) -> None:
    card = make_card(tmp_path / "card")
    dest = tmp_path / "dest"
    with running_emulator(
        tmp_path, "--guid", PAIRED_GUID, "--fault", f"drop-after-bytes={4 * MIB}", card=card
    ) as emu:
        code, lines, _ = run_sync(emu, tmp_path)
        assert code == 1
        first = summary(lines)
        assert first["failed"]
        assert first["powered_off"] is False  # not everything is safe: the camera stays on
        assert emu.events("power_off") == []
    complete = {sha(p) for p in card_files(card).values()}
    # Whatever is at a final name is complete and recorded; nothing partial is visible.
    visible = [p for p in dest.rglob("*") if p.is_file() and not p.name.startswith(".")]
    assert {sha(p) for p in visible} <= complete
    assert len(visible) == first["transferred"]
    partials = list(dest.rglob("*.sony-pm-alt-partial"))
    assert len(partials) == 1

    (tmp_path / "second").mkdir()
    with running_emulator(tmp_path / "second", "--guid", PAIRED_GUID, card=card) as emu:
        code, lines, err = run_sync(emu, tmp_path)
        assert code == 0, err
        assert [line["event"] for line in lines if line["event"] == "resumed"] == ["resumed"]
        second = summary(lines)
        assert second["transferred"] == 5 - first["transferred"]
        assert second["powered_off"] is True
    visible = [p for p in dest.rglob("*") if p.is_file() and not p.name.startswith(".")]
    assert sorted(sha(p) for p in visible) == sorted(complete)
    assert not list(dest.rglob("*.sony-pm-alt-partial"))


def test_bulk_listing_and_the_fallback_plan_the_same(tmp_path: Path) -> None:
    card = make_card(tmp_path / "card")
    plans = {}
    for name, args in (("bulk", ()), ("gphoto2", ("--without-op", "0x9805"))):
        run_dir = tmp_path / name
        run_dir.mkdir()
        with running_emulator(run_dir, "--guid", PAIRED_GUID, *args, card=card) as emu:
            code, lines, err = run_sync(emu, run_dir, "--dry-run")
            assert code == 0, err
            assert summary(lines)["listing"] == name
            plans[name] = sorted(
                (line["file"], line["size"], line["capture_time"])
                for line in lines
                if line["event"] == "skipped"
            )
            ops = {r["opcode"] for r in emu.events("operation")}
            assert (0x9805 in ops) == (name == "bulk")
    assert plans["bulk"] == plans["gphoto2"]
    assert len(plans["bulk"]) == 5


def test_hostile_names_never_escape_the_destination(tmp_path: Path) -> None:
    card = make_card(tmp_path / "card")
    outside_before = {p for p in tmp_path.rglob("*")}
    with running_emulator(
        tmp_path, "--guid", PAIRED_GUID, "--fault", "hostile-names=1", card=card
    ) as emu:
        _, lines, _ = run_sync(emu, tmp_path)
    dest = (tmp_path / "dest").resolve()
    for path in saved(lines):
        assert path.resolve().is_relative_to(dest)
        assert "\x1b" not in path.name
        assert "\t" not in path.name
    new_outside = {
        p for p in tmp_path.rglob("*") if not p.resolve().is_relative_to(dest)
    } - outside_before
    assert {p.name for p in new_outside} <= {
        "dest",
        "state.sqlite3",
        "state.sqlite3-wal",
        "state.sqlite3-shm",
        "emulator.jsonl",
    }
    assert not Path("/etc/passwd.JPG").exists()


def sparse_file(path: Path, size: int) -> None:
    """A sparse file with real bytes at a few offsets, so byte-identity means something."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as f:
        f.truncate(size)
        for offset in (0, size // 3, (1 << 32) - 7 if size > 1 << 32 else size // 2, size - 64):
            f.seek(offset)
            f.write(hashlib.sha256(str(offset).encode()).digest() * 2)
    os.utime(path, (1714557600, 1714557600))


def sync_measuring_rss(emu: EmulatorProcess, work: Path) -> tuple[int, list[dict[str, Any]], int]:
    """Run the sync and return its exit code, JSON lines and peak resident set size in bytes
    (measured by tests/clients/peak_rss.py, see there why not from this process)."""
    launcher = Path(__file__).parent / "clients" / "peak_rss.py"
    result = subprocess.run(
        [sys.executable, str(launcher), *sync_command(emu, work)],
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    report = json.loads(result.stderr.strip().splitlines()[-1])
    return report["exit"], json_lines(result.stdout), report["peak_rss"]


def test_a_3_5_gib_video_streams_with_flat_memory(tmp_path: Path) -> None:
    card = tmp_path / "card"
    big = card / "PRIVATE" / "M4ROOT" / "CLIP" / "C0001.MP4"
    sparse_file(big, 3 * GIB + GIB // 2)
    with running_emulator(tmp_path, "--guid", PAIRED_GUID, card=card) as emu:
        code, lines, peak = sync_measuring_rss(emu, tmp_path)
    assert code == 0
    (path,) = saved(lines)
    assert path.stat().st_size == big.stat().st_size
    assert sha(path) == sha(big)
    assert peak < 150 * MIB, f"peak RSS {peak / MIB:.0f} MiB"


@pytest.mark.parametrize("partial64", [True, False])
def test_a_4_5_gib_video_is_complete_or_refused(tmp_path: Path, partial64: bool) -> None:
    card = tmp_path / "card"
    big = card / "PRIVATE" / "M4ROOT" / "CLIP" / "C0002.MP4"
    sparse_file(big, 4 * GIB + GIB // 2)
    args = ["--partial64"] if partial64 else []
    with running_emulator(tmp_path, "--guid", PAIRED_GUID, *args, card=card) as emu:
        code, lines, err = run_sync(emu, tmp_path)
    result = summary(lines)
    if partial64:
        assert code == 0, err
        (path,) = saved(lines)
        assert sha(path) == sha(big)
    else:
        assert code == 1
        assert saved(lines) == []
        assert "64-bit partial read" in result["failed"][0]
        assert result["powered_off"] is False
        history = subprocess.run(
            [
                sys.executable,
                "-m",
                "sony_pm_alt",
                "history",
                "--json",
                "--state",
                str(tmp_path / "state.sqlite3"),
            ],
            capture_output=True,
            text=True,
            check=True,
        )
        assert json.loads(history.stdout) == []
        assert not [p for p in (tmp_path / "dest").rglob("*") if p.is_file()]


def test_a_camera_without_partial_reads_is_still_synced(tmp_path: Path) -> None:
    """GetPartialObject not offered: whole-object reads (no resume), still byte-identical."""
    card = make_card(tmp_path / "card")
    with running_emulator(
        tmp_path, "--guid", PAIRED_GUID, "--without-op", "0x101B", card=card
    ) as emu:
        code, lines, err = run_sync(emu, tmp_path)
        assert code == 0, err
        ops = {r["opcode"] for r in emu.events("operation")}
    assert 0x101B not in ops
    assert 0x1009 in ops
    assert sorted(sha(p) for p in saved(lines)) == sorted(sha(p) for p in card_files(card).values())


def test_a_4_5_gib_video_from_the_gphoto2_listing_is_refused_not_truncated(
    tmp_path: Path,
) -> None:
    """libgphoto2's listing may give a 4 GiB+ object as 0xFFFFFFFF bytes: taken at its word,
    the file would be cut short and recorded. It must be refused and left for later."""
    card = tmp_path / "card"
    big = card / "PRIVATE" / "M4ROOT" / "CLIP" / "C0003.MP4"
    sparse_file(big, 4 * GIB + MIB)
    with running_emulator(tmp_path, "--guid", PAIRED_GUID, "--partial64", card=card) as emu:
        code, lines, _ = run_sync(emu, tmp_path, "--no-bulk-listing")
    result = summary(lines)
    assert code == 1
    assert saved(lines) == []
    assert "true size" in result["failed"][0]
    assert result["powered_off"] is False
    assert not [p for p in (tmp_path / "dest").rglob("*") if p.is_file()]


def test_a_dry_run_leaves_the_camera_on(tmp_path: Path) -> None:
    card = make_card(tmp_path / "card")
    with running_emulator(tmp_path, "--guid", PAIRED_GUID, card=card) as emu:
        code, lines, err = run_sync(emu, tmp_path, "--dry-run")
        assert code == 0, err
        assert summary(lines)["powered_off"] is False
        assert emu.events("power_off") == []
