"""FTP receiver pieces without a server: content checks and capture times, passwords, the
[ftp] config section and the camera keys, doctor's checks, the certificate."""

from __future__ import annotations

import os
import socket
import struct
import time
from datetime import datetime
from pathlib import Path

import pytest

from sony_pm_alt.config import ConfigError, load_config
from sony_pm_alt.doctor import Status
from sony_pm_alt.emulator.ftp_media import MediaFile
from sony_pm_alt.ftp.accounts import (
    FailureLimiter,
    PasswordHashError,
    check_hash_format,
    hash_password,
    verify_password,
)
from sony_pm_alt.ftp.content import Incomplete, capture_time, check_complete
from sony_pm_alt.ftp.doctor import ftp_checks
from sony_pm_alt.ftp.settings import FtpConfigError, accounts
from sony_pm_alt.ftp.tls import check_certificate, ensure_self_signed, fingerprint

WHEN = datetime(2025, 3, 4, 5, 6, 7)
KINDS = {
    "jpeg": "DSC00001.JPG", "arw": "DSC00002.ARW", "mp4": "C0003.MP4", "heif": "DSC00004.HIF",
}  # fmt: skip


def _file(tmp_path: Path, kind: str, data: bytes | None = None) -> Path:
    media = MediaFile("DCIM/100MSDCF", KINDS[kind], WHEN, kind, 30_000, 1)
    path = tmp_path / media.name
    path.write_bytes(media.data() if data is None else data)
    return path


@pytest.mark.parametrize("kind", ["jpeg", "arw", "mp4", "heif"])
def test_whole_files_pass_and_carry_their_capture_time(tmp_path: Path, kind: str) -> None:
    path = _file(tmp_path, kind)
    assert check_complete(path) == ("tiff" if kind == "arw" else kind)
    assert capture_time(path) == WHEN


@pytest.mark.parametrize("kind", ["jpeg", "arw", "mp4", "heif"])
@pytest.mark.parametrize("keep", [0.1, 0.5, 0.9, 0.999])
def test_cut_short_files_are_incomplete(tmp_path: Path, kind: str, keep: float) -> None:
    whole = MediaFile("DCIM", KINDS[kind], WHEN, kind, 30_000, 1).data()
    path = _file(tmp_path, kind, whole[: int(len(whole) * keep)])
    with pytest.raises(Incomplete):
        check_complete(path)


def test_a_heif_exif_item_in_other_layouts_and_hostile_ones(tmp_path: Path) -> None:
    whole = MediaFile("DCIM", KINDS["heif"], WHEN, "heif", 3000, 1).data()
    path = tmp_path / "x.HIF"
    # An MP4 brand only: not a HEIF, so no EXIF item is looked for (and no mvhd is there).
    path.write_bytes(whole[:8] + b"isom" + whole[12:16] + b"isomisom" + whole[24:])
    assert check_complete(path) == "mp4"
    assert capture_time(path) is None
    # The Exif item's type changed: a HEIF without EXIF.
    at = whole.index(b"Exif")
    path.write_bytes(whole[:at] + b"mime" + whole[at + 4 :])
    assert check_complete(path) == "heif"
    assert capture_time(path) is None
    # An iloc claiming millions of items, or an extent beyond the end: no time, no failure.
    iloc = whole.index(b"iloc") + 4
    huge = whole[: iloc + 6] + b"\xff\xff" + whole[iloc + 8 :]
    path.write_bytes(huge)
    assert capture_time(path) is None
    far = whole.rindex(struct.pack(">H", 2) + b"\0\0\0\0\0\1")  # item 2's one extent
    path.write_bytes(whole[: far + 8] + b"\x7f\xff\xff\xff" + whole[far + 12 :])
    assert capture_time(path) is None


def test_unknown_formats_are_not_checked_and_have_no_capture_time(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_bytes(b"hello")
    assert check_complete(path) == ""
    assert capture_time(path) is None


def test_hostile_tiff_loops_and_huge_counts_end(tmp_path: Path) -> None:
    path = tmp_path / "loop.ARW"
    # IFD at 8 whose next-IFD pointer is itself; one entry claiming 65535 strips.
    ifd = b"\x01\x00" + b"\x11\x01\x04\x00\xff\xff\x00\x00\x00\x00\x00\x00" + b"\x08\x00\x00\x00"
    path.write_bytes(b"II*\x00\x08\x00\x00\x00" + ifd)
    with pytest.raises(Incomplete):
        check_complete(path)
    assert capture_time(path) is None


def test_passwords_hash_and_verify() -> None:
    stored = hash_password("correct horse", n=2**4)
    check_hash_format(stored)
    assert verify_password("correct horse", stored)
    assert not verify_password("wrong", stored)
    with pytest.raises(PasswordHashError):
        check_hash_format("$2b$12$bcryptlooking")


def test_failure_limiter_blocks_after_the_limit() -> None:
    limiter = FailureLimiter(max_failures=2, window=60)
    limiter.failed("10.0.0.1")
    assert not limiter.blocked("10.0.0.1")
    limiter.failed("10.0.0.1")
    assert limiter.blocked("10.0.0.1")
    assert not limiter.blocked("10.0.0.2")


def _config(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text)
    return path


def test_config_ftp_section_and_accounts(tmp_path: Path) -> None:
    digest = hash_password("pw", n=2**4)
    path = _config(tmp_path, f"""
[defaults]
dest = "{tmp_path / "photos"}"
[ftp]
enabled = true
listen = "127.0.0.1"
port = 2200
passive_ports = "60000-60009"
[[camera]]
match = "SERIAL"
template = "{{filename}}"
ftp_user = "a7iv"
ftp_password_hash = "{digest}"
""")  # fmt: skip
    config = load_config(path)
    assert config.ftp.enabled
    assert config.ftp.port == 2200
    assert config.ftp.passive_ports == (60000, 60009)
    [account] = accounts(config)
    assert (account.user, account.camera, account.template) == ("a7iv", "SERIAL", "{filename}")
    assert account.dest == tmp_path / "photos"
    assert account.accepts("pw")
    assert not account.accepts("")
    assert "pw" not in repr(account)
    assert digest not in repr(account)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[ftp]\nport = 70000\n", "ftp.port: must be a port number"),
        ("[ftp]\nbogus = 1\n", "ftp.bogus: unknown key"),
        ('[ftp]\npassive_ports = "100-200"\n', "ftp.passive_ports"),
        ('[ftp]\ncertfile = "/x.pem"\n', "give both certfile and keyfile"),
        ('[[camera]]\nmatch = "S"\nftp_user = "u"\n', "give exactly one of ftp_password"),
        ('[[camera]]\nmatch = "S"\nftp_password = "p"\n', "camera[1].ftp_user: missing"),
        ('[[camera]]\nmatch = "S"\nftp_user = "u"\nftp_password_hash = "x"\n', "scrypt"),
    ],
)
def test_config_errors_name_the_key(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message.replace("[", r"\[").replace("]", r"\]")):
        load_config(_config(tmp_path, text))


def test_an_account_without_dest_is_refused(tmp_path: Path) -> None:
    config = load_config(
        _config(tmp_path, '[[camera]]\nmatch = "S"\nftp_user = "u"\nftp_password = "p"\n')
    )
    with pytest.raises(FtpConfigError, match="no dest"):
        accounts(config)


def test_doctor_reports_a_busy_port_and_clear_text_passwords(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        config = load_config(_config(tmp_path, f"""
[defaults]
dest = "{tmp_path}"
[ftp]
enabled = true
listen = "127.0.0.1"
port = {port}
[[camera]]
match = "S"
ftp_user = "u"
ftp_password = "p"
"""))  # fmt: skip
        checks = {c.name: c for c in ftp_checks(config)}
    assert checks["ftp port"].status is Status.FAIL
    assert checks["ftp account u"].status is Status.WARN


def test_self_signed_certificate(tmp_path: Path) -> None:
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    assert ensure_self_signed(cert, key, ("127.0.0.1",))
    assert not ensure_self_signed(cert, key)  # kept on the next start
    assert key.stat().st_mode & 0o077 == 0
    assert len(fingerprint(cert).split(":")) == 32
    assert check_certificate(cert, key) == ""
    other_cert, other_key = tmp_path / "c2.pem", tmp_path / "k2.pem"
    ensure_self_signed(other_cert, other_key)
    assert "does not belong" in check_certificate(cert, other_key)


def test_a_new_upload_of_the_same_file_supersedes_the_old_one(tmp_path: Path) -> None:
    from sony_pm_alt.engine.state import StateStore
    from sony_pm_alt.ftp.accounts import Account
    from sony_pm_alt.ftp.intake import CameraLink

    account = Account("cam", "S", tmp_path / "photos", "{filename}", password="pw")
    with StateStore(tmp_path / "state.sqlite3") as store:
        link = CameraLink(account, store, lambda event: None)
        old = link.open_upload("/", "DSC00001.JPG", "wb")
        old.write(b"old bytes of a dropped upload")
        new = link.open_upload("/", "DSC00001.JPG", "wb")
        assert old.superseded
        old.write(b"a late write from the dead connection")  # dropped
        old.close()
        new.write(b"the retry")
        new.close()
        assert new.partial.read_bytes() == b"the retry"
        new.release()
        old.release()


def _aged(path: Path, days: float) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"part of an upload")
    stamp = time.time() - days * 86_400
    os.utime(path, (stamp, stamp))
    return path


def test_old_unfinished_uploads_are_removed_when_the_receiver_starts(tmp_path: Path) -> None:
    from sony_pm_alt.engine.state import StateStore
    from sony_pm_alt.ftp.accounts import Account
    from sony_pm_alt.ftp.intake import SPOOL_DIR
    from sony_pm_alt.ftp.server import FtpReceiver, ReceiverSettings

    spool = tmp_path / "photos" / SPOOL_DIR
    old = _aged(spool / f".{'a' * 20}.sony-pm-alt-partial", 31)
    recent = _aged(spool / f".{'b' * 20}.sony-pm-alt-partial", 29)
    other = _aged(spool / "not-a-partial", 365)
    kept_forever = _aged(tmp_path / "kept" / SPOOL_DIR / f".{'c' * 20}.sony-pm-alt-partial", 365)
    accounts = (
        Account("a", "S1", tmp_path / "photos", "{filename}", password="pw"),
        Account("b", "S2", tmp_path / "kept", "{filename}", password="pw", partial_max_age_days=0),
    )
    settings = ReceiverSettings(listen="127.0.0.1", port=0, accounts=accounts)
    with StateStore(tmp_path / "state.sqlite3") as store, FtpReceiver(settings, store):
        assert not old.exists()
        assert recent.exists()
        assert other.exists()
        assert kept_forever.exists()


def test_a_session_end_removes_old_unfinished_uploads_but_not_an_open_one(
    tmp_path: Path,
) -> None:
    from sony_pm_alt.engine.state import StateStore
    from sony_pm_alt.ftp.accounts import Account
    from sony_pm_alt.ftp.intake import SPOOL_DIR, CameraLink

    account = Account("cam", "S", tmp_path / "photos", "{filename}", password="pw")
    with StateStore(tmp_path / "state.sqlite3") as store:
        link = CameraLink(account, store, lambda event: None)
        upload = link.open_upload("/", "C0001.MP4", "wb")  # starts the session
        upload.write(b"still arriving")
        stamp = time.time() - 40 * 86_400
        os.utime(upload.partial, (stamp, stamp))  # old, but being written
        old = _aged(tmp_path / "photos" / SPOOL_DIR / f".{'d' * 20}.sony-pm-alt-partial", 40)
        assert link.close() is not None
        assert not old.exists()
        assert upload.partial.exists()
        upload.close()
        upload.release()
