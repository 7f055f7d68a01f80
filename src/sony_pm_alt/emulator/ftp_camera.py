"""An emulated Sony body's "FTP Transfer" client, with its menu settings as options.

What the settings do follows Sony's Help Guides where they say it (docs/ftp.md marks each
behaviour [manual] or [assumed]): Passive Mode on/off, Secure Protocol (explicit FTPS, AUTH
TLS then PROT P), Directory Hierarchy "Standard" (files straight into the specified
directory) or "Same as in Camera" (the card's folders recreated under it), Same Name File
Overwrite or not, Auto FTP Transfer (new files trickling in while shooting). Faults:
``drop-mid-upload=K`` (the K-th upload is cut off half-way with a TCP reset on both
connections, then sent again after a reconnect, as a camera retries later), ``resume=rest``
or ``resume=appe`` (the retry continues the partial instead of sending the whole file) and
``wrong-password=1`` (log in with a wrong password first).
"""

from __future__ import annotations

import contextlib
import ftplib
import hashlib
import socket
import ssl
import struct
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from .ftp_media import MediaFile

CONNECT_TIMEOUT = 30.0


class FtpCameraError(Exception):
    """The server refused something the camera needed; the message says what."""


@dataclass(frozen=True)
class FtpFaults:
    drop_mid_upload: int = 0  # 1-based index of the upload to cut off; 0: none
    resume: str = "restart"  # how the retry goes: restart, rest, appe
    wrong_password: bool = False

    @classmethod
    def parse(cls, specs: tuple[str, ...]) -> FtpFaults:
        values: dict[str, object] = {}
        for spec in specs:
            kind, _, value = spec.partition("=")
            if kind == "drop-mid-upload" and value.isdigit():
                values["drop_mid_upload"] = int(value)
            elif kind == "resume" and value in ("restart", "rest", "appe"):
                values["resume"] = value
            elif kind == "wrong-password" and value in ("0", "1"):
                values["wrong_password"] = value == "1"
            else:
                raise ValueError(
                    f"unknown FTP fault {spec!r}; known: drop-mid-upload=K, "
                    "resume=restart|rest|appe, wrong-password=1"
                )
        return cls(**values)  # type: ignore[arg-type]


@dataclass(frozen=True)
class FtpCameraSettings:
    host: str
    port: int
    user: str
    password: str
    passive: bool = True
    secure: bool = False
    hierarchy: str = "standard"
    directory: str = ""  # "Specify Directory"; "" is the login directory
    overwrite: bool = True
    trickle: float = 0.0  # seconds between files (Auto FTP Transfer); 0: all at once
    cafile: Path | None = None  # "Import Root Certificate"; None: connect anyway
    faults: FtpFaults = field(default_factory=FtpFaults)


@dataclass(frozen=True)
class Sent:
    folder: str  # where on the server, relative to the login directory
    name: str
    size: int
    sha256: str
    result: str  # sent, skipped (exists, Don't Overwrite), retried


class _TLS(ftplib.FTP_TLS):
    """FTP_TLS that reuses the control connection's TLS session on the data connection, as
    servers requiring session reuse expect. Every data connection is protected: PROT P is sent
    right after login (:meth:`FtpCamera._connect`), before any transfer."""

    def ntransfercmd(
        self, cmd: str, rest: int | str | None = None
    ) -> tuple[socket.socket, int | None]:
        conn, size = ftplib.FTP.ntransfercmd(self, cmd, rest)
        session = self.sock.session  # type: ignore[union-attr]
        return self.context.wrap_socket(conn, server_hostname=self.host, session=session), size


class FtpCamera:
    def __init__(self, settings: FtpCameraSettings, log: Callable[[str], None] | None = None):
        self.settings = settings
        self._log = log or (lambda line: None)
        self._uploads = 0

    def _connect(self, password: str) -> ftplib.FTP:
        s = self.settings
        ftp: ftplib.FTP
        if s.secure:
            context = ssl.create_default_context(cafile=str(s.cafile) if s.cafile else None)
            if s.cafile is None:  # "Root Certificate Error: Connect"
                context.check_hostname = False
                context.verify_mode = ssl.CERT_NONE
            ftp = _TLS(context=context, timeout=CONNECT_TIMEOUT)
        else:
            ftp = ftplib.FTP(timeout=CONNECT_TIMEOUT)
        ftp.connect(s.host, s.port)
        ftp.login(s.user, password)  # FTP_TLS: AUTH TLS first
        if isinstance(ftp, ftplib.FTP_TLS):
            ftp.prot_p()
        ftp.set_pasv(s.passive)
        ftp.voidcmd("TYPE I")
        return ftp

    def login(self) -> ftplib.FTP:
        if self.settings.faults.wrong_password:
            try:
                self._connect(self.settings.password + "-wrong").quit()
            except ftplib.error_perm as exc:
                self._log(f"wrong password refused: {exc}")
            else:
                raise FtpCameraError("the server accepted a wrong password")
        return self._connect(self.settings.password)

    def _target_dir(self, media: MediaFile) -> str:
        parts = [p for p in self.settings.directory.split("/") if p]
        if self.settings.hierarchy == "camera":
            parts += [p for p in media.folder.split("/") if p]
        return "/".join(parts)

    def _cd(self, ftp: ftplib.FTP, directory: str) -> None:
        ftp.cwd("/")
        for part in [p for p in directory.split("/") if p]:
            with contextlib.suppress(ftplib.error_perm):  # exists already
                ftp.mkd(part)
            ftp.cwd(part)

    def send_all(self, files: list[MediaFile]) -> list[Sent]:
        sent: list[Sent] = []
        ftp = self.login()
        try:
            for i, media in enumerate(files):
                if i and self.settings.trickle:
                    time.sleep(self.settings.trickle)  # the photographer shooting, not sync
                ftp, record = self._send(ftp, media)
                sent.append(record)
                self._log(f"{record.result} {record.folder}/{record.name} ({record.size} bytes)")
        finally:
            try:
                ftp.quit()
            except (OSError, EOFError, AttributeError, ftplib.Error):
                ftp.close()
        return sent

    def _send(self, ftp: ftplib.FTP, media: MediaFile) -> tuple[ftplib.FTP, Sent]:
        directory = self._target_dir(media)
        self._cd(ftp, directory)
        digest = hashlib.sha256()
        size = 0
        for piece in media.chunks():
            digest.update(piece)
            size += len(piece)
        if not self.settings.overwrite and media.name in _names(ftp):
            return ftp, Sent(directory, media.name, size, digest.hexdigest(), "skipped")
        self._uploads += 1
        result = "sent"
        if self._uploads == self.settings.faults.drop_mid_upload:
            self._cut_off(ftp, media, size // 2)
            ftp = self.login()
            self._cd(ftp, directory)
            self._resume(ftp, media, size)
            result = "retried"
        else:
            self._store(ftp, "STOR " + media.name, media, 0)
        return ftp, Sent(directory, media.name, size, digest.hexdigest(), result)

    def _store(self, ftp: ftplib.FTP, command: str, media: MediaFile, skip: int) -> None:
        conn = ftp.transfercmd(command)
        with conn:
            for piece in _skip(media, skip):
                conn.sendall(piece)
            if isinstance(conn, ssl.SSLSocket):
                conn.unwrap()
        ftp.voidresp()

    def _cut_off(self, ftp: ftplib.FTP, media: MediaFile, after: int) -> None:
        conn = ftp.transfercmd("STOR " + media.name)
        sent = 0
        for piece in media.chunks():
            piece = piece[: after - sent]
            conn.sendall(piece)
            sent += len(piece)
            if sent >= after:
                break
        for sock in (conn, ftp.sock):
            if sock is None:
                continue
            # A reset, as when the camera loses the network or powers off mid-file.
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            sock.close()
        ftp.sock = None
        self._log(f"cut off {media.name} after {sent} bytes")

    def _resume(self, ftp: ftplib.FTP, media: MediaFile, size: int) -> None:
        mode = self.settings.faults.resume
        if mode == "restart":
            self._store(ftp, "STOR " + media.name, media, 0)
            return
        have = ftp.size(media.name) or 0
        if have > size:
            have = 0
        if mode == "rest":
            ftp.sendcmd(f"REST {have}")
            self._store(ftp, "STOR " + media.name, media, have)
        else:
            self._store(ftp, "APPE " + media.name, media, have)


def _skip(media: MediaFile, skip: int) -> Iterator[bytes]:
    for piece in media.chunks():
        if skip >= len(piece):
            skip -= len(piece)
            continue
        yield piece[skip:]
        skip = 0


def _names(ftp: ftplib.FTP) -> set[str]:
    try:
        return {n.rsplit("/", 1)[-1] for n in ftp.nlst()}
    except ftplib.error_perm:
        return set()
