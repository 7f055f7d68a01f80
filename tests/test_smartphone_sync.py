"""Acceptance of ``sony-pm-alt smartphone`` against the emulated "Send to Smartphone" mode."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from phone_helpers import expected_path, files_under, gets, phone
from sony_pm_alt.cli import main
from sony_pm_alt.emulator.smartphone import SmartphoneEmulator, build_phone_pictures
from sony_pm_alt.engine.events import FileSkipped, SyncEvent
from sony_pm_alt.engine.state import StateStore
from sony_pm_alt.smartphone import PhoneOptions, PhoneResult, phone_sync

pytestmark = pytest.mark.integration


def _sync(
    emulator: SmartphoneEmulator, dest: Path, state: Path, *, raw_previews: bool = False
) -> tuple[PhoneResult, list[SyncEvent]]:
    events: list[SyncEvent] = []
    with StateStore(state) as store:
        result = phone_sync(
            "127.0.0.1",
            port=emulator.port,
            options=PhoneOptions(dest=dest, raw_previews=raw_previews),
            state=store,
            on_event=events.append,
        )
    return result, events


def _cli(emulator: SmartphoneEmulator, dest: Path, state: Path, *more: str) -> tuple[int, str]:
    (dest.parent / "none.toml").write_text("")  # no user config may leak into the test
    result = CliRunner().invoke(
        main,
        [
            "smartphone", "--address", "127.0.0.1", "--port", str(emulator.port),
            "--dest", str(dest), "--state", str(state), "--config", str(dest.parent / "none.toml"),
            *more,
        ],
    )  # fmt: skip
    return result.exit_code, result.output


def test_selected_jpegs_arrive_raws_skipped_and_transfer_ends(tmp_path: Path) -> None:
    pictures = build_phone_pictures(10)
    chosen = [p for p in pictures if int(p.name[3:8]) <= 8]  # 8 shots: JPEG + RAW each
    with phone(pictures=pictures, selected=frozenset(p.name for p in chosen)) as emulator:
        result, events = _sync(emulator, tmp_path / "out", tmp_path / "state.db")
        jpegs = [p for p in chosen if p.original is not None]
        assert len(jpegs) == 8
        got = files_under(tmp_path / "out")
        assert got == {expected_path(p): p.original for p in jpegs}
        assert not [name for name in got if name.lower().endswith(".arw")]
        skipped = [e.obj.name for e in events if isinstance(e, FileSkipped)]
        assert sorted(skipped) == sorted(p.name for p in chosen if p.original is None)
        assert all("RAW" in e.reason for e in events if isinstance(e, FileSkipped))
        actions = emulator.actions()
        assert actions[0] == "X_TransferStart"
        assert actions[-1] == "X_TransferEnd"
        assert "Browse:PhotoRoot" not in actions
        ends = [e for e in emulator.events if e["event"] == "phone_mode" and e["screen"] == "left"]
        assert [e["err_code"] for e in ends] == ["0"]
        assert result.transfer_ended
        assert result.summary.transferred == 8

        fetched_before = len(gets(emulator))
        again, _ = _sync(emulator, tmp_path / "out", tmp_path / "state.db")
        assert again.summary.transferred == 0
        assert len(gets(emulator)) == fetched_before  # nothing fetched again
        assert emulator.actions()[-1] == "X_TransferEnd"
        assert again.transfer_ended
        assert files_under(tmp_path / "out") == got


def test_refused_push_root_and_small_pages_get_every_date(tmp_path: Path) -> None:
    with phone("refuse-push-root=1", page_size=5) as emulator:
        result, _ = _sync(emulator, tmp_path / "out", tmp_path / "state.db")
        pictures = emulator.config.pictures
        jpegs = [p for p in pictures if p.original is not None]
        assert len({p.day for p in jpegs}) == 2
        assert files_under(tmp_path / "out") == {expected_path(p): p.original for p in jpegs}
        assert result.root == "PhotoRoot"
        browses = [
            e["args"] for e in emulator.events if e["event"] == "phone_action"
            and e["action"] == "Browse" and e["args"]["ObjectID"].startswith("PhotoRoot/")
        ]  # fmt: skip
        # 8 files per day, pages of 5: a second page (StartingIndex 5) for each day.
        assert sorted(a["ObjectID"] for a in browses if a["StartingIndex"] == "5") == [
            "PhotoRoot/2024-05-01",
            "PhotoRoot/2024-05-02",
        ]
        assert emulator.actions()[-1] == "X_TransferEnd"


def test_drop_mid_file_leaves_the_mode_on_and_the_next_run_completes(tmp_path: Path) -> None:
    dest, state = tmp_path / "out", tmp_path / "state.db"
    with phone("drop-after-bytes=20000") as emulator:
        status, output = _cli(emulator, dest, state)
        assert status == 1, output
        assert "X_TransferEnd" not in emulator.actions()
        assert "stays in the transfer mode" in output
        first = emulator.config.pictures[0]
        assert first.original is not None
        got = files_under(dest)
        assert expected_path(first) not in got  # nothing partial at a final name
        assert all(not name.rsplit("/", 1)[-1].startswith(".") for name in got)
        for name, data in got.items():  # whatever is there is complete
            assert any(p.original == data for p in emulator.config.pictures), name

        status, output = _cli(emulator, dest, state)
        assert status == 0, output
        assert emulator.actions()[-1] == "X_TransferEnd"
        jpegs = [p for p in emulator.config.pictures if p.original is not None]
        assert files_under(dest) == {expected_path(p): p.original for p in jpegs}


def test_gone_file_is_a_content_length_mismatch(tmp_path: Path) -> None:
    with phone("gone-file=2") as emulator:
        status, output = _cli(emulator, tmp_path / "out", tmp_path / "state.db")
        assert status == 1
        assert "DSC00002.JPG" in output
        assert "gone from the card" in output
        assert "X_TransferEnd" not in emulator.actions()
        assert not [n for n in files_under(tmp_path / "out") if "DSC00002.JPG" in n]


def test_raw_previews_saved_as_jpg_and_not_fetched_again(tmp_path: Path) -> None:
    dest, state = tmp_path / "out", tmp_path / "state.db"
    with phone(shots=4) as emulator:
        status, output = _cli(emulator, dest, state, "--raw-previews")
        assert status == 0, output
        got = files_under(dest)
        for picture in emulator.config.pictures:
            if picture.original is None:
                stem = picture.name.removesuffix(".ARW")
                path = expected_path(picture, f"{stem}-preview.JPG")
                assert got[path] == picture.previews["LRG"]  # the largest preview
                assert expected_path(picture) not in got  # never under .ARW
            else:
                assert got[expected_path(picture)] == picture.original
        assert not [name for name in got if name.lower().endswith(".arw")]
        before = len(gets(emulator))
        status, output = _cli(emulator, dest, state, "--raw-previews", "--json")
        assert status == 0, output
        assert len(gets(emulator)) == before
        assert '"transferred": 0' in output
        assert '"sent": true' in output


def test_bad_listing_dates_fall_back_to_exif_and_stay_recognised(tmp_path: Path) -> None:
    dest, state = tmp_path / "out", tmp_path / "state.db"
    with phone("bad-dates=1", shots=3) as emulator:
        result, _ = _sync(emulator, dest, state)
        jpegs = [p for p in emulator.config.pictures if p.original is not None]
        # The emulator's JPEGs carry the true time in EXIF: the template files them by it.
        assert files_under(dest) == {expected_path(p): p.original for p in jpegs}
        assert result.transfer_ended
        before = len(gets(emulator))
        again, _ = _sync(emulator, dest, state)
        assert again.summary.planned == 0
        assert len(gets(emulator)) == before


def test_hooks_run_as_for_a_sync(tmp_path: Path) -> None:
    log = tmp_path / "hook.log"
    hook = f'echo "$ACTION $ARGUMENT" >> {log}'
    with phone(shots=2) as emulator:
        status, output = _cli(emulator, tmp_path / "out", tmp_path / "state.db", "--hook", hook)
    assert status == 0, output
    lines = log.read_text().splitlines()
    assert lines[0].strip() == "init"
    assert lines[1].strip() == "start"
    downloads = sorted(line.split(" ", 1)[1] for line in lines[2:-1])
    assert downloads == sorted(
        str(tmp_path / "out" / name) for name in files_under(tmp_path / "out")
    )
    assert lines[-1].strip() == "stop"


def test_a_camera_without_a_content_directory_scpd_still_works(tmp_path: Path) -> None:
    with phone("missing-scpd=1", shots=2) as emulator:
        result, _ = _sync(emulator, tmp_path / "out", tmp_path / "state.db")
        assert result.transfer_ended
        assert len(files_under(tmp_path / "out")) == 2
        assert [e["kind"] for e in emulator.events if e["event"] == "fault"] == ["missing-scpd"]
        # Every document read once: the factory gets them from the first reading.
        paths = [e["path"] for e in emulator.events if e["event"] == "phone_http"]
        assert paths.count("/DmsDescPush.xml") == 1
        assert paths.count("/XPlsDesc.xml") == 1
