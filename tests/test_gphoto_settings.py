"""Tests for merging the PTP/IP GUID into libgphoto2's settings file."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from sony_pm_alt.engine.gphoto_settings import merge_guid, settings_path

GUID = bytes.fromhex("ffff525400b6fda9ffff523c2807a93a")
LINE = b"ptp2_ip=guid=ff:ff:52:54:00:b6:fd:a9:ff:ff:52:3c:28:07:a9:3a"
OLD_LINE = b"ptp2_ip=guid=00:11:22:33:44:55:66:77:88:99:aa:bb:cc:dd:ee:ff"
# Lines libgphoto2 and sony-pm-alt (2015) write, plus one that is not UTF-8 (a Latin-1 folder).
OTHER = [
    b"gphoto2=port=ptpip:192.168.1.10",
    b"gphoto2=model=PTP/IP Camera",
    b"ptp2=capturetarget=sdram",
    b"gphoto2=folder=/home/b\xe9a/Photos \xff\xfe",
    b"ptp2_ip=hostname=laptop",
    b"   ",
    b"",
    b"ptp2_ip=guidx=kept because it is another key",
]


@pytest.fixture
def settings(tmp_path: Path) -> Path:
    return tmp_path / ".gphoto" / "settings"


def _entries(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def test_settings_path() -> None:
    assert settings_path(Path("/h")) == Path("/h/.gphoto/settings")


def test_settings_path_defaults_to_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    assert settings_path() == tmp_path / ".gphoto" / "settings"
    assert merge_guid(GUID) is True
    assert (tmp_path / ".gphoto" / "settings").read_bytes() == LINE + b"\n"


def test_creates_folder_and_file(settings: Path) -> None:
    assert not settings.parent.exists()
    assert merge_guid(GUID, settings) is True
    assert settings.read_bytes() == LINE + b"\n"
    assert _entries(settings.parent) == ["settings"]


def test_creates_file_in_existing_empty_folder(settings: Path) -> None:
    settings.parent.mkdir()
    assert merge_guid(GUID, settings) is True
    assert settings.read_bytes() == LINE + b"\n"


def test_empty_file_gets_the_line(settings: Path) -> None:
    settings.parent.mkdir()
    settings.write_bytes(b"")
    assert merge_guid(GUID, settings) is True
    assert settings.read_bytes() == LINE + b"\n"


def test_replaces_only_the_guid_line(settings: Path) -> None:
    settings.parent.mkdir()
    original = [*OTHER[:2], OLD_LINE, *OTHER[2:]]
    settings.write_bytes(b"\n".join(original) + b"\n")
    assert merge_guid(GUID, settings) is True
    lines = settings.read_bytes().split(b"\n")
    assert lines[-1] == b""  # ends with a newline
    lines = lines[:-1]
    assert lines.count(LINE) == 1
    assert OLD_LINE not in lines
    # Every other line is there, in its order, byte for byte.
    assert [line for line in lines if line != LINE] == OTHER


def test_appends_when_no_guid_line(settings: Path) -> None:
    settings.parent.mkdir()
    settings.write_bytes(b"\n".join(OTHER) + b"\n")
    assert merge_guid(GUID, settings) is True
    assert settings.read_bytes() == b"\n".join([*OTHER, LINE]) + b"\n"


def test_file_without_final_newline(settings: Path) -> None:
    settings.parent.mkdir()
    settings.write_bytes(b"a=b=c\n" + OLD_LINE)
    assert merge_guid(GUID, settings) is True
    assert settings.read_bytes() == b"a=b=c\n" + LINE + b"\n"


def test_duplicate_guid_lines_become_one(settings: Path) -> None:
    settings.parent.mkdir()
    settings.write_bytes(b"\n".join([LINE, b"x=y=z", LINE, OLD_LINE]) + b"\n")
    assert merge_guid(GUID, settings) is True
    assert settings.read_bytes() == b"x=y=z\n" + LINE + b"\n"


@pytest.mark.parametrize(
    "separator",
    [
        pytest.param(b"\r\n", id="crlf"),
        pytest.param(b"\x0c", id="form-feed"),
        pytest.param(b"\x1e", id="record-separator"),
        pytest.param("\u2028".encode(), id="u2028"),
        pytest.param("\x85".encode(), id="u0085"),
    ],
)
def test_other_line_boundaries_inside_lines_are_kept(settings: Path, separator: bytes) -> None:
    """Only b"\\n" ends a line of the settings file (libgphoto2 reads it with fgets); other
    characters Python's splitlines() treats as line ends must stay where they are."""
    settings.parent.mkdir()
    kept = b"gphoto2=folder=/a" + separator + b"b"
    settings.write_bytes(kept + b"\n" + OLD_LINE + b"\n")
    assert merge_guid(GUID, settings) is True
    assert settings.read_bytes() == kept + b"\n" + LINE + b"\n"


def test_no_rewrite_when_already_right(settings: Path) -> None:
    settings.parent.mkdir()
    content = b"\n".join([OTHER[0], LINE, *OTHER[1:]]) + b"\n"
    settings.write_bytes(content)
    os.utime(settings, ns=(1_000_000_000, 1_000_000_000))
    before = settings.stat()
    assert merge_guid(GUID, settings) is False
    after = settings.stat()
    assert settings.read_bytes() == content
    assert after.st_ino == before.st_ino
    assert after.st_mtime_ns == before.st_mtime_ns == 1_000_000_000
    assert _entries(settings.parent) == ["settings"]


def test_second_merge_is_a_no_op(settings: Path) -> None:
    assert merge_guid(GUID, settings) is True
    inode = settings.stat().st_ino
    assert merge_guid(GUID, settings) is False
    assert settings.stat().st_ino == inode


@pytest.mark.parametrize("mode", [0o600, 0o640, 0o644, 0o444])
def test_keeps_the_file_mode(settings: Path, mode: int) -> None:
    settings.parent.mkdir()
    settings.write_bytes(OLD_LINE + b"\n")
    settings.chmod(mode)
    assert merge_guid(GUID, settings) is True
    assert stat.S_IMODE(settings.stat().st_mode) == mode
    assert settings.read_bytes() == LINE + b"\n"


def test_new_file_is_private(settings: Path) -> None:
    merge_guid(GUID, settings)
    assert stat.S_IMODE(settings.stat().st_mode) & 0o077 == 0


def test_replaced_by_rename(settings: Path) -> None:
    settings.parent.mkdir()
    settings.write_bytes(b"\n".join(OTHER) + b"\n")
    inode = settings.stat().st_ino
    # A second name for the old inode shows that the old file was never written in place.
    keep = settings.parent / "old-link"
    os.link(settings, keep)
    assert merge_guid(GUID, settings) is True
    assert settings.stat().st_ino != inode
    assert keep.read_bytes() == b"\n".join(OTHER) + b"\n"
    keep.unlink()
    assert _entries(settings.parent) == ["settings"]


def test_failed_replace_leaves_the_original(
    settings: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings.parent.mkdir()
    content = b"\n".join([*OTHER, OLD_LINE]) + b"\n"
    settings.write_bytes(content)
    inode = settings.stat().st_ino
    calls: list[tuple[str, str]] = []

    def failing_replace(src: str, dst: str) -> None:
        calls.append((str(src), str(dst)))
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", failing_replace)
    with pytest.raises(OSError, match="No space left"):
        merge_guid(GUID, settings)
    assert len(calls) == 1
    assert calls[0][1] == str(settings)
    assert Path(calls[0][0]).parent == settings.parent  # same file system: rename is atomic
    assert settings.read_bytes() == content
    assert settings.stat().st_ino == inode
    assert _entries(settings.parent) == ["settings"]


def test_failed_write_leaves_the_original(settings: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    settings.parent.mkdir()
    settings.write_bytes(OLD_LINE + b"\n")

    def failing_fsync(fd: int) -> None:
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(os, "fsync", failing_fsync)
    with pytest.raises(OSError, match="Input/output error"):
        merge_guid(GUID, settings)
    assert settings.read_bytes() == OLD_LINE + b"\n"
    assert _entries(settings.parent) == ["settings"]


def test_interrupt_while_writing_removes_the_temp_file(
    settings: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(os, "replace", _raise_keyboard_interrupt)
    with pytest.raises(KeyboardInterrupt):
        merge_guid(GUID, settings)
    assert not settings.exists()
    assert _entries(settings.parent) == []


def _raise_keyboard_interrupt(src: str, dst: str) -> None:
    raise KeyboardInterrupt
