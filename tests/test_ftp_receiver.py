"""The FTP receiver against third-party clients (curl and lftp from Debian, Python's ftplib),
with and without TLS, and what it refuses; the FTP camera emulator against a plain pyftpdlib
server, so the emulator itself is honest. Everything on 127.0.0.1 with free ports."""

from __future__ import annotations

import errno
import ftplib
import hashlib
import io
import logging
import os
import shutil
import ssl
import subprocess
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from sony_pm_alt.emulator.ftp_camera import FtpCamera, FtpCameraSettings, FtpFaults
from sony_pm_alt.emulator.ftp_media import card, jpeg_bytes
from sony_pm_alt.engine.events import FileDone, FileFailed, SyncEvent
from sony_pm_alt.engine.state import StateStore
from sony_pm_alt.ftp.accounts import Account, hash_password
from sony_pm_alt.ftp.server import FtpReceiver, ReceiverSettings
from sony_pm_alt.ftp.tls import ensure_self_signed

pytestmark = pytest.mark.integration

TEMPLATE = "{year}-{month}-{day}/{filename}"
TIMEOUT = 60


class Rig:
    def __init__(self, tmp: Path, tls: bool) -> None:
        self.tmp = tmp
        self.dest = tmp / "photos"
        self.cert, self.key = tmp / "cert.pem", tmp / "key.pem"
        if tls:
            ensure_self_signed(self.cert, self.key, ("127.0.0.1",))
        self.accounts = (
            Account("a7iv", "SERIAL-A", self.dest, TEMPLATE, password="pw-a"),
            Account(
                "a1",
                "SERIAL-B",
                tmp / "other",
                TEMPLATE,
                password_hash=hash_password("pw-b", n=2**4),
            ),
        )
        self.settings = ReceiverSettings(
            listen="127.0.0.1", port=0, tls=tls, certfile=self.cert if tls else None,
            keyfile=self.key if tls else None, login_delay=0.05, accounts=self.accounts,
        )  # fmt: skip
        self.store = StateStore(tmp / "state.sqlite3")
        self.events: list[SyncEvent] = []
        self.receiver = FtpReceiver(self.settings, self.store, self.events.append)

    @property
    def port(self) -> int:
        return self.receiver.address[1]

    def visible(self) -> list[Path]:
        return sorted(p for p in self.dest.rglob("*") if p.is_file() and ".sony" not in str(p))


@pytest.fixture(params=[False, True], ids=["plain", "tls"])
def rig(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Rig]:
    rig = Rig(tmp_path, request.param)
    rig.receiver.start()
    yield rig
    rig.receiver.stop()
    rig.store.close()


@pytest.fixture
def plain(tmp_path: Path) -> Iterator[Rig]:
    rig = Rig(tmp_path, False)
    rig.receiver.start()
    yield rig
    rig.receiver.stop()
    rig.store.close()


def _photo(tmp: Path, name: str = "DSC01234.JPG", seed: int = 7) -> tuple[Path, bytes]:
    from datetime import datetime

    data = jpeg_bytes(datetime(2025, 6, 1, 12, 0, 0), seed, 5000)
    path = tmp / name
    path.write_bytes(data)
    return path, data


def _assert_saved(rig: Rig, name: str, data: bytes) -> None:
    saved = rig.dest / "2025-06-01" / name
    assert saved.read_bytes() == data
    assert [t.name for t in rig.store.transfers("SERIAL-A")] == [name]


def _ftplib(rig: Rig, user: str = "a7iv", password: str = "pw-a") -> ftplib.FTP:
    if rig.settings.tls:
        context = ssl.create_default_context(cafile=str(rig.cert))
        context.check_hostname = False
        ftp: ftplib.FTP = ftplib.FTP_TLS(context=context, timeout=TIMEOUT)
    else:
        ftp = ftplib.FTP(timeout=TIMEOUT)
    ftp.connect("127.0.0.1", rig.port)
    if isinstance(ftp, ftplib.FTP_TLS):
        ftp.auth()
    ftp.login(user, password)
    if isinstance(ftp, ftplib.FTP_TLS):
        ftp.prot_p()
    return ftp


def test_curl_uploads(rig: Rig, tmp_path: Path) -> None:
    assert shutil.which("curl"), "curl is needed (scripts/setup.sh installs it)"
    path, data = _photo(tmp_path)
    tls = ["--ssl-reqd", "--cacert", str(rig.cert), "--insecure"] if rig.settings.tls else []
    subprocess.run(
        [
            "curl",
            "-sS",
            "--max-time",
            "30",
            *tls,
            "-T",
            str(path),
            "--user",
            "a7iv:pw-a",
            f"ftp://127.0.0.1:{rig.port}/",
        ],
        check=True,
        timeout=TIMEOUT,
    )
    _assert_saved(rig, path.name, data)


def test_lftp_uploads(rig: Rig, tmp_path: Path) -> None:
    assert shutil.which("lftp"), "lftp is needed (scripts/setup.sh installs it)"
    path, data = _photo(tmp_path)
    if rig.settings.tls:
        tls = (f"set ftp:ssl-force true; set ftp:ssl-protect-data true; "
               f"set ssl:ca-file {rig.cert}; set ssl:check-hostname no;")  # fmt: skip
    else:
        tls = "set ftp:ssl-allow no;"
    subprocess.run(
        [
            "lftp",
            "-u",
            "a7iv,pw-a",
            "-p",
            str(rig.port),
            "-e",
            f"set net:max-retries 1; set net:timeout 20; {tls} put {path}; bye",
            "127.0.0.1",
        ],
        check=True,
        timeout=TIMEOUT,
        stdin=subprocess.DEVNULL,
    )
    _assert_saved(rig, path.name, data)


def test_ftplib_uploads_and_lists_its_own_files(rig: Rig, tmp_path: Path) -> None:
    path, data = _photo(tmp_path)
    ftp = _ftplib(rig)
    with path.open("rb") as f:
        ftp.storbinary(f"STOR {path.name}", f)
    assert ftp.nlst() == [path.name]
    [line] = [entry for entry in _lines(ftp, f"LIST {path.name}")]
    assert line.endswith(f" {path.name}")
    assert f" {len(data)} " in line
    ftp.voidcmd("TYPE I")
    assert ftp.size(path.name) == len(data)
    ftp.quit()
    _assert_saved(rig, path.name, data)
    other = _ftplib(rig, "a1", "pw-b")
    own, _ = _photo(tmp_path, "DSC09999.JPG", seed=8)
    with own.open("rb") as f:
        other.storbinary(f"STOR {own.name}", f)
    assert other.nlst() == [own.name]  # another camera's uploads are not listed
    other.quit()


def _lines(ftp: ftplib.FTP, command: str) -> list[str]:
    lines: list[str] = []
    ftp.retrlines(command, lines.append)
    return lines


def _one_line(caplog: pytest.LogCaptureFixture, text: str) -> None:
    lines = [r.getMessage() for r in caplog.records if text in r.getMessage()]
    assert len(lines) == 1, lines


def test_wrong_password_and_unknown_user_are_refused(
    plain: Rig, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, "sony_pm_alt.ftp")
    with pytest.raises(ftplib.error_perm, match="530"):
        _ftplib(plain, "a7iv", "wrong")
    _one_line(caplog, "login failed for 'a7iv' from 127.0.0.1: wrong password")
    ftp = ftplib.FTP(timeout=TIMEOUT)
    ftp.connect("127.0.0.1", plain.port)
    with pytest.raises(ftplib.error_perm, match="530"):
        ftp.login("nobody", "pw-a")
    with pytest.raises(ftplib.error_perm, match="530"):  # still not logged in
        ftp.sendcmd("PWD")
    with pytest.raises(ftplib.error_perm, match="530"):
        ftp.sendcmd("STOR x.JPG")
    ftp.close()
    _one_line(caplog, "login failed for 'nobody' from 127.0.0.1: unknown user")


def test_wrong_passwords_are_rate_limited(plain: Rig) -> None:
    for _ in range(5):
        with pytest.raises(ftplib.error_perm, match="530"):
            _ftplib(plain, "a7iv", "wrong")
    with pytest.raises(ftplib.error_temp, match="421"):  # even the right one, for a while
        _ftplib(plain, "a7iv", "pw-a")


@pytest.mark.parametrize(
    ("command", "why"),
    [
        ("STOR ../escape.JPG", "'..' is not allowed"),
        ("STOR sub/../../escape.JPG", "'..' is not allowed"),
        ("CWD ../..", "'..' is not allowed"),
        ("STOR /etc/escape.JPG", "absolute paths are not allowed"),
        ("DELE DSC01234.JPG", "DELE is not allowed"),
        ("RNFR DSC01234.JPG", "RNFR is not allowed"),
        ("SITE CHMOD 777 DSC01234.JPG", "SITE is not allowed"),
        ("STOR bad\x1b[2Jname.JPG", "control characters"),
        ("MKD a/b/c/d/e/f/g/h/i/j/k/l/m/n/o/p/q", "more than 16 directory levels"),
    ],
)
def test_paths_and_commands_are_refused(
    plain: Rig, tmp_path: Path, caplog: pytest.LogCaptureFixture, command: str, why: str
) -> None:
    caplog.set_level(logging.INFO, "sony_pm_alt.ftp")
    ftp = _ftplib(plain)
    with pytest.raises(ftplib.error_perm, match="550"):
        ftp.sendcmd(command)
    ftp.quit()
    _one_line(caplog, why)
    assert not (tmp_path / "escape.JPG").exists()
    assert not list(tmp_path.rglob("escape.JPG"))


def test_retr_of_another_cameras_file_is_refused(
    plain: Rig, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, "sony_pm_alt.ftp")
    path, _ = _photo(tmp_path)
    ftp = _ftplib(plain)
    with path.open("rb") as f:
        ftp.storbinary(f"STOR {path.name}", f)
    ftp.quit()
    other = _ftplib(plain, "a1", "pw-b")
    with pytest.raises(ftplib.error_perm, match="550"):
        other.retrbinary(f"RETR {path.name}", lambda chunk: None)
    other.quit()
    _one_line(caplog, "refused RETR 'DSC01234.JPG' from a1")


def test_a_cut_short_upload_never_gets_a_final_name(plain: Rig, tmp_path: Path) -> None:
    path, data = _photo(tmp_path)
    path.write_bytes(data[: len(data) // 2])
    ftp = _ftplib(plain)
    with path.open("rb") as f, pytest.raises(ftplib.error_temp, match="451"):
        ftp.storbinary(f"STOR {path.name}", f)
    ftp.voidcmd("TYPE I")
    assert ftp.size(path.name) == len(data) // 2  # the partial, for a resume
    with pytest.raises(ftplib.error_perm, match="550"):  # not a placed file
        ftp.sendcmd(f"MDTM {path.name}")
    ftp.quit()
    assert plain.visible() == []
    assert plain.store.transfers() == []
    assert any(isinstance(e, FileFailed) for e in plain.events)


def test_a_disk_error_mid_upload_is_a_426_that_names_it(
    plain: Rig, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sony_pm_alt.ftp.intake import Upload

    def full(self: Upload, buffer: memoryview, count: int) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(Upload, "write_buffer", full)
    path, _data = _photo(tmp_path)
    ftp = _ftplib(plain)
    with path.open("rb") as f, pytest.raises(ftplib.error_temp, match="426 No space left"):
        ftp.storbinary(f"STOR {path.name}", f)
    assert ftp.voidcmd("NOOP").startswith("200")  # one reply only; the connection goes on
    ftp.quit()
    assert plain.visible() == []
    assert plain.store.transfers() == []


@pytest.mark.parametrize("resume", ["restart", "rest", "appe"])
def test_emulator_drop_then_retransmit_records_once(plain: Rig, resume: str) -> None:
    files = card(3, seed=5, mp4_bytes=2_000_000)
    faults = FtpFaults(drop_mid_upload=3, resume=resume)
    camera = FtpCamera(FtpCameraSettings("127.0.0.1", plain.port, "a7iv", "pw-a", faults=faults))
    sent = camera.send_all(files)
    assert [s.result for s in sent] == ["sent", "sent", "retried"]
    placed = plain.visible()
    assert sorted(p.read_bytes() for p in placed) == sorted(m.data() for m in files)
    assert len(plain.store.transfers()) == 3
    # Sent again: identical content at the same key is a duplicate, not a "-1" file.
    FtpCamera(replace(camera.settings, faults=FtpFaults())).send_all(files)
    assert plain.visible() == placed
    assert len(plain.store.transfers()) == 3
    done = [e for e in plain.events if isinstance(e, FileDone)]
    assert sum(e.already_there for e in done) == 3


def test_a_different_file_under_the_same_name_is_kept_beside_it(plain: Rig) -> None:
    first = card(1, seed=1, kinds=("jpeg",))
    second = card(1, seed=2, kinds=("jpeg",))  # same name and capture time, other content
    settings = FtpCameraSettings("127.0.0.1", plain.port, "a7iv", "pw-a")
    FtpCamera(settings).send_all(first)
    FtpCamera(settings).send_all(second)
    names = [p.name for p in plain.visible()]
    assert names == ["DSC00001-1.JPG", "DSC00001.JPG"]


# --- the emulator against a third-party server ----------------------------------------------


@pytest.mark.parametrize(("hierarchy", "secure", "passive"), [
    ("camera", False, True), ("standard", True, True), ("camera", False, False),
])  # fmt: skip
def test_emulator_against_plain_pyftpdlib(
    tmp_path: Path, hierarchy: str, secure: bool, passive: bool
) -> None:
    from pyftpdlib.authorizers import DummyAuthorizer
    from pyftpdlib.handlers import FTPHandler, TLS_FTPHandler
    from pyftpdlib.servers import ThreadedFTPServer

    root = tmp_path / "server"
    root.mkdir()
    authorizer = DummyAuthorizer()
    authorizer.add_user("cam", "pw", str(root), perm="elradfmwMT")
    base = TLS_FTPHandler if secure else FTPHandler
    handler: Any = type("Handler", (base,), {"authorizer": authorizer})
    if secure:
        cert, key = tmp_path / "c.pem", tmp_path / "k.pem"
        ensure_self_signed(cert, key, ("127.0.0.1",))
        handler.certfile, handler.keyfile = str(cert), str(key)
        handler.tls_control_required = handler.tls_data_required = True  # really encrypted
    server = ThreadedFTPServer(("127.0.0.1", 0), handler)
    import threading

    thread = threading.Thread(target=server.serve_forever, kwargs={"timeout": 0.2,
                              "handle_exit": False}, daemon=True)  # fmt: skip
    thread.start()
    try:
        files = card(6, seed=9)
        settings = FtpCameraSettings("127.0.0.1", server.address[1], "cam", "pw",
                                     passive=passive, secure=secure, hierarchy=hierarchy,
                                     directory="upload")  # fmt: skip
        sent = FtpCamera(settings).send_all(files)
    finally:
        server.close_all()
        thread.join(10)
    for media, record in zip(files, sent, strict=True):
        folder = "upload/" + media.folder if hierarchy == "camera" else "upload"
        path = root / folder / media.name
        assert record.folder == folder
        assert path.read_bytes() == media.data()
        assert hashlib.sha256(path.read_bytes()).hexdigest() == record.sha256


def test_emulator_dont_overwrite_skips_existing_names(plain: Rig) -> None:
    files = card(2, seed=4, kinds=("jpeg",))
    settings = FtpCameraSettings("127.0.0.1", plain.port, "a7iv", "pw-a", overwrite=False)
    assert [s.result for s in FtpCamera(settings).send_all(files)] == ["sent", "sent"]
    assert [s.result for s in FtpCamera(settings).send_all(files)] == ["skipped", "skipped"]


def test_emulator_wrong_password_fault_then_logs_in(plain: Rig) -> None:
    settings = FtpCameraSettings("127.0.0.1", plain.port, "a7iv", "pw-a",
                                 faults=FtpFaults(wrong_password=True))  # fmt: skip
    sent = FtpCamera(settings).send_all(card(1, kinds=("jpeg",)))
    assert [s.result for s in sent] == ["sent"]
    assert len(plain.store.transfers()) == 1


def test_tls_required_refuses_a_plain_login(tmp_path: Path) -> None:
    rig = Rig(tmp_path, True)
    rig.settings = replace(rig.settings, tls_required=True)
    rig.receiver = FtpReceiver(rig.settings, rig.store)
    with rig.receiver:
        ftp = ftplib.FTP(timeout=TIMEOUT)
        ftp.connect("127.0.0.1", rig.port)
        with pytest.raises(ftplib.error_perm, match="TLS required"):
            ftp.login("a7iv", "pw-a")
        ftp.close()
    rig.store.close()


def test_capture_time_from_mfmt_else_the_receive_time(plain: Rig, tmp_path: Path) -> None:
    from datetime import UTC, datetime

    sidecar = tmp_path / "C0001M01.XML"
    sidecar.write_bytes(b"<xml/>")
    ftp = _ftplib(plain)
    ftp.sendcmd("MFMT 20240102030405 C0001M01.XML")  # before the upload: its capture time
    with sidecar.open("rb") as f:
        ftp.storbinary("STOR C0001M01.XML", f)
    with sidecar.open("rb") as f:
        ftp.storbinary("STOR OTHER.XML", f)
    ftp.quit()
    done = {e.obj.name: e for e in plain.events if isinstance(e, FileDone)}
    assert done["C0001M01.XML"].time_source == "mfmt"
    assert done["OTHER.XML"].time_source == "received"
    local = datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC).astimezone()
    assert done["C0001M01.XML"].path == plain.dest / f"{local:%Y-%m-%d}" / "C0001M01.XML"
    assert done["C0001M01.XML"].path.stat().st_mtime == local.timestamp()


def test_a_heif_takes_its_capture_time_from_its_exif_not_mfmt(plain: Rig) -> None:
    from datetime import datetime

    photo = card(1, start=datetime(2023, 7, 8, 9, 10, 11), kinds=("heif",))[0]
    ftp = _ftplib(plain)
    ftp.sendcmd(f"MFMT 20240102030405 {photo.name}")  # a different time: EXIF wins
    ftp.storbinary(f"STOR {photo.name}", io.BytesIO(photo.data()))
    ftp.quit()
    done = [e for e in plain.events if isinstance(e, FileDone)]
    assert [e.time_source for e in done] == ["exif"]
    assert done[0].path == plain.dest / "2023-07-08" / "DSC00001.HIF"
    assert done[0].path.read_bytes() == photo.data()
