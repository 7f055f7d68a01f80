"""A camera whose listing cannot be trusted never gets an "all imported, powered off": issue 9
findings 2 (a degraded listing called complete) and 3 (a capture date Python cannot hold), and
sizes in the listing that disagree with the data. Against the emulator's faults."""

from __future__ import annotations

import sqlite3
import subprocess
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from emulator_proc import (
    PAIRED_GUID,
    gphoto2_home,
    run_sync,
    running_emulator,
    sync_command,
)
from sony_pm_alt.emulator import build_demo_card
from sony_pm_alt.emulator.card import BAD_DATES
from sony_pm_alt.emulator.process import EmulatorProcess

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def card(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_demo_card(tmp_path_factory.mktemp("card"), photos=3)  # 5 files, 6 folders


def sync(
    emu: EmulatorProcess, work: Path, *extra: str, env: dict[str, str] | None = None
) -> tuple[int, list[dict[str, Any]], str]:
    return run_sync(emu, work, *extra, timeout=300, env=env or gphoto2_home(work))


def summary_of(lines: list[dict[str, Any]]) -> dict[str, Any]:
    (summary,) = [r for r in lines if r["event"] == "summary"]
    return summary


def visible_files(dest: Path) -> list[Path]:
    return [p for p in dest.rglob("*") if p.is_file() and not p.name.startswith(".")]


@pytest.mark.parametrize(
    ("fault", "reason"),
    [
        ("folder-cycle=1", "is its own ancestor"),
        ("huge-counts=1", "4294967280 elements"),
    ],
)
def test_a_listing_that_had_to_be_refused_is_never_called_complete(
    tmp_path: Path, card: Path, fault: str, reason: str
) -> None:
    with running_emulator(tmp_path, "--guid", PAIRED_GUID, "--fault", fault, card=card) as emu:
        code, lines, err = sync(emu, tmp_path)
        assert emu.events("power_off") == []  # the camera stays on
        assert [f["kind"] for f in emu.events("fault")] != []
    summary = summary_of(lines)
    assert code == 1, err
    assert summary["ok"] is False
    assert summary["powered_off"] is False
    assert summary["camera_left_on"] == "the listing is incomplete"
    (unlisted,) = summary["unlisted"]
    assert unlisted.startswith("the camera's bulk listing had to be refused (")
    assert reason in unlisted
    # What the fallback found is safe all the same.
    assert len(visible_files(tmp_path / "dest")) == summary["transferred"]
    with sqlite3.connect(tmp_path / "state.sqlite3") as db:
        assert db.execute("SELECT result, powered_off FROM sessions").fetchall() == [
            ("incomplete", 0)
        ]

    # A clean session afterwards completes and powers the camera off.
    (tmp_path / "clean").mkdir()
    with running_emulator(tmp_path / "clean", "--guid", PAIRED_GUID, card=card) as emu:
        code, lines, err = sync(emu, tmp_path)
        assert code == 0, err
        assert emu.events("power_off") != []
    assert summary_of(lines)["powered_off"] is True
    assert len(visible_files(tmp_path / "dest")) == 5


def test_the_plain_summary_names_what_could_not_be_listed(tmp_path: Path, card: Path) -> None:
    with running_emulator(
        tmp_path, "--guid", PAIRED_GUID, "--fault", "folder-cycle=1", card=card
    ) as emu:
        argv = [a for a in sync_command(emu, tmp_path) if a != "--json"]
        result = subprocess.run(
            argv, env=gphoto2_home(tmp_path), capture_output=True, text=True, timeout=300
        )
    last = result.stderr.strip().splitlines()[-1]
    assert "; listing incomplete: the camera's bulk listing had to be refused (folder 0x" in last
    assert last.endswith("camera left on: the listing is incomplete")
    assert "powered off" not in result.stderr
    assert result.returncode == 1


@pytest.mark.parametrize("listing", ["bulk", "gphoto2"])
def test_out_of_range_capture_dates_are_clamped_kept_as_text_and_fetched_once(
    tmp_path: Path, card: Path, listing: str
) -> None:
    """0001-01-01 and 9999-12-31 are not timestamps Python can make in Tokyo ("year 0 is out
    of range", "year 10000 …"): before the fix those files failed in every session and the
    camera was never powered off again. Through libgphoto2's listing the dates arrive as its
    own mtimes instead of text."""
    env = gphoto2_home(tmp_path)
    env["TZ"] = "Asia/Tokyo"
    no_bulk = ("--without-op", "0x9805") if listing == "gphoto2" else ()
    with running_emulator(
        tmp_path,
        "--guid",
        PAIRED_GUID,
        "--fault",
        "bad-dates=1",
        "--activations",
        "2",
        *no_bulk,
        card=card,
    ) as emu:
        code, lines, err = sync(emu, tmp_path, env=env)
        summary = summary_of(lines)
        assert code == 0, err
        assert summary["listing"] == listing
        assert (summary["transferred"], summary["failed"]) == (5, [])
        assert summary["powered_off"] is True
        # Known from now on: the next session finds nothing new and powers off again.
        code, lines, err = sync(emu, tmp_path, env=env)
        assert code == 0, err
        again = summary_of(lines)
        assert (again["planned"], again["powered_off"]) == (0, True)
        assert len(emu.events("power_off")) == 2
    tokyo = ZoneInfo("Asia/Tokyo")
    # The range a card's FAT/exFAT can date a file in (engine.naming.FILE_TIME_MIN/MAX).
    lowest = datetime(1980, 1, 1, tzinfo=tokyo).timestamp()
    highest = datetime(2107, 12, 31, 23, 59, 58, tzinfo=tokyo).timestamp()
    dest = tmp_path / "dest"
    assert all(lowest <= p.stat().st_mtime <= highest for p in visible_files(dest))
    if listing == "gphoto2":
        return
    with sqlite3.connect(tmp_path / "state.sqlite3") as db:
        dates = {row[0] for row in db.execute("SELECT camera_date FROM transfers")}
    assert dates == set(BAD_DATES)
    (year_1,) = (dest / "0001").rglob("*.*")  # the template files by the camera's own date
    (year_9999,) = (dest / "9999").rglob("*.*")
    assert (year_1.stat().st_mtime, year_9999.stat().st_mtime) == (lowest, highest)


@pytest.mark.parametrize("skew", [100, -100])
def test_a_listed_size_that_disagrees_with_the_data_places_no_file(
    tmp_path: Path, card: Path, skew: int
) -> None:
    """Listed larger: the data ends early. Listed smaller: the listed bytes would be a
    truncated file. Either way nothing is placed, nothing partial is kept, the camera stays on."""
    fault = f"listing-size-mismatch={skew}"
    with running_emulator(tmp_path, "--guid", PAIRED_GUID, "--fault", fault, card=card) as emu:
        code, lines, err = sync(emu, tmp_path)
        assert emu.events("power_off") == []
    summary = summary_of(lines)
    assert code == 1, err
    assert (summary["transferred"], len(summary["failed"]), summary["powered_off"]) == (0, 5, False)
    expected = "but its data ends at" if skew > 0 else "than the"
    assert all(expected in failure for failure in summary["failed"])
    assert not [p for p in (tmp_path / "dest").rglob("*") if p.is_file()]
