"""Hidden partial downloads of files that never come back are removed once older than the
configured number of days, with a log line; the partial file of a file still on the camera is
resumed however old it is, and young orphans, other hidden files and photos are left alone."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from emulator_proc import PAIRED_GUID, run_sync, running_emulator
from sony_pm_alt.emulator import build_demo_card
from sony_pm_alt.settings import ConfigError, describe, load

DAY = 86_400
PARTIAL = ".sony-pm-alt-partial"


def age(path: Path, days: float) -> None:
    stamp = time.time() - days * DAY
    os.utime(path, (stamp, stamp))


@pytest.mark.integration
def test_old_orphaned_partials_are_removed_and_current_ones_resumed(tmp_path: Path) -> None:
    card = build_demo_card(tmp_path / "card", photos=3)
    dest = tmp_path / "dest"
    (tmp_path / "first").mkdir()
    with running_emulator(
        tmp_path / "first", "--guid", PAIRED_GUID, "--fault", "drop-after-bytes=1500000", card=card
    ) as emu:
        code, _, _ = run_sync(emu, tmp_path, timeout=120)
    assert code == 1
    (current,) = dest.rglob(f"*{PARTIAL}")  # of a file still on the camera
    age(current, 40)
    old_orphan = current.parent / f".0123456789abcdef0123{PARTIAL}"
    young_orphan = dest / "2020" / f".fedcba9876543210fedc{PARTIAL}"
    other_hidden = dest / f".notes{PARTIAL}.txt"
    for path in (old_orphan, young_orphan, other_hidden):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"x" * 1000)
    age(old_orphan, 31)
    age(young_orphan, 29)
    age(other_hidden, 400)

    (tmp_path / "second").mkdir()
    with running_emulator(tmp_path / "second", "--guid", PAIRED_GUID, card=card) as emu:
        code, lines, stderr = run_sync(emu, tmp_path, "--partial-max-age-days", "30", timeout=120)
    assert code == 0, stderr
    assert [line["event"] for line in lines if line["event"] == "resumed"] == ["resumed"]
    assert not old_orphan.exists()
    assert f"removed {old_orphan}" in stderr
    assert young_orphan.exists()
    assert other_hidden.exists()
    assert stderr.count("removed ") == 1


def test_the_age_is_a_config_key_with_a_default(tmp_path: Path) -> None:
    config_file = tmp_path / "config.toml"
    config_file.write_text("[defaults]\n")
    assert load(config_file, {}).defaults.partial_max_age_days == 30
    config_file.write_text("[defaults]\npartial_max_age_days = 7\n")
    config = load(config_file, {})
    assert config.defaults.partial_max_age_days == 7
    assert "partial_max_age_days = 7" in describe(config)
    for bad in ("-1", '"soon"', "1e9"):
        config_file.write_text(f"[defaults]\npartial_max_age_days = {bad}\n")
        with pytest.raises(ConfigError, match="partial_max_age_days"):
            load(config_file, {})


def test_the_names_to_keep_are_computed_only_when_a_partial_file_is_found(tmp_path: Path) -> None:
    from sony_pm_alt.engine.download import remove_orphaned_partials

    asked: list[int] = []

    def keep() -> set[str]:
        asked.append(1)
        return {f".kept{PARTIAL}"}

    (tmp_path / "2024").mkdir()
    (tmp_path / "2024" / "DSC00001.JPG").write_bytes(b"photo")
    assert remove_orphaned_partials(tmp_path, keep, 30, time.time()) == []
    assert asked == []  # a session with no partial file does not build the set

    kept, orphan = tmp_path / f".kept{PARTIAL}", tmp_path / "2024" / f".gone{PARTIAL}"
    for path in (kept, orphan):
        path.write_bytes(b"part")
        age(path, 40)
    assert remove_orphaned_partials(tmp_path, keep, 30, time.time()) == [orphan]
    assert asked == [1]  # once, however many partial files
    assert kept.exists()
