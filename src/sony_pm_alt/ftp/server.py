"""The FTP(S) server a camera uploads to: pyftpdlib, cut down to what a camera needs.

Nothing the client says reaches the real file system as a path: directories are virtual,
uploads go through :mod:`.intake`, LIST/NLST/SIZE/MDTM show only what this camera uploaded;
what is allowed and refused is ``ALLOWED``/``REFUSED`` below (docs/ftp.md "What is refused").
Every connection runs in its own thread, so one camera's fsync, hook or slow disk never holds
up another. Only pyftpdlib's public names are used; what we rely on in its behaviour is
checked by ``tests/test_ftp_pyftpdlib_contract.py``.
"""

from __future__ import annotations

import errno
import logging
import os
import threading
import time
import warnings
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import Any

from pyftpdlib.authorizers import AuthenticationFailed, DummyAuthorizer
from pyftpdlib.filesystems import AbstractedFS
from pyftpdlib.handlers import DTPHandler, FTPHandler
from pyftpdlib.servers import ThreadedFTPServer

from ..engine.events import SyncEvent
from ..engine.sanitize import UnsafeName, safe_component
from ..engine.state import StateStore
from .accounts import Account, FailureLimiter
from .intake import READ_BUFFER, CameraLink, Upload, remove_old_partials
from .settings import DEFAULT_PORT

log = logging.getLogger("sony_pm_alt.ftp")
_PYFTPDLIB_LOG = logging.getLogger("pyftpdlib")


ALLOWED = frozenset({
    "USER", "PASS", "QUIT", "TYPE", "MODE", "STRU", "PASV", "EPSV", "PORT", "EPRT",
    "CWD", "XCWD", "CDUP", "XCUP", "PWD", "XPWD", "MKD", "XMKD", "STOR", "APPE", "REST",
    "SIZE", "MDTM", "MFMT", "LIST", "NLST", "NOOP", "SYST", "FEAT", "OPTS", "ALLO", "ABOR",
    "AUTH", "PBSZ", "PROT", "CCC", "STAT", "HELP",
})  # fmt: skip
REFUSED = frozenset({
    "RETR", "DELE", "RNFR", "RNTO", "RMD", "XRMD", "SITE", "SITE CHMOD", "SITE HELP", "STOU",
    "MLSD", "MLST",
})  # fmt: skip
FILE_COMMANDS = frozenset({"STOR", "APPE", "SIZE", "MDTM", "MFMT", "MKD", "XMKD"})
# A camera's tree is a few levels deep (DCIM/100MSDCF under the specified directory); these
# bound what a hostile client can make us hold in memory.
MAX_DEPTH = 16
MAX_DIRS = 10_000
# Data buffer per read: pyftpdlib's 64 KiB costs a system call per 64 KiB; 1 MiB keeps up
# with gigabit Wi-Fi and wired LAN at a fraction of the calls, still flat memory.
DATA_BUFFER = READ_BUFFER
# A camera uses one control connection at a time (plus one for a retry that overlaps a dead
# one); a handful of bodies share a receiver.
MAX_CONNECTIONS = 64
MAX_CONNECTIONS_PER_ADDRESS = 8
# A data connection's read: these errors mean the client is gone, these "nothing yet".
DISCONNECTED = frozenset({
    errno.ECONNRESET, errno.ENOTCONN, errno.ESHUTDOWN, errno.ECONNABORTED, errno.EPIPE,
    errno.EBADF, errno.ETIMEDOUT,
})  # fmt: skip
RETRY = frozenset({errno.EAGAIN, errno.EWOULDBLOCK, errno.EINTR})


@dataclass(frozen=True)
class ReceiverSettings:
    """How the receiver listens. ``passive_ports`` ``None``: any free port."""

    listen: str = "0.0.0.0"
    port: int = DEFAULT_PORT
    passive_ports: tuple[int, int] | None = None
    tls: bool = False
    certfile: Path | None = None
    keyfile: Path | None = None
    tls_required: bool = False
    masquerade_address: str | None = None
    login_delay: float = 3.0  # seconds before "530" after a wrong password
    idle_timeout: float = 300.0
    accounts: tuple[Account, ...] = field(default=())


def _path_refusal(cmd: str, arg: str) -> str | None:
    """Why the path in ``arg`` is refused (the 550 text), or None."""
    path = arg.split(" ", 1)[1] if cmd == "MFMT" and " " in arg else arg
    parts = PurePosixPath(path).parts
    if ".." in path.split("/"):
        return "'..' is not allowed in a path"
    if path.startswith("/") and cmd in FILE_COMMANDS:
        return "absolute paths are not allowed; CWD to the directory first"
    if len(parts) > MAX_DEPTH:
        return f"more than {MAX_DEPTH} directory levels"
    for part in parts:
        if part != part.strip() or any(ord(c) < 0x20 or ord(c) == 0x7F for c in part):
            return "control characters or edge spaces in a path"
    return None


class VirtualFS(AbstractedFS):  # type: ignore[misc]
    """The camera's virtual tree. Paths here are virtual POSIX paths ("/DCIM/100MSDCF")."""

    def __init__(self, root: str, cmd_channel: Any) -> None:
        super().__init__("/", cmd_channel)
        self.dirs: set[str] = {"/"}

    @property
    def link(self) -> CameraLink:
        link: CameraLink = self.cmd_channel.link
        return link

    # pyftpdlib's ftp2fs and fs2ftp keep a normalised path as it is when the root is "/";
    # these keep it from looking at the real file system.
    def validpath(self, path: str) -> bool:
        return True

    def realpath(self, path: str) -> str:
        return path

    def split_path(self, path: str) -> tuple[str, str]:
        """("/DCIM/100MSDCF/DSC1.JPG") -> ("/DCIM/100MSDCF", "DSC1.JPG")."""
        parent, name = path.rsplit("/", 1)
        return parent or "/", name

    def _received(self, path: str) -> Any:
        return self.link.received.get(self.split_path(path))

    def chdir(self, path: str) -> None:
        if path not in self.dirs:
            # Cameras CWD into the directory they were told to use; it exists from then on.
            self.mkdir(path)
        self.cwd = path

    def mkdir(self, path: str) -> None:
        if len(self.dirs) >= MAX_DIRS:
            raise OSError(errno.ENOSPC, f"more than {MAX_DIRS} directories")
        parts = PurePosixPath(path).parts
        for i in range(1, len(parts) + 1):
            self.dirs.add(str(PurePosixPath(*parts[:i])))

    def isdir(self, path: str) -> bool:
        return path in self.dirs or any(f == path for f, _n in self.link.received)

    def isfile(self, path: str) -> bool:
        """Uploaded by this camera, or partly uploaded (SIZE then tells where to resume)."""
        return (
            self._received(path) is not None
            or self.link.partial_size(*self.split_path(path)) is not None
        )

    def islink(self, path: str) -> bool:
        return False

    def lexists(self, path: str) -> bool:
        return self.isdir(path) or self.isfile(path)

    def getsize(self, path: str) -> int:
        partial = self.link.partial_size(*self.split_path(path))
        if partial is not None:
            return partial
        received = self._received(path)
        if received is None:
            raise FileNotFoundError(errno.ENOENT, f"{path}: not uploaded by this camera")
        return int(received.size)

    def getmtime(self, path: str) -> float:
        received = self._received(path)
        if received is None:
            raise FileNotFoundError(errno.ENOENT, f"{path}: not uploaded by this camera")
        try:
            return received.path.stat().st_mtime  # type: ignore[no-any-return]
        except OSError:
            raise FileNotFoundError(errno.ENOENT, f"{path}: no longer on disk") from None

    def listdir(self, path: str) -> list[str]:
        names = {n for f, n in self.link.received if f == path}
        prefix = path.rstrip("/") + "/"
        for d in self.dirs:
            if d != path and d.startswith(prefix) and "/" not in d[len(prefix) :]:
                names.add(d[len(prefix) :])
        return sorted(names)

    def format_list(
        self, basedir: str, listing: list[str], ignore_err: bool = True
    ) -> Iterator[bytes]:
        for name in listing:
            path = basedir.rstrip("/") + "/" + name
            received = self._received(path)
            if received is None:
                line = f"drwxr-xr-x   1 camera   camera          0 Jan 01 00:00 {name}\r\n"
            else:
                try:
                    stamp = received.path.stat().st_mtime
                except OSError:
                    stamp = 0.0
                when = time.strftime("%b %d %H:%M", time.gmtime(stamp))
                line = f"-rw-r--r--   1 camera   camera {received.size:>10} {when} {name}\r\n"
            yield line.encode("utf8", "replace")

    def open(self, filename: str, mode: str) -> Upload:
        if "w" not in mode and "a" not in mode and "+" not in mode:
            raise PermissionError(errno.EACCES, "this server only receives uploads")
        folder, name = self.split_path(filename)
        if folder not in self.dirs:
            raise FileNotFoundError(
                errno.ENOENT, f"{folder}: no such directory (MKD or CWD it first)"
            )
        try:
            safe_component(name)
        except UnsafeName as exc:
            raise PermissionError(errno.EACCES, str(exc)) from None
        return self.link.open_upload(folder, name, mode)

    def utime(self, path: str, timeval: float) -> None:
        folder, name = self.split_path(path)
        self.link.set_time(folder, name, datetime.fromtimestamp(timeval))

    def stat(self, path: str) -> Any:
        """Only for LIST of one file: the saved copy's (or the partial's) status."""
        received = self._received(path)
        if received is not None:
            return received.path.stat()
        partial = self.link.partial_for(*self.split_path(path))
        if partial.exists():
            return partial.stat()
        raise FileNotFoundError(errno.ENOENT, f"{path}: not uploaded by this camera")

    lstat = stat


class _FinishingDTP:
    """Checks and places an upload before the transfer's reply, so that a camera is told a
    file is safe only once it is (and gets a 451 when it is not: it will send it again).

    pyftpdlib's ``close`` sends the reply (``226``, or ``426`` for an aborted transfer)
    through the control channel's ``respond``; a problem found here is handed to
    :meth:`CameraHandler.reply_instead_of_226` first."""

    def close(self) -> None:
        dtp: Any = self
        upload = dtp.file_obj
        if dtp.receive and isinstance(upload, Upload) and upload.claim_finish():
            try:
                problem = _finish(upload, dtp.transfer_finished)
            finally:
                upload.release()
            if problem:
                dtp.cmd_channel.reply_instead_of_226(f"451 {problem}")
        try:
            super().close()  # type: ignore[misc]
        finally:
            if dtp.cmd_channel is not None:
                dtp.cmd_channel.reply_instead_of_226(None)  # not used: not a 226


def _finish(upload: Upload, finished: bool) -> str | None:
    """Fsync, then (when the client ended the transfer) check and place; the 451 text."""
    try:
        upload.close()
    except OSError as exc:
        log.warning("%s: fsync failed: %s", upload.name_for_log, exc)
        return f"cannot write the file: {exc}"
    if not finished:
        return None
    with upload.lock:
        if upload.superseded:  # the camera is sending it again on another connection
            return "superseded by a newer upload of the same file"
        try:
            return upload.link.finish(upload)
        except Exception as exc:
            log.exception("%s: unexpected error", upload.name_for_log)
            return f"unexpected error: {exc}"


class FinishingDTP(_FinishingDTP, DTPHandler):  # type: ignore[misc]
    ac_in_buffer_size = DATA_BUFFER
    binary = False

    def enable_receiving(self, type: str, cmd: str) -> None:
        self.binary = type == "i"
        super().enable_receiving(type, cmd)

    def handle_read(self) -> None:
        """pyftpdlib's, but into the upload's own buffers (no 1 MiB bytes object per read),
        which its hashing thread hashes while the next read goes on. TLS and TYPE A keep
        pyftpdlib's."""
        upload = self.file_obj
        if not self.binary or not isinstance(upload, Upload):
            super().handle_read()
            return
        buffer = upload.buffer()
        try:
            count = self.socket.recv_into(buffer)
        except OSError as err:
            count = 0
            if err.errno in DISCONNECTED:
                self.handle_close()
            elif err.errno not in RETRY:
                self.handle_error()
        else:
            if not count:
                self.handle_close()
        self.tot_bytes_received += count
        try:
            upload.write_buffer(buffer, count)  # also when empty: the buffer goes back
        except OSError as err:
            # The disk, not the client: say which error, keep the partial for a resume.
            log.warning("%s: cannot write: %s", upload.name_for_log, err)
            self.cmd_channel.respond(f"426 {os.strerror(err.errno or 0)}; transfer aborted.")
            self.close()

    handle_read_event = handle_read


class CameraHandler(FTPHandler):  # type: ignore[misc]
    """One control connection. Class attributes are set per receiver by :func:`make_server`."""

    abstracted_fs = VirtualFS
    banner = "sony-pm-alt FTP receiver ready."
    use_sendfile = False
    permit_privileged_ports = False
    store: StateStore
    emit: Callable[[CameraLink, SyncEvent], None]
    limiter: FailureLimiter
    hooks: ThreadPoolExecutor
    authorizer: CameraAuthorizer
    link: CameraLink | None = None
    _instead_of_226: str | None = None

    def reply_instead_of_226(self, reply: str | None) -> None:
        """The next ``226`` this connection would send is ``reply`` instead (None: is not)."""
        self._instead_of_226 = reply

    def respond(self, resp: str, logfun: Callable[..., object] = _PYFTPDLIB_LOG.debug) -> None:
        if self._instead_of_226 is not None and resp.startswith("226"):
            resp, self._instead_of_226 = self._instead_of_226, None
        super().respond(resp, logfun=logfun)

    def pre_process_command(self, line: str, cmd: str, arg: str) -> None:
        full = f"SITE {arg.split(' ')[0].upper()}" if cmd == "SITE" and arg else cmd
        if full in REFUSED or cmd in REFUSED:
            self._refuse(cmd, arg, f"{cmd} is not allowed: this server only receives uploads")
            return
        if self.authenticated and cmd in self.proto_cmds and self.proto_cmds[cmd]["perm"]:
            why = _path_refusal(cmd, arg)
            if why is not None:
                self._refuse(cmd, arg, why)
                return
        super().pre_process_command(line, cmd, arg)

    def _refuse(self, cmd: str, arg: str, why: str) -> None:
        who = self.username if self.authenticated else "(not logged in)"
        log.warning("refused %s %r from %s at %s: %s", cmd, arg, who, self.remote_ip, why)
        self.respond(f"550 {why}.")

    def ftp_PASS(self, line: str) -> None:  # noqa: N802 (pyftpdlib's name)
        if self.limiter.blocked(self.remote_ip):
            log.warning("refused a login from %s: too many wrong passwords", self.remote_ip)
            self.respond("421 Too many failed logins; try again later.")
            self.close_when_done()
            return
        super().ftp_PASS(line)

    def on_login(self, username: str) -> None:
        account = self.authorizer.accounts[username]
        emit = self.emit

        def relay(event: SyncEvent) -> None:
            if self.link is not None:
                emit(self.link, event)

        self.link = CameraLink(account, self.store, relay, self.remote_ip, self.hooks.submit)
        log.info("%s logged in from %s", username, self.remote_ip)

    def handle_auth_failed(self, msg: str, password: str) -> None:
        # Counted and logged at once, before the delayed "530" goes out.
        username = self.username
        self.limiter.failed(self.remote_ip)
        known = "wrong password" if self.authorizer.has_user(username) else "unknown user"
        log.warning("login failed for %r from %s: %s", username, self.remote_ip, known)
        super().handle_auth_failed(msg, password)

    def on_disconnect(self) -> None:
        link = self.link
        if link is not None:
            link.close()
            self.link = None

    def ftp_MFMT(self, path: str, timeval: str) -> Any:  # noqa: N802
        try:
            moment = datetime.strptime(timeval, "%Y%m%d%H%M%S").replace(tzinfo=UTC)
        except ValueError:
            self.respond("550 Invalid time format; expected: YYYYMMDDHHMMSS.")
            return None
        folder, name = self.fs.split_path(path)
        assert self.link is not None
        self.link.set_time(folder, name, moment.astimezone().replace(tzinfo=None))
        self.respond(f"213 Modify={timeval}; {path}.")
        return timeval, path


class CameraAuthorizer(DummyAuthorizer):  # type: ignore[misc]
    """Accounts from the config, as pyftpdlib's virtual users of "/"; never anonymous."""

    def __init__(self, accounts: tuple[Account, ...]) -> None:
        super().__init__()
        self.accounts = {account.user: account for account in accounts}
        for user in self.accounts:
            # pyftpdlib warns when a user called "anonymous" may write; ours has a password.
            with warnings.catch_warnings(action="ignore", category=RuntimeWarning):
                self.add_user(user, "", "/", perm="elwamT", msg_login="Logged in; send your files.")

    def validate_authentication(self, username: str, password: str, handler: Any) -> None:
        account = self.accounts.get(username)
        if account is None or not account.accepts(password):
            raise AuthenticationFailed("Authentication failed.")


def _handler_class(settings: ReceiverSettings) -> type[FTPHandler]:
    base: type[FTPHandler] = CameraHandler
    dtp: type[Any] = FinishingDTP
    if settings.tls:
        from pyftpdlib.handlers import TLS_DTPHandler, TLS_FTPHandler

        dtp = type("FinishingTLSDTP", (_FinishingDTP, TLS_DTPHandler), {})
        dtp.ac_in_buffer_size = DATA_BUFFER
        base = type("CameraTLSHandler", (CameraHandler, TLS_FTPHandler), {})
        base.certfile = str(settings.certfile)
        base.keyfile = str(settings.keyfile) if settings.keyfile else None
        base.tls_control_required = settings.tls_required
        base.tls_data_required = settings.tls_required
    known = ALLOWED | REFUSED - {"MLSD", "MLST"}  # not in FEAT either
    handler: type[FTPHandler] = type("ConfiguredCameraHandler", (base,), {})
    handler.proto_cmds = {k: v for k, v in base.proto_cmds.items() if k in known}
    handler.dtp_handler = dtp
    handler.passive_ports = (
        list(range(settings.passive_ports[0], settings.passive_ports[1] + 1))
        if settings.passive_ports
        else None
    )
    handler.masquerade_address = settings.masquerade_address
    handler.auth_failed_timeout = settings.login_delay
    handler.timeout = settings.idle_timeout
    handler.authorizer = CameraAuthorizer(settings.accounts)
    handler.limiter = FailureLimiter()
    return handler


class FtpReceiver:
    """The receiver: ``start()`` binds and serves in a thread, ``stop()`` ends it.

    ``address`` is the bound (host, port) once started (port 0 picks a free one)."""

    def __init__(
        self,
        settings: ReceiverSettings,
        store: StateStore,
        on_event: Callable[[SyncEvent], None] | None = None,
        *,
        on_link_event: Callable[[CameraLink, SyncEvent], None] | None = None,
    ) -> None:
        """``on_event`` gets every upload's events; ``on_link_event`` the same with the
        connection they belong to (its peer address and account), for ``watch``."""
        if not settings.accounts:
            raise ValueError(
                "no FTP accounts: give a [[camera]] section ftp_user and ftp_password "
                "(or ftp_password_hash)"
            )
        self.settings = settings
        handler = _handler_class(settings)
        handler.store = store

        def emit(link: CameraLink, event: SyncEvent) -> None:
            if on_event is not None:
                on_event(event)
            if on_link_event is not None:
                on_link_event(link, event)

        handler.emit = staticmethod(emit)
        # One thread: hooks run in the order of the files, after the camera got its reply.
        self._hooks = ThreadPoolExecutor(1, thread_name_prefix="sony-pm-alt-ftp-hook")
        handler.hooks = self._hooks
        _PYFTPDLIB_LOG.setLevel(logging.WARNING)  # our own lines say what matters, once
        if not _PYFTPDLIB_LOG.handlers:  # else pyftpdlib configures the root logger itself
            _PYFTPDLIB_LOG.addHandler(logging.NullHandler())
        self._server = ThreadedFTPServer((settings.listen, settings.port), handler)
        # A thread per connection: bounded, so a hostile LAN client cannot make thousands.
        self._server.max_cons = MAX_CONNECTIONS
        self._server.max_cons_per_ip = MAX_CONNECTIONS_PER_ADDRESS
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()

    @property
    def address(self) -> tuple[str, int]:
        host, port = self._server.address[:2]
        return str(host), int(port)

    def connections(self) -> int:
        """Control connections being served now."""
        return len(self._server.ip_map)

    def start(self) -> FtpReceiver:
        now = time.time()
        for account in self.settings.accounts:  # a camera that never comes back, too
            remove_old_partials(account, now)
        self._thread = threading.Thread(target=self._serve, name="sony-pm-alt-ftp", daemon=True)
        self._thread.start()
        return self

    def _serve(self) -> None:
        # One poll at a time, and the closing done here: pyftpdlib's loop is not thread-safe,
        # and a close_all() from another thread can make a poll in progress fail (EBADF).
        try:
            while not self._stopping.is_set():
                self._server.serve_forever(timeout=0.2, blocking=False, handle_exit=False)
        finally:
            self._server.close_all()

    def stop(self) -> None:
        """Close every connection (partial uploads stay for a resume), then let the hooks
        already queued finish."""
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(30)
        else:
            self._server.close_all()
        self._hooks.shutdown(wait=True)

    def __enter__(self) -> FtpReceiver:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
