"""Bring one file to disk safely.

Chunks stream into a hidden partial file in the destination folder (memory stays flat: one
reusable buffer), the size is verified, the data fsynced, and only then does the file appear
at its final name — by a hard link that never replaces an existing file, so a different file
already there is kept and the new one gets a ``-1`` suffix. The modification time is the
capture time. A partial file left by a dropped connection is resumed next time (the name of
the partial file comes from the object's identity, not from its target).
"""

from __future__ import annotations

import ctypes
import errno
import hashlib
import logging
import os
import shutil
import stat
from collections.abc import Callable, Collection, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from ..errors import (
    DATA_OVERRUN,
    GP_ERROR_CORRUPTED_DATA,
    TRANSPORT_ERRORS,
    CameraSentTooMuch,
    CameraTransportError,
    DestinationError,
    DestinationFull,
    from_gphoto2,
    libgphoto2_errors,
    raise_for_response,
)
from ..ptpip.codes import OperationCode, ResponseCode
from .model import CameraObject, Transport
from .naming import file_time, unique_path
from .writeback import CACHE_BEHIND, WriteBack

log = logging.getLogger("sony_pm_alt.download")

# Bytes asked per read, as gphoto2 asks. Larger reads, and writing each chunk on a helper
# thread while the next one arrives, were both measured slower on make bench's shaped link
# (docs/benchmarks.md, *The download path*).
CHUNK = 1024 * 1024
FOUR_GIB = 1 << 32
# Files up to this size are hashed by finalize, on the writer thread from the page cache while
# the next file arrives, not chunk by chunk in the pause between two reads (where it cost ~1 ms
# per chunk on make bench's shaped link). Larger ones are hashed as they arrive: WriteBack lets
# the kernel drop their pages CACHE_BEHIND the write-back, and reading those back reads the disk.
HASHED_WHEN_DURABLE = CACHE_BEHIND
PARTIAL_SUFFIX = ".sony-pm-alt-partial"
# What os.link raises on a file system without hard links.
NO_HARD_LINKS = frozenset(
    {errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EMLINK, errno.ENOSYS}
)

# A partial download whose file has not been on the camera for a month will not be resumed:
# the card was formatted or the file deleted. Long enough for a holiday away from home.
PARTIAL_MAX_AGE_DAYS = 30.0
# Room kept free beyond a file's own size: the file system's bookkeeping (blocks, the folder
# entry, a new day's folder) needs some, and a disk filled to the last byte helps no one.
FREE_SPACE_RESERVE = 1024 * 1024
FULL = frozenset({errno.ENOSPC, errno.EDQUOT})
UNWRITABLE = frozenset({errno.EROFS, errno.EACCES, errno.EPERM})

ReadChunk = Callable[[int, memoryview], int]
"""Read up to ``len(buffer)`` bytes from ``offset`` into ``buffer``; return the count."""
Progress = Callable[[int], None]


@dataclass(frozen=True)
class Downloaded:
    path: Path
    sha256: str
    size: int
    already_there: bool  # an identical file was already at the target name
    resumed_from: int


@dataclass(frozen=True)
class Destination:
    """The destination folder of one session, checked before each file: still the same folder
    (not removed or unmounted), writable, with room for the file."""

    root: Path
    device: int
    inode: int

    @classmethod
    def open(cls, root: Path) -> Destination:
        """Create ``root`` if needed (a first run) and remember which folder it is."""
        try:
            root.mkdir(parents=True, exist_ok=True)
            st = root.stat()
        except OSError as exc:
            raise DestinationError(
                f"cannot use the destination {root}: {exc.strerror or exc}; choose a writable "
                "folder with --dest"
            ) from exc
        if not os.access(root, os.W_OK):
            raise DestinationError(
                f"the destination {root} is read-only; make it writable or choose another "
                "folder with --dest"
            )
        return cls(root, st.st_dev, st.st_ino)

    def check(self, name: str, needed: int, remaining: int) -> None:
        """Raise :class:`DestinationError` unless ``needed`` more bytes fit (``remaining``:
        what every file still planned needs, for the message)."""
        self.check_present()
        if not os.access(self.root, os.W_OK):
            raise DestinationError(
                f"the destination {self.root} is read-only; make it writable or choose another "
                "folder with --dest (the camera stays on)"
            )
        free = shutil.disk_usage(self.root).free
        if free < needed + FREE_SPACE_RESERVE:
            raise DestinationFull(
                str(self.root),
                name,
                needed + FREE_SPACE_RESERVE,
                free,
                remaining + FREE_SPACE_RESERVE,
            )

    def present(self) -> bool:
        """Still the same folder: not removed, moved away or unmounted."""
        try:
            st = self.root.stat()
        except FileNotFoundError:
            return False
        return (st.st_dev, st.st_ino) == (self.device, self.inode)

    def check_present(self) -> None:
        """Raise :class:`DestinationError` unless :meth:`present`."""
        if not self.present():
            raise self.gone()

    def gone(self) -> DestinationError:
        """The error that says the folder went away."""
        return DestinationError(
            f"the destination {self.root} was removed or unmounted during the session; "
            "finished files are kept, the rest is fetched next time once it is back"
        )


@contextmanager
def _writing(partial: Path, name: str, remaining: int) -> Iterator[None]:
    """A full or read-only file system while writing ``partial``: it is removed (a partial
    file on a full disk only takes room) and the error says what happened."""
    try:
        yield
    except OSError as exc:
        if exc.errno not in FULL | UNWRITABLE:
            raise
        try:
            partial.unlink(missing_ok=True)
        except OSError as unlink_error:  # read-only: nothing new was written either
            log.debug("cannot remove %s: %s", partial, unlink_error)
        folder = partial.parent
        if exc.errno in FULL:
            free = shutil.disk_usage(folder).free if folder.exists() else 0
            raise DestinationFull(str(folder), name, remaining, free, remaining) from exc
        raise DestinationError(
            f"cannot write into {folder}: {exc.strerror}; make it writable or choose another "
            "folder with --dest (the camera stays on)"
        ) from exc


def partial_path(final: Path, camera_key: str, obj: CameraObject) -> Path:
    return final.parent / partial_name(camera_key, obj)


def partial_name(camera_key: str, obj: CameraObject) -> str:
    """The name of ``obj``'s hidden partial file (the same in whichever folder it lands)."""
    digest = hashlib.sha256(repr((camera_key, obj.key)).encode()).hexdigest()[:20]
    return f".{digest}{PARTIAL_SUFFIX}"


def remove_orphaned_partials(
    root: Path,
    keep: Collection[str] | Callable[[], Collection[str]],
    max_age_days: float,
    now: float,
    why: str = "whose file is no longer on the camera",
) -> list[Path]:
    """Remove the hidden partial files under ``root`` not touched for ``max_age_days`` (0:
    never) whose name is not in ``keep`` (the partial names of the objects still on the
    camera; a callable is asked only once a partial file is found, as most sessions find
    none): downloads of files that never came back. Each is logged; the removed paths."""
    if max_age_days <= 0:
        return []
    kept: Collection[str] | None = None if callable(keep) else keep
    cutoff = now - max_age_days * 86_400
    removed = []
    for folder, _dirs, names in os.walk(root):  # symbolic links to folders are not followed
        for name in names:
            if not (name.startswith(".") and name.endswith(PARTIAL_SUFFIX)):
                continue
            if kept is None:
                kept = keep() if callable(keep) else keep
            if name in kept:
                continue
            path = Path(folder) / name
            try:
                st = path.lstat()
                if not stat.S_ISREG(st.st_mode) or st.st_mtime >= cutoff:
                    continue
                path.unlink()
            except OSError as exc:
                log.warning("could not remove the old partial download %s: %s", path, exc)
                continue
            log.warning(
                "removed %s: a partial download untouched for over %g days %s",
                path,
                max_age_days,
                why,
            )
            removed.append(path)
    return removed


def gphoto2_reader(camera: Any, obj: CameraObject) -> ReadChunk:
    """python-gphoto2's partial read (GetPartialObject: 32-bit offsets, so below 4 GiB)."""
    import gphoto2 as gp

    def read(offset: int, buffer: memoryview) -> int:
        try:
            count = camera.file_read(obj.folder, obj.name, gp.GP_FILE_TYPE_NORMAL, offset, buffer)
        except gp.GPhoto2Error as exc:
            # Patch 0007 refuses a reply longer than asked with GP_ERROR_CORRUPTED_DATA.
            if exc.code == GP_ERROR_CORRUPTED_DATA:
                raise CameraSentTooMuch.partial_read(obj.name, offset, len(buffer)) from exc
            raise from_gphoto2(exc, f"downloading {obj.name} at offset {offset}") from exc
        if count > len(buffer):  # a camlib without the patch: never write what came
            raise CameraSentTooMuch.partial_read(obj.name, offset, len(buffer))
        return int(count)

    return read


def whole_file_reader(camera: Any, obj: CameraObject) -> ReadChunk:
    """For a camera without GetPartialObject: one GetObject into memory (the only way then),
    served in chunks. Memory holds the whole file; no resume."""
    import gphoto2 as gp

    data: bytes | None = None

    def read(offset: int, buffer: memoryview) -> int:
        nonlocal data
        if data is None:
            with libgphoto2_errors(f"downloading {obj.name}"):
                camera_file = camera.file_get(obj.folder, obj.name, gp.GP_FILE_TYPE_NORMAL)
            data = bytes(memoryview(camera_file.get_data_and_size()))
        chunk = data[offset : offset + len(buffer)]
        buffer[: len(chunk)] = chunk
        return len(chunk)

    return read


def partial_reader(
    transport: Transport, obj: CameraObject, probe: Callable[[], bool]
) -> tuple[ReadChunk, Callable[[], bool]]:
    """GetPartialObject (0x101B) through the native layer, straight into the caller's buffer:
    one round trip per chunk, where libgphoto2's read adds a listing of the folder and a
    GetObjectInfo per file, and the check for unlisted data another. The last chunk asks one
    byte more than listed, so a camera with more data than it listed shows it in the same
    reply; ``probe`` asks separately if the camera refuses that. Returns the reader and its
    "more than listed?" for :func:`fetch`."""
    extra = False
    plus_one_answered = False

    def ask(offset: int, count: int, buffer: memoryview) -> tuple[int, int]:
        result = transport.transaction(
            OperationCode.GET_PARTIAL_OBJECT,
            [obj.handle, offset, count],
            data_in=True,
            check=False,
            into=buffer,
        )
        if result.code == DATA_OVERRUN:  # patch 0007 refused a reply longer than asked
            raise CameraSentTooMuch.partial_read(obj.name, offset, len(buffer))
        if result.code in TRANSPORT_ERRORS:
            try:
                raise_for_response(OperationCode.GET_PARTIAL_OBJECT, result.code)
            except CameraTransportError as exc:
                raise exc.while_doing(f"downloading {obj.name} at offset {offset}") from None
        return result.code, result.length

    def read(offset: int, buffer: memoryview) -> int:
        nonlocal extra, plus_one_answered
        asked = len(buffer)
        limit, length = asked, -1
        if offset + asked >= obj.size:  # the last chunk
            code, came = ask(offset, asked + 1, buffer)
            if code == ResponseCode.OK:
                plus_one_answered, limit, length = True, asked + 1, came
            # any other answer: a camera refusing to read past the end; ask exactly
        if length < 0:
            code, length = ask(offset, asked, buffer)
            raise_for_response(OperationCode.GET_PARTIAL_OBJECT, code)
        if length > limit:  # a camlib without patch 0007: at most len(buffer) was copied
            raise CameraSentTooMuch.partial_read(obj.name, offset, asked)
        if length > asked:
            extra = True
        return min(length, asked)

    def more_than_listed() -> bool:
        return extra if plus_one_answered else probe()

    return read, more_than_listed


def partial64_reader(transport: Transport, obj: CameraObject) -> ReadChunk:
    """GetPartialObject64 (0x95C1) through the native layer's raw transaction."""

    def read(offset: int, buffer: memoryview) -> int:
        result = transport.transaction(
            OperationCode.GET_PARTIAL_OBJECT_64,
            [obj.handle, offset & 0xFFFFFFFF, offset >> 32, len(buffer)],
            data_in=True,
            into=buffer,
        )
        return min(result.length, len(buffer))

    return read


def _hash_existing(path: Path, length: int) -> Any:
    with path.open("rb") as f:
        return _hash_open(f.fileno(), length)


def _hash_open(fd: int, length: int) -> Any:
    """SHA-256 of the first ``length`` bytes of the open file ``fd`` (its offset unchanged)."""
    digest = hashlib.sha256()
    offset = 0
    while offset < length and (chunk := os.pread(fd, min(CHUNK, length - offset), offset)):
        digest.update(chunk)
        offset += len(chunk)
    return digest


def _same_content(path: Path, size: int, sha256: str) -> bool:
    try:
        return path.stat().st_size == size and _hash_existing(path, size).hexdigest() == sha256
    except OSError:
        return False


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _make_folders(folder: Path) -> None:
    """Create ``folder`` and its missing parents, and make their names durable: fsync the
    parent of each folder created, or a power cut could drop a whole new day's folder."""
    missing = []
    probe = folder
    while not probe.exists():
        missing.append(probe)
        probe = probe.parent
    folder.mkdir(parents=True, exist_ok=True)
    for created in reversed(missing):
        _fsync_dir(created.parent)


def _resume_point(partial: Path, size: int) -> int:
    """Where to continue a partial file. Its last chunk is fetched again: on file systems
    without ordered writes (FAT, exFAT, some NAS) a power cut can leave the end of a grown file
    as junk, and nothing else would notice."""
    if not partial.exists():
        return 0
    kept = partial.stat().st_size
    return 0 if kept > size else max(0, kept - CHUNK)


def fetch(
    obj: CameraObject,
    final: Path,
    partial: Path,
    read: ReadChunk,
    progress: Progress | None = None,
    more_than_listed: Callable[[], bool] | None = None,
) -> Downloaded:
    """Download ``obj`` to ``final`` (or a suffixed name beside it) through ``partial``:
    :func:`receive`, then :func:`finalize`.

    The listed size is the camera's word, not a fact: data that ends before it, or (asked by
    ``more_than_listed`` once the listed bytes are in) goes on after it, fails the file and
    removes the partial, so a file whose size disagrees is never placed (nor resumed).
    A full (ENOSPC, EDQUOT) or read-only destination raises
    :class:`~sony_pm_alt.errors.DestinationError` and leaves no partial file behind."""
    return finalize(receive(obj, final, partial, read, progress, more_than_listed))


class Received:
    """A file whose bytes are all in its hidden partial file, written but not yet durable.

    The file stays open until :func:`finalize` (so its fsync sees any write-back error of these
    writes), and so does its folder: the partial file can still be removed by name in that
    folder if the folder was moved away meanwhile. It holds two descriptors, no data."""

    def __init__(
        self,
        obj: CameraObject,
        final: Path,
        partial: Path,
        file: BinaryIO,
        folder_fd: int,
        sha256: str | None,
        resumed_from: int,
    ) -> None:
        # None: hashed by finalize (HASHED_WHEN_DURABLE)
        self.obj, self.final, self.partial = obj, final, partial
        self.file, self.folder_fd = file, folder_fd
        self.sha256, self.resumed_from = sha256, resumed_from

    def close(self) -> None:
        """Let go of both descriptors (twice is harmless); the partial file stays where it is,
        resumed next time."""
        if not self.file.closed:
            self.file.close()
        if self.folder_fd >= 0:
            os.close(self.folder_fd)
            self.folder_fd = -1

    def discard(self) -> None:
        """Remove the partial file wherever its folder is now (e.g. a destination moved away
        mid-session, where no later session would look for it), then :meth:`close`."""
        try:
            if self.folder_fd >= 0:
                os.unlink(self.partial.name, dir_fd=self.folder_fd)
        except OSError as exc:  # read-only, or gone with its folder: nothing to take back
            log.debug("cannot remove %s: %s", self.partial, exc)
        finally:
            self.close()


def receive(
    obj: CameraObject,
    final: Path,
    partial: Path,
    read: ReadChunk,
    progress: Progress | None = None,
    more_than_listed: Callable[[], bool] | None = None,
) -> Received:
    """The camera's part of :func:`fetch`: every byte into ``partial`` (same checks and
    errors); the disk's part, :func:`finalize`, may then run on another thread."""
    with _writing(partial, obj.name, obj.size):
        return _receive(obj, final, partial, read, progress, more_than_listed)


def finalize(received: Received, destination: Destination | None = None) -> Downloaded:
    """The disk's part of :func:`fetch`: fsync the partial file, check its size, and give it
    its final name; the file never appears there before its data is durable. With
    ``destination``, a destination removed or unmounted since the file was received raises
    :class:`~sony_pm_alt.errors.DestinationError` and the partial file is removed (in the folder
    it moved with: no later session looks there). Other errors as for :func:`fetch`. The
    descriptors of ``received`` are closed in every case."""
    obj, partial = received.obj, received.partial
    try:
        with _writing(partial, obj.name, obj.size):
            f = received.file
            try:
                os.fsync(f.fileno())
            except OSError:
                # After a failed fsync the kernel may have dropped the data: never resume from it.
                received.discard()
                raise
            written = os.fstat(f.fileno()).st_size
            sha256 = received.sha256 or _hash_open(f.fileno(), written).hexdigest()
            received.file.close()
            if destination is not None:
                destination.check_present()
            if written != obj.size:
                raise OSError(f"{obj.name}: {written} bytes on disk, the camera listed {obj.size}")
            stamp = file_time(obj.capture_time)  # clamped: a camera's date may be out of range
            return place_verified(
                partial,
                received.final,
                obj.size,
                sha256,
                stamp,
                received.resumed_from,
                make_folders=destination is None,
            )
    except DestinationError:
        if destination is not None and not destination.present():
            received.discard()
        raise
    except OSError as exc:
        # E.g. the folder removed between the check and the link: say so, as for the check.
        missing = isinstance(exc, FileNotFoundError)
        if missing and destination is not None and not destination.present():
            received.discard()
            raise destination.gone() from exc
        raise
    finally:
        received.close()


def _receive(
    obj: CameraObject,
    final: Path,
    partial: Path,
    read: ReadChunk,
    progress: Progress | None,
    more_than_listed: Callable[[], bool] | None,
) -> Received:
    _make_folders(final.parent)
    folder_fd = os.open(final.parent, os.O_RDONLY | os.O_DIRECTORY)
    try:
        return _receive_into(obj, final, partial, folder_fd, read, progress, more_than_listed)
    except BaseException:
        os.close(folder_fd)
        raise


def _receive_into(
    obj: CameraObject,
    final: Path,
    partial: Path,
    folder_fd: int,
    read: ReadChunk,
    progress: Progress | None,
    more_than_listed: Callable[[], bool] | None,
) -> Received:
    start = _resume_point(partial, obj.size)
    buffer = memoryview(bytearray(CHUNK))
    digest = None
    if obj.size > HASHED_WHEN_DURABLE:
        digest = _hash_existing(partial, start) if start else hashlib.sha256()
    offset = start
    # The partial file is created with the first bytes: a camera that fails at once leaves
    # nothing behind.
    count = read(offset, buffer[: min(CHUNK, obj.size - start)]) if obj.size > start else 0
    f = partial.open("r+b" if start else "w+b")  # readable: finalize may hash it
    try:
        f.seek(start)
        f.truncate(start)
        write_back = WriteBack(f, start)
        while offset < obj.size:
            if count <= 0:
                partial.unlink()
                raise OSError(
                    f"the camera listed {obj.size} bytes for {obj.name} but its data ends at "
                    f"{offset}; nothing saved"
                )
            f.write(buffer[:count])
            if digest is not None:
                digest.update(buffer[:count])
            offset += count
            write_back.wrote_up_to(offset)  # the disk works while the camera sends
            if progress is not None:
                progress(offset)
            if offset < obj.size:
                count = read(offset, buffer[: min(CHUNK, obj.size - offset)])
        if more_than_listed is not None and more_than_listed():
            partial.unlink()
            raise OSError(
                f"the camera has more data for {obj.name} than the {obj.size} bytes it listed; "
                "nothing saved"
            )
        f.flush()
    except BaseException:
        f.close()
        raise
    sha256 = digest.hexdigest() if digest is not None else None
    return Received(obj, final, partial, f, folder_fd, sha256, start)


def place_verified(
    partial: Path,
    final: Path,
    size: int,
    sha256: str,
    stamp: float | None,
    resumed_from: int,
    *,
    make_folders: bool = True,
) -> Downloaded:
    """Give a verified, fsynced ``partial`` its final name (or a suffixed one beside it), or
    recognise an identical copy already there; ``stamp`` becomes its modification time.
    Shared by every receiver (PTP/IP downloads, FTP uploads). ``make_folders=False``: the
    folder exists already (it holds ``partial``); if it vanished, it is not made again."""
    if make_folders:
        _make_folders(final.parent)
    existing = _existing_copy(final, size, sha256)
    if existing is not None:  # e.g. placed by a session that died before recording it
        partial.unlink()
        if stamp is not None:
            os.utime(existing, (stamp, stamp))
        return Downloaded(existing, sha256, size, True, resumed_from)
    target = _place(partial, final)
    if stamp is not None:
        os.utime(target, (stamp, stamp))
    _fsync_dir(target.parent)
    return Downloaded(target, sha256, size, False, resumed_from)


def _existing_copy(final: Path, size: int, sha256: str) -> Path | None:
    """An identical file at ``final`` or at one of its suffixed names (``name-1.ext`` …)."""
    candidate, n = final, 0
    while candidate.exists() or candidate.is_symlink():
        if _same_content(candidate, size, sha256):
            return candidate
        n += 1
        candidate = final.with_name(f"{final.stem}-{n}{final.suffix}")
    return None


def _place(partial: Path, final: Path) -> Path:
    """Give the finished file its name without ever replacing an existing file.

    A hard link fails, instead of replacing, when the name is taken, even if another writer
    took it a moment ago. File systems without hard links (exFAT, FAT, many SMB shares of a
    NAS) get the same guarantee from :func:`_move_noreplace`."""
    for _ in range(100):
        target = unique_path(final)
        try:
            os.link(partial, target)
        except FileExistsError:  # appeared since unique_path looked: try the next name
            continue
        except OSError as exc:
            if exc.errno not in NO_HARD_LINKS:
                raise
            log.debug("no hard links in %s (%s); renaming instead", final.parent, exc)
            try:
                _move_noreplace(partial, target)
            except FileExistsError:
                continue
            return target
        partial.unlink()
        return target
    raise FileExistsError(f"no free name beside {final}")


_RENAME_NOREPLACE = 1
_AT_FDCWD = -100


def _move_noreplace(source: Path, target: Path) -> None:
    """Move ``source`` to ``target`` unless ``target`` exists (then FileExistsError):
    renameat2(RENAME_NOREPLACE) where the file system has it, otherwise an exclusive create
    and a copy (fsynced), then the source is removed."""
    libc = ctypes.CDLL(None, use_errno=True)
    renameat2 = getattr(libc, "renameat2", None)
    if renameat2 is not None:
        result = renameat2(
            _AT_FDCWD, os.fsencode(source), _AT_FDCWD, os.fsencode(target), _RENAME_NOREPLACE
        )
        if result == 0:
            return
        err = ctypes.get_errno()
        if err == errno.EEXIST:
            raise FileExistsError(errno.EEXIST, "file exists", str(target))
        if err not in (errno.EINVAL, errno.ENOSYS, errno.ENOTSUP):
            raise OSError(err, os.strerror(err), str(target))
    with source.open("rb") as src, open(target, "xb") as dst:  # "x": O_CREAT | O_EXCL
        while chunk := src.read(CHUNK):
            dst.write(chunk)
        dst.flush()
        os.fsync(dst.fileno())
    source.unlink()
