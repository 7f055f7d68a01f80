"""An FTP upload through the engine's pipeline, as a PTP/IP download goes (docs/ftp.md "The
pipeline"): partial file, fsync, check, capture time, filters, placement, state, hooks, events.

One :class:`CameraLink` per logged-in control connection: the first upload starts a session
in the state store (so ``history`` lists it), the end of the connection ends it.
"""

from __future__ import annotations

import hashlib
import itertools
import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path, PurePosixPath

from ..engine import download as dl
from ..engine.events import (
    FileDone,
    FileFailed,
    FileProgress,
    FileSkipped,
    FileStarted,
    SessionEnded,
    SessionStarted,
    SyncEvent,
    SyncSummary,
)
from ..engine.hooks import run_hook
from ..engine.model import CameraInfo, CameraObject
from ..engine.naming import Template
from ..engine.sanitize import UnsafeName, contained_path
from ..engine.state import StateStore
from ..engine.writeback import WriteBack
from .accounts import Account
from .content import Incomplete, capture_time, check_complete
from .hashing import BackgroundHash, return_buffer, take_buffer

log = logging.getLogger("sony_pm_alt.ftp")

SPOOL_DIR = ".sony-pm-alt-ftp"
MODEL = "FTP Transfer"  # what {model} renders to: FTP does not tell us the body's model
PROGRESS_STEP = 8 * 1024 * 1024  # bytes between FileProgress events
READ_BUFFER = 1024 * 1024  # one socket read
HASH_BLOCK = 4 * 1024 * 1024  # reads fill a block; the hashing thread takes it when full


@dataclass(frozen=True)
class Received:
    """What this camera uploaded under one virtual folder and name (for LIST, SIZE, MDTM)."""

    size: int
    path: Path


class CameraLink:
    """One logged-in camera connection: its uploads, its session record, its events."""

    def __init__(
        self,
        account: Account,
        store: StateStore,
        emit: Callable[[SyncEvent], None],
        peer: str = "",
        run_later: Callable[[Callable[[], object]], object] | None = None,
    ) -> None:
        """``run_later`` runs the hooks (the receiver passes a one-thread executor, so that a
        slow hook never delays the reply the camera waits for); default: at once."""
        self.account = account
        self._run_later = run_later or (lambda job: job())
        self.camera = CameraInfo(model=MODEL, serial=account.camera, name=account.user)
        self.peer = peer
        self._store = store
        self._emit = emit
        self._template = Template(account.template)
        self._lock = threading.Lock()
        self._session_id: int | None = None
        self._started = time.monotonic()
        self.transferred = 0
        self.bytes = 0
        self.skipped = 0
        self.failed: list[str] = []
        self._seq = itertools.count(1)  # next() is atomic: one index per upload
        self._pending_times: dict[tuple[str, str], datetime] = {}
        self.received: dict[tuple[str, str], Received] = {}
        for transfer in store.transfers(self.camera.key):  # newest first: the first one counts
            received = Received(transfer.size, Path(transfer.path))
            self.received.setdefault((transfer.folder, transfer.name), received)

    # -- what the server asks ---------------------------------------------------------------

    def partial_for(self, folder: str, name: str) -> Path:
        digest = hashlib.sha256(repr((self.camera.key, folder, name)).encode()).hexdigest()[:20]
        return self.account.dest / SPOOL_DIR / f".{digest}{dl.PARTIAL_SUFFIX}"

    def open_upload(self, folder: str, name: str, mode: str) -> Upload:
        """``mode`` is pyftpdlib's: ``wb`` (STOR), ``ab`` (APPE), ``r+b`` (STOR after REST)."""
        partial = self.partial_for(folder, name)
        partial.parent.mkdir(parents=True, exist_ok=True)
        if mode == "r+b" and not partial.exists():
            partial.touch()
        upload = Upload(self, folder, name, partial, mode)
        upload.index = next(self._seq)
        self._ensure_session()
        self._emit(FileStarted(upload.obj(0), partial, upload.index, upload.start))
        return upload

    def set_time(self, folder: str, name: str, when: datetime) -> None:
        """MFMT: before the upload, the capture time to use if the file has none; after it,
        the placed file's modification time."""
        received = self.received.get((folder, name))
        if received is None:
            self._pending_times[(folder, name)] = when
        else:
            os.utime(received.path, (when.timestamp(), when.timestamp()))

    def partial_size(self, folder: str, name: str) -> int | None:
        partial = self.partial_for(folder, name)
        return partial.stat().st_size if partial.exists() else None

    # -- the session record -----------------------------------------------------------------

    def _ensure_session(self) -> None:
        with self._lock:
            if self._session_id is not None:
                return
            self._session_id = self._store.start_session(self.camera, 0)
        self._emit(SessionStarted(self.camera, 0, 0, 0, "ftp"))
        self._hook("start", camera=self.camera.model, planned=0)

    def close(self) -> SyncSummary | None:
        """End the session record (if an upload started one); the summary, or None."""
        with self._lock:
            session_id, self._session_id = self._session_id, None
        if session_id is None:
            return None
        self._store.end_session_or_warn(
            session_id, self.transferred, len(self.failed), self.bytes, complete=not self.failed
        )
        self._hook("stop", transferred=self.transferred, failed=len(self.failed))
        remove_old_partials(self.account, time.time())
        summary = SyncSummary(
            self.camera,
            self.transferred + len(self.failed) + self.skipped,
            self.transferred,
            self.bytes,
            time.monotonic() - self._started,
            self.skipped,
            list(self.failed),
            False,
            "ftp",
        )
        self._emit(SessionEnded(summary))
        return summary

    # -- one finished data connection -------------------------------------------------------

    def finish(self, upload: Upload) -> str | None:
        """The data connection ended: check and place. None when the file is safe (or was
        skipped by the filters); else the reason, for the 451 reply."""
        obj = upload.obj(upload.size)
        try:
            kind = check_complete(upload.partial)
        except Incomplete as exc:
            return self._fail(upload, obj, f"incomplete upload, kept for a resume: {exc}")
        except OSError as exc:
            return self._fail(upload, obj, f"cannot read the upload: {exc}")
        when, source = capture_time(upload.partial), "metadata" if kind == "mp4" else "exif"
        if when is None:
            pending = self._pending_times.pop((upload.folder, upload.name), None)
            when, source = (pending, "mfmt") if pending else (datetime.now(), "received")
        # A receive time is no capture time: it stays out of the file's key (a re-sent file
        # is the same file) and out of its modification time; the template still uses it.
        obj = upload.obj(upload.size, when if source != "received" else None)
        if not self.account.filters.accepts(obj):
            upload.partial.unlink(missing_ok=True)
            self.skipped += 1
            self._emit(FileSkipped(obj, "not wanted by the filters"))
            return None
        try:
            relative = self._template.render(obj, self.camera, upload.index, when)
            final = contained_path(self.account.dest, relative)
        except UnsafeName as exc:
            return self._fail(upload, obj, f"unsafe name: {exc}")
        try:
            placed = dl.place_verified(
                upload.partial,
                final,
                upload.size,
                upload.sha256(),
                when.timestamp() if obj.capture_time is not None else None,
                upload.start,
            )
        except OSError as exc:
            return self._fail(upload, obj, f"cannot place the file: {exc}")
        assert self._session_id is not None
        self._store.record_transfer(self._session_id, self.camera, obj, placed.path, placed.sha256)
        self.received[(upload.folder, upload.name)] = Received(upload.size, placed.path)
        self.transferred += 1
        self.bytes += upload.size - upload.start
        saved = (self.account.user, upload.name_for_log, placed.path, source)
        log.info("%s: %s saved as %s (capture time from %s)", *saved)
        self._emit(
            FileDone(
                obj,
                placed.path,
                upload.size,
                time.monotonic() - self._started,
                placed.already_there,
                time_source=source,
            )
        )
        self._hook(
            "download",
            str(placed.path),
            camera=self.camera.model,
            name=upload.name,
            folder=upload.folder,
            size=upload.size,
            time_source=source,
        )
        return None

    def _hook(self, action: str, argument: str = "", **details: object) -> None:
        hook = self.account.hook
        if hook:
            self._run_later(lambda: run_hook(hook, action, argument, **details))

    def _fail(self, upload: Upload, obj: CameraObject, reason: str) -> str:
        log.warning("%s %s: %s", self.peer, upload.name_for_log, reason)
        self.failed.append(f"{upload.folder}/{upload.name}: {reason}")
        self._emit(FileFailed(obj, reason))
        return reason

    def progress(self, upload: Upload) -> None:
        self._emit(FileProgress(upload.obj(upload.size), upload.size, 0))


class Upload:
    """The file object pyftpdlib writes an upload into: the hidden partial file, hashed on
    the way when it is written from its start (else hashed once at the end).

    One partial file has one writer: a new upload of the same file (the camera retrying while
    its dropped connection is still being noticed here) supersedes the old one, whose late
    writes are then dropped and which is neither fsynced nor placed."""

    def __init__(self, link: CameraLink, folder: str, name: str, partial: Path, mode: str):
        self.link = link
        self.folder = folder
        self.name = name
        self.partial = partial
        self.index = 0
        self.lock = threading.Lock()
        self.superseded = False
        self._finish_claimed = False
        with _OPEN_LOCK:
            old = _OPEN.get(partial)
            _OPEN[partial] = self
        if old is not None:
            old.supersede()  # waits for its write or its placement to end
        self._file = partial.open(mode, buffering=0)  # 1 MiB writes: no buffer to flush late
        self.start = os.fstat(self._file.fileno()).st_size if mode == "ab" else 0
        # Written from its start: hashed on the way, on a helper thread made with the first
        # byte (else hashed once at the end).
        self._hashing = mode == "wb"
        self._hash: BackgroundHash | None = None
        self._own_buffer: memoryview | None = None
        self._block: memoryview | None = None  # being filled by reads, then hashed whole
        self._filled = 0
        self._offset = self.start
        self._write_back = WriteBack(self._file, self.start)  # type: ignore[arg-type]
        self._next_progress = PROGRESS_STEP
        self.size = self.start

    @property
    def closed(self) -> bool:
        return self._file.closed

    @property
    def name_for_log(self) -> str:
        return str(PurePosixPath(self.folder) / self.name)

    def obj(self, size: int, when: datetime | None = None) -> CameraObject:
        return CameraObject(self.folder, self.name, size, when, 0)

    def seek(self, offset: int) -> None:  # REST: continue a partial file
        with self.lock:
            self._file.seek(offset)
            self._file.truncate(offset)
            self.start = self._offset = self.size = offset
            self._write_back.restart(offset)
            self._hashing = False
            if self._hash is not None:
                self._drop_block()
                self._hash.stop()
                self._hash = None

    def _hasher(self) -> BackgroundHash | None:
        if self._hashing and self._hash is None:
            self._hash = BackgroundHash(HASH_BLOCK)
        return self._hash

    def buffer(self) -> memoryview:
        """Where to read the next piece into, then given to :meth:`write_buffer`: when
        hashing, the free end of the block being filled (one hand-over to the hashing thread
        per block, not per read)."""
        hasher = self._hasher()
        if hasher is not None:
            if self._block is None:
                self._block, self._filled = hasher.buffer(), 0
            return self._block[self._filled : self._filled + READ_BUFFER]
        if self._own_buffer is None:
            self._own_buffer = take_buffer(READ_BUFFER)
        return self._own_buffer

    def write(self, data: bytes) -> int:
        with self.lock:
            if not self.superseded:
                self._write(data)
                hasher = self._hasher()
                if hasher is not None:
                    hasher.feed(data)
        self._report_progress()
        return len(data)

    def write_buffer(self, buffer: memoryview, count: int) -> None:
        """Write the first ``count`` bytes of a buffer from :meth:`buffer` (no copy made)."""
        with self.lock:
            closed = self._file.closed  # superseded or finished
            if count > 0 and not closed:
                self._write(buffer[:count])
                block = self._block
                if self._hash is not None and block is not None:
                    self._filled += count
                    if self._filled == len(block):
                        self._hash.feed(block, block)
                        self._block = None
            elif closed:
                self._drop_block()
        self._report_progress()

    def _feed_block(self) -> None:
        """The block being filled goes to the hashing thread as far as it is filled."""
        block, self._block = self._block, None
        if block is not None and self._hash is not None:
            if self._filled:
                self._hash.feed(block[: self._filled], block)
            else:
                self._hash.give_back(block)

    def _drop_block(self) -> None:
        """Not hashed (the upload is superseded or restarted): the block is free again.
        Only on the reading thread, which may be reading into it until then."""
        block, self._block = self._block, None
        if block is not None and self._hash is not None:
            self._hash.give_back(block)

    def _write(self, data: bytes | memoryview) -> None:
        view = memoryview(data)
        while view:
            view = view[self._file.write(view) :]
        self._offset += len(data)
        self.size = max(self.size, self._offset)
        self._write_back.wrote_up_to(self._offset)

    def _report_progress(self) -> None:
        if self.size >= self._next_progress:
            self._next_progress += PROGRESS_STEP
            self.link.progress(self)

    def supersede(self) -> None:
        with self.lock:
            self.superseded = True
            self._file.close()
            if self._hash is not None:
                self._hash.stop()

    def close(self) -> None:
        """Fsync: a partial kept for a resume holds what was acknowledged."""
        with self.lock:
            if self._file.closed:
                return
            if self._hash is not None:
                self._feed_block()
                self._hash.stop()  # it hashes the rest while the file is fsynced
            try:
                os.fsync(self._file.fileno())
            except OSError:
                # After a failed fsync the kernel may have dropped the data: never resume
                # from it.
                self._file.close()
                self.partial.unlink(missing_ok=True)
                raise
            finally:
                self._file.close()
            self.size = self.partial.stat().st_size

    def claim_finish(self) -> bool:
        """True the first time only: the data connection's end is handled once."""
        with self.lock:
            first, self._finish_claimed = not self._finish_claimed, True
        return first

    def release(self) -> None:
        """This upload no longer owns its partial file (nor reads into its buffers)."""
        with _OPEN_LOCK:
            if _OPEN.get(self.partial) is self:
                del _OPEN[self.partial]
        if self._hash is not None:
            self._hash.retire()
        if self._own_buffer is not None:
            return_buffer(self._own_buffer)
            self._own_buffer = None

    def sha256(self) -> str:
        if self._hashing and self.size == self._offset:
            hasher = self._hasher()
            assert hasher is not None
            return hasher.hexdigest()
        with self.partial.open("rb") as f:
            return hashlib.file_digest(f, "sha256").hexdigest()


_OPEN_LOCK = threading.Lock()
_OPEN: dict[Path, Upload] = {}  # partial file -> the upload writing it


def remove_old_partials(account: Account, now: float) -> list[Path]:
    """Remove the account's unfinished uploads untouched for ``partial_max_age_days`` (as a
    PTP/IP session does with its partial downloads): a camera resumes within minutes or
    hours, or sends the file again. Never fails: housekeeping only. The removed paths."""
    spool = account.dest / SPOOL_DIR
    with _OPEN_LOCK:
        keep = {path.name for path in _OPEN if path.parent == spool}
    try:
        if not spool.is_dir():
            return []
        return dl.remove_orphaned_partials(
            spool, keep, account.partial_max_age_days, now, "(an upload the camera never finished)"
        )
    except OSError as exc:
        log.warning("looking for old unfinished uploads in %s: %s", spool, exc)
        return []
